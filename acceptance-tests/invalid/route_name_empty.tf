# An empty record name.
# fails: validate
# expect: berth_weighted_route.api name :: not a DNS name
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = ""

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 100
  }
}
