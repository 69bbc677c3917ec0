output "region" {
  value       = berth_container_app.this.region
  description = "The region."
}

output "origin_fqdn" {
  value       = berth_container_app.this.origin_fqdn
  description = "This region's origin record (`<name>-<region>.<zone>.`)."
}

output "release" {
  value       = berth_container_app.this.release
  description = "The release serving in this region."
}

output "deployed_at" {
  value       = berth_container_app.this.release_history[0].deployed_at
  description = "When the current release was rolled out here (RFC 3339)."
}

output "instances" {
  value       = berth_container_app.this.instances[*].id
  description = "Instances serving in this region."
}

output "rollout_plan" {
  value       = berth_container_app.this.rollout_plan
  description = "The steps of the rollout the plan will run (or the last one that ran)."
}
