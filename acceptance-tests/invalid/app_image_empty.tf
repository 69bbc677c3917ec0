# An empty image.
# fails: validate
# expect: berth_container_app.web image :: not an image reference
resource "berth_container_app" "web" {
  name  = "web"
  image = ""
}
