# A rollout batch above the largest allowed (100 instances).
# fails: validate
# expect: berth_container_app.web rollout.batch_size :: between 0 and 100
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"

  rollout {
    batch_size = 500
  }
}
