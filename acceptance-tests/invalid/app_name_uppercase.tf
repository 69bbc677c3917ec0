# App names become tags, security group and DNS names: lowercase only.
# fails: validate
# expect: berth_container_app.web name :: lowercase letters
resource "berth_container_app" "web" {
  name  = "Web_App"
  image = "registry.example.com/shop:2026-11-23"
}
