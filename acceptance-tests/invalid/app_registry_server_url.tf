# A registry given as a URL instead of its host name.
# fails: validate
# expect: berth_container_app.web registry_credentials[0].server :: give the registry's host name only
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  registry_credentials {
    server   = "https://registry.example.com"
    username = "deploy"
    password = "ssm:/shop/registry_password"
  }
}
