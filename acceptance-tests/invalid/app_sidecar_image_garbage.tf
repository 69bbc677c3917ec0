# A sidecar image that is no image reference.
# fails: validate
# expect: berth_container_app.web sidecar[0].image :: not an image reference
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "nginx"
    image = "nginx::latest"
  }
}
