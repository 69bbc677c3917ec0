variable "name" {
  type        = string
  description = "Service name: the sides are the apps `<name>-blue` and `<name>-green`, users reach `<name>` in the zone (or `domain`)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,29}$", var.name)) && !can(regex("-$", var.name))
    error_message = "The name must be 1–30 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "live" {
  type        = string
  default     = "blue"
  description = "The side that serves users: `blue` or `green`. Flipping it shifts traffic progressively through `shift_steps`, gated on the new side's health; the other side keeps running for an instant flip back."
  validation {
    condition     = contains(["blue", "green"], var.live)
    error_message = "The live side must be \"blue\" or \"green\"."
  }
}

variable "blue_image" {
  type        = string
  description = "Image of the blue side. Deploy a new version to the idle side, test it at its origin hostname, then flip `live`."
}

variable "green_image" {
  type        = string
  description = "Image of the green side."
}

variable "zone" {
  type        = string
  description = "An existing Route53 hosted zone (name or id)."
}

variable "domain" {
  type        = string
  default     = null
  description = "The user-facing name in the zone (null: `name`)."
}

variable "shift_steps" {
  type        = list(number)
  default     = [10, 50, 100]
  description = "Percentages of traffic the newly live side gets, in order; the last must be 100. `[100]` flips at once."
  validation {
    condition     = length(var.shift_steps) > 0 && var.shift_steps[length(var.shift_steps) - 1] == 100 && alltrue([for i, s in var.shift_steps : s > 0 && s <= 100 && (i == 0 || s > var.shift_steps[max(i - 1, 0)])])
    error_message = "The shift steps must increase, each 1–100, and end at 100."
  }
}

variable "bake" {
  type        = number
  default     = 60
  description = "Seconds between shift steps."
  validation {
    condition     = var.bake >= 0 && var.bake <= 3600
    error_message = "The bake time must be 0–3600 seconds."
  }
}

variable "command" {
  type        = list(string)
  default     = null
  description = "Command override (both sides)."
}

variable "release_command" {
  type        = list(string)
  default     = null
  description = "Run once per new release of either side, before that side takes traffic (migrations run when the idle side deploys, before the flip); null: none."
}

variable "port" {
  type        = number
  default     = 8080
  description = "Port the app listens on inside its container."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables (both sides), e.g. the URLs of existing databases."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Secret environment variables by reference (both sides)."
}

variable "registry_credentials" {
  type = list(object({
    server   = string
    username = string
    password = string
  }))
  default     = []
  description = "Logins for private registries (both sides), passwords by reference; see modules/app."
}

variable "logs_retention_days" {
  type        = number
  default     = null
  description = "Both sides' logs to CloudWatch Logs (`/berth/<name>-blue`, `/berth/<name>-green`), kept this many days; null: none. See modules/app."
}

variable "cpu_alarm_threshold" {
  type        = number
  default     = null
  description = "CPU alarm (percent of a core) on both sides; null: none. See modules/app."
}

variable "memory_alarm_threshold" {
  type        = number
  default     = null
  description = "Memory alarm (percent of the limit) on both sides; null: none."
}

variable "alarm_actions" {
  type        = list(string)
  default     = []
  description = "SNS topics the alarms notify."
}

variable "replicas" {
  type        = number
  default     = 1
  description = "Instances per side (the idle side keeps running: it is the instant rollback)."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "EC2 instance type."
}

variable "nginx_front" {
  type        = bool
  default     = false
  description = "Run an nginx front on port 80 in front of the app on each side."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Path answering 2xx when a side is ready."
}

variable "health_interval" {
  type        = number
  default     = 5
  description = "Seconds between health checks on an instance."
}

variable "ttl" {
  type        = number
  default     = 60
  description = "TTL in seconds of the user-facing name and the origins."
}

variable "drain" {
  type        = number
  default     = 30
  description = "Seconds old instances of a side keep serving after the TTL during that side's own rollout."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the instances and security groups."
}
