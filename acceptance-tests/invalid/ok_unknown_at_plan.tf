# Control: values only known after apply (an app's origin name, weights
# derived from its instances) are not errors at validate or plan, and the
# plan reads no more than the availability zones.
# fails: no
data "berth_availability_zones" "all" {
  state = "available"
}

resource "berth_container_app" "green" {
  name     = "green"
  image    = "registry.example.com/shop:2026-11-23"
  replicas = 2
  tags = {
    zones = join(",", data.berth_availability_zones.all.names)
  }

  origin {
    zone = "example.com"
    name = "green"
  }
}

resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = length(berth_container_app.green.instances) > 0 ? 0 : 100
  }

  target {
    id       = "green"
    hostname = berth_container_app.green.origin_fqdn
    weight   = length(berth_container_app.green.instances) > 0 ? 100 : 0
    app      = berth_container_app.green.name
  }

  shift {
    to    = "green"
    steps = [10, 25, 50, 100]
  }
}
