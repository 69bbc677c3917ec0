# One name served from two regions: users go to the nearest healthy one,
# and to us-east-1 (the primary) when theirs is unhealthy or drained.

resource "berth_container_app" "api_use1" {
  name   = "api"
  region = "us-east-1"
  image  = "registry.example.com/api:2026-11-23"

  instance_profile = "api-instance"

  origin {
    zone = "example.com"
    name = "api-use1"
  }
}

resource "berth_container_app" "api_euw1" {
  name   = "api"
  region = "eu-west-1"
  image  = "registry.example.com/api:2026-11-23"

  instance_profile = "api-instance"

  origin {
    zone = "example.com"
    name = "api-euw1"
  }
}

resource "berth_region_pool" "api" {
  zone    = "example.com"
  name    = "api"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = berth_container_app.api_use1.origin_fqdn
    health_check {
      path = "/up"
    }
  }

  region {
    name     = "eu-west-1"
    hostname = berth_container_app.api_euw1.origin_fqdn
    drained  = false # true: eu users go to us-east-1, the records stay
    health_check {
      path = "/up"
    }
  }
}
