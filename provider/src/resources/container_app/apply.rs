//! Create/update (a rollout) and delete of `berth_container_app`.
//!
//! Guarantees:
//! - The live fleet is found by tags, never trusted from state, so an
//!   apply after an interrupted one adopts what it left (no duplicates)
//!   and cleans up what is no longer wanted.
//! - A failed or interrupted rollout keeps the old release serving; the
//!   error says which instances failed which check and what is running.
//! - Each step is logged at INFO (visible with `TF_LOG=INFO`); a finished
//!   rollout ends with a one-line summary shown as a warning diagnostic,
//!   the only channel Terraform shows without `TF_LOG`.
//! - Without `instance_profile` the instances get berth's role for the app
//!   (`berth_aws::iam`), made before the launch; its policy covers the new
//!   release and, until the rollout ends, the previous one.
//! - Delete terminates every tagged instance, removes the origin record,
//!   the managed security group and berth's IAM role: nothing tagged is
//!   left.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use berth_aws::ec2::Ingress;
use berth_aws::fleet::{LaunchPayload, LaunchSpec};
use berth_aws::iam::role_name;
use berth_aws::ports::AppCloud;
use berth_rollout::{Compute, Desired, Dns, Engine, Fleet, PortError, Probe, Progress, Release};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::provider::{ApplyResponse, Ctx};
use tfplugin::value::{Number, Value};
use tokio_util::sync::CancellationToken;

use super::model::{AppModel, HistoryModel, known_map};
use super::spec::AppConfig;
use super::state;
use crate::provider_data::ProviderData;
use crate::resources::error;
use crate::userdata;

/// Releases kept in `release_history`.
pub const HISTORY: usize = 10;

/// Logs each step at INFO and keeps the lines for the summary.
struct LogProgress {
    app: String,
    lines: Mutex<Vec<String>>,
}

impl LogProgress {
    /// The steps reported so far, one per line, without the per-instance
    /// "healthy after" lines.
    fn steps_taken(&self) -> String {
        self.lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|x| !x.contains("healthy after"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            })
            .unwrap_or_default()
    }
}

impl Progress for LogProgress {
    fn report(&self, message: &str) {
        tracing::info!(app = %self.app, "{}: {message}", self.app);
        if let Ok(mut l) = self.lines.lock() {
            l.push(message.to_string());
        }
    }
}

/// No origin record configured: DNS steps do nothing.
struct NoDns;

#[async_trait]
impl Dns for NoDns {
    async fn point(&self, _targets: &[String]) -> Result<(), PortError> {
        Ok(())
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A token that fires on StopProvider or when `limit` has passed.
fn deadline_token(ctx: &Ctx, limit: Duration) -> CancellationToken {
    let token = ctx.cancel.child_token();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(limit) => t.cancel(),
            () = t.cancelled() => {}
        }
    });
    token
}

/// Where and how the new release's instances launch.
struct Placement {
    ami: String,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    /// The security group berth manages for the app, if it manages one.
    managed_sg: Option<String>,
}

/// The app's origin record and the addresses it holds now.
#[derive(Default)]
struct OriginNow {
    /// (zone id, fqdn) of the record, when the app has one.
    target: Option<(String, String)>,
    /// The addresses that take traffic now.
    current: Vec<String>,
}

