# The primary region is not one of the pool's regions.
# fails: validate
# expect: berth_region_pool.global primary :: not one of the pool's regions
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "ap-south-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }

  region {
    name     = "eu-west-1"
    hostname = "eu.app.example.com"
  }
}
