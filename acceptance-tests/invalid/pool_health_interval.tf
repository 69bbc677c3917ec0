# Route53 checks every 10 or 30 seconds, nothing else.
# fails: validate
# expect: berth_region_pool.global region.health_check.interval :: 10 or 30
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"

    health_check {
      interval = 5
    }
  }
}
