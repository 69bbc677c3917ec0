# An IPv4 address with an octet above 255.
# fails: validate
# expect: berth_weighted_route.api target[0].addresses[1] :: not an IPv4 address
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id        = "green"
    addresses = ["192.0.2.10", "300.1.1.1"]
    weight    = 100
  }
}
