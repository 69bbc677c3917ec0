# A region name that is no AWS region among valid ones. Regions are a set,
# which an attribute path cannot index: the diagnostic is on `region` and
# names the region.
# fails: validate
# expect: berth_region_pool.global region :: "eu-westish" is not an AWS region name
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }

  region {
    name     = "eu-westish"
    hostname = "eu.app.example.com"
  }
}
