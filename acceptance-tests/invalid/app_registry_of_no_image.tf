# Credentials for a registry none of the app's images is on (a typo).
# fails: validate
# expect: berth_container_app.web registry_credentials[1].server :: no image of this app is on "registry.exmaple.com"
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  registry_credentials {
    server   = "registry.example.com"
    username = "deploy"
    password = "ssm:/shop/registry_password"
  }
  registry_credentials {
    server   = "registry.exmaple.com"
    username = "deploy"
    password = "ssm:/shop/registry_password"
  }
}
