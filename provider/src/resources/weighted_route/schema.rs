//! `berth_weighted_route`'s schema: every attribute and block with its
//! description, defaults and plan modifiers.

use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use crate::resources::health_checks;

/// The resource schema.
pub fn schema() -> Schema {
    let health = health_checks::block(
        "A Route53 health check for this target, created and deleted with the route. Route53 stops answering with an unhealthy target, and a shift towards it is gated on it.",
        "Request path for HTTP(S), e.g. `/up`.",
    );
    let target = Block::new()
        .description("One destination of the name.")
        .attribute(Attribute::string("id").required().description("Unique id of the target (the Route53 set identifier), e.g. `paas` or `green`."))
        .attribute(Attribute::string("hostname").optional().description("A hostname: the old platform's app host, or a berth app's `origin_fqdn` (CNAME). DNS mode."))
        .attribute(
            Attribute::new("addresses", Type::list(Type::String))
                .optional()
                .description("IPv4 addresses (A), instead of `hostname`. DNS mode."),
        )
        .attribute(Attribute::string("target_group_arn").optional().description("ARN of a target group (an `aws_lb_target_group` of your stack) the listener rule forwards to. Listener-rule mode, instead of `hostname` or `addresses`; a shift towards it is gated on the load balancer's target health of the group (at least one target `healthy`, none `unhealthy`)."))
        .attribute(Attribute::number("weight").required().description("Percent of traffic, 0–100; the targets' weights sum to 100. Written to Route53 (or the rule's forward) as the weight itself, so each target's share is exactly its percentage."))
        .attribute(Attribute::string("app").optional().description("Name of a `berth_container_app` in the provider's region: a shift towards this target waits until the app's instances report healthy."))
        .block(NestedBlock::new("health_check", Nesting::Single, health));
    let rule = Block::new()
        .description("Listener-rule mode: instead of DNS records, the route is a rule on your Application Load Balancer's listener whose weighted forward splits the matching requests across the targets' target groups (at most 5). berth creates the rule (tagged `berth:route = <name>`), changes its forward in one `ModifyRule` per step, and deletes it on destroy. Traffic moves at the load balancer, without waiting for DNS caches. Conflicts with `zone`.")
        .attribute(Attribute::string("listener_arn").required().requires_replace().description("ARN of the ALB listener the rule goes on (an `aws_lb_listener` of your stack)."))
        .attribute(
            Attribute::new("hosts", Type::list(Type::String))
                .optional()
                .description("Host names the rule matches (`api.example.com`, `*.example.com`). With `paths`, a request must match both; at least one of the two, at most 5 values in all."),
        )
        .attribute(
            Attribute::new("paths", Type::list(Type::String))
                .optional()
                .description("Path patterns the rule matches (`/api/*`)."),
        )
        .attribute(Attribute::number("priority").required().description("The rule's priority on the listener, 1–50000 (lower matches first); unique on the listener. Changes in place."));
    let shift = Block::new()
        .description("Move traffic progressively in one apply: the `to` target's weight goes through `steps`, with `bake` seconds between steps and a health gate before each; the target's health is also watched during each bake (every 2 s). A failed gate or a target turning unhealthy mid-bake reverts to the weights from before the apply.")
        .attribute(Attribute::string("to").required().description("The target that receives traffic."))
        .attribute(
            Attribute::new("steps", Type::list(Type::Number))
                .required()
                .description("Increasing percentages for `to`, e.g. `[10, 25, 50, 100]`; its configured weight is always the last step."),
        )
        .attribute(
            Attribute::number("bake")
                .optional()
                .computed()
                .default(Value::int(60))
                .description("Seconds to wait after each step while watching the target's health. Default 60."),
        )
        .attribute(
            Attribute::number("gate_deadline")
                .optional()
                .computed()
                .default(Value::int(300))
                .description("Longest time in seconds a gate waits for a target that is still starting. Default 300."),
        );
    Schema::new(
        Block::new()
            .description("One DNS name split across targets by weight: Route53 weighted record sets changed in one atomic batch, optionally shifted step by step with health gates. With a `listener_rule` block, one rule on your ALB listener split across target groups instead.")
            .attribute(Attribute::string("id").computed().use_state_for_unknown().description("`<zone id>/<fqdn>/<type>`; in listener-rule mode the rule's ARN."))
            .attribute(Attribute::string("zone").optional().requires_replace().description("Route53 hosted zone id or name (DNS mode; required unless `listener_rule` is set)."))
            .attribute(Attribute::string("name").required().requires_replace().description("Record name, relative to the zone or fully qualified. In listener-rule mode, the route's name on the listener (its rule's `berth:route` tag), e.g. `api.example.com`."))
            .attribute(
                Attribute::number("ttl")
                    .optional()
                    .computed()
                    .default(Value::int(60))
                    .description("TTL of the records in seconds (DNS mode). Default 60."),
            )
            .attribute(Attribute::string("fqdn").computed().use_state_for_unknown().description("The fully qualified name (null in listener-rule mode)."))
            .attribute(Attribute::string("zone_id").computed().use_state_for_unknown().description("The hosted zone id (null in listener-rule mode)."))
            .attribute(Attribute::string("record_type").computed().description("`CNAME` (hostname targets) or `A` (address targets); null in listener-rule mode."))
            .attribute(
                Attribute::new("health_check_ids", Type::map(Type::String))
                    .computed()
                    .description("Target id → the Route53 health check berth created for it."),
            )
            .attribute(
                Attribute::new("shift_plan", Type::list(Type::String))
                    .computed()
                    .description("The steps this plan will take (or the last apply took): gates, weights, bakes."),
            )
            .block(NestedBlock::new("target", Nesting::List, target).items(1, 0))
            .block(NestedBlock::new("listener_rule", Nesting::Single, rule))
            .block(NestedBlock::new("shift", Nesting::Single, shift)),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_passes_terraform_rules() {
        let d = super::schema().check();
        assert!(d.is_empty(), "{d:?}");
    }
}
