# The new target's share comes from a variable: validate cannot know it,
# plan must reject it before any record changes.
# fails: plan
# expect: berth_weighted_route.api target[1].weight :: add up to 110
variable "green_share" {
  type    = number
  default = 20
}

resource "berth_weighted_route" "api" {
  zone = "example.com"
  name = "api"

  target {
    id       = "paas"
    hostname = "shop.herokuapp.com"
    weight   = 90
  }

  target {
    id       = "green"
    hostname = "green.example.com"
    weight   = var.green_share
  }
}
