# A negative drain time.
# fails: validate
# expect: berth_container_app.web rollout.drain :: between 0 and 3600
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  rollout {
    drain = -30
  }
}
