variable "aws_endpoint" {
  type        = string
  default     = null
  description = "Endpoint URL for every AWS service (a local emulator); null for real AWS."
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id): the app answers on shop.<zone>."
}

variable "image" {
  type        = string
  default     = "nginxdemos/hello:0.3"
  description = "The container image; change it to roll out a new release to every region, the primary last."
}

variable "drained_regions" {
  type        = list(string)
  default     = []
  description = "Secondary regions taken out of rotation (their users go to us-east-1)."
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "IAM instance profile for the instances (ec2:CreateTags on themselves, read the app's secrets); needed on real AWS."
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances per region."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL of the regional origin records and the global name."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after TTL during a rollout."
}
