# A retry count that would keep a failing apply busy for hours.
# fails: validate
# expect: provider.berth max_retries :: from 0 to 25
provider "berth" {
  region      = "us-east-1"
  max_retries = 1000000
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
