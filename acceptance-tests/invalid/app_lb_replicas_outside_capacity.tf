# A release that would start with more instances than the group allows.
# fails: validate
# expect: berth_container_app.web replicas :: within
resource "berth_container_app" "web" {
  name     = "web"
  image    = "registry.example.com/shop:2026-11-23"
  replicas = 6
  load_balancer {
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
    paths        = ["/api/*"]
    priority     = 10
  }
  capacity {
    min = 1
    max = 4
  }
}
