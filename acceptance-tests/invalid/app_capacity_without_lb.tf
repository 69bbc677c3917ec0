# Auto Scaling bounds on an app that has no load balancer.
# fails: validate
# expect: berth_container_app.web capacity.min :: load_balancer
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  capacity {
    min = 1
    max = 4
  }
}
