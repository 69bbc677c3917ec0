# One region twice with different targets.
# fails: validate
# expect: berth_region_pool.global region :: "eu-west-1" appears in more than one
resource "berth_region_pool" "global" {
  zone    = "example.com"
  name    = "app"
  primary = "us-east-1"

  region {
    name     = "us-east-1"
    hostname = "us.app.example.com"
  }

  region {
    name     = "eu-west-1"
    hostname = "eu.app.example.com"
  }

  region {
    name     = "eu-west-1"
    hostname = "eu2.app.example.com"
  }
}
