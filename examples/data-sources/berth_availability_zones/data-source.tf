data "berth_availability_zones" "available" {
  state = "available"
}

output "zones" {
  value = data.berth_availability_zones.available.names
}
