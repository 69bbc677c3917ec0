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
  description = "An existing Route53 hosted zone name: the services answer on api.<zone>, admin.<zone> and docs.<zone>."
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances; every instance runs the front and all three services."
}

variable "api_image" {
  type        = string
  default     = "python:3.12-alpine"
  description = "The API's image; change it to deploy the API."
}

variable "admin_image" {
  type        = string
  default     = "nginxdemos/hello:0.4"
  description = "The admin app's image."
}

variable "docs_image" {
  type        = string
  default     = "nginx:1.27-alpine"
  description = "The docs site's image."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL of the origin record and the hostnames."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after TTL during a rollout."
}
