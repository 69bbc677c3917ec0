variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy to."
}

variable "aws_endpoint" {
  type        = string
  default     = null
  description = "Endpoint URL for every AWS service (a local emulator such as http://127.0.0.1:5000); null for real AWS."
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id)."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL of the records in seconds."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after the TTL."
}
