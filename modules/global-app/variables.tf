# Inputs of modules/global-app. Rules about one input are validation
# blocks here; rules that relate two inputs (the primary is not a secondary,
# drained regions are secondaries, subnets belong to the app's regions) are
# validation blocks of modules/checks, called from main.tf, because
# Terraform before 1.9 lets a validation rule refer only to its own
# variable and this module supports Terraform 1.0.

variable "name" {
  type        = string
  description = "App name: 1–40 lowercase letters, digits and hyphens, starting with a letter. The pool is `<name>.<zone>`, each region's origin `<name>-<region>.<zone>`."

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.name))
    error_message = "The name must be 1-40 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (e.g. \"shop\")."
  }
}

variable "image" {
  type        = string
  description = "Container image, rolled out to every region: the secondary regions in order, the primary last."

  validation {
    condition     = length(trimspace(var.image)) > 0
    error_message = "The image must not be empty."
  }
}

variable "primary_region" {
  type        = string
  description = "The primary region: rolled out last, and where the other regions' users go when their region is unhealthy or drained."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", var.primary_region))
    error_message = "The primary_region must be an AWS region name such as \"us-east-1\"."
  }
}

variable "secondary_regions" {
  type        = list(string)
  default     = []
  description = "Other regions, rolled out one by one in this order before the primary (at most 4; not the primary)."

  validation {
    condition     = length(var.secondary_regions) <= 4
    error_message = "At most 4 secondary regions (add module blocks in modules/global-app for more)."
  }

  validation {
    condition     = alltrue([for r in var.secondary_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", r))])
    error_message = "Every secondary region must be an AWS region name such as \"eu-west-1\"."
  }

  validation {
    condition     = length(distinct(var.secondary_regions)) == length(var.secondary_regions)
    error_message = "A secondary region is listed twice."
  }
}

variable "drained_regions" {
  type        = list(string)
  default     = []
  description = "Secondary regions taken out of rotation: their users go to the primary region; the instances and records stay, so removing a region from this list restores it. The primary cannot be drained."

  validation {
    condition     = alltrue([for r in var.drained_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", r))])
    error_message = "Every drained region must be an AWS region name such as \"eu-west-1\"."
  }

  validation {
    condition     = length(distinct(var.drained_regions)) == length(var.drained_regions)
    error_message = "A drained region is listed twice."
  }
}

variable "zone" {
  type        = string
  description = "Route53 hosted zone (id `Z…` or name `example.com`) for the pool and the regional origin records."

  validation {
    condition     = length(trimspace(var.zone)) > 0
    error_message = "The zone must be a Route53 hosted zone id or name."
  }
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on (and the published port the pool's health checks use)."

  validation {
    condition     = var.port == floor(var.port) && var.port >= 1 && var.port <= 65535
    error_message = "The port must be a whole number between 1 and 65535."
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
  description = "Plain environment variables, the same in every region (visible in plan and state; put secrets in `secrets`)."

  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "Environment variable names must be letters, digits and underscores, not starting with a digit."
  }
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference (`ssm:/param/name`, `secretsmanager:name` or an ARN). Each region's instances fetch them at boot from their own region, so the parameters/secrets must exist in every region (Secrets Manager replicas keep the same name)."

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
  description = "Instances per region."

  validation {
    condition     = var.replicas == floor(var.replicas) && var.replicas >= 1 && var.replicas <= 100
    error_message = "The replicas must be a whole number between 1 and 100."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type, in every region."

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[a-z0-9-]+$", var.instance_type))
    error_message = "The instance_type must look like \"t3.small\"."
  }
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "IAM instance profile name (IAM is global, so one profile serves every region): it must allow `ec2:CreateTags` on the instance and reading the app's secrets."
}

variable "subnet_ids" {
  type        = map(list(string))
  default     = {}
  description = "Subnets per region (`{ \"eu-west-1\" = [\"subnet-…\", …] }`); a region not listed uses its default VPC."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Health check path: each instance checks it on itself, and the pool's Route53 health checks request it on each region's origin."

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
  description = "Longest time in seconds a new release may take to become healthy in a region; past it that region rolls back and the apply stops there."

  validation {
    condition     = var.health_deadline == floor(var.health_deadline) && var.health_deadline >= 10 && var.health_deadline <= 86400
    error_message = "The health_deadline must be a whole number of seconds between 10 and 86400."
  }
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL in seconds of the regional origin records and the pool."

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
  description = "Tags for every instance and security group."
}
