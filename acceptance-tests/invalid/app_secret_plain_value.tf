# A secret value written into configuration instead of a reference.
# fails: validate
# expect: berth_container_app.web secrets["DB_PASSWORD"] :: not a secret reference
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  secrets = {
    REDIS_URL   = "ssm:/shop/redis_url"
    DB_PASSWORD = "hunter2"
  }
}
