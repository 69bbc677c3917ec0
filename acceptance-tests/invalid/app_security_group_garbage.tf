# A security group given by name instead of id.
# fails: validate
# expect: berth_container_app.web security_group_ids[0] :: sg-
resource "berth_container_app" "web" {
  name               = "web"
  image              = "registry.example.com/shop:2026-11-23"
  security_group_ids = ["default"]
}
