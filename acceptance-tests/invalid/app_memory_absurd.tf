# A memory limit of about 95 TiB.
# fails: validate
# expect: berth_container_app.web memory :: between 6 and 1048576
resource "berth_container_app" "web" {
  name   = "web"
  image  = "registry.example.com/shop:2026-11-23"
  memory = 99999999999
}
