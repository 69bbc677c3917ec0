# The endpoint lacks a scheme.
# fails: validate
# expect: provider.berth endpoint :: http:// or https://
provider "berth" {
  region   = "us-east-1"
  endpoint = "localhost:5000"
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