/// Creates or updates the app to `planned` (whose checked configuration
/// is `cfg`), narrated as the steps it takes: placement (AMI, subnets,
/// security group), origin record, live fleet, launch payload, IAM role,
/// rollout, then what follows a rollout (policy, tags, old record) and
/// the new state.
pub async fn converge(
    ctx: &Ctx,
    data: &ProviderData,
    cfg: &AppConfig,
    prior: Option<&Value>,
    planned: &Value,
) -> ApplyResponse {
    let failed = |diagnostics: Diagnostics| ApplyResponse {
        new_state: prior.cloned().unwrap_or(Value::Null),
        diagnostics,
        ..Default::default()
    };
    let read = || -> Result<(AppModel, Option<AppModel>), Diagnostics> {
        Ok((planned.get()?, prior.map(Value::get).transpose()?))
    };
    let (mut state, prior_m) = match read() {
        Ok(m) => m,
        Err(d) => return failed(d),
    };
    let cloud = match data.app_cloud(state.region.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            return failed(error(
                "Cannot configure AWS for the app's region",
                e.to_string(),
            ));
        }
    };
    let cloud = cloud.as_ref();
    let app = cfg.name.clone();
    let limit = if prior.is_some() {
        cfg.timeouts.update
    } else {
        cfg.timeouts.create
    };
    let cancel = deadline_token(ctx, limit);
    data.inventory.invalidate().await;

    let place = match placement(cloud, data, cfg, planned).await {
        Ok(p) => p,
        Err(d) => return failed(d),
    };
    let mut origin = match origin_now(cloud, data, cfg).await {
        Ok(o) => o,
        Err(d) => return failed(d),
    };
    let kind = cfg.origin.as_ref().map(|o| o.address).unwrap_or_default();
    let live = match cloud.app_instances(&app, kind).await {
        Ok(l) if cfg.lb.is_some() => berth_aws::lb_fleet::address_by_group(&app, l),
        Ok(l) => l,
        Err(e) => return failed(error("Cannot list the app's instances", e.to_string())),
    };
    let release_no = u64::try_from(planned.attr("release").as_i64().unwrap_or(1)).unwrap_or(1);
    let Some(fingerprint) = planned.attr("fingerprint").as_str().map(str::to_string) else {
        return failed(error(
            "Unknown fingerprint",
            "the planned fingerprint was not known at apply time (a provider bug).",
        ));
    };
    let deployed_at = now_rfc3339();
    let release = Release {
        number: release_no,
        image: cfg.image.clone(),
        fingerprint: fingerprint.clone(),
    };
    let payload = match launch_payload(
        cfg,
        planned,
        release,
        cloud.region(),
        &place.ami,
        &deployed_at,
    ) {
        Ok(p) => p,
        Err(d) => return failed(d),
    };
    // The instances' role: the user's profile, or berth's own for the app.
    // While the rollout runs it also covers what the previous release reads.
    let needs = instance_needs(cfg);
    let prior_needs = prior_m
        .as_ref()
        .map_or_else(berth_aws::iam::Needs::default, |p| {
            instance_needs(&AppConfig::from_model(p).0)
        });
    let managed_role = match instance_role(cloud, data, cfg, &needs.union(&prior_needs)).await {
        Ok(r) => r,
        Err(mut diags) => {
            if prior.is_none() {
                cleanup_after_failed_create(
                    cloud,
                    &app,
                    place.managed_sg.as_deref(),
                    false,
                    &mut diags,
                )
                .await;
            }
            return failed(diags);
        }
    };

    let mut tags = data.default_tags.clone();
    tags.extend(cfg.tags.clone());
    // The log group the new instances write to: there before they start.
    if let Some(l) = &cfg.logs {
        let mut group_tags = tags.clone();
        group_tags.insert("berth:app".into(), app.clone());
        if let Err(e) = cloud
            .ensure_log_group(&l.group, l.retention_days, &group_tags)
            .await
        {
            return failed(error(
                "Cannot create the app's log group",
                format!("log group {}: {e}", l.group),
            ));
        }
        tracing::info!(app = %app, "{app}: log group {} (retention {} days)", l.group, l.retention_days);
    }
    // The alarms: put (create or update in place), and those no longer
    // declared deleted.
    let had_alarms = prior_m
        .as_ref()
        .is_some_and(|p| p.alarm.known().is_some_and(|a| !a.is_empty()));
    if (had_alarms || !cfg.alarms.is_empty())
        && let Err(e) = sync_alarms(cloud, cfg, &tags).await
    {
        return failed(error("Cannot set the app's alarms", e));
    }
    let launch = LaunchSpec {
        app: app.clone(),
        ami: place.ami.clone(),
        instance_type: cfg.instance_type.clone(),
        subnets: place.subnets.clone(),
        security_groups: place.security_groups.clone(),
        key_name: cfg.key_name.clone(),
        instance_profile: cfg
            .instance_profile
            .clone()
            .or_else(|| managed_role.as_ref().map(|r| r.name.clone())),
        payload: Some(payload.clone()),
        tags: tags.clone(),
        rollout_id: format!(
            "r{release_no}t{}",
            time::OffsetDateTime::now_utc().unix_timestamp()
        ),
        address: kind,
    };
    let desired = Desired {
        release: payload.release().clone(),
        replicas: match &cfg.lb {
            Some(lb) => super::load_balancer::desired_count(
                lb,
                cfg.replicas,
                &fingerprint,
                &live,
                &origin.current,
            ),
            None => cfg.replicas,
        },
    };
    if origin.target.is_none()
        && cfg.lb.is_none()
        && let Some(p) = &prior_m
    {
        // No record: what serves is what the last apply put in service.
        origin.current = state::served_without_origin(p, &live);
    }
    let fleet = Fleet {
        instances: live.clone(),
        origin: origin.current.clone(),
    };
    let mut plan = berth_rollout::plan(&fleet, &desired, &cfg.strategy);
    plan.keep_failed = !cfg.auto_rollback;
    let progress = LogProgress {
        app: app.clone(),
        lines: Mutex::new(Vec::new()),
    };
    if plan.is_empty() {
        progress.report(&format!(
            "release {release_no} already serving; nothing to roll out"
        ));
    } else {
        progress.report(&format!("rollout plan:\n{plan}"));
    }
    // The first instances wait for the release command before their app
    // starts: the gate allows for it. A run of it that failed (or whose
    // instance is gone) is forgotten, so this rollout runs it again.
    let mut health = cfg.health.clone();
    if let Some(rc) = &cfg.release_command {
        health.deadline += rc.timeout;
        let marker = super::spec::release_marker(&app, release_no, &fingerprint);
        if let Err(e) = forget_failed_run(cloud, &marker, &progress).await {
            return failed(error(
                "Cannot read the release command's marker",
                e.to_string(),
            ));
        }
    }
    let lb_target = cfg.lb.as_ref().map(|lb| {
        let mut rule_tags = tags.clone();
        rule_tags.insert("berth:app".into(), app.clone());
        berth_aws::lb_fleet::LbTarget {
            app: app.clone(),
            listener_arn: lb.listener_arn.clone(),
            rule: lb.rule.clone(),
            tags: rule_tags,
        }
    });
    let (compute, probe, dns): (Box<dyn Compute>, Box<dyn Probe>, Box<dyn Dns>) =
        match (&cfg.lb, &lb_target) {
            (Some(lb), Some(target)) => {
                let vpc_id = match cloud
                    .vpc_for(place.subnets.first().map(String::as_str))
                    .await
                {
                    Ok(v) => v,
                    Err(e) => return failed(error("Cannot find the app's VPC", e.to_string())),
                };
                let spec = berth_aws::lb_fleet::LbLaunchSpec {
                    launch,
                    target: target.clone(),
                    vpc_id,
                    port: lb.port(cfg.health_port),
                    check: berth_aws::lb::TargetCheck {
                        path: cfg.health_path.clone(),
                        port: cfg.health_port,
                        interval: u32::try_from(cfg.health.interval.as_secs()).unwrap_or(5),
                        timeout: cfg.health_timeout,
                        healthy_threshold: cfg.health.healthy_threshold,
                        unhealthy_threshold: cfg.health.unhealthy_threshold,
                    },
                    deregistration_delay: lb.deregistration_delay,
                    capacity: lb.capacity.clone(),
                    grace_period: u32::try_from(health.deadline.as_secs()).unwrap_or(600),
                };
                let shift = lb
                    .shift
                    .as_ref()
                    .map(|(steps, bake)| berth_aws::lb_fleet::LbShift {
                        steps: steps.clone(),
                        bake: *bake,
                        interval: cfg.health.interval,
                        healthy_checks: cfg.health.healthy_threshold,
                        deadline: cfg.health.deadline,
                        cancel: cancel.clone(),
                    });
                (
                    cloud.lb_compute(spec),
                    cloud.lb_probe(),
                    cloud.lb_rule(target.clone(), shift),
                )
            }
            _ => (
                cloud.compute(launch),
                cloud.probe(),
                match &origin.target {
                    Some((zone_id, fqdn)) => cloud.origin(
                        zone_id,
                        fqdn,
                        i64::from(cfg.origin.as_ref().map_or(60, |o| o.ttl)),
                    ),
                    None => Box::new(NoDns),
                },
            ),
        };
    let engine = Engine {
        compute: compute.as_ref(),
        probe: probe.as_ref(),
        dns: dns.as_ref(),
        progress: &progress,
        cancel: cancel.clone(),
        health,
    };
    let result = engine.run(&plan).await;
    cancel.cancel();
    data.inventory.invalidate().await;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            let mut diags = error(
                &format!("Rollout of {app} release {release_no} failed"),
                format!("{e}.\nSteps taken:\n  {}", progress.steps_taken()),
            );
            if prior.is_none() {
                cleanup_after_failed_create(
                    cloud,
                    &app,
                    place.managed_sg.as_deref(),
                    managed_role.is_some(),
                    &mut diags,
                )
                .await;
            }
            return failed(diags);
        }
    };

    let mut diagnostics = Diagnostics::new();
    // The previous release is gone: the role reads only the new one's.
    if let Some(role) = &managed_role
        && outcome.warm.is_empty()
        && needs.union(&prior_needs) != needs
        && let Err(e) = cloud.put_role_policy(role, &app, &needs).await
    {
        diagnostics.push(Diagnostic::warning(
            "IAM policy not narrowed",
            format!("{}'s policy still allows reading the previous release's secrets: {e}; the next apply narrows it.", role.name),
        ));
    }
    // The app moved to a profile of the user's: berth's role has no use.
    if cfg.instance_profile.is_some()
        && prior_m
            .as_ref()
            .is_some_and(|p| p.instance_role.as_deref().is_some())
    {
        match cloud.delete_instance_role(&app).await {
            Ok(_) => progress.report(&format!(
                "deleted berth's IAM role {} (the instances use {} now)",
                role_name(&app, cloud.region()),
                cfg.instance_profile.as_deref().unwrap_or_default()
            )),
            Err(e) => diagnostics.push(Diagnostic::warning(
                "IAM role left behind",
                format!(
                    "{} (tagged berth:app={app}) could not be deleted: {e}; destroying the app deletes it.",
                    role_name(&app, cloud.region())
                ),
            )),
        }
    }
    // Markers of earlier releases are done with.
    let had_command = prior_m
        .as_ref()
        .is_some_and(|p| p.release_command.known().is_some());
    if cfg.release_command.is_some() || had_command {
        let keep = cfg
            .release_command
            .as_ref()
            .map(|_| super::spec::release_marker(&app, release_no, &fingerprint));
        if let Err(e) = remove_markers(cloud, &app, keep.as_deref()).await {
            diagnostics.push(Diagnostic::warning(
                "Release command markers left behind",
                format!("{e}; the next apply or destroy removes them."),
            ));
        }
    }
    if let Some(p) = &prior_m {
        let mut ids: Vec<String> = outcome
            .serving
            .iter()
            .chain(outcome.warm.iter())
            .map(|i| i.id.clone())
            .collect();
        ids.extend(place.managed_sg.clone());
        if let Err(d) = after_update(cloud, data, cfg, p, &ids, &tags, &origin).await {
            return failed(d);
        }
    }

    if let (Some(lb), Some(target)) = (&cfg.lb, &lb_target) {
        let d = lb_after_rollout(LbAfter {
            cloud,
            cfg,
            lb,
            target,
            prior: prior_m.as_ref(),
            plan: &plan,
            rule: dns.as_ref(),
            group: outcome
                .serving
                .iter()
                .find_map(|i| i.address.clone())
                .unwrap_or_else(|| berth_aws::lb_fleet::group_name(&app, release_no, &fingerprint)),
        })
        .await;
        if d.has_errors() && plan.is_empty() {
            return failed(d);
        }
        for mut x in d {
            // The rollout itself finished: the state must record it.
            x.severity = tfplugin::diag::Severity::Warning;
            diagnostics.push(x);
        }
    } else if let Some(lb) = prior_m.as_ref().and_then(|p| p.load_balancer.known()) {
        // Back from load-balancer mode: its groups and rule go.
        let listener = lb.listener_arn.as_deref();
        match cloud.delete_lb_app(listener, &app, &[]).await {
            Ok(names) if !names.is_empty() => progress.report(&format!(
                "deleted the load-balancer mode's groups {}",
                names.join(", ")
            )),
            Ok(_) => {}
            Err(e) => diagnostics.push(Diagnostic::warning(
                "Load-balancer objects left behind",
                format!("{e}; destroying the app deletes them (they are tagged berth:app={app})."),
            )),
        }
    }

    // The new state.
    // Without a record the serving instances are still marked as such.
    let mut serving_now: Vec<String> = outcome
        .serving
        .iter()
        .filter_map(|i| i.address.clone())
        .collect();
    if cfg.lb.is_some() {
        serving_now.sort();
        serving_now.dedup();
    }
    let origin_now: &[String] = if origin.target.is_some() || cfg.lb.is_some() {
        &serving_now
    } else {
        &[]
    };
    let mut all = outcome.serving.clone();
    all.extend(outcome.warm.iter().cloned());
    state.ami = Attr::Known(place.ami.clone());
    state.region = Attr::Known(cloud.region().to_string());
    state.id = Attr::Known(format!("{}/{app}", cloud.region()));
    state.security_group_id = place.managed_sg.into();
    state.instance_role = managed_role.as_ref().map(|r| r.name.clone()).into();
    state.origin_fqdn = origin.target.as_ref().map(|t| t.1.clone()).into();
    state.origin_addresses = state::strings_attr(origin_now);
    state.instances = Attr::Known(state::instances_model(&all, &serving_now));
    if state.rollout_plan.is_unknown() {
        state.rollout_plan = Attr::Known(
            super::spec::rollout_steps(&plan, cfg)
                .into_iter()
                .map(Attr::Known)
                .collect(),
        );
    }
    if state.release_history.is_unknown() {
        state.release_history = Attr::Known(history(
            prior_m.as_ref(),
            release_no,
            &cfg.image,
            &fingerprint,
            &deployed_at,
        ));
    }
    if !plan.is_empty() {
        let summary = summary(cfg, release_no, &live, &outcome, origin.target.is_some());
        tracing::info!(app = %app, "{summary}");
        diagnostics.push(Diagnostic::warning("Rollout finished", summary));
    }
    ApplyResponse {
        new_state: state.to_value(),
        diagnostics,
        ..Default::default()
    }
}

