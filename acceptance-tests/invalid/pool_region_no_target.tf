# A region with neither a hostname nor addresses.
# fails: validate
# expect: berth_region_pool.global region.hostname :: set `hostname`
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name = "us-east-1"
  }
}
