# The sidecar publishes the host port the app already uses (8080).
# fails: validate
# expect: berth_container_app.web sidecar[0].ports[0] :: host port 8080
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["8080:80"]
  }
}
