# Static credentials with the secret half missing.
# fails: validate
# expect: provider.berth access_key :: secret_key
provider "berth" {
  region     = "us-east-1"
  access_key = "AKIAEXAMPLE"
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
