# A time limit that is no duration.
# fails: validate
# expect: berth_container_app.web timeouts.create :: "30m"
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  timeouts {
    create = "soon"
  }
}
