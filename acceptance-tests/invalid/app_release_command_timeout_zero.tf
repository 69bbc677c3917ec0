# A release command that may not run at all.
# fails: validate
# expect: berth_container_app.web release_command_timeout :: between 1 and 86400
resource "berth_container_app" "web" {
  name                    = "web"
  image                   = "registry.example.com/shop:2026-11-23"
  release_command         = ["bin/rails", "db:migrate"]
  release_command_timeout = 0
}
