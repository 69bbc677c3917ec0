# An empty region string (an unset variable written as "").
# fails: validate
# expect: provider.berth region :: not an AWS region name
provider "berth" {
  region = ""
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
