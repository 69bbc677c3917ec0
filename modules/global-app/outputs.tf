output "fqdn" {
  value       = berth_region_pool.this.fqdn
  description = "The global name users resolve (`<name>.<zone>.`)."
}

output "regions" {
  value = {
    for r in local.regional : r.region => {
      origin      = r.origin_fqdn
      release     = r.release
      deployed_at = r.deployed_at
      instances   = r.instances
    }
  }
  description = "Per region: origin record, release, when it was rolled out, instances."
}

output "rollout_order" {
  value       = concat(var.secondary_regions, [var.primary_region])
  description = "The order a change rolls out in: the secondary regions as listed, the primary last."
}

output "health_check_ids" {
  value       = berth_region_pool.this.health_check_ids
  description = "Region → the pool's Route53 health check id (for alarms)."
}
