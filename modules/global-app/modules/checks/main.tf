# Rules that relate two inputs of modules/global-app. Terraform before 1.9
# lets a variable's validation refer only to that variable, so the module
# passes the related inputs together into one variable each here; a broken
# rule fails the plan with "Invalid value for variable" pointing at the
# argument in modules/global-app/main.tf. No resources, no outputs.

terraform {
  required_version = ">= 1.0.0"
}

variable "primary_not_secondary" {
  type = object({
    primary   = string
    secondary = list(string)
  })
  description = "The primary region and the secondary regions."

  validation {
    condition     = !contains(var.primary_not_secondary.secondary, var.primary_not_secondary.primary)
    error_message = "The primary_region must not also be in secondary_regions: it is always deployed, last."
  }
}

variable "drained_are_secondary" {
  type = object({
    drained   = list(string)
    secondary = list(string)
  })
  description = "The drained regions and the secondary regions."

  validation {
    condition     = length(setsubtract(var.drained_are_secondary.drained, var.drained_are_secondary.secondary)) == 0
    error_message = "Every drained region must be one of secondary_regions: the primary region cannot be drained (its users have nowhere to go), and a region that is not deployed has nothing to drain."
  }
}

variable "subnets_in_regions" {
  type = object({
    subnet_regions = list(string)
    regions        = list(string)
  })
  description = "The regions subnet_ids has entries for and the app's regions."

  validation {
    condition     = length(setsubtract(var.subnets_in_regions.subnet_regions, var.subnets_in_regions.regions)) == 0
    error_message = "Every key of subnet_ids must be the primary region or a secondary region."
  }
}
