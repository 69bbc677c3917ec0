# An alarm on a metric the instances do not publish.
# fails: validate
# expect: berth_container_app.web alarm[0].metric :: is not one of cpu, memory, unhealthy_instances
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  alarm {
    name      = "disk"
    metric    = "disk"
    threshold = 90
  }
}
