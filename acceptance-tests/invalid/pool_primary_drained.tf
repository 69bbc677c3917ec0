# The primary region is where drained regions go: it cannot drain itself.
# fails: validate
# expect: berth_region_pool.global primary :: cannot be drained
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
    drained  = true
  }

  region {
    name     = "eu-west-1"
    hostname = "eu.app.example.com"
  }
}
