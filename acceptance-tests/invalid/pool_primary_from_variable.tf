# The primary comes from a variable: validate cannot know it, plan must
# reject it before any record changes.
# fails: plan
# expect: berth_region_pool.global primary :: not one of the pool's regions
variable "primary" {
  type    = string
  default = "eu-central-1"
}

resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = var.primary

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }
}
