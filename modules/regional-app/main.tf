# berth regional-app: one berth_container_app in one region with its own
# origin record "<name>-<region>.<zone>". Used by modules/global-app; usable
# on its own. Inputs are in variables.tf, outputs in outputs.tf.

resource "berth_container_app" "this" {
  name             = var.name
  region           = var.region
  image            = var.image
  command          = var.command
  port             = var.port
  host_port        = var.host_port
  env              = var.env
  secrets          = var.secrets
  memory           = var.memory
  replicas         = var.replicas
  instance_type    = var.instance_type
  subnet_ids       = var.subnet_ids
  instance_profile = var.instance_profile
  tags             = var.tags

  health_check {
    path     = var.health_path
    interval = var.health_interval
    deadline = var.health_deadline
  }

  origin {
    zone = var.zone
    name = "${var.name}-${var.region}"
    ttl  = var.ttl
  }

  rollout {
    drain = var.drain
  }
}