/// AMI (given, kept from state, or the default image), subnets (given, or
/// one default subnet per availability zone, so the replicas spread over
/// the zones without configuration) and security groups (given, or the
/// managed one, made or updated here).
async fn placement(
    cloud: &dyn AppCloud,
    data: &ProviderData,
    cfg: &AppConfig,
    planned: &Value,
) -> Result<Placement, Diagnostics> {
    let ami = match planned.attr("ami").as_str() {
        Some(a) => a.to_string(),
        None => cloud
            .default_ami(cfg.architecture())
            .await
            .map_err(|e| error("Cannot find a default AMI", format!("{e}")))?,
    };
    let subnets = if cfg.subnet_ids.is_empty() {
        cloud
            .default_subnets()
            .await
            .map_err(|e| error("Cannot find the default subnets", e.to_string()))?
    } else {
        cfg.subnet_ids.clone()
    };
    if !cfg.security_group_ids.is_empty() {
        return Ok(Placement {
            ami,
            subnets,
            security_groups: cfg.security_group_ids.clone(),
            managed_sg: None,
        });
    }
    let vpc = cloud
        .vpc_for(cfg.subnet_ids.first().map(String::as_str))
        .await
        .map_err(|e| error("Cannot find the VPC for the app", e.to_string()))?;
    let ingress = Ingress {
        ports: cfg.published_ports().into_iter().collect(),
        cidrs: cfg.ingress_cidrs.iter().cloned().collect(),
    };
    let mut sg_tags = data.default_tags.clone();
    sg_tags.extend(cfg.tags.clone());
    let id = cloud
        .ensure_app_security_group(&cfg.name, &vpc, &ingress, &sg_tags)
        .await
        .map_err(|e| error("Cannot set up the app's security group", e.to_string()))?;
    Ok(Placement {
        ami,
        subnets,
        security_groups: vec![id.clone()],
        managed_sg: Some(id),
    })
}

