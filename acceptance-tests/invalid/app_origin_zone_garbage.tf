# A hosted zone that is neither a zone id nor a DNS name.
# fails: validate
# expect: berth_container_app.web origin.zone :: hosted zone
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  origin {
    zone = "my zone!"
    name = "web"
  }
}
