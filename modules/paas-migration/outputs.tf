output "fqdn" {
  value       = berth_weighted_route.this.fqdn
  description = "The user-facing name."
}

output "weights" {
  value       = { for t in berth_weighted_route.this.target : t.id => t.weight }
  description = "Share of traffic per side: `paas` and `aws`."
}

output "origin_fqdn" {
  value       = module.app.origin_fqdn
  description = "The berth app's own origin: test it here before moving traffic."
}

output "release" {
  value       = module.app.release
  description = "The app's serving release on AWS."
}

output "shift_plan" {
  value       = berth_weighted_route.this.shift_plan
  description = "The steps the last apply took."
}