/// The origin record's zone and name, and the addresses it holds now.
async fn origin_now(
    cloud: &dyn AppCloud,
    data: &ProviderData,
    cfg: &AppConfig,
) -> Result<OriginNow, Diagnostics> {
    if let Some(lb) = &cfg.lb {
        let current = cloud
            .serving_groups(&lb.listener_arn, &cfg.name)
            .await
            .map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error("Cannot read the app's rule on the listener", e.to_string())
                        .at(tfplugin::path::AttributePath::attr("load_balancer")
                            .then_attr("listener_arn")),
                )
            })?
            .unwrap_or_default();
        return Ok(OriginNow {
            target: None,
            current,
        });
    }
    let Some(o) = &cfg.origin else {
        return Ok(OriginNow::default());
    };
    let zone = data.inventory.zone(cloud, &o.zone).await.map_err(|e| {
        Diagnostics::from(
            Diagnostic::error("Cannot find the origin's hosted zone", e.to_string())
                .at(tfplugin::path::AttributePath::attr("origin").then_attr("zone")),
        )
    })?;
    let fqdn = berth_aws::dns::record_name(&zone, &o.name);
    let current = cloud
        .a_record(&zone.id, &fqdn)
        .await
        .map_err(|e| error("Cannot read the origin record", e.to_string()))?
        .unwrap_or_default();
    Ok(OriginNow {
        target: Some((zone.id, fqdn)),
        current,
    })
}

/// What the release's instances boot: the bootstrap script and the
/// trailer that carries the resource's arguments, encoded once, refused
/// when EC2 would refuse it.
fn launch_payload(
    cfg: &AppConfig,
    planned: &Value,
    release: Release,
    region: &str,
    ami: &str,
    deployed_at: &str,
) -> Result<LaunchPayload, Diagnostics> {
    let mut script = userdata::render(&cfg.app_spec(release.number, region, &release.fingerprint));
    let trailer = state::trailer(planned, ami, deployed_at)
        .map_err(|e| error("Cannot encode the app's configuration", e))?;
    script.push_str(&trailer);
    LaunchPayload::new(release, &script).map_err(|e| error("User-data too large", too_large(&e)))
}

