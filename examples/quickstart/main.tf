# berth quickstart: one containerised app on two EC2 instances with its own
# origin record, rolled out with zero downtime by `terraform apply`.
#
#   terraform init
#   terraform apply -var zone=example.com
#   terraform apply -var zone=example.com -var image=nginxdemos/hello:0.4   # a rollout
#
# Against the local emulator (what ./scripts/demo does):
#   terraform apply -var aws_endpoint=http://127.0.0.1:5000 -var zone=berth-demo.test

terraform {
  required_version = ">= 1.0.0"
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy to."
}

variable "aws_endpoint" {
  type        = string
  default     = null
  description = "Endpoint URL for every AWS service (a local emulator); null for real AWS."
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id) for the app's origin record."
}

variable "port" {
  type        = number
  default     = 80
  description = "The port the image's app listens on."
}

variable "image" {
  type        = string
  default     = "nginxdemos/hello:0.3"
  description = "The container image to run; change it to roll out a new release."
}

provider "berth" {
  region   = var.region
  endpoint = var.aws_endpoint

  default_tags = {
    project = "berth-quickstart"
  }
}

data "berth_availability_zones" "available" {
  state = "available"
}

resource "berth_container_app" "hello" {
  name     = "hello"
  image    = var.image
  port     = var.port
  replicas = 2

  env = {
    GREETING = "hello from berth"
  }

  health_check {
    path     = "/"
    interval = 2
    deadline = 300
  }

  origin {
    zone = var.zone
    name = "hello"
    ttl  = 5
  }

  rollout {
    drain = 2
  }
}

output "zones" {
  value       = data.berth_availability_zones.available.names
  description = "Availability zones an app can spread over."
}

output "release" {
  value       = berth_container_app.hello.release
  description = "The release serving now."
}

output "origin" {
  value       = berth_container_app.hello.origin_fqdn
  description = "The app's origin record."
}

output "instances" {
  value       = berth_container_app.hello.instances[*].id
  description = "The instances serving the app."
}

output "rollout_plan" {
  value       = berth_container_app.hello.rollout_plan
  description = "The steps the last rollout took."
}
