# The gating app is not a berth app name.
# fails: validate
# expect: berth_weighted_route.api target[0].app :: lowercase letters
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 100
    app      = "Green App"
  }
}
