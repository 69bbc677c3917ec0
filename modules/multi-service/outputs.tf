output "origin_fqdn" {
  value       = berth_container_app.this.origin_fqdn
  description = "The origin record every service hostname should point at (CNAME)."
}

output "release" {
  value       = berth_container_app.this.release
  description = "The release serving now (one release covers the front and every service)."
}

output "release_history" {
  value       = berth_container_app.this.release_history
  description = "The last releases, newest first (release, front image, fingerprint, time)."
}

output "instances" {
  value       = berth_container_app.this.instances[*].id
  description = "The instances serving; each runs the front and every service."
}

output "routing" {
  value = {
    for s in local.services : s.host => {
      container   = s.name
      upstream    = "http://${s.name}:${s.port}"
      image       = s.image
      memory      = s.memory
      health_path = s.health_path
    }
  }
  description = "The routing table: hostname → the container the front sends it to, its image and memory limit."
}

output "nginx_config" {
  value       = local.nginx_config
  description = "The generated nginx front configuration."
}

output "rollout_plan" {
  value       = berth_container_app.this.rollout_plan
  description = "The steps of the rollout the plan will run (or the last one that ran)."
}
