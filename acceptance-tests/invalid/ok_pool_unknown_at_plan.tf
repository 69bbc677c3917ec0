# Control: a region pool whose hostnames and primary are only known after
# apply plans cleanly and reaches nothing.
# fails: no
resource "berth_container_app" "us" {
  name  = "shop-us"
  image = "registry.example.com/shop:2026-11-23"

  origin {
    zone = "example.com"
    name = "shop-us"
  }
}

resource "berth_container_app" "eu" {
  name   = "shop-eu"
  image  = "registry.example.com/shop:2026-11-23"
  region = "eu-west-1"

  origin {
    zone = "example.com"
    name = "shop-eu"
  }
}

resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "shop"
  primary = berth_container_app.us.region

  region {
    name     = berth_container_app.us.region
    hostname = berth_container_app.us.origin_fqdn
  }

  region {
    name     = "eu-west-1"
    hostname = berth_container_app.eu.origin_fqdn
  }
}
