# Checks every 300 s, two passes needed, but the gate gives up after 60 s:
# no instance could ever pass.
# fails: validate
# expect: berth_container_app.web health_check.deadline :: longer than
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  health_check {
    path     = "/up"
    interval = 300
    deadline = 60
  }
}
