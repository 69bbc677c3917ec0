# A regional address that is no IPv4 address.
# fails: validate
# expect: berth_region_pool.global region.addresses[0] :: not an IPv4 address
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name      = "us-east-1"
    addresses = ["2001:db8::1"]
  }
}
