output "fqdn" {
  value       = berth_weighted_route.live.fqdn
  description = "The name users reach."
}

output "live" {
  value       = var.live
  description = "The side serving users."
}

output "idle" {
  value       = var.live == "blue" ? "green" : "blue"
  description = "The side to deploy the next version to."
}

output "origins" {
  value       = { for side, m in module.side : side => m.origin_fqdn }
  description = "Each side's own origin hostname: test the idle side here before flipping."
}

output "releases" {
  value       = { for side, m in module.side : side => { release = m.release, image = m.image } }
  description = "Each side's serving release and image."
}

output "shift_plan" {
  value       = berth_weighted_route.live.shift_plan
  description = "The steps of the last flip."
}
