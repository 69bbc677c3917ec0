# An empty profile name (an unset variable written as "").
# fails: validate
# expect: provider.berth profile :: empty
provider "berth" {
  region  = "us-east-1"
  profile = ""
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
