# A rule with more condition values than an ALB rule holds.
# fails: validate
# expect: berth_container_app.web load_balancer.hosts :: at most 5
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  load_balancer {
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
    hosts        = ["a.example.com", "b.example.com", "c.example.com"]
    paths        = ["/a/*", "/b/*", "/c/*"]
    priority     = 10
  }
}
