# A log retention CloudWatch Logs does not offer.
# fails: validate
# expect: berth_container_app.web logs.retention_days :: not 8
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  logs {
    retention_days = 8
  }
}
