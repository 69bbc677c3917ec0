# A target with neither a hostname nor addresses.
# fails: validate
# expect: berth_weighted_route.api target[0].hostname :: set `hostname`
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id     = "paas"
    weight = 100
  }
}
