# berth multi-service: a shop API, an admin app and a docs site on the same
# two EC2 instances, behind one nginx front that routes by hostname. Every
# service runs in its own container with its own memory limit
# (modules/multi-service); each hostname points at the app's origin record.
#
#   terraform init
#   terraform apply -var zone=example.com
#   terraform apply -var zone=example.com -var api_image=python:3.13-alpine   # deploy the API
#
# Deploying one service is a rollout of the hosts: new instances boot with
# the new API image (and the unchanged admin and docs images) beside the old
# ones, the front's health check passes only once every service answers,
# the origin moves over, and the old instances retire after TTL + drain.
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

provider "berth" {
  region   = var.region
  endpoint = var.aws_endpoint

  default_tags = {
    project = "berth-multi-service"
  }
}

locals {
  # The services' hostnames live in the zone: api.<zone>, admin.<zone>, docs.<zone>.
  domain = lower(trimsuffix(var.zone, "."))
}

module "shop" {
  source = "../../modules/multi-service"

  name          = "shop"
  zone          = var.zone
  replicas      = var.replicas
  instance_type = "t3.small" # 2 GiB: front 64 + api 256 + admin 64 + docs 32 MiB, room for the OS

  services = {
    # The API. With your own image this would be e.g.
    #   image   = "registry.example.com/shop-api:2026-11-23"
    #   command = ["bundle", "exec", "puma", "-p", "3000"]
    #   env     = { RAILS_ENV = "production" }
    "api.${local.domain}" = {
      image       = var.api_image
      port        = 3000
      memory      = 256
      command     = ["python", "-m", "http.server", "3000"]
      env         = { APP_ENV = "production", PYTHONUNBUFFERED = "1" }
      health_path = "/"
    }

    # The admin app (e.g. Django on 8000, health_path = "/admin/login/").
    "admin.${local.domain}" = {
      image  = var.admin_image
      port   = 80
      memory = 64
    }

    # The docs site: static files served by nginx; a short container name.
    "docs.${local.domain}" = {
      image  = var.docs_image
      port   = 80
      memory = 32
      name   = "docs"
    }
  }

  health_interval = var.health_interval
  ttl             = var.ttl
  drain           = var.drain
}

# Each hostname points at the app's origin record. A weighted route with a
# single target is a plain CNAME today; add a target later to move traffic
# gradually (e.g. from the old platform).
resource "berth_weighted_route" "hostname" {
  for_each = toset(["api", "admin", "docs"])

  zone = var.zone
  name = "${each.key}.${local.domain}"
  ttl  = var.ttl

  target {
    id       = "shop"
    hostname = module.shop.origin_fqdn
    weight   = 100
  }
}

output "origin" {
  value       = module.shop.origin_fqdn
  description = "The origin record the hostnames point at."
}

output "hostnames" {
  value       = { for k, r in berth_weighted_route.hostname : k => r.fqdn }
  description = "The services' hostnames."
}

output "routing" {
  value       = module.shop.routing
  description = "Hostname → the container the nginx front sends it to, its image and memory limit."
}

output "release" {
  value       = module.shop.release
  description = "The release serving now."
}

output "instances" {
  value       = module.shop.instances
  description = "The instances; each runs the front and all three services."
}
