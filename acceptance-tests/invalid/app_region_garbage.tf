# A region given as a city.
# fails: validate
# expect: berth_container_app.web region :: not an AWS region name
resource "berth_container_app" "web" {
  name   = "web"
  image  = "registry.example.com/shop:2026-11-23"
  region = "frankfurt"
}
