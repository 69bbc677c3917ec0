# CNAME and A targets cannot share one name.
# fails: validate
# expect: berth_weighted_route.api target[1].addresses :: all targets of one route
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 50
  }

  target {
    id        = "green"
    addresses = ["192.0.2.10"]
    weight    = 50
  }
}
