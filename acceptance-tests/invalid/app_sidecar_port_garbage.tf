# A port mapping that is not HOST:CONTAINER.
# fails: validate
# expect: berth_container_app.web sidecar[0].ports[1] :: "HOST:CONTAINER"
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["80:80", "eighty:80"]
  }
}
