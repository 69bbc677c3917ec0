# A health check that fails after 0 failures.
# fails: validate
# expect: berth_region_pool.global region.health_check.failure_threshold :: from 1 to 10
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"

    health_check {
      failure_threshold = 0
    }
  }
}
