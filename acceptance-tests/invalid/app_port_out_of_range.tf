# Ports stop at 65535.
# fails: validate
# expect: berth_container_app.web port :: between 1 and 65535
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  port  = 70000
}
