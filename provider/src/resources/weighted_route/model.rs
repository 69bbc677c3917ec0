//! `berth_weighted_route`'s configuration, plan and state as typed models:
//! one field per attribute and block of [`super::schema::schema`], read
//! from Terraform's value once per request and written back once.

use std::collections::BTreeMap;

use tfplugin::model::{Attr, Model};
use tfplugin::value::Number;

use crate::resources::Strings;

use crate::resources::health_checks::HealthCheckModel;

/// The resource.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RouteModel {
    /// `<zone id>/<fqdn>/<type>` (computed).
    pub id: Attr<String>,
    /// Hosted zone id or name.
    pub zone: Attr<String>,
    /// Record name.
    pub name: Attr<String>,
    /// TTL in seconds.
    pub ttl: Attr<i64>,
    /// Fully qualified name (computed).
    pub fqdn: Attr<String>,
    /// Hosted zone id (computed).
    pub zone_id: Attr<String>,
    /// `CNAME` or `A` (computed).
    pub record_type: Attr<String>,
    /// Target id → health check id (computed).
    pub health_check_ids: Attr<BTreeMap<String, String>>,
    /// The shift's steps (computed).
    pub shift_plan: Attr<Vec<String>>,
    /// The `target` blocks.
    pub target: Attr<Vec<TargetModel>>,
    /// The `listener_rule` block.
    pub listener_rule: Attr<ListenerRuleModel>,
    /// The `shift` block.
    pub shift: Attr<ShiftModel>,
}

/// One `target` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TargetModel {
    /// Set identifier.
    pub id: Attr<String>,
    /// A hostname (CNAME).
    pub hostname: Attr<String>,
    /// IPv4 addresses (A).
    pub addresses: Attr<Vec<Attr<String>>>,
    /// A target group (listener-rule mode).
    pub target_group_arn: Attr<String>,
    /// Percent of traffic.
    pub weight: Attr<i64>,
    /// A berth app that gates shifts towards this target.
    pub app: Attr<String>,
    /// A Route53 health check for the target.
    pub health_check: Attr<HealthCheckModel>,
}

/// The `listener_rule` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ListenerRuleModel {
    /// The user's listener.
    pub listener_arn: Attr<String>,
    /// Host names the rule matches.
    pub hosts: Strings,
    /// Path patterns the rule matches.
    pub paths: Strings,
    /// The rule's priority.
    pub priority: Attr<Number>,
}

/// The `shift` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ShiftModel {
    /// The target that receives traffic.
    pub to: Attr<String>,
    /// Percentages for `to`.
    pub steps: Attr<Vec<Attr<i64>>>,
    /// Seconds between steps.
    pub bake: Attr<i64>,
    /// Longest a gate waits for a starting target.
    pub gate_deadline: Attr<i64>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_model_covers_the_schema() {
        tfplugin::model::assert_covers::<super::RouteModel>(&super::super::schema::schema().block);
    }
}
