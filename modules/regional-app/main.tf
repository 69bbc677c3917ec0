# berth regional-app: one berth_container_app in one region with its own
# origin record "<name>-<region>.<zone>". Used by modules/global-app; usable
# on its own.

terraform {
  required_version = ">= 1.0.0"
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}

variable "name" {
  type        = string
  description = "App name (the same in every region)."
}

variable "region" {
  type        = string
  description = "AWS region for this copy of the app."
}

variable "image" {
  type        = string
  description = "Container image."
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on in its container."
}

variable "host_port" {
  type        = number
  default     = null
  description = "Port published on the instance (default: port)."
}

variable "command" {
  type        = list(string)
  default     = null
  description = "Command override."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference (ssm:/…, secretsmanager:…, ARNs)."
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances in this region."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type."
}

variable "subnet_ids" {
  type        = list(string)
  default     = null
  description = "Subnets in this region (default: the default VPC)."
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "Instance profile (CreateTags on itself, read its secrets)."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Health check path."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on the instance."
}

variable "health_deadline" {
  type        = number
  default     = 600
  description = "Longest time a new release may take to become healthy."
}

variable "zone" {
  type        = string
  description = "Route53 hosted zone (id or name) for the origin record."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "Origin record TTL."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after TTL."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and security group."
}

resource "berth_container_app" "this" {
  name             = var.name
  region           = var.region
  image            = var.image
  command          = var.command
  port             = var.port
  host_port        = var.host_port
  env              = var.env
  secrets          = var.secrets
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

output "region" {
  value       = berth_container_app.this.region
  description = "The region."
}

output "origin_fqdn" {
  value       = berth_container_app.this.origin_fqdn
  description = "This region's origin record."
}

output "release" {
  value       = berth_container_app.this.release
  description = "The release serving in this region."
}

output "deployed_at" {
  value       = berth_container_app.this.release_history[0].deployed_at
  description = "When the current release was rolled out here."
}

output "instances" {
  value       = berth_container_app.this.instances[*].id
  description = "Instances serving in this region."
}
