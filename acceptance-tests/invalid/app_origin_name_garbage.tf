# A record name with a space and an empty label.
# fails: validate
# expect: berth_container_app.web origin.name :: not a DNS name
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  origin {
    zone = "example.com"
    name = "web app..eu"
  }
}
