variable "name" {
  type        = string
  description = "App name: 1–36 lowercase letters, digits and hyphens, starting with a letter (modules/blue-green appends `-blue`/`-green`)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,35}$", var.name)) && !can(regex("-$", var.name))
    error_message = "The name must be 1–36 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "image" {
  type        = string
  description = "Container image, e.g. `registry.example.com/shop:2026-11-23T10-00`. Changing it rolls out a new release with zero downtime."
  validation {
    condition     = length(trimspace(var.image)) > 0 && !can(regex("\\s", var.image))
    error_message = "The image must be a non-empty image reference without spaces."
  }
}

variable "command" {
  type        = list(string)
  default     = null
  description = "Command override for the app container (null: the image's default)."
}

variable "release_command" {
  type        = list(string)
  default     = null
  description = "Run once per new release before it takes traffic (migrations), e.g. [\"bin/rails\", \"db:migrate\"]; null: none."
}

variable "release_command_timeout" {
  type        = number
  default     = null
  description = "Seconds the release command may run (null: 1800)."
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on inside its container."
  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "The port must be an integer from 1 to 65535."
  }
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables (no secrets: they end up in the instance user-data)."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference, fetched by the instance at boot: `ssm:/path`, `secretsmanager:name` or an SSM parameter / Secrets Manager ARN. Values never enter user-data or state."
  validation {
    condition     = alltrue([for v in values(var.secrets) : can(regex("^(ssm:/|secretsmanager:|arn:aws[a-z-]*:(ssm|secretsmanager):)", v))])
    error_message = "Every secret must be a reference: ssm:/path, secretsmanager:name, or an SSM / Secrets Manager ARN — never the value itself."
  }
}

variable "registry_credentials" {
  type = list(object({
    server   = string
    username = string
    password = string
  }))
  default     = []
  description = "Logins for private registries the image (or the nginx front) is on: the registry host (`docker.io` for Docker Hub), a user, and the password by reference (`ssm:/path`, `secretsmanager:name` or an ARN). Images on Amazon ECR need none: instances log in with their instance profile."
  validation {
    condition     = alltrue([for c in var.registry_credentials : can(regex("^(ssm:/|secretsmanager:|arn:aws[a-z-]*:(ssm|secretsmanager):)", c.password))])
    error_message = "Every registry password must be a reference: ssm:/path, secretsmanager:name, or an SSM / Secrets Manager ARN — never the password itself."
  }
}

variable "logs_retention_days" {
  type        = number
  default     = null
  description = "Send every container's output and the bootstrap's log to the CloudWatch Logs group `/berth/<name>`, kept this many days (1, 3, 5, 7, 14, 30, 60, 90, …); null: logs stay on the instances."
}

variable "logs_delete_on_destroy" {
  type        = bool
  default     = false
  description = "Delete the log group with the app (default: the logs outlive it)."
}

variable "alarm_actions" {
  type        = list(string)
  default     = []
  description = "ARNs (e.g. SNS topics) the app's alarms notify when they fire and when they recover."
}

variable "cpu_alarm_threshold" {
  type        = number
  default     = null
  description = "Alarm when the app container's average CPU use (percent of one core) stays at or above this for 3 minutes; null: no alarm."
}

variable "memory_alarm_threshold" {
  type        = number
  default     = null
  description = "Alarm when the app container's average memory use (percent of its limit) stays at or above this for 3 minutes; null: no alarm."
}

variable "alarm_on_unhealthy" {
  type        = bool
  default     = false
  description = "Alarm when any instance reports unhealthy for 3 minutes."
}

variable "memory" {
  type        = number
  default     = null
  description = "Memory limit of the app container in MiB (null: no limit)."
  validation {
    condition     = var.memory == null ? true : var.memory >= 6
    error_message = "The memory limit must be at least 6 MiB (Docker's minimum)."
  }
}

variable "replicas" {
  type        = number
  default     = 2
  description = "Instances running the app, spread over availability zones."
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 100 && floor(var.replicas) == var.replicas
    error_message = "The replicas must be an integer from 1 to 100."
  }
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type."
}

variable "region" {
  type        = string
  default     = null
  description = "AWS region (null: the provider's)."
}

variable "subnet_ids" {
  type        = list(string)
  default     = null
  description = "Subnets to spread instances over (null: the default VPC's, one per zone)."
}

variable "instance_profile" {
  type        = string
  default     = null
  description = "Instance profile for the instances (it must allow ec2:CreateTags on the instance itself for health reporting, and reading the secrets). Null: berth makes a role for the app with exactly that (output instance_role)."
}

variable "nginx_front" {
  type        = bool
  default     = false
  description = "Run an nginx front on port 80 that proxies to the app (story: Django or Rails behind nginx). The health check then goes through nginx."
}

variable "nginx_image" {
  type        = string
  default     = "nginx:1.27"
  description = "Image of the nginx front."
}

variable "nginx_config" {
  type        = string
  default     = null
  description = "Full nginx server config for the front (null: a proxy to the app with forwarded headers)."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "HTTP path that answers 2xx when the app is ready, e.g. `/up`."
  validation {
    condition     = can(regex("^/", var.health_path))
    error_message = "The health path must start with \"/\"."
  }
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on each instance."
  validation {
    condition     = var.health_interval >= 1 && var.health_interval <= 300
    error_message = "The health interval must be 1–300 seconds."
  }
}

variable "health_deadline" {
  type        = number
  default     = 600
  description = "Longest time in seconds a new release may take to become healthy before the rollout is rolled back."
  validation {
    condition     = var.health_deadline >= 10
    error_message = "The health deadline must be at least 10 seconds (instances need time to boot)."
  }
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id) for the app's records."
}

variable "origin_name" {
  type        = string
  default     = null
  description = "Name of the app's origin record in the zone (null: `<name>-origin`)."
}

variable "domain" {
  type        = string
  default     = null
  description = "Optional custom domain in the zone (e.g. `www` or `www.example.com`): a weighted route with the app as its only target, so a later migration or blue/green flip is one more target."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL in seconds of the origin record (and the custom domain)."
  validation {
    condition     = var.ttl >= 1 && var.ttl <= 86400
    error_message = "The TTL must be 1–86400 seconds."
  }
}

variable "batch_size" {
  type        = number
  default     = null
  description = "Instances launched per rollout batch (null: all at once)."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances keep serving after the TTL has passed."
  validation {
    condition     = var.drain >= 0 && var.drain <= 3600
    error_message = "The drain must be 0–3600 seconds."
  }
}

variable "keep_previous" {
  type        = bool
  default     = true
  description = "Keep the previous release running out of DNS, so a rollback (setting the previous image) is a DNS flip with no boot."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and the security group."
}
