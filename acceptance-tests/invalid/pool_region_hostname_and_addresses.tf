# A regional target that is both a hostname and addresses.
# fails: validate
# expect: berth_region_pool.global region.addresses :: not both
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name      = "us-east-1"
    hostname  = "us.app.example.com"
    addresses = ["192.0.2.10"]
  }
}
