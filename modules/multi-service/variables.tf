# Inputs of modules/multi-service. The validation rules repeat the checks
# berth_container_app makes on its sidecars (names, memory, ports) and add
# the module's own (hostnames, the shape of each service), so a bad input fails
# at plan naming `services` before any provider call.
#
# `services` has type `any` rather than map(object({...})) with optional
# attributes, because optional() needs Terraform 1.3 and the module
# supports 1.0: the rules below check the shape instead.

variable "name" {
  type        = string
  description = "App name: 1–40 lowercase letters, digits and hyphens, starting with a letter. Instances, the security group and the origin record `<name>.<zone>` are named after it."

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.name))
    error_message = "The name must be 1-40 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (e.g. \"shop\")."
  }
}

variable "zone" {
  type        = string
  description = "Route53 hosted zone (id `Z…` or name `example.com`) for the origin record the services' hostnames point at."

  validation {
    condition     = length(trimspace(var.zone)) > 0
    error_message = "The zone must be a Route53 hosted zone id or name."
  }
}

variable "services" {
  type        = any
  description = <<-EOT
    The services behind the front, by hostname:

        "api.example.com" = {
          image       = "registry.example.com/api:2026-11-23"  # required
          port        = 3000                                    # required: port inside its container
          memory      = 512                                     # required: limit in MiB (>= 6)
          env         = { RAILS_ENV = "production" }            # optional, plain values
          command     = ["bundle", "exec", "puma"]              # optional, default: the image's command
          health_path = "/up"                                   # optional, default "/"; must answer 2xx
          name        = "api"                                   # optional container name, default: the hostname with dots as hyphens
        }

    Each service runs as its own container (a berth sidecar) with its own memory limit on every instance; the nginx front routes requests for the hostname to it.
  EOT

  validation {
    condition     = try(length(keys(var.services)) >= 1, false)
    error_message = "The services must be a map of hostname to service with at least one entry."
  }

  validation {
    condition     = try(alltrue([for h in keys(var.services) : length(h) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", h))]), false)
    error_message = "Every key of services must be a lowercase hostname such as \"api.example.com\" (labels of letters, digits and hyphens, at least one dot)."
  }

  validation {
    condition     = try(alltrue([for s in values(var.services) : length(setsubtract(keys(s), ["name", "image", "port", "memory", "env", "command", "health_path"])) == 0]), false)
    error_message = "Every service must be an object with only these attributes: image, port, memory, env, command, health_path, name."
  }

  validation {
    condition     = try(alltrue([for s in values(var.services) : length(trimspace(s.image)) > 0]), false)
    error_message = "Every service needs an image (a non-empty string)."
  }

  validation {
    condition     = try(alltrue([for s in values(var.services) : s.port == floor(s.port) && s.port >= 1 && s.port <= 65535]), false)
    error_message = "Every service needs a port: the whole number between 1 and 65535 it listens on inside its container."
  }

  validation {
    condition     = try(alltrue([for s in values(var.services) : s.memory == floor(s.memory) && s.memory >= 6 && s.memory <= 1048576]), false)
    error_message = "Every service needs a memory limit: a whole number of MiB between 6 (Docker's minimum) and 1048576."
  }

  validation {
    condition     = try(alltrue(flatten([for s in values(var.services) : [for k, v in merge(try(s.env, {})) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && can(tostring(v))]])), false)
    error_message = "A service's env must map names of letters, digits and underscores (not starting with a digit) to strings."
  }

  validation {
    condition     = try(alltrue([for s in values(var.services) : try(s.command, null) == null || can([for c in s.command : tostring(c)])]), false)
    error_message = "A service's command must be a list of strings."
  }


  validation {
    condition     = try(alltrue([for s in values(var.services) : can(regex("^/[A-Za-z0-9._~/%+-]*$", coalesce(try(s.health_path, null), "/")))]), false)
    error_message = "A service's health_path must start with \"/\" and hold only letters, digits and ._~/%+- (no query string), e.g. \"/up\"."
  }

  validation {
    condition = try(
      alltrue([for h, s in var.services : can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", coalesce(try(s.name, null), replace(h, ".", "-")))) && coalesce(try(s.name, null), replace(h, ".", "-")) != "app"]) &&
      length(distinct([for h, s in var.services : coalesce(try(s.name, null), replace(h, ".", "-"))])) == length(keys(var.services)),
      false
    )
    error_message = "Every service needs its own container name of 1-40 lowercase letters, digits and hyphens, starting with a letter and not \"app\" (the front): by default its hostname with dots as hyphens; set name for a long hostname."
  }
}

variable "region" {
  type        = string
  default     = null
  description = "AWS region (default: the provider's region)."

  validation {
    condition     = var.region == null ? true : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", var.region))
    error_message = "The region must be null or an AWS region name such as \"eu-west-1\"."
  }
}

variable "port" {
  type        = number
  default     = 80
  description = "Port the nginx front is published on, on every instance (the only port the security group opens)."

  validation {
    condition     = var.port == floor(var.port) && var.port >= 1 && var.port <= 65535
    error_message = "The port must be a whole number between 1 and 65535."
  }
}

variable "front_image" {
  type        = string
  default     = "nginx:1.27-alpine"
  description = "Image of the nginx front. It must be an nginx image with /bin/sh (the official `nginx` images are): the module writes the generated config to /etc/nginx/conf.d/default.conf when the container starts."

  validation {
    condition     = length(trimspace(var.front_image)) > 0
    error_message = "The front_image must not be empty."
  }
}

variable "front_memory" {
  type        = number
  default     = 64
  description = "Memory limit of the nginx front in MiB."

  validation {
    condition     = var.front_memory == floor(var.front_memory) && var.front_memory >= 6 && var.front_memory <= 1048576
    error_message = "The front_memory must be a whole number of MiB between 6 (Docker's minimum) and 1048576."
  }
}

variable "max_body_size" {
  type        = string
  default     = "10m"
  description = "Largest request body the front accepts (nginx `client_max_body_size`, e.g. `10m`; `0` for no limit)."

  validation {
    condition     = can(regex("^[0-9]+[kKmMgG]?$", var.max_body_size))
    error_message = "The max_body_size must be a size such as \"10m\", \"512k\" or \"0\"."
  }
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances; every instance runs the front and every service."

  validation {
    condition     = var.replicas == floor(var.replicas) && var.replicas >= 1 && var.replicas <= 100
    error_message = "The replicas must be a whole number between 1 and 100."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type; its memory must hold front_memory plus every service's memory."

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[a-z0-9-]+$", var.instance_type))
    error_message = "The instance_type must look like \"t3.small\"."
  }
}

variable "subnet_ids" {
  type        = list(string)
  default     = null
  description = "Subnets to spread the instances over (default: the default VPC)."
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "IAM instance profile name; it must allow `ec2:CreateTags` on the instance (the health reporter)."
}

variable "origin_name" {
  type        = string
  default     = null
  description = "Origin record name relative to the zone (default: `name`). Point every service hostname at it (CNAME)."
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
  description = "Longest time in seconds a new release may take to become healthy (the front and every service) before it is rolled back."

  validation {
    condition     = var.health_deadline == floor(var.health_deadline) && var.health_deadline >= 10 && var.health_deadline <= 86400
    error_message = "The health_deadline must be a whole number of seconds between 10 and 86400."
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

variable "batch_size" {
  type        = number
  default     = 0
  description = "New instances launched and health-gated at a time during a rollout (0: all at once)."

  validation {
    condition     = var.batch_size == floor(var.batch_size) && var.batch_size >= 0 && var.batch_size <= 100
    error_message = "The batch_size must be a whole number between 0 and 100."
  }
}

variable "keep_previous" {
  type        = bool
  default     = false
  description = "Keep the previous release running out of DNS, so a rollback (setting the old image back) is a DNS flip with no boot."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and the security group."
}
