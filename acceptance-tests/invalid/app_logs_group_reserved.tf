# A log group name in the prefix AWS keeps for its own services.
# fails: validate
# expect: berth_container_app.web logs.group :: keeps for its own services
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  logs {
    group = "aws/shop"
  }
}
