# A negative TTL.
# fails: validate
# expect: berth_weighted_route.api ttl :: between 0 and 86400
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"
  ttl  = -1

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 100
  }
}
