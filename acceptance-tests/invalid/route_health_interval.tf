# Route53 checks every 10 or 30 seconds, nothing else.
# fails: validate
# expect: berth_weighted_route.api target[0].health_check.interval :: 10 or 30
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = 100

    health_check {
      path     = "/up"
      interval = 15
    }
  }
}