/// berth's IAM role for the instances, allowed `needs` (none when the app
/// names its own `instance_profile`).
async fn instance_role(
    cloud: &dyn AppCloud,
    data: &ProviderData,
    cfg: &AppConfig,
    needs: &berth_aws::iam::Needs,
) -> Result<Option<berth_aws::iam::InstanceRole>, Diagnostics> {
    if cfg.instance_profile.is_some() {
        return Ok(None);
    }
    let mut role_tags = data.default_tags.clone();
    role_tags.extend(cfg.tags.clone());
    cloud
        .ensure_instance_role(&cfg.name, needs, &role_tags)
        .await
        .map(Some)
        .map_err(|e| {
            error(
                "Cannot set up the IAM role of the app's instances",
                format!("{e}. Set `instance_profile` to use a profile of your own."),
            )
        })
}

/// After a rollout of an existing app: tags changed without a rollout are
/// updated in place on `ids`; a record the origin moved away from is
/// removed.
async fn after_update(
    cloud: &dyn AppCloud,
    data: &ProviderData,
    cfg: &AppConfig,
    prior: &AppModel,
    ids: &[String],
    tags: &BTreeMap<String, String>,
    origin: &OriginNow,
) -> Result<(), Diagnostics> {
    // Null (no tags) reads as none.
    let old = known_map(&prior.tags);
    if old != cfg.tags {
        let removed: Vec<String> = old.keys().cloned().collect();
        cloud
            .retag(ids, tags, &removed)
            .await
            .map_err(|e| error("Cannot update tags", e.to_string()))?;
    }
    let old_fqdn = prior.origin_fqdn.as_deref();
    let new_fqdn = origin.target.as_ref().map(|t| t.1.as_str());
    if let Some(old) = old_fqdn
        && Some(old) != new_fqdn
        && let Some(old_zone) = prior.origin.known().and_then(|o| o.zone.as_deref())
    {
        let removed = async {
            let z = data.inventory.zone(cloud, old_zone).await?;
            cloud.set_a_record(&z.id, old, 0, &[]).await
        };
        removed
            .await
            .map_err(|e| error("Cannot remove the old origin record", e.to_string()))?;
    }
    Ok(())
}

/// What follows a rollout in load-balancer mode.
struct LbAfter<'a> {
    cloud: &'a dyn AppCloud,
    cfg: &'a AppConfig,
    lb: &'a super::load_balancer::LbConfig,
    target: &'a berth_aws::lb_fleet::LbTarget,
    prior: Option<&'a AppModel>,
    plan: &'a berth_rollout::Plan,
    rule: &'a dyn Dns,
    /// The serving release's group (named by the release its instances
    /// were launched as: a rollback to a kept release serves that one).
    group: String,
}

/// The serving release's group takes the declared bounds, schedules and
/// policy (and `replicas` when it changed, with no new release); a
/// changed deregistration delay goes to its target group and those of
/// releases kept warm; rule conditions or priority changed alone are
/// applied to the rule.
async fn lb_after_rollout(a: LbAfter<'_>) -> Diagnostics {
    let mut d = Diagnostics::new();
    let launched = a
        .plan
        .steps
        .iter()
        .any(|s| matches!(s, berth_rollout::Step::Launch { .. }));
    let prior_replicas = a
        .prior
        .and_then(|p| p.replicas.known().and_then(Number::as_i64));
    let desired = (!launched && prior_replicas.is_some_and(|r| r != i64::from(a.cfg.replicas)))
        .then_some(a.cfg.replicas);
    let group = a.group;
    let cap = berth_aws::lb_fleet::Capacity {
        desired,
        ..a.lb.capacity.clone()
    };
    if let Err(e) = a.cloud.sync_capacity(a.target, &group, &cap).await {
        d.push(
            Diagnostic::error(
                "Cannot set the app's capacity",
                format!("Auto Scaling group {group}: {e}; the next apply sets it."),
            )
            .at(tfplugin::path::AttributePath::attr("capacity")),
        );
    }
    let prior_delay = a
        .prior
        .and_then(|p| p.load_balancer.known())
        .and_then(|b| b.deregistration_delay.known().and_then(Number::as_i64));
    if prior_delay.is_some_and(|p| p != i64::from(a.lb.deregistration_delay)) {
        // New groups get it at creation; the serving one and any kept
        // warm take it in place.
        let mut names: Vec<String> = a
            .plan
            .warm
            .iter()
            .filter_map(|i| i.address.clone())
            .collect();
        names.push(group.clone());
        names.sort();
        names.dedup();
        for name in names {
            if let Err(e) = a
                .cloud
                .set_deregistration_delay(&name, a.lb.deregistration_delay)
                .await
            {
                d.push(
                    Diagnostic::error(
                        "Cannot set the deregistration delay",
                        format!("target group {name}: {e}; the next apply sets it."),
                    )
                    .at(tfplugin::path::AttributePath::attr("load_balancer")
                        .then_attr("deregistration_delay")),
                );
            }
        }
    }
    let rule_changed = a
        .prior
        .is_some_and(|p| p.load_balancer.known().map(rule_of) != Some(rule_of_cfg(a.lb)));
    if a.plan.is_empty()
        && rule_changed
        && let Err(e) = a.rule.point(std::slice::from_ref(&group)).await
    {
        d.push(
            Diagnostic::error("Cannot update the app's rule", e.to_string())
                .at(tfplugin::path::AttributePath::attr("load_balancer")),
        );
    }
    d
}

/// A rule's conditions and priority as state records them.
fn rule_of(m: &super::model::LoadBalancerModel) -> (Vec<String>, Vec<String>, Option<i64>) {
    (
        super::model::known_strings(&m.hosts),
        super::model::known_strings(&m.paths),
        m.priority.known().and_then(Number::as_i64),
    )
}

fn rule_of_cfg(lb: &super::load_balancer::LbConfig) -> (Vec<String>, Vec<String>, Option<i64>) {
    (
        lb.rule.hosts.clone(),
        lb.rule.paths.clone(),
        Some(i64::from(lb.rule.priority)),
    )
}

