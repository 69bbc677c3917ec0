# Tag keys starting with aws: are reserved by AWS.
# fails: validate
# expect: provider.berth default_tags :: reserved prefix
provider "berth" {
  region = "us-east-1"
  default_tags = {
    "aws:owner" = "web"
  }
}

# Terraform validates a provider block only when something uses it.
data "berth_availability_zones" "all" {}
