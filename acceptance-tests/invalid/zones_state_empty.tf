# An empty state filter.
# fails: validate
# expect: data.berth_availability_zones.all state :: is not one of
data "berth_availability_zones" "all" {
  state = ""
}
