# An alarm period CloudWatch does not take.
# fails: validate
# expect: berth_container_app.web alarm[0].period :: 10, 30 or a multiple of 60
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  alarm {
    name      = "hot"
    metric    = "cpu"
    threshold = 90
    period    = 45
  }
}
