# A pool without any region (Terraform enforces the block count).
# fails: validate
# expect: berth_region_pool.global region :: region
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"
}
