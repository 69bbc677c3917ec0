# A health check timeout an ALB target group refuses (not below the interval).
# fails: validate
# expect: berth_container_app.web health_check.timeout :: shorter than the interval
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  health_check {
    interval = 5
    timeout  = 5
  }
  load_balancer {
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
    hosts        = ["shop.example.com"]
    priority     = 10
  }
}
