# Weights are percentages of traffic and must add up to 100.
# fails: validate
# expect: berth_weighted_route.api target[1].weight :: add up to 90
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 80
  }

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 10
  }
}
