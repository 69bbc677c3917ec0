# "app" is the app's own compose service.
# fails: validate
# expect: berth_container_app.web sidecar[0].name :: not "app"
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "app"
    image = "nginx:1.27"
  }
}
