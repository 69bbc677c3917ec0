# A shift whose steps go backwards.
# fails: validate
# expect: berth_weighted_route.api shift.steps[2] :: larger than the one before
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
    steps = [10, 50, 25, 100]
  }
}
