terraform {
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}

# Credentials come from the standard AWS chain: environment variables, the
# shared config and credentials files (`profile`), SSO, web identity, ECS
# and EC2 instance roles.
provider "berth" {
  region = "us-east-1"

  default_tags = {
    team = "web"
  }
}
