# The region comes from a variable: unknown during validate, so validate
# passes; plan knows it and must reject it before configuring anything.
# fails: plan
# expect: provider.berth region :: not an AWS region name
variable "region" {
  type    = string
  default = "Europe (Paris)"
}

provider "berth" {
  region = var.region
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