/// The one-line summary of a finished rollout.
fn summary(
    cfg: &AppConfig,
    release: u64,
    live: &[berth_rollout::Instance],
    outcome: &berth_rollout::Outcome,
    moved: bool,
) -> String {
    let mut old: Vec<u64> = live
        .iter()
        .filter(|i| outcome.retired.contains(&i.id))
        .map(|i| i.release)
        .collect();
    old.sort_unstable();
    old.dedup();
    let mut summary = format!(
        "{}: release {release} ({}) healthy on {}/{} in {} s",
        cfg.name,
        cfg.image,
        outcome.serving.len(),
        cfg.replicas,
        outcome.elapsed.as_secs()
    );
    if moved {
        summary.push_str("; traffic moved");
    }
    if !old.is_empty() {
        let list: Vec<String> = old.iter().map(u64::to_string).collect();
        summary.push_str(&format!("; release {} retired", list.join(", ")));
    }
    if !outcome.warm.is_empty() {
        summary.push_str(&format!(
            "; {} instance(s) of the previous release kept warm",
            outcome.warm.len()
        ));
    }
    summary
}

/// The release history after deploying `release`: newest first, at most
/// [`HISTORY`] entries; an unchanged release keeps the prior history.
fn history(
    prior: Option<&AppModel>,
    release: u64,
    image: &str,
    fingerprint: &str,
    at: &str,
) -> Vec<HistoryModel> {
    let mut items: Vec<HistoryModel> = prior
        .and_then(|p| p.release_history.known().cloned())
        .unwrap_or_default();
    let release_i = i64::try_from(release).unwrap_or(0);
    if items
        .first()
        .is_some_and(|h| h.release.known().and_then(Number::as_i64) == Some(release_i))
    {
        return items;
    }
    items.insert(
        0,
        HistoryModel {
            release: Attr::Known(Number::from(release_i)),
            image: Attr::Known(image.to_string()),
            fingerprint: Attr::Known(fingerprint.to_string()),
            deployed_at: Attr::Known(at.to_string()),
        },
    );
    items.truncate(HISTORY);
    items
}

/// After a failed create nothing of the app serves: remove the managed
/// security group and IAM role too, unless instances (kept for
/// inspection) still use them.
async fn cleanup_after_failed_create(
    cloud: &dyn AppCloud,
    app: &str,
    sg: Option<&str>,
    managed_role: bool,
    diags: &mut Diagnostics,
) {
    if sg.is_none() && !managed_role {
        return;
    }
    match cloud.app_instances(app, Default::default()).await {
        Ok(live) if live.is_empty() => {
            if let Some(sg) = sg
                && let Err(e) = cloud
                    .delete_security_group(sg, Duration::from_secs(300))
                    .await
            {
                diags.push(Diagnostic::warning(
                    "Security group left behind",
                    format!("{sg} (tagged berth:app={app}) could not be deleted: {e}; the next apply reuses it."),
                ));
            }
            if managed_role && let Err(e) = cloud.delete_instance_role(app).await {
                diags.push(Diagnostic::warning(
                    "IAM role left behind",
                    format!(
                        "{} (tagged berth:app={app}) could not be deleted: {e}; the next apply reuses it.",
                        role_name(app, cloud.region())
                    ),
                ));
            }
        }
        _ => {}
    }
}

/// How long a running release command's marker may go unchanged before
/// its runner counts as gone (the agent refreshes it every 30 s).
const MARKER_STALE_SECS: f64 = 120.0;

/// Deletes the release's marker when its run failed or its runner
/// stopped refreshing it, so the new instances run the command again; a
/// succeeded or live run is kept (never run twice).
async fn forget_failed_run(
    cloud: &dyn AppCloud,
    marker: &str,
    progress: &dyn Progress,
) -> Result<(), berth_aws::AwsError> {
    let Some((value, changed)) = cloud.marker(marker).await? else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let stale =
        value.starts_with("running") && changed.is_some_and(|at| now - at > MARKER_STALE_SECS);
    if value.starts_with("failed") || stale {
        progress.report(&format!(
            "release command: the last run {}; running it again",
            if stale { "stopped reporting" } else { "failed" }
        ));
        cloud.delete_marker(marker).await?;
    }
    Ok(())
}

/// Deletes the app's release command markers but `keep`.
async fn remove_markers(
    cloud: &dyn AppCloud,
    app: &str,
    keep: Option<&str>,
) -> Result<(), berth_aws::AwsError> {
    for name in cloud
        .markers_under(&format!("/berth/{app}/release"))
        .await?
    {
        if Some(name.as_str()) != keep {
            cloud.delete_marker(&name).await?;
        }
    }
    Ok(())
}

/// Puts every declared alarm of the app and deletes its others.
async fn sync_alarms(
    cloud: &dyn AppCloud,
    cfg: &AppConfig,
    tags: &BTreeMap<String, String>,
) -> Result<(), String> {
    let app = &cfg.name;
    let existing = cloud
        .app_alarms(app)
        .await
        .map_err(|e| format!("listing alarms: {e}"))?;
    let mut alarm_tags = tags.clone();
    alarm_tags.insert("berth:app".into(), app.clone());
    let mut wanted = Vec::new();
    for a in &cfg.alarms {
        let spec = a.spec(app);
        if !existing.contains(&spec) {
            cloud
                .put_alarm(&spec, &alarm_tags)
                .await
                .map_err(|e| format!("alarm {}: {e}", spec.name))?;
            tracing::info!(app = %app, "{app}: alarm {}: {}", spec.name, spec.description);
        }
        wanted.push(spec.name);
    }
    let stale: Vec<String> = existing
        .into_iter()
        .map(|a| a.name)
        .filter(|n| !wanted.contains(n))
        .collect();
    if !stale.is_empty() {
        cloud
            .delete_alarms(&stale)
            .await
            .map_err(|e| format!("deleting alarms {}: {e}", stale.join(", ")))?;
        tracing::info!(app = %app, "{app}: deleted alarms {}", stale.join(", "));
    }
    Ok(())
}

