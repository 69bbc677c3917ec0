# Tag keys starting with aws: are reserved by AWS.
# fails: validate
# expect: berth_container_app.web tags["aws:cloudformation:stack-name"] :: reserved prefix
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  tags = {
    "aws:cloudformation:stack-name" = "shop"
  }
}
