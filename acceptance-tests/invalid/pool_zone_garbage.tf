# A zone that is neither a zone id nor a DNS name.
# fails: validate
# expect: berth_region_pool.global zone :: hosted zone
resource "berth_region_pool" "global" {
  zone    = "-example-.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }
}
