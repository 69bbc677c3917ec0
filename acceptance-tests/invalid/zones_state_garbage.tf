# A zone state AWS does not have.
# fails: validate
# expect: data.berth_availability_zones.all state :: is not one of
data "berth_availability_zones" "all" {
  state = "sunny"
}
