//! `berth_region_pool`'s schema: every attribute and block with its
//! description, defaults and plan modifiers.

use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use crate::resources::health_checks;

/// The resource schema.
pub fn schema() -> Schema {
    let health = health_checks::block(
        "The region's Route53 health check (created and owned by the pool). Defaults: HTTPS on 443, path `/`.",
        "Request path. Default `/`.",
    );
    let region = Block::new()
        .description("One regional target.")
        .attribute(Attribute::string("name").required().description("The AWS region whose users this target serves by latency, e.g. `eu-west-1`."))
        .attribute(Attribute::string("hostname").optional().description("The region's endpoint host, e.g. its berth app's `origin_fqdn`."))
        .attribute(Attribute::new("addresses", Type::list(Type::String)).optional().description("IPv4 addresses instead of `hostname`."))
        .attribute(Attribute::bool("drained").optional().computed().default(Value::Bool(false)).description("Take the region out of rotation without deleting it: its users are answered by the primary region."))
        .block(NestedBlock::new("health_check", Nesting::Single, health));
    Schema::new(
        Block::new()
            .description("One DNS name served by regional targets: latency-based records per region with health checks, failover to the primary region, and drain/restore of a region.")
            .attribute(Attribute::string("id").computed().use_state_for_unknown().description("`<zone id>/<fqdn>`."))
            .attribute(Attribute::string("zone").required().requires_replace().description("Route53 hosted zone id or name."))
            .attribute(Attribute::string("name").required().requires_replace().description("Record name, relative to the zone or fully qualified."))
            .attribute(Attribute::number("ttl").optional().computed().default(Value::int(60)).description("TTL of the regional records in seconds. Default 60."))
            .attribute(Attribute::string("primary").required().description("The primary region: where a region's users go when it is unhealthy or drained."))
            .attribute(Attribute::string("fqdn").computed().use_state_for_unknown().description("The fully qualified name."))
            .attribute(Attribute::string("zone_id").computed().use_state_for_unknown().description("The hosted zone id."))
            .attribute(Attribute::new("health_check_ids", Type::map(Type::String)).computed().description("Region → its Route53 health check id."))
            .attribute(Attribute::new("records", Type::list(Type::String)).computed().description("The record sets the pool consists of, one line each."))
            .block(NestedBlock::new("region", Nesting::Set, region).items(1, 0)),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_passes_terraform_rules() {
        assert!(super::schema().check().is_empty());
    }
}
