# An AMI given by name instead of id.
# fails: validate
# expect: berth_container_app.web ami :: ami-
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  ami   = "amazon-linux-2023"
}