/// What an app's instances read at boot (the role's policy): secrets,
/// registry passwords, ECR repositories, release markers.
fn instance_needs(cfg: &AppConfig) -> berth_aws::iam::Needs {
    let mut needs = berth_aws::iam::Needs::default();
    let passwords = cfg.registry_credentials.iter().map(|c| &c.password);
    for src in cfg.secrets.values().chain(passwords) {
        match src {
            userdata::SecretSource::Ssm(p) => needs.ssm_parameters.push(p.clone()),
            userdata::SecretSource::SecretsManager(s) => needs.secrets.push(s.clone()),
        }
    }
    needs.release_markers = cfg.release_command.is_some();
    needs.log_groups = cfg.logs.iter().map(|l| l.group.clone()).collect();
    needs.metrics = cfg.metrics_interval.is_some();
    needs.ecr_repositories = super::registries::ecr_pulls(&cfg.registry_credentials, &cfg.images())
        .into_iter()
        .map(|e| format!("{}:{}:{}", e.region, e.account, e.repository))
        .collect();
    needs.union(&berth_aws::iam::Needs::default())
}

/// Deletes everything of the app: instances, origin record, managed group.
pub async fn destroy(ctx: &Ctx, data: &ProviderData, prior: &Value) -> Diagnostics {
    let prior: AppModel = match prior.get() {
        Ok(m) => m,
        Err(d) => return d,
    };
    let (cfg, _) = AppConfig::from_model(&prior);
    let cloud = match data.app_cloud(prior.region.as_deref()).await {
        Ok(c) => c,
        Err(e) => return error("Cannot configure AWS for the app's region", e.to_string()),
    };
    let cloud = cloud.as_ref();
    let app = &cfg.name;
    let cancel = deadline_token(ctx, cfg.timeouts.delete);
    data.inventory.invalidate().await;
    let work = async {
        let live = cloud
            .app_instances(app, Default::default())
            .await
            .map_err(|e| format!("listing instances: {e}"))?;
        if let Some(o) = &cfg.origin {
            let zone = data
                .inventory
                .zone(cloud, &o.zone)
                .await
                .map_err(|e| format!("origin zone: {e}"))?;
            let fqdn = berth_aws::dns::record_name(&zone, &o.name);
            tracing::info!(app = %app, "{app}: delete: origin record {fqdn}");
            cloud
                .set_a_record(&zone.id, &fqdn, 0, &[])
                .await
                .map_err(|e| format!("origin record: {e}"))?;
        }
        if let Some(lb) = &cfg.lb {
            // The rule first (no traffic to groups about to go), then each
            // release's group (with its instances), target group and
            // launch template; Auto Scaling launches nothing after that.
            let known: Vec<String> = berth_aws::lb_fleet::address_by_group(app, live.clone())
                .into_iter()
                .filter_map(|i| i.address)
                .collect();
            let names = cloud
                .delete_lb_app(Some(&lb.listener_arn), app, &known)
                .await
                .map_err(|e| format!("load-balancer mode: {e}"))?;
            tracing::info!(app = %app, "{app}: delete: rule on {} and groups {}", lb.listener_arn, names.join(", "));
        }
        let ids: Vec<String> = live.iter().map(|i| i.id.clone()).collect();
        if !ids.is_empty() {
            tracing::info!(app = %app, "{app}: delete: terminating {} instance(s)", ids.len());
            cloud
                .compute(LaunchSpec::default())
                .terminate(&ids)
                .await
                .map_err(|e| format!("terminating {}: {e}", ids.join(", ")))?;
        }
        let sg = match prior.security_group_id.as_deref() {
            Some(id) => Some(id.to_string()),
            None if cfg.security_group_ids.is_empty() => cloud
                .find_app_security_group(app)
                .await
                .map_err(|e| e.to_string())?,
            None => None,
        };
        if let Some(sg) = sg {
            tracing::info!(app = %app, "{app}: delete: security group {sg}");
            cloud
                .delete_security_group(&sg, cfg.timeouts.delete)
                .await
                .map_err(|e| format!("security group {sg}: {e}"))?;
        }
        let alarms: Vec<String> = if cfg.alarms.is_empty() {
            vec![]
        } else {
            cloud
                .app_alarms(app)
                .await
                .map_err(|e| format!("listing alarms: {e}"))?
                .into_iter()
                .map(|a| a.name)
                .collect()
        };
        if !alarms.is_empty() {
            cloud
                .delete_alarms(&alarms)
                .await
                .map_err(|e| format!("alarms {}: {e}", alarms.join(", ")))?;
            tracing::info!(app = %app, "{app}: delete: alarms {}", alarms.join(", "));
        }
        if let Some(l) = cfg.logs.as_ref().filter(|l| l.delete_on_destroy) {
            let group = cloud
                .log_group_with_tags(&l.group)
                .await
                .map_err(|e| format!("log group {}: {e}", l.group))?;
            match group {
                Some(g) if g.is_apps(app) => {
                    cloud
                        .delete_log_group(&l.group)
                        .await
                        .map_err(|e| format!("log group {}: {e}", l.group))?;
                    tracing::info!(app = %app, "{app}: delete: log group {}", l.group);
                }
                Some(_) => tracing::warn!(
                    app = %app,
                    "{app}: log group {} kept: it is not tagged berth:app={app} (berth did not create it)",
                    l.group
                ),
                None => {}
            }
        }
        if prior.release_command.known().is_some() {
            remove_markers(cloud, app, None)
                .await
                .map_err(|e| format!("release command markers: {e}"))?;
        }
        // berth's role: in use (no profile of the user's) or left from
        // before the app moved to one.
        if cfg.instance_profile.is_none() || prior.instance_role.as_deref().is_some() {
            let role = role_name(app, cloud.region());
            if cloud
                .delete_instance_role(app)
                .await
                .map_err(|e| format!("IAM role {role}: {e}"))?
            {
                tracing::info!(app = %app, "{app}: delete: IAM role and instance profile {role}");
            }
        }
        Ok::<(), String>(())
    };
    let result = tokio::select! {
        r = work => r,
        () = cancel.cancelled() => Err("interrupted or timed out; run destroy again to finish (everything left is tagged)".into()),
    };
    cancel.cancel();
    data.inventory.invalidate().await;
    match result {
        Ok(()) => Diagnostics::new(),
        Err(e) => error(&format!("Cannot delete app {app}"), e),
    }
}

