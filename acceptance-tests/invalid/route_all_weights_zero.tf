# No target gets any traffic.
# fails: validate
# expect: berth_weighted_route.api target[1].weight :: add up to 0
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 0
  }

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 0
  }
}
