terraform {
  # Works on every Terraform with plugin protocol 6 (1.0 and later): the
  # module uses no optional() attributes, no cross-variable validation and
  # no pre/postconditions.
  required_version = ">= 1.0.0"

  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}
