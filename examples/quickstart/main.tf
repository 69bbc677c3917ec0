# berth quickstart: configure the provider and read the region's
# availability zones (the zones berth_container_app spreads instances over).
#
#   terraform init && terraform apply
#
# Against a local emulator: terraform apply -var aws_endpoint=http://127.0.0.1:5000

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

output "region" {
  value       = data.berth_availability_zones.available.region
  description = "The region berth is configured for."
}

output "zones" {
  value       = data.berth_availability_zones.available.names
  description = "Availability zones an app can spread over."
}

output "zone_ids" {
  value = data.berth_availability_zones.available.zone_ids
}
