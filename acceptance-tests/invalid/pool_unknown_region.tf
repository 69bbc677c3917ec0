# A region name that is no AWS region (the only region block, so
# Terraform can place the diagnostic on its name).
# fails: validate
# expect: berth_region_pool.global region.name :: "moon-base" is not an AWS region name
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "moon-base"

  region {
    name     = "moon-base"
    hostname = "moon.app.example.com"
  }
}
