# A negative bake time.
# fails: validate
# expect: berth_weighted_route.api shift.bake :: between 0 and 86400
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
    weight   = 100
  }

  shift {
    to    = "green"
    steps = [10, 50, 100]
    bake  = -60
  }
}
