# A health check port out of range.
# fails: validate
# expect: berth_weighted_route.api target[0].health_check.port :: from 1 to 65535
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 100

    health_check {
      port = 0
    }
  }
}
