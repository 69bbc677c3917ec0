//! Planning `berth_container_app`: the release number, the fingerprint
//! and the rollout steps from the refreshed state, so the plan shows what
//! apply will do; the computed names known at plan (`id`, `region`,
//! `instance_role`, `origin_fqdn`, `secret_value_parameters`); user-data
//! too large for EC2 refused before anything runs.

use berth_rollout::{Desired, Fleet, Release};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::provider::{Ctx, ModifyPlanRequest, ModifyPlanResponse};
use tfplugin::value::Number;

use super::model::{AppModel, OriginModel, StringMap, known_strings};
use super::spec::{AppConfig, fingerprint};
use super::{apply, secret_values, state};
use crate::provider_data::ProviderData;

/// The longest AMI id (`ami-` and 17 hex digits): stands in for an AMI
/// looked up at apply, where only the state line's size matters.
const LONGEST_AMI: &str = "ami-0123456789abcdef0";
/// A deploy time as apply writes it, at its longest (nanoseconds).
const LONGEST_TIME: &str = "2026-12-04T11:51:51.671079177Z";

/// The plan for `req`: its computed attributes filled in.
pub fn modify_plan(ctx: &Ctx, req: &ModifyPlanRequest) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse {
        planned: req.planned.clone(),
        ..Default::default()
    };
    if req.planned.is_null() {
        return resp;
    }
    let read = || -> Result<(AppModel, Option<AppModel>, StringMap), Diagnostics> {
        let prior = if req.prior.is_null() {
            None
        } else {
            Some(req.prior.get()?)
        };
        // Names only: the write-only values stay in the configuration.
        let parameters = secret_values::planned_parameters(&req.config).get()?;
        Ok((req.planned.get()?, prior, parameters))
    };
    let (mut planned, prior, parameters) = match read() {
        Ok(r) => r,
        Err(d) => {
            resp.diagnostics = d;
            return resp;
        }
    };
    planned.secret_value_parameters = parameters;
    // The log group by default: known at plan, as the instances name it
    // (Terraform proposes it unknown: it is computed).
    let name = planned.name.as_deref().map(str::to_string);
    let group_unset = req.config.attr("logs").attr("group").is_null();
    if let (Attr::Known(logs), Some(name)) = (&mut planned.logs, name)
        && group_unset
        && !matches!(logs.group, Attr::Known(_))
    {
        logs.group = Attr::Known(super::spec::default_log_group(&name));
    }
    let (cfg, diags) = AppConfig::from_model(&planned);
    if diags.has_errors() {
        resp.diagnostics = diags;
        return resp;
    }
    if let Ok(data) = ctx.data::<ProviderData>() {
        let region = req
            .config
            .attr("region")
            .as_str()
            .map_or_else(|| data.aws.region.clone(), str::to_string);
        if let Some(name) = planned.name.as_deref() {
            planned.id = Attr::Known(format!("{region}/{name}"));
        }
        planned.region = Attr::Known(region);
    }
    planned.instance_role = state::role_of(
        &planned.instance_profile,
        planned.name.as_deref(),
        planned.region.as_deref(),
    );
    planned.origin_fqdn = match &prior {
        Some(p) if p.origin == planned.origin => p.origin_fqdn.clone(),
        _ if planned.origin.is_null() => Attr::Null,
        _ => planned_fqdn(&planned.origin),
    };
    let Some(fp) = fingerprint(&planned.to_value(), req.config.attr("ami")) else {
        planned.release = Attr::unknown();
        planned.fingerprint = Attr::unknown();
        planned.rollout_plan = Attr::unknown();
        planned.instances = Attr::unknown();
        planned.release_history = Attr::unknown();
        planned.origin_addresses = Attr::unknown();
        resp.planned = planned.to_value();
        return resp;
    };
    let release = match &prior {
        None => 1,
        Some(p) => {
            let prior_release = p.release.known().and_then(Number::as_i64).unwrap_or(0);
            if p.fingerprint.as_deref() == Some(fp.as_str()) {
                prior_release.max(1)
            } else {
                prior_release + 1
            }
        }
    };
    planned.fingerprint = Attr::Known(fp.clone());
    planned.release = Attr::Known(Number::Int(release));
    // What apply will send, state line included (with the longest AMI id
    // and deploy time where those are not known yet): too large then is
    // said now, before anything runs.
    if let Some(region) = planned.region.as_deref() {
        let number = u64::try_from(release).unwrap_or(1);
        let mut script = crate::userdata::render(&cfg.app_spec(number, region, &fp));
        let ami = planned.ami.as_deref().unwrap_or(LONGEST_AMI);
        if let Ok(line) = state::trailer(&planned.to_value(), ami, LONGEST_TIME) {
            script.push_str(&line);
        }
        if let Err(e) = berth_aws::fleet::encode_user_data(&script) {
            let mut d = Diagnostic::error("User-data too large", apply::too_large(&e));
            if !cfg.sidecars.is_empty() {
                d = d.at(tfplugin::path::AttributePath::attr("sidecar"));
            }
            resp.diagnostics.push(d);
            resp.planned = planned.to_value();
            return resp;
        }
    }
    let no_prior = AppModel::default();
    let recorded = prior.as_ref().unwrap_or(&no_prior);
    let mut instances = state::instances_of(recorded, cfg.origin.as_ref().map(|o| o.address));
    if cfg.lb.is_some() {
        instances = berth_aws::lb_fleet::address_by_group(&cfg.name, instances);
    }
    let origin = if cfg.origin.is_some() || cfg.lb.is_some() {
        known_strings(&recorded.origin_addresses)
    } else {
        state::served_without_origin(recorded, &instances)
    };
    let replicas = match &cfg.lb {
        Some(lb) => super::load_balancer::desired_count(lb, cfg.replicas, &fp, &instances, &origin),
        None => cfg.replicas,
    };
    let desired = Desired {
        release: Release {
            number: u64::try_from(release).unwrap_or(1),
            image: cfg.image.clone(),
            fingerprint: fp,
        },
        replicas,
    };
    let fleet = Fleet { instances, origin };
    let plan = berth_rollout::plan(&fleet, &desired, &cfg.strategy);
    match prior {
        Some(p) if plan.is_empty() => {
            // Nothing rolls out: what the last rollout computed stays.
            planned.rollout_plan = p.rollout_plan;
            planned.instances = p.instances;
            planned.release_history = p.release_history;
            planned.origin_addresses = p.origin_addresses;
        }
        _ => {
            planned.rollout_plan = Attr::Known(
                super::spec::rollout_steps(&plan, &cfg)
                    .into_iter()
                    .map(Attr::Known)
                    .collect(),
            );
            planned.instances = Attr::unknown();
            planned.release_history = Attr::unknown();
            planned.origin_addresses = Attr::unknown();
        }
    }
    resp.planned = planned.to_value();
    resp
}

