# One variable both plain and secret.
# fails: validate
# expect: berth_container_app.web secrets["DATABASE_URL"] :: both `env` and `secrets`
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  env = {
    DATABASE_URL = "postgres://db/shop"
  }
  secrets = {
    DATABASE_URL = "ssm:/shop/database_url"
  }
}
