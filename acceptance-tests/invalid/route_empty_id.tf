# An empty target id.
# fails: validate
# expect: berth_weighted_route.api target[0].id :: 1–128 characters
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = ""
    hostname = "shop.herokuapp.com"
    weight   = 100
  }
}
