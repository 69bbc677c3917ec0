# A health check path without its leading slash.
# fails: validate
# expect: berth_container_app.web health_check.path :: must start with "/"
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  health_check {
    path = "up"
  }
}
