# A shift without steps.
# fails: validate
# expect: berth_weighted_route.api shift.steps :: at least one step
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
    steps = []
  }
}
