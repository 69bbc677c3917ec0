# berth blue-green: two copies of one app — blue and green — behind one
# name. Deploy a new image to the idle side (a normal zero-downtime rollout
# that no user sees), test it at its origin hostname, then flip `live`: the
# weighted route moves traffic through `shift_steps`, gating each step on the
# new side's health and reverting on a failed gate. The old side stays up,
# so flipping back is immediate.

locals {
  sides = {
    blue  = var.blue_image
    green = var.green_image
  }
}

module "side" {
  source   = "../app"
  for_each = local.sides

  name                 = "${var.name}-${each.key}"
  image                = each.value
  command              = var.command
  release_command      = var.release_command
  port                 = var.port
  env                  = merge(var.env, { BERTH_SIDE = each.key })
  secrets              = var.secrets
  registry_credentials = var.registry_credentials
  logs_retention_days  = var.logs_retention_days
  cpu_alarm_threshold    = var.cpu_alarm_threshold
  memory_alarm_threshold = var.memory_alarm_threshold
  alarm_actions          = var.alarm_actions
  replicas             = var.replicas
  instance_type        = var.instance_type
  nginx_front          = var.nginx_front
  health_path          = var.health_path
  health_interval      = var.health_interval
  zone                 = var.zone
  ttl                  = var.ttl
  drain                = var.drain
  keep_previous        = false # the other side is the warm spare
  tags                 = merge(var.tags, { "berth-side" = each.key })
}

resource "berth_weighted_route" "live" {
  zone = var.zone
  name = coalesce(var.domain, var.name)
  ttl  = var.ttl

  target {
    id       = "blue"
    hostname = module.side["blue"].origin_fqdn
    app      = module.side["blue"].name
    weight   = var.live == "blue" ? 100 : 0
  }

  target {
    id       = "green"
    hostname = module.side["green"].origin_fqdn
    app      = module.side["green"].name
    weight   = var.live == "green" ? 100 : 0
  }

  shift {
    to    = var.live
    steps = var.shift_steps
    bake  = var.bake
  }
}
