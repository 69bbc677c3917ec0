# A sidecar environment variable whose name no shell could use.
# fails: validate
# expect: berth_container_app.web sidecar[0].env["WORKER-COUNT"] :: must be letters, digits and underscores
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  sidecar {
    name  = "nginx"
    image = "nginx:1.27-alpine"
    env = {
      "WORKER-COUNT" = "4"
    }
  }
}
