# Inputs of modules/regional-app. The validation rules mirror the checks of
# berth_container_app, so a bad input fails at plan with the module's
# variable named, before any provider call.

variable "name" {
  type        = string
  description = "App name, the same in every region: 1–40 lowercase letters, digits and hyphens, starting with a letter. Every cloud object of the app is tagged `berth:app = name`."

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.name))
    error_message = "The name must be 1-40 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (e.g. \"shop\")."
  }
}

variable "region" {
  type        = string
  description = "AWS region for this copy of the app, e.g. `eu-west-1`."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", var.region))
    error_message = "The region must be an AWS region name such as \"eu-west-1\"."
  }
}

variable "image" {
  type        = string
  description = "Container image, e.g. `registry.example.com/shop:2026-11-23`. Changing it rolls out a new release."

  validation {
    condition     = length(trimspace(var.image)) > 0
    error_message = "The image must not be empty."
  }
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on in its container."

  validation {
    condition     = var.port == floor(var.port) && var.port >= 1 && var.port <= 65535
    error_message = "The port must be a whole number between 1 and 65535."
  }
}

variable "host_port" {
  type        = number
  default     = null
  description = "Port published on the instance (default: `port`)."

  validation {
    condition     = var.host_port == null ? true : (var.host_port == floor(var.host_port) && var.host_port >= 1 && var.host_port <= 65535)
    error_message = "The host_port must be null or a whole number between 1 and 65535."
  }
}

variable "command" {
  type        = list(string)
  default     = null
  description = "Command override for the app container (default: the image's)."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables (visible in plan and state; put secrets in `secrets`)."

  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "Environment variable names must be letters, digits and underscores, not starting with a digit."
  }
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference: `ssm:/param/name`, `secretsmanager:name` or an SSM parameter / Secrets Manager ARN. Instances fetch the values at boot, in this region."

  validation {
    condition     = alltrue([for k in keys(var.secrets) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "Secret variable names must be letters, digits and underscores, not starting with a digit."
  }

  validation {
    condition = alltrue([
      for v in values(var.secrets) :
      can(regex("^(ssm:.+|secretsmanager:.+|arn:[^:]+:ssm:[^:]*:[^:]*:parameter/.+|arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:.+)$", v))
    ])
    error_message = "Secrets are references, never values: use \"ssm:/parameter/name\", \"secretsmanager:name\" or an SSM parameter / Secrets Manager ARN."
  }
}

variable "memory" {
  type        = number
  default     = null
  description = "Memory limit of the app container in MiB (null: no limit)."

  validation {
    condition     = var.memory == null ? true : (var.memory == floor(var.memory) && var.memory >= 6 && var.memory <= 1048576)
    error_message = "The memory limit must be null or a whole number of MiB between 6 (Docker's minimum) and 1048576."
  }
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances in this region."

  validation {
    condition     = var.replicas == floor(var.replicas) && var.replicas >= 1 && var.replicas <= 100
    error_message = "The replicas must be a whole number between 1 and 100."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type (Graviton types such as `t4g.small` get an arm64 image)."

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[a-z0-9-]+$", var.instance_type))
    error_message = "The instance_type must look like \"t3.small\"."
  }
}

variable "subnet_ids" {
  type        = list(string)
  default     = null
  description = "Subnets in this region to spread the instances over (default: the default VPC)."
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "IAM instance profile name: it must allow `ec2:CreateTags` on the instance (the health reporter) and reading the app's secrets."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "HTTP path each instance checks on itself; an instance joins the origin only after it answers 2xx/3xx."

  validation {
    condition     = substr(var.health_path, 0, 1) == "/"
    error_message = "The health_path must start with \"/\"."
  }
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."

  validation {
    condition     = var.health_interval == floor(var.health_interval) && var.health_interval >= 1 && var.health_interval <= 300
    error_message = "The health_interval must be a whole number of seconds between 1 and 300."
  }
}

variable "health_deadline" {
  type        = number
  default     = 600
  description = "Longest time in seconds a new release may take to become healthy before the rollout is rolled back."

  validation {
    condition     = var.health_deadline == floor(var.health_deadline) && var.health_deadline >= 10 && var.health_deadline <= 86400
    error_message = "The health_deadline must be a whole number of seconds between 10 and 86400."
  }
}

variable "zone" {
  type        = string
  description = "Route53 hosted zone (id `Z…` or name `example.com`) for the origin record `<name>-<region>.<zone>`."

  validation {
    condition     = length(trimspace(var.zone)) > 0
    error_message = "The zone must be a Route53 hosted zone id or name."
  }
}

variable "ttl" {
  type        = number
  default     = 60
  description = "Origin record TTL in seconds; old instances serve for TTL + drain after a cutover."

  validation {
    condition     = var.ttl == floor(var.ttl) && var.ttl >= 0 && var.ttl <= 86400
    error_message = "The ttl must be a whole number of seconds between 0 and 86400."
  }
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after TTL, for in-flight requests."

  validation {
    condition     = var.drain == floor(var.drain) && var.drain >= 0 && var.drain <= 3600
    error_message = "The drain must be a whole number of seconds between 0 and 3600."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and the security group (merged over the provider's `default_tags`)."
}
