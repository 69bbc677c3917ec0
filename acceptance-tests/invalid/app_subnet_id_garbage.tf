# A VPC id where a subnet id belongs.
# fails: validate
# expect: berth_container_app.web subnet_ids[0] :: subnet-
resource "berth_container_app" "web" {
  name       = "web"
  image      = "registry.example.com/shop:2026-11-23"
  subnet_ids = ["vpc-0abc1234"]
}
