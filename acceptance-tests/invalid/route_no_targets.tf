# A route without any target (Terraform enforces the block count).
# fails: validate
# expect: berth_weighted_route.api target :: target
resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"
}
