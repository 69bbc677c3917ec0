# A per-check timeout of an hour.
# fails: validate
# expect: berth_container_app.web health_check.timeout :: between 1 and 60
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  health_check {
    timeout = 3600
  }
}
