# A negative instance count.
# fails: validate
# expect: berth_container_app.web replicas :: between 1 and 100
resource "berth_container_app" "web" {
  name     = "web"
  image    = "registry.example.com/shop:2026-11-23"
  replicas = -2
}
