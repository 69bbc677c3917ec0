# A per-service endpoint with an unsupported scheme.
# fails: validate
# expect: provider.berth endpoints.ec2 :: http:// or https://
provider "berth" {
  region = "us-east-1"
  endpoints = {
    ec2 = "ftp://ec2.example.com"
  }
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
