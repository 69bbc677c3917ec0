# berth paas-migration: move an app off a PaaS without stopping production.
# The old platform's hostname and a berth app share one name through a
# weighted route; raise `percent` (10 → 25 → 50 → 100, or all at once) and
# apply: traffic moves step by step, each step gated on the app's health,
# reverting by itself when a gate fails.

locals {
  # The stops on the way to `percent`, then `percent` itself.
  steps = concat([for s in var.steps : s if s < var.percent], [var.percent])
}

module "app" {
  source = "../app"

  name            = var.name
  image           = var.image
  command         = var.command
  port            = var.port
  env             = var.env
  secrets         = var.secrets
  replicas        = var.replicas
  instance_type   = var.instance_type
  health_path     = var.health_path
  health_interval = var.health_interval
  zone            = var.zone
  ttl             = var.ttl
  drain           = var.drain
  tags            = var.tags
}

resource "berth_weighted_route" "this" {
  zone = var.zone
  name = var.name
  ttl  = var.ttl

  target {
    id       = "paas"
    hostname = var.legacy_hostname
    weight   = 100 - var.percent
  }

  target {
    id       = "aws"
    hostname = module.app.origin_fqdn
    app      = module.app.name
    weight   = var.percent
  }

  dynamic "shift" {
    for_each = var.percent > 0 ? [var.percent] : []
    content {
      to    = "aws"
      steps = local.steps
      bake  = var.bake
    }
  }
}
