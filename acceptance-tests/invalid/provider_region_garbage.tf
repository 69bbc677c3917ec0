# The provider's region is not an AWS region name.
# fails: validate
# expect: provider.berth region :: not an AWS region name
provider "berth" {
  region = "mars-north-99x"
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
