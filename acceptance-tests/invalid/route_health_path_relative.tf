# A health check path without its leading slash.
# fails: validate
# expect: berth_weighted_route.api target[0].health_check.path :: must start with "/"
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 100

    health_check {
      path = "up"
    }
  }
}
