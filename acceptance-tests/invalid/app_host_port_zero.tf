# Port 0 cannot be published.
# fails: validate
# expect: berth_container_app.web host_port :: between 1 and 65535
resource "berth_container_app" "web" {
  name      = "web"
  image     = "registry.example.com/shop:2026-11-23"
  host_port = 0
}