/// The detail of a "User-data too large" error.
pub fn too_large(e: &berth_aws::fleet::UserDataTooLarge) -> String {
    format!("{e}. Move large sidecar files into an image, or split the services over several apps.")
}

#[cfg(test)]
mod tests {
    use berth_testbed::fake_cloud::FakeAws;
    use tfplugin::model::{Attr, ToValue};
    use tfplugin::provider::Ctx;
    use tfplugin::value::Number;
    use tokio_util::sync::CancellationToken;

    use super::super::model::{AppModel, OriginModel};
    use super::{HISTORY, destroy, history};
    use crate::provider_data::testing::on_fake;

    fn releases(h: &[super::HistoryModel]) -> Vec<i64> {
        h.iter()
            .filter_map(|e| e.release.known().and_then(Number::as_i64))
            .collect()
    }

    #[test]
    fn history_is_newest_first_at_most_ten_and_a_redeploy_adds_nothing() {
        let mut prior = AppModel::default();
        for n in 1..=12u64 {
            let h = history(Some(&prior), n, &format!("shop:{n}"), "fp", "t");
            prior.release_history = Attr::Known(h);
        }
        let h = prior.release_history.known().unwrap().clone();
        assert_eq!(h.len(), HISTORY);
        assert_eq!(releases(&h), (3..=12).rev().collect::<Vec<i64>>());
        let again = history(Some(&prior), 12, "shop:12", "fp", "later");
        assert_eq!(again, h, "the same release keeps the history as it was");
    }

    #[tokio::test]
    async fn destroy_removes_instances_record_security_group_and_role() {
        let fake = FakeAws::new();
        {
            let mut a = fake.account();
            let i = a.add_instance("web", 1, "shop:1", "");
            a.records
                .insert("web.example.com.".into(), (60, vec![i.public_ip.unwrap()]));
            a.security_groups.insert("web".into(), "sg-web".into());
            a.roles.insert("web".into(), Default::default());
            a.add_instance("api", 1, "api:1", "");
        }
        let prior = AppModel {
            name: Attr::Known("web".into()),
            image: Attr::Known("shop:1".into()),
            region: Attr::Known("us-east-1".into()),
            security_group_id: Attr::Known("sg-web".into()),
            origin: Attr::Known(OriginModel {
                zone: Attr::Known("example.com".into()),
                name: Attr::Known("web".into()),
                ttl: Attr::Known(Number::from(60)),
                address: Attr::Known("public".into()),
            }),
            ..AppModel::default()
        };
        let data = on_fake(&fake).await;
        let ctx = Ctx::new(None, CancellationToken::new());
        let d = destroy(&ctx, &data, &prior.to_value()).await;
        assert!(d.is_empty(), "{d:?}");
        let a = fake.account();
        assert!(a.live("web").is_empty());
        assert_eq!(a.live("api").len(), 1, "another app is left alone");
        assert!(a.records.is_empty() && a.security_groups.is_empty() && a.roles.is_empty());
    }

    #[tokio::test]
    async fn destroy_deletes_the_log_group_only_when_asked_and_only_berths() {
        use super::super::model::LogsModel;
        use berth_aws::ports::AppCloud as _;
        let fake = FakeAws::new();
        let berths: std::collections::BTreeMap<String, String> =
            [("berth:app".to_string(), "web".to_string())].into();
        let app = |group: &str, delete: bool| AppModel {
            name: Attr::Known("web".into()),
            image: Attr::Known("shop:1".into()),
            region: Attr::Known("us-east-1".into()),
            logs: Attr::Known(LogsModel {
                group: Attr::Known(group.into()),
                retention_days: Attr::Known(Number::from(30)),
                delete_on_destroy: Attr::Known(delete),
            }),
            ..AppModel::default()
        };
        fake.ensure_log_group("/berth/web", 30, &berths)
            .await
            .unwrap();
        fake.ensure_log_group("/team/shared", 30, &Default::default())
            .await
            .unwrap();
        let data = on_fake(&fake).await;
        let ctx = Ctx::new(None, CancellationToken::new());
        // By default the logs outlive the app.
        let d = destroy(&ctx, &data, &app("/berth/web", false).to_value()).await;
        assert!(d.is_empty(), "{d:?}");
        assert!(fake.account().log_groups.contains_key("/berth/web"));
        // Asked: berth's own group goes, a group berth did not make stays.
        let d = destroy(&ctx, &data, &app("/team/shared", true).to_value()).await;
        assert!(d.is_empty(), "{d:?}");
        assert!(fake.account().log_groups.contains_key("/team/shared"));
        let d = destroy(&ctx, &data, &app("/berth/web", true).to_value()).await;
        assert!(d.is_empty(), "{d:?}");
        assert!(!fake.account().log_groups.contains_key("/berth/web"));
    }
}
