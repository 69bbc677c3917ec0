# A registry password written into configuration instead of a reference.
# fails: validate
# expect: berth_container_app.web registry_credentials[0].password :: not a secret reference
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  registry_credentials {
    server   = "registry.example.com"
    username = "deploy"
    password = "hunter2"
  }
}
