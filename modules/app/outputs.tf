output "log_group" {
  value       = one(berth_container_app.this.logs[*].group)
  description = "The CloudWatch Logs group of the app's containers (null without logs): `aws logs tail <group> --follow`."
}

output "name" {
  value       = berth_container_app.this.name
  description = "The app name (use it as a weighted route target's `app`)."
}

output "origin_fqdn" {
  value       = berth_container_app.this.origin_fqdn
  description = "The app's origin record: its healthy instances of the serving release."
}

output "fqdn" {
  value       = var.domain == null ? berth_container_app.this.origin_fqdn : berth_weighted_route.domain[0].fqdn
  description = "Where users reach the app: the custom domain when set, else the origin record."
}

output "release" {
  value       = berth_container_app.this.release
  description = "The release serving now."
}

output "image" {
  value       = berth_container_app.this.image
  description = "The image of the serving release."
}

output "release_history" {
  value       = berth_container_app.this.release_history
  description = "Recent releases (number, image, time): roll back by setting an earlier image."
}

output "instances" {
  value       = berth_container_app.this.instances[*].id
  description = "The instances serving the app."
}

output "rollout_plan" {
  value       = berth_container_app.this.rollout_plan
  description = "The steps the last rollout took."
}

output "instance_role" {
  value       = berth_container_app.this.instance_role
  description = "The IAM role berth made for the instances (null with instance_profile): attach the app's own policies to it."
}
