# An app that takes traffic both through an origin record and a load balancer.
# fails: validate
# expect: berth_container_app.web load_balancer.listener_arn :: origin
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  origin {
    zone = "example.com"
    name = "web"
  }
  load_balancer {
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
    hosts        = ["shop.example.com"]
    priority     = 10
  }
}
