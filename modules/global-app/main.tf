# berth global-app: one app deployed in several regions behind one name.
#
# - A berth_container_app per region (modules/regional-app), each with its
#   own origin record "<name>-<region>.<zone>".
# - A berth_region_pool "<name>.<zone>": users reach the nearest healthy
#   region; an unhealthy or drained region's users go to the primary.
# - Rollouts go region by region: each secondary region waits for the one
#   before it (depends_on), and the primary region goes last, so a bad
#   release is stopped by a secondary's health gate before it reaches the
#   primary.
#
# Up to 4 secondary regions (Terraform cannot chain a dynamic number of
# resources; add more module blocks below if you need them).

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
  description = "App name."
}

variable "image" {
  type        = string
  description = "Container image, rolled out to every region (primary last)."
}

variable "primary_region" {
  type        = string
  description = "The primary region: rolled out last, and where other regions fail over to."
}

variable "secondary_regions" {
  type        = list(string)
  default     = []
  description = "Other regions, rolled out in this order before the primary (at most 4)."
  validation {
    condition     = length(var.secondary_regions) <= 4
    error_message = "At most 4 secondary regions (add module blocks in modules/global-app for more)."
  }
}

variable "drained_regions" {
  type        = list(string)
  default     = []
  description = "Regions taken out of rotation (their users go to the primary); not the primary."
}

variable "zone" {
  type        = string
  description = "Route53 hosted zone (id or name) for the pool and the regional origins."
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on (and the published port)."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference."
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances per region."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Health check path (instances and the pool's Route53 health checks)."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "health_deadline" {
  type        = number
  default     = 600
  description = "Longest time a new release may take to become healthy in a region."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL of the regional origin records and the pool."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after TTL."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every instance and security group."
}

locals {
  common = {
    name            = var.name
    image           = var.image
    port            = var.port
    env             = var.env
    secrets         = var.secrets
    replicas        = var.replicas
    instance_type   = var.instance_type
    health_path     = var.health_path
    health_interval = var.health_interval
    health_deadline = var.health_deadline
    zone            = var.zone
    ttl             = var.ttl
    drain           = var.drain
    tags            = var.tags
  }
}

module "secondary_0" {
  source = "../regional-app"
  count  = length(var.secondary_regions) > 0 ? 1 : 0

  region          = var.secondary_regions[0]
  name            = local.common.name
  image           = local.common.image
  port            = local.common.port
  env             = local.common.env
  secrets         = local.common.secrets
  replicas        = local.common.replicas
  instance_type   = local.common.instance_type
  health_path     = local.common.health_path
  health_interval = local.common.health_interval
  health_deadline = local.common.health_deadline
  zone            = local.common.zone
  ttl             = local.common.ttl
  drain           = local.common.drain
  tags            = local.common.tags
}

module "secondary_1" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 1 ? 1 : 0
  depends_on = [module.secondary_0]

  region          = var.secondary_regions[1]
  name            = local.common.name
  image           = local.common.image
  port            = local.common.port
  env             = local.common.env
  secrets         = local.common.secrets
  replicas        = local.common.replicas
  instance_type   = local.common.instance_type
  health_path     = local.common.health_path
  health_interval = local.common.health_interval
  health_deadline = local.common.health_deadline
  zone            = local.common.zone
  ttl             = local.common.ttl
  drain           = local.common.drain
  tags            = local.common.tags
}

module "secondary_2" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 2 ? 1 : 0
  depends_on = [module.secondary_1]

  region          = var.secondary_regions[2]
  name            = local.common.name
  image           = local.common.image
  port            = local.common.port
  env             = local.common.env
  secrets         = local.common.secrets
  replicas        = local.common.replicas
  instance_type   = local.common.instance_type
  health_path     = local.common.health_path
  health_interval = local.common.health_interval
  health_deadline = local.common.health_deadline
  zone            = local.common.zone
  ttl             = local.common.ttl
  drain           = local.common.drain
  tags            = local.common.tags
}

module "secondary_3" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 3 ? 1 : 0
  depends_on = [module.secondary_2]

  region          = var.secondary_regions[3]
  name            = local.common.name
  image           = local.common.image
  port            = local.common.port
  env             = local.common.env
  secrets         = local.common.secrets
  replicas        = local.common.replicas
  instance_type   = local.common.instance_type
  health_path     = local.common.health_path
  health_interval = local.common.health_interval
  health_deadline = local.common.health_deadline
  zone            = local.common.zone
  ttl             = local.common.ttl
  drain           = local.common.drain
  tags            = local.common.tags
}

# The primary region goes last.
module "primary" {
  source     = "../regional-app"
  depends_on = [module.secondary_0, module.secondary_1, module.secondary_2, module.secondary_3]

  region          = var.primary_region
  name            = local.common.name
  image           = local.common.image
  port            = local.common.port
  env             = local.common.env
  secrets         = local.common.secrets
  replicas        = local.common.replicas
  instance_type   = local.common.instance_type
  health_path     = local.common.health_path
  health_interval = local.common.health_interval
  health_deadline = local.common.health_deadline
  zone            = local.common.zone
  ttl             = local.common.ttl
  drain           = local.common.drain
  tags            = local.common.tags
}

locals {
  regional = concat(
    module.secondary_0[*], module.secondary_1[*], module.secondary_2[*], module.secondary_3[*],
    [module.primary],
  )
}

resource "berth_region_pool" "this" {
  zone    = var.zone
  name    = var.name
  ttl     = var.ttl
  primary = var.primary_region

  dynamic "region" {
    for_each = local.regional
    content {
      name     = region.value.region
      hostname = region.value.origin_fqdn
      drained  = contains(var.drained_regions, region.value.region)
      health_check {
        protocol = "HTTP"
        port     = var.port
        path     = var.health_path
      }
    }
  }
}

output "fqdn" {
  value       = berth_region_pool.this.fqdn
  description = "The global name users resolve."
}

output "regions" {
  value = {
    for r in local.regional : r.region => {
      origin      = r.origin_fqdn
      release     = r.release
      deployed_at = r.deployed_at
      instances   = r.instances
    }
  }
  description = "Per region: origin record, release, when it was rolled out, instances."
}
