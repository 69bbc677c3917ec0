# Migrating off a PaaS in one apply: all traffic moves from the old
# platform's app to a berth app in four health-gated steps.

resource "berth_container_app" "shop" {
  name     = "shop"
  image    = "registry.example.com/shop:2026-11-23T10-00"
  port     = 3000
  replicas = 2

  instance_profile = "shop-instance"

  health_check {
    path = "/up"
  }

  origin {
    zone = "example.com"
    name = "shop-origin"
  }
}

resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"
  ttl  = 60

  target {
    id       = "paas"
    hostname = "shop-prod.herokuapp.com"
    weight   = 0
  }

  target {
    id       = "aws"
    hostname = berth_container_app.shop.origin_fqdn
    app      = berth_container_app.shop.name # gate each step on the app's health
    weight   = 100

    health_check {
      protocol = "HTTPS"
      path     = "/up"
    }
  }

  shift {
    to    = "aws"
    steps = [10, 25, 50, 100]
    bake  = 300 # seconds between steps
  }
}
