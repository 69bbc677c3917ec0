# A fractional retry count.
# fails: validate
# expect: provider.berth max_retries :: whole number
provider "berth" {
  region      = "us-east-1"
  max_retries = 2.5
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
