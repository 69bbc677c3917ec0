# berth global-app: one app in three regions — us-east-1 (primary),
# eu-west-1 and ap-southeast-2 — behind one name (modules/global-app).
#
# - berth writes each instance's user-data: it installs Docker, runs the app's
#   containers with the Docker engine under a systemd unit (restarted on
#   failure and on reboot) and fetches the secrets below at boot; the image never holds
#   them and they never appear in user-data, plan or state.
# - Users resolve shop.<zone> and reach the nearest healthy region; an
#   unhealthy or drained region's users go to the primary.
# - A new image rolls out region by region, the primary last, each region
#   with zero downtime (new instances beside the old, health gate, origin
#   cutover, drain, retire).
#
#   terraform init
#   terraform apply -var zone=example.com -var instance_profile=shop-instance
#   terraform apply ... -var image=nginxdemos/hello:0.4            # a global rollout
#   terraform apply ... -var 'drained_regions=["eu-west-1"]'       # take eu-west-1 out
#
# Against the local emulator (moto):
#   terraform apply -var aws_endpoint=http://127.0.0.1:5000 -var zone=berth-demo.test

terraform {
  required_version = ">= 1.0.0"
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}

# One provider block serves every region: each regional app sets its own.
provider "berth" {
  region   = "us-east-1"
  endpoint = var.aws_endpoint

  default_tags = {
    project = "berth-global-app"
  }
}

module "shop" {
  source = "../../modules/global-app"

  name  = "shop"
  image = var.image
  port  = 80

  primary_region    = "us-east-1"
  secondary_regions = ["eu-west-1", "ap-southeast-2"] # rolled out in this order, then us-east-1
  drained_regions   = var.drained_regions
  zone              = var.zone

  env = {
    APP_ENV    = "production"
    LOG_FORMAT = "json"
  }

  # References only: every region's instances read them from their own
  # region at boot (replicate the secret, put the parameter in each region).
  secrets = {
    DATABASE_URL    = "secretsmanager:shop/database-url"
    SECRET_KEY_BASE = "ssm:/shop/secret-key-base"
  }

  replicas         = var.replicas
  instance_type    = "t3.small"
  instance_profile = var.instance_profile

  health_path     = "/"
  health_interval = var.health_interval
  health_deadline = 600
  ttl             = var.ttl
  drain           = var.drain

  tags = {
    service = "shop"
  }
}

output "fqdn" {
  value       = module.shop.fqdn
  description = "The name users resolve."
}

output "regions" {
  value       = module.shop.regions
  description = "Per region: origin record, release, when it was rolled out, instances."
}

output "rollout_order" {
  value       = module.shop.rollout_order
  description = "The order a new image rolls out in (the primary last)."
}
