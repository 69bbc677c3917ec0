# An instance type without family and size.
# fails: validate
# expect: berth_container_app.web instance_type :: family.size
resource "berth_container_app" "web" {
  name          = "web"
  image         = "registry.example.com/shop:2026-11-23"
  instance_type = "huge"
}
