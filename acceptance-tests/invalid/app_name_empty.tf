# An empty app name.
# fails: validate
# expect: berth_container_app.web name :: 1–40
resource "berth_container_app" "web" {
  name  = ""
  image = "registry.example.com/shop:2026-11-23"
}
