# A negative TTL.
# fails: validate
# expect: berth_region_pool.global ttl :: between 0 and 86400
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  ttl     = -5
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }
}
