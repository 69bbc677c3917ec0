# The instance count comes from a variable: validate cannot know it, plan
# must reject it before any instance is launched.
# fails: plan
# expect: berth_container_app.web replicas :: between 1 and 100
variable "replicas" {
  type    = number
  default = 0
}

resource "berth_container_app" "web" {
  name     = "web"
  image    = "registry.example.com/shop:2026-11-23"
  replicas = var.replicas
}
