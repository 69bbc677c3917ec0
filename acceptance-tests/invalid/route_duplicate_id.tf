# Two targets with one id (one Route53 set identifier).
# fails: validate
# expect: berth_weighted_route.api target[1].id :: more than one target
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "green"
    hostname = "shop.herokuapp.com"
    weight   = 50
  }

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 50
  }
}
