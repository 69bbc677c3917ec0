# A negative weight (even though the sum is 100).
# fails: validate
# expect: berth_weighted_route.api target[0].weight :: 0 to 100
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = -20
  }

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 120
  }
}
