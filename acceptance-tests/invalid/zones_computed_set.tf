# names is computed: configuration cannot set it.
# fails: validate
# expect: data.berth_availability_zones.all names :: names
data "berth_availability_zones" "all" {
  names = ["us-east-1a"]
}
