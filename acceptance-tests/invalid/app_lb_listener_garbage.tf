# A load balancer's ARN where its listener's belongs.
# fails: validate
# expect: berth_container_app.web load_balancer.listener_arn :: listener
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  load_balancer {
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
    hosts        = ["shop.example.com"]
    priority     = 10
  }
}
