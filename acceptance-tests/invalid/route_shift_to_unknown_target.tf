# A shift towards a target id that does not exist.
# fails: validate
# expect: berth_weighted_route.api shift.to :: not the id of a target
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
    to    = "blue"
    steps = [10, 100]
  }
}
