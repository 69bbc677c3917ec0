# Story 3 — migration without stopping production: an API moves from the
# PaaS to AWS by weighted DNS, 10 % → 25 % → 50 % → 100 %, each step gated
# on the new app's health, reverting by itself when a gate fails.
#
#   terraform apply -var zone=example.com                   # app on AWS, 0 % traffic
#   terraform apply -var zone=example.com -var percent=10   # 10 / 90
#   terraform apply -var zone=example.com -var percent=100  # 25, 50, 100 in one apply

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
    project = "api-migration"
  }
}

variable "legacy_hostname" {
  type        = string
  default     = "shop-api-prod.herokuapp.com"
  description = "The app's hostname on the old platform."
}

variable "percent" {
  type        = number
  default     = 0
  description = "Share of traffic on AWS."
}

variable "bake" {
  type        = number
  default     = 300
  description = "Seconds between steps."
}

module "api" {
  source = "../../modules/paas-migration"

  name            = "api"
  zone            = var.zone
  legacy_hostname = var.legacy_hostname
  percent         = var.percent
  steps           = [10, 25, 50, 100]
  bake            = var.bake

  image    = "registry.example.com/shop-api:2026-11-23T10-00"
  port     = 8080
  replicas = 2
  env = {
    NODE_ENV = "production"
  }
  secrets = {
    DATABASE_URL = "ssm:/api/database_url"
  }

  health_path     = "/health"
  health_interval = var.health_interval
  ttl             = var.ttl
  drain           = var.drain
}

output "fqdn" {
  value       = module.api.fqdn
  description = "The API's name."
}

output "weights" {
  value       = module.api.weights
  description = "Share of traffic on the old platform (paas) and on AWS."
}

output "shift_plan" {
  value       = module.api.shift_plan
  description = "The steps the last apply took."
}
