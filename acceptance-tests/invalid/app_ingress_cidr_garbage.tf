# "everyone" is no CIDR block.
# fails: validate
# expect: berth_container_app.web ingress_cidrs[1] :: not an IPv4 CIDR block
resource "berth_container_app" "web" {
  name          = "web"
  image         = "registry.example.com/shop:2026-11-23"
  ingress_cidrs = ["10.0.0.0/8", "everyone"]
}
