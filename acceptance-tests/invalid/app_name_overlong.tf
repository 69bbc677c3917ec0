# An app name longer than 40 characters.
# fails: validate
# expect: berth_container_app.web name :: 1–40
resource "berth_container_app" "web" {
  name  = "a-very-long-application-name-that-goes-on-and-on"
  image = "registry.example.com/shop:2026-11-23"
}
