variable "name" {
  type        = string
  description = "The user-facing name in the zone, e.g. `api` (and the berth app's name)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,35}$", var.name)) && !can(regex("-$", var.name))
    error_message = "The name must be 1–36 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "legacy_hostname" {
  type        = string
  description = "The old platform's hostname for the app, e.g. `shop-prod.herokuapp.com`: it keeps serving the share not yet moved."
  validation {
    condition     = can(regex("^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+\\.?$", var.legacy_hostname))
    error_message = "The legacy hostname must be a DNS name such as shop-prod.herokuapp.com."
  }
}

variable "percent" {
  type        = number
  default     = 0
  description = "Share of traffic on AWS (the berth app), 0–100. Raising it moves traffic in one apply through every step of `steps` up to it, gated on the app's health, with `bake` seconds between steps; a failed gate reverts to the share before the apply."
  validation {
    condition     = var.percent >= 0 && var.percent <= 100 && floor(var.percent) == var.percent
    error_message = "The percent must be an integer from 0 to 100."
  }
}

variable "steps" {
  type        = list(number)
  default     = [10, 25, 50, 100]
  description = "The stops on the way to `percent` (those below it are taken first, then `percent` itself)."
  validation {
    condition     = length(var.steps) > 0 && alltrue([for i, s in var.steps : s > 0 && s <= 100 && (i == 0 || s > var.steps[max(i - 1, 0)])])
    error_message = "The steps must increase, each 1–100."
  }
}

variable "bake" {
  type        = number
  default     = 300
  description = "Seconds between steps: time to watch error rates before more traffic moves."
  validation {
    condition     = var.bake >= 0 && var.bake <= 86400
    error_message = "The bake time must be 0–86400 seconds."
  }
}

variable "image" {
  type        = string
  description = "Container image of the app on AWS."
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id) that serves the user-facing name."
}

variable "command" {
  type        = list(string)
  default     = null
  description = "Command override."
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on inside its container."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables (the same services the old platform uses, e.g. database URLs)."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference."
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances on AWS."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Path answering 2xx when the app is ready."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL in seconds of the user-facing name (resolvers follow a step within one TTL)."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after the TTL during the app's own rollouts."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and security group."
}
