# Story 1 — blue/green on two servers: a Ruby app with an nginx front in
# containers; MongoDB and Redis are existing services reached through
# environment variables. The new version goes to the idle side, is tested
# there, then traffic flips — progressively, gated on health, reverting by
# itself if the new side fails. Images are tagged with a timestamp, so any
# older one can be redeployed.
#
#   terraform apply -var zone=example.com                                    # blue live
#   terraform apply -var zone=example.com -var green_image=shop:2026-11-24T09-00
#   curl http://$(terraform output -json origins | jq -r .green)/            # test green
#   terraform apply -var zone=example.com -var green_image=shop:2026-11-24T09-00 -var live=green

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
    project = "shop"
  }
}

variable "live" {
  type        = string
  default     = "blue"
  description = "The side serving users."
}

variable "alerts_topic" {
  type        = string
  default     = "arn:aws:sns:us-east-1:123456789012:shop-alerts"
  description = "SNS topic the CPU and memory alarms notify."
}

variable "blue_image" {
  type        = string
  default     = "registry.example.com/shop-rails:2026-11-22T09-00"
  description = "Image of the blue side."
}

variable "green_image" {
  type        = string
  default     = "registry.example.com/shop-rails:2026-11-22T09-00"
  description = "Image of the green side."
}

variable "bake" {
  type        = number
  default     = 120
  description = "Seconds between shift steps."
}

module "shop" {
  source = "../../modules/blue-green"

  name        = "shop"
  zone        = var.zone
  live        = var.live
  blue_image  = var.blue_image
  green_image = var.green_image
  shift_steps = [10, 50, 100]
  bake        = var.bake

  command = ["bundle", "exec", "puma", "-p", "3000"]
  # Migrations: once per new release of a side, before it takes traffic.
  release_command = ["bin/rails", "db:migrate"]
  port            = 3000
  nginx_front     = true
  replicas        = 1 # one server per side: two servers in all

  env = {
    RAILS_ENV = "production"
    MONGO_URL = "mongodb://mongo.internal:27017/shop"
    REDIS_URL = "redis://redis.internal:6379/0"
  }
  secrets = {
    SECRET_KEY_BASE = "ssm:/shop/secret_key_base"
  }
  # Both sides' output in CloudWatch Logs for two weeks.
  logs_retention_days = 14
  # CPU and memory monitoring with alerts to the team's topic.
  cpu_alarm_threshold    = 80
  memory_alarm_threshold = 90
  alarm_actions          = [var.alerts_topic]
  # The images are private on Docker Hub: instances log in before they pull
  # with an access token kept in SSM.
  registry_credentials = [{
    server   = "docker.io"
    username = "shop-deploy"
    password = "ssm:/shop/dockerhub_token"
  }]

  health_path     = "/up"
  health_interval = var.health_interval
  ttl             = var.ttl
  drain           = var.drain
}

output "fqdn" {
  value       = module.shop.fqdn
  description = "The name users reach."
}

output "live" {
  value       = module.shop.live
  description = "The side serving users."
}

output "idle" {
  value       = module.shop.idle
  description = "Deploy the next version here."
}

output "origins" {
  value       = module.shop.origins
  description = "Each side's origin hostname, for testing before a flip."
}

output "releases" {
  value       = module.shop.releases
  description = "Each side's release and image."
}