/// The origin record's name as the plan can know it: from a zone given by
/// name it is the same name the apply stores; a zone given by id (or a
/// value not yet known) leaves it to the apply.
fn planned_fqdn(origin: &Attr<OriginModel>) -> Attr<String> {
    let Some(o) = origin.known() else {
        return Attr::unknown();
    };
    let zone = o.zone.as_deref().and_then(berth_aws::dns::zone_name);
    match (zone, o.name.as_deref()) {
        (Some(zone), Some(name)) => Attr::Known(berth_aws::dns::qualify(&zone, name)),
        _ => Attr::unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(zone: Attr<String>, name: &str) -> Attr<OriginModel> {
        Attr::Known(OriginModel {
            zone,
            name: Attr::Known(name.to_string()),
            ..OriginModel::default()
        })
    }

    #[test]
    fn the_origin_name_is_known_at_plan_only_from_a_zone_name() {
        assert_eq!(
            planned_fqdn(&origin(Attr::Known("Example.com".into()), "web")),
            Attr::Known("web.example.com.".to_string())
        );
        assert!(planned_fqdn(&origin(Attr::Known("Z0123ABC".into()), "web")).is_unknown());
        assert!(planned_fqdn(&origin(Attr::unknown(), "web")).is_unknown());
    }
}
