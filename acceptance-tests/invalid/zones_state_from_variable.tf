# The state filter comes from a variable: validate cannot know it, plan
# must reject it without listing zones.
# fails: plan
# expect: data.berth_availability_zones.all state :: is not one of
variable "state" {
  type    = string
  default = "AVAILABLE"
}

data "berth_availability_zones" "all" {
  state = var.state
}
