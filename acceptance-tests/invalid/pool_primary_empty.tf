# An empty primary region.
# fails: validate
# expect: berth_region_pool.global primary :: not an AWS region name
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = ""

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }
}
