# Docker repositories are lowercase; a tag may not hold a slash.
# fails: validate
# expect: berth_container_app.web image :: not an image reference
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/Shop:v1/2"
}
