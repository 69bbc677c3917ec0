# A hostname with a space and an exclamation mark.
# fails: validate
# expect: berth_weighted_route.api target[0].hostname :: not a DNS name
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "my shop!.herokuapp.com"
    weight   = 100
  }
}
