# Spaces and an exclamation mark are no image reference.
# fails: validate
# expect: berth_container_app.web image :: not an image reference
resource "berth_container_app" "web" {
  name  = "web"
  image = "my shop image!"
}
