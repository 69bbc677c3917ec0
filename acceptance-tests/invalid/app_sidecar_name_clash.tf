# Two sidecars with one compose service name.
# fails: validate
# expect: berth_container_app.web sidecar[1].name :: "nginx" is used by more than one sidecar
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["80:80"]
  }

  sidecar {
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["443:443"]
  }
}
