# A negative retry count.
# fails: validate
# expect: provider.berth max_retries :: from 0 to 25
provider "berth" {
  region      = "us-east-1"
  max_retries = -1
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
