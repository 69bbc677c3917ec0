# A negative DNS TTL.
# fails: validate
# expect: berth_container_app.web origin.ttl :: between 0 and 86400
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  origin {
    zone = "example.com"
    name = "web"
    ttl  = -60
  }
}
