# A negative gate deadline.
# fails: validate
# expect: berth_weighted_route.api shift.gate_deadline :: between 1 and 86400
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
    to            = "green"
    steps         = [50, 100]
    gate_deadline = -1
  }
}
