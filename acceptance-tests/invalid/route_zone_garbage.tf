# A zone that is neither a zone id nor a DNS name.
# fails: validate
# expect: berth_weighted_route.api zone :: hosted zone
resource "berth_weighted_route" "api" {
  zone = "example com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 100
  }
}
