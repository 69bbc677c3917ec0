# A target that is both a hostname and a list of addresses.
# fails: validate
# expect: berth_weighted_route.api target[1].addresses :: not both
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
    hostname  = "green.example.com"
    addresses = ["192.0.2.10"]
    weight    = 50
  }
}
