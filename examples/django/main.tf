# Story 2 — Django on EC2 instead of dynos: build an image, ship it to EC2
# instances behind nginx, bigger instances and half the server count. With
# berth it is this file and `terraform apply`; a new image is a rollout with
# zero downtime.
#
#   terraform init
#   terraform apply -var zone=example.com
#   terraform apply -var zone=example.com -var image=registry.example.com/shop-django:2026-11-24T09-00

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

variable "image" {
  type        = string
  default     = "registry.example.com/shop-django:2026-11-23T10-00"
  description = "The Django image (tagged with its build time, so any older one can be redeployed)."
}

module "web" {
  source = "../../modules/app"

  name    = "shop"
  image   = var.image
  command = ["gunicorn", "shop.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
  # Migrations: once per release, before it takes traffic.
  release_command = ["python", "manage.py", "migrate", "--noinput"]
  # Gunicorn's and nginx's output in CloudWatch Logs, a month:
  #   aws logs tail /berth/shop --follow
  logs_retention_days = 30
  # Alerts on CPU and on any unhealthy instance.
  cpu_alarm_threshold = 85
  alarm_on_unhealthy  = true
  port            = 8000
  zone            = var.zone
  domain          = "www"

  env = {
    DJANGO_SETTINGS_MODULE = "shop.settings.production"
    ALLOWED_HOSTS          = "www.${var.zone}"
  }
  secrets = {
    DATABASE_URL = "ssm:/shop/database_url"
    SECRET_KEY   = "secretsmanager:shop/django-secret-key"
  }

  # Bigger instances, half the count the dynos needed.
  instance_type = "t3.large"
  replicas      = 2
  memory        = 3072

  nginx_front     = true
  health_path     = "/healthz"
  health_interval = var.health_interval
  ttl             = var.ttl
  drain           = var.drain
}

output "url" {
  value       = "https://${trimsuffix(module.web.fqdn, ".")}/"
  description = "Where users reach the site."
}

output "release" {
  value       = module.web.release
  description = "The release serving now."
}

output "image" {
  value       = module.web.image
  description = "The image serving now."
}

output "rollout_plan" {
  value       = module.web.rollout_plan
  description = "The steps of the last rollout."
}
