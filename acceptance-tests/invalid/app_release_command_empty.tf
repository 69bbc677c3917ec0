# A release command with no words.
# fails: validate
# expect: berth_container_app.web release_command :: needs a command
resource "berth_container_app" "web" {
  name            = "web"
  image           = "registry.example.com/shop:2026-11-23"
  release_command = []
}
