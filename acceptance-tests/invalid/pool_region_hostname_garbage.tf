# A regional hostname that is no DNS name.
# fails: validate
# expect: berth_region_pool.global region.hostname :: not a DNS name
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "http://us.app.example.com/"
  }
}
