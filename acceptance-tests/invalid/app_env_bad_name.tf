# Environment variable names cannot start with a digit.
# fails: validate
# expect: berth_container_app.web env["1DB"] :: not starting with a digit
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  env = {
    RAILS_ENV = "production"
    "1DB"     = "x"
  }
}
