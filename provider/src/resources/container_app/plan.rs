//! Planning `berth_container_app`: the release number, the fingerprint
//! and the rollout steps from the refreshed state, so the plan shows what
//! apply will do; the computed names known at plan (`id`, `region`,
//! `instance_role`, `origin_fqdn`, `secret_value_parameters`); user-data
//! too large for EC2 refused before anything runs.

use berth_rollout::{Desired, Fleet, Release};
use tfplugin::diag::Diagnostic;
use tfplugin::provider::{Ctx, ModifyPlanRequest, ModifyPlanResponse};
use tfplugin::value::Value;

use super::spec::{AppConfig, fingerprint};
use super::{apply, secret_values, state};
use crate::provider_data::ProviderData;

/// Attributes computed by a rollout (unknown in a plan that rolls out).
const ROLLOUT_COMPUTED: [&str; 3] = ["instances", "release_history", "origin_addresses"];

/// The plan for `req`: its computed attributes filled in.
pub fn modify_plan(ctx: &Ctx, req: &ModifyPlanRequest) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse {
        planned: req.planned.clone(),
        ..Default::default()
    };
    if req.planned.is_null() {
        return resp;
    }
    // Names only: the write-only values stay in the configuration.
    resp.planned.set_attr(
        secret_values::PARAMETERS,
        secret_values::planned_parameters(&req.config),
    );
    let (cfg, diags) = AppConfig::from_value(&resp.planned);
    if diags.has_errors() {
        resp.diagnostics = diags;
        return resp;
    }
    let planned = &mut resp.planned;
    let prior = &req.prior;
    if let Ok(data) = ctx.data::<ProviderData>() {
        let region = req
            .config
            .attr("region")
            .as_str()
            .map_or_else(|| data.aws.region.clone(), str::to_string);
        planned.set_attr("region", Value::string(&region));
        if let Some(name) = planned.attr("name").as_str().map(str::to_string) {
            planned.set_attr("id", Value::string(format!("{region}/{name}")));
        }
    }
    planned.set_attr("instance_role", state::instance_role(planned));
    let origin_same = !prior.is_null() && prior.attr("origin") == planned.attr("origin");
    if origin_same {
        planned.set_attr("origin_fqdn", prior.attr("origin_fqdn").clone());
    } else if planned.attr("origin").is_null() {
        planned.set_attr("origin_fqdn", Value::Null);
    } else {
        planned.set_attr("origin_fqdn", planned_fqdn(planned.attr("origin")));
    }
    let Some(fp) = fingerprint(planned, req.config.attr("ami")) else {
        for a in ["release", "fingerprint", "rollout_plan"]
            .into_iter()
            .chain(ROLLOUT_COMPUTED)
        {
            planned.set_attr(a, Value::unknown());
        }
        return resp;
    };
    let prior_release = prior.attr("release").as_i64().unwrap_or(0);
    let release = if prior.is_null() {
        1
    } else if prior.attr("fingerprint").as_str() == Some(fp.as_str()) {
        prior_release.max(1)
    } else {
        prior_release + 1
    };
    planned.set_attr("fingerprint", Value::string(&fp));
    planned.set_attr("release", Value::int(release));
    // The script without its state line is a lower bound of what apply
    // sends: too large now is too large then, said before anything runs.
    if let Some(region) = planned.attr("region").as_str() {
        let script = crate::userdata::render(&cfg.app_spec(1, region));
        if let Err(e) = berth_aws::fleet::encode_user_data(&script) {
            let mut d = Diagnostic::error("User-data too large", apply::too_large(&e));
            if !cfg.sidecars.is_empty() {
                d = d.at(tfplugin::path::AttributePath::attr("sidecar"));
            }
            resp.diagnostics.push(d);
            return resp;
        }
    }
    let instances = state::instances_of(prior, cfg.origin.as_ref().map(|o| o.address));
    let origin = if cfg.origin.is_some() {
        state::strings(prior.attr("origin_addresses"))
    } else {
        state::served_without_origin(prior, &instances)
    };
    let fleet = Fleet { instances, origin };
    let desired = Desired {
        release: Release {
            number: u64::try_from(release).unwrap_or(1),
            image: cfg.image.clone(),
            fingerprint: fp,
        },
        replicas: cfg.replicas,
    };
    let plan = berth_rollout::plan(&fleet, &desired, &cfg.strategy);
    if !prior.is_null() && plan.is_empty() {
        for a in ["rollout_plan"].into_iter().chain(ROLLOUT_COMPUTED) {
            planned.set_attr(a, prior.attr(a).clone());
        }
    } else {
        planned.set_attr(
            "rollout_plan",
            Value::List(plan.describe().into_iter().map(Value::String).collect()),
        );
        for a in ROLLOUT_COMPUTED {
            planned.set_attr(a, Value::unknown());
        }
    }
    resp
}

/// The origin record's name as the plan can know it: from a zone given by
/// name it is the same name the apply stores; a zone given by id (or a
/// value not yet known) leaves it to the apply.
fn planned_fqdn(origin: &Value) -> Value {
    let zone = origin
        .attr("zone")
        .as_str()
        .and_then(berth_aws::dns::zone_name);
    match (zone, origin.attr("name").as_str()) {
        (Some(zone), Some(name)) => Value::string(berth_aws::dns::qualify(&zone, name)),
        _ => Value::unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(zone: Value, name: &str) -> Value {
        Value::object([("zone", zone), ("name", Value::string(name))])
    }

    #[test]
    fn the_origin_name_is_known_at_plan_only_from_a_zone_name() {
        assert_eq!(
            planned_fqdn(&origin(Value::string("Example.com"), "web")),
            Value::string("web.example.com.")
        );
        assert!(planned_fqdn(&origin(Value::string("Z0123ABC"), "web")).is_unknown());
        assert!(planned_fqdn(&origin(Value::unknown(), "web")).is_unknown());
    }
}
