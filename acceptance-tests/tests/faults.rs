//! Faults from the cloud: the story examples applied with every AWS call of
//! the provider going through the fault-injecting proxy (20 % of EC2 and
//! Route53 calls answered with the errors AWS really returns; half of the
//! faulted mutating calls take effect first, their answer "lost"). The
//! fleet simulator and the checks read moto directly.
//!
//! Each step (create, a rollout, a traffic shift, destroy) may be applied
//! again at most three times when an error surfaces, and every surfaced
//! error must be a clear diagnostic naming the AWS call and code (never a
//! panic). After each converged step, with faults off: the second plan is
//! empty and the emulator holds exactly what the state says — instances
//! per app and release, security groups, records, health checks; after
//! destroy, nothing. Replay a run with the seed it prints
//! (`BERTH_FAULT_SEED`, `BERTH_FAULT_SHARE`).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use berth_acceptance_tests::faults::{Fault, FaultConfig, Faults, Kind};
use berth_acceptance_tests::leftovers::leftovers;
use berth_acceptance_tests::proxy::CountingProxy;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, TfVersion, Workspace, clients, flat};
use serde_json::Value;

/// Share of EC2 and Route53 calls faulted.
const SHARE: f64 = 0.2;
/// Re-applies allowed per step after an error surfaced.
const MAX_REAPPLIES: usize = 3;
const ZONE: &str = "faults.test";

/// moto, the faulting proxy, the simulator and an example's workspace.
struct Faulty {
    moto: Moto,
    faults: Arc<Faults>,
    proxy: CountingProxy,
    sim: FleetSim,
    ws: Workspace,
    rt: tokio::runtime::Runtime,
    regions: Vec<&'static str>,
    /// Per step: (name, re-applies, wall time, faults injected).
    log: Vec<(String, usize, Duration, u64)>,
}

impl Faulty {
    fn start(version: TfVersion, example: &str, regions: &[&'static str]) -> Faulty {
        let moto = Moto::start().unwrap();
        // The proxy's tasks run on worker threads while Terraform runs.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(clients::create_zone(&moto.endpoint(), ZONE))
            .unwrap();
        let faults = Arc::new(Faults::new(FaultConfig::from_env(SHARE)));
        let upstream = SocketAddr::from(([127, 0, 0, 1], moto.port));
        let proxy = rt
            .block_on(CountingProxy::start_with_faults(upstream, faults.clone()))
            .unwrap();
        let sim = FleetSim::start_in(
            &moto.endpoint(),
            regions,
            SimOptions {
                boot_delay: Duration::from_millis(300),
                ..SimOptions::default()
            },
        )
        .unwrap();
        let ws = Workspace::for_example(version, None, example).unwrap();
        ws.init().unwrap();
        Faulty {
            moto,
            faults,
            proxy,
            sim,
            ws,
            rt,
            regions: regions.to_vec(),
            log: Vec::new(),
        }
    }

    /// Writes `terraform.tfvars`: the provider reaches AWS through the
    /// proxy; short waits; `extra` lines.
    fn vars(&self, extra: &str) {
        self.ws
            .write(
                "terraform.tfvars",
                &format!(
                    "aws_endpoint    = \"{}\"\nzone            = \"{ZONE}\"\nhealth_interval = 1\nttl             = 1\ndrain           = 1\n{extra}\n",
                    self.proxy.endpoint()
                ),
            )
            .unwrap();
    }

    /// Runs `args` until it succeeds, at most `1 + MAX_REAPPLIES` times;
    /// every failure must be a clear diagnostic. Then checks, with faults
    /// off, that the state and the emulator agree.
    fn step(&mut self, name: &str, args: &[&str]) {
        let started = Instant::now();
        let before = self.proxy.faults().total();
        let mut reapplies = 0;
        loop {
            let run = self.ws.run(args).unwrap();
            if run.code == 0 {
                break;
            }
            let text = flat(&run.all());
            let errors: Vec<&str> = run
                .stderr
                .lines()
                .filter(|l| l.starts_with("Error:") || l.trim_start().starts_with("│ Error:"))
                .collect();
            let detail: String = flat(&run.stderr).chars().take(600).collect();
            eprintln!(
                "{name}: attempt {} failed: {errors:?}: {detail}",
                reapplies + 1
            );
            self.assert_clear(name, &text);
            assert!(
                reapplies < MAX_REAPPLIES,
                "{name} did not converge in {} runs; last:\n{}",
                reapplies + 1,
                run.all()
            );
            reapplies += 1;
        }
        let faults = self.proxy.faults().total() - before;
        self.log
            .push((name.to_string(), reapplies, started.elapsed(), faults));
        self.faults.set_enabled(false);
        if args[0] != "destroy" {
            self.ws
                .assert_plan_empty()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        self.assert_emulator_matches_state(name);
        self.faults.set_enabled(true);
    }

    /// A surfaced error is a diagnostic (no panic, no crash of the plugin)
    /// that names the AWS call and the code it answered.
    fn assert_clear(&self, step: &str, text: &str) {
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("panic") && !lower.contains("plugin did not respond"),
            "{step}: {text}"
        );
        assert!(text.contains("Error:"), "{step}: {text}");
        let codes = [
            Kind::RequestLimitExceeded,
            Kind::InternalError,
            Kind::Throttling,
            Kind::PriorRequestNotComplete,
            Kind::InternalFailure,
            Kind::ServiceFailure,
        ];
        let actions: Vec<String> = self
            .faults
            .seen()
            .into_keys()
            .filter_map(|k| k.split_once(':').map(|(_, a)| a.to_string()))
            .collect();
        let named = codes.iter().any(|k| {
            actions
                .iter()
                .any(|a| text.contains(&format!("{a}: {}:", k.code())))
        });
        assert!(
            named,
            "{step}: the error names no AWS call and code: {text}"
        );
    }

    /// Every berth resource in the state (root and child modules).
    fn resources(&self) -> Vec<Value> {
        let show = self.ws.ok(&["show", "-json", "-no-color"]).unwrap();
        let state: Value = serde_json::from_str(&show.stdout).unwrap();
        let mut out = Vec::new();
        let mut stack = vec![state["values"]["root_module"].clone()];
        while let Some(m) = stack.pop() {
            for r in m["resources"].as_array().into_iter().flatten() {
                if r["mode"] == "managed" {
                    out.push(r.clone());
                }
            }
            stack.extend(m["child_modules"].as_array().into_iter().flatten().cloned());
        }
        out
    }

    /// The emulator holds exactly what the state says.
    fn assert_emulator_matches_state(&self, step: &str) {
        let mut want_instances: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        let mut want_groups = BTreeSet::new();
        let mut want_checks = BTreeSet::new();
        let mut want_records = BTreeSet::new();
        let mut pools = Vec::new();
        for r in self.resources() {
            let v = &r["values"];
            let strs = |key: &str| -> Vec<String> {
                v[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            };
            match r["type"].as_str().unwrap_or_default() {
                "berth_container_app" => {
                    let app = v["name"].as_str().unwrap().to_string();
                    let set = want_instances.entry(app).or_default();
                    for i in v["instances"].as_array().into_iter().flatten() {
                        set.insert((
                            i["id"].as_str().unwrap().to_string(),
                            i["release"].to_string(),
                        ));
                    }
                    if let Some(sg) = v["security_group_id"].as_str() {
                        want_groups.insert(sg.to_string());
                    }
                    let addresses = strs("origin_addresses");
                    if let Some(fqdn) = v["origin_fqdn"].as_str()
                        && !addresses.is_empty()
                    {
                        want_records.insert(format!("{fqdn} A {}", addresses.join(",")));
                    }
                }
                "berth_weighted_route" => {
                    let fqdn = v["fqdn"].as_str().unwrap();
                    let ty = v["record_type"].as_str().unwrap();
                    for t in v["target"].as_array().into_iter().flatten() {
                        want_records.insert(format!(
                            "{fqdn} {ty} ({}) weight {}",
                            t["id"].as_str().unwrap(),
                            t["weight"]
                        ));
                    }
                    want_checks.extend(checks_of(v));
                }
                "berth_region_pool" => {
                    pools.push(v["fqdn"].as_str().unwrap().to_string());
                    want_checks.extend(checks_of(v));
                }
                _ => {}
            }
        }

        let (instances, groups) = self.rt.block_on(self.emulator_fleet());
        assert_eq!(
            instances, want_instances,
            "{step}: live instances (id, release) per app in the emulator vs the state"
        );
        assert_eq!(groups, want_groups, "{step}: managed security groups");
        let (records, pool_records, record_checks, checks) =
            self.rt.block_on(self.emulator_dns(&pools));
        assert_eq!(
            records, want_records,
            "{step}: records outside region pools"
        );
        assert_eq!(checks, want_checks, "{step}: health checks");
        assert!(
            record_checks.is_subset(&checks),
            "{step}: records use missing health checks {record_checks:?}"
        );
        if !pools.is_empty() {
            assert!(!pool_records.is_empty(), "{step}: pool records gone");
        }
    }

    /// Live berth instances as app → (id, release), and managed groups.
    async fn emulator_fleet(
        &self,
    ) -> (
        BTreeMap<String, BTreeSet<(String, String)>>,
        BTreeSet<String>,
    ) {
        let mut instances: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        let mut groups = BTreeSet::new();
        let managed = Filter::builder()
            .name("tag-key")
            .values("berth:managed-by")
            .build();
        for region in &self.regions {
            let ec2 = clients::ec2_in(&self.moto.endpoint(), region).await;
            let out = ec2
                .describe_instances()
                .filters(managed.clone())
                .filters(clients::live_state())
                .send()
                .await
                .unwrap();
            for i in out.reservations().iter().flat_map(|r| r.instances()) {
                let tag = |k: &str| clients::tag(i, k);
                instances
                    .entry(tag("berth:app"))
                    .or_default()
                    .insert((i.instance_id().unwrap().to_string(), tag("berth:release")));
            }
            let sgs = ec2
                .describe_security_groups()
                .filters(managed.clone())
                .send()
                .await
                .unwrap();
            groups.extend(
                sgs.security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string)),
            );
        }
        (instances, groups)
    }

    /// Records outside pools (`name TYPE (set) weight w` or `name A
    /// values`), records inside pools, health checks records use, and
    /// every health check.
    async fn emulator_dns(
        &self,
        pools: &[String],
    ) -> (
        BTreeSet<String>,
        Vec<String>,
        BTreeSet<String>,
        BTreeSet<String>,
    ) {
        let r53 = clients::route53(&self.moto.endpoint()).await;
        let mut records = BTreeSet::new();
        let mut pooled = Vec::new();
        let mut used = BTreeSet::new();
        for z in r53.list_hosted_zones().send().await.unwrap().hosted_zones() {
            let out = r53
                .list_resource_record_sets()
                .hosted_zone_id(z.id())
                .send()
                .await
                .unwrap();
            assert!(!out.is_truncated(), "more records than one page");
            for r in out.resource_record_sets() {
                let ty = r.r#type().as_str();
                if ty == "SOA" || ty == "NS" {
                    continue;
                }
                used.extend(r.health_check_id().map(str::to_string));
                let name = r.name().to_string();
                if pools
                    .iter()
                    .any(|p| name == *p || name.ends_with(&format!(".pool.{p}")))
                {
                    pooled.push(name);
                    continue;
                }
                let line = match (r.set_identifier(), r.weight()) {
                    (Some(id), Some(w)) => format!("{name} {ty} ({id}) weight {w}"),
                    _ => {
                        let mut values: Vec<&str> =
                            r.resource_records().iter().map(|v| v.value()).collect();
                        values.sort_unstable();
                        format!("{name} {ty} {}", values.join(","))
                    }
                };
                assert!(records.insert(line.clone()), "duplicate record {line}");
            }
        }
        let checks = r53
            .list_health_checks()
            .send()
            .await
            .unwrap()
            .health_checks()
            .iter()
            .map(|h| h.id().to_string())
            .collect();
        (records, pooled, used, checks)
    }

    /// Destroys, then nothing berth made is left; prints the summary.
    fn destroy_and_report(mut self, scenario: &str) {
        self.step("destroy", &["destroy", "-auto-approve", "-no-color"]);
        let left = self
            .rt
            .block_on(leftovers(&self.moto.endpoint(), &self.regions))
            .unwrap();
        assert!(left.is_empty(), "left after destroy: {left:#?}");
        assert!(self.sim.problems().is_empty(), "{:?}", self.sim.problems());
        let counts = self.proxy.faults();
        let calls = self.proxy.take();
        eprintln!(
            "{scenario} ({:?}), seed {}: {} faults in {} calls",
            self.ws.version,
            self.faults.config().seed,
            counts.total(),
            calls.total()
        );
        for (step, reapplies, wall, faults) in &self.log {
            eprintln!(
                "  {step:<8} {faults:>3} faults, {reapplies} re-applies, {:.1} s",
                wall.as_secs_f64()
            );
        }
        eprintln!("faults by action:\n{counts}");
        assert!(
            counts.total() > 0 && counts.lost() > 0,
            "no faults injected: {counts}"
        );
        assert_eq!(self.proxy.take_errors(), 0, "the proxy failed to relay");
    }
}

impl Faulty {
    /// The next call of each of `keys` takes effect, its answer is lost.
    fn lose_next(&self, keys: &[&str]) {
        for key in keys {
            let kind = match key.split_once(':').map(|(s, _)| s) {
                Some("route53") => Kind::InternalFailure,
                Some("iam") => Kind::ServiceFailure,
                _ => Kind::InternalError,
            };
            self.faults.inject_next(key, &[Fault::lose(kind)]);
        }
    }

    /// The next calls of `key` are refused more often than the SDK retries
    /// (`max_retries` 3: four attempts), so the error surfaces.
    fn exhaust_retries_of(&self, key: &str, kind: Kind) {
        self.faults.inject_next(key, &[Fault::refuse(kind); 4]);
    }

    /// Re-applies step `name` needed.
    fn reapplies(&self, name: &str) -> usize {
        self.log
            .iter()
            .find(|(s, ..)| s == name)
            .map_or(0, |(_, n, ..)| *n)
    }
}

fn checks_of(v: &Value) -> Vec<String> {
    v["health_check_ids"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, id)| id.as_str().map(str::to_string))
        .collect()
}

/// Story 1 under faults: both sides up, a new image on green (a rollout),
/// the flip to green (a progressive shift), destroy.
fn blue_green_converges_under_faults(version: TfVersion) {
    let mut f = Faulty::start(version, "blue-green", &[clients::REGION]);
    f.vars("bake = 1");
    // On top of the random faults, the hard cases every run: calls that
    // took effect although berth saw an error.
    f.lose_next(&[
        "ec2:RunInstances",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "route53:ChangeResourceRecordSets",
        "iam:CreateRole",
        "iam:CreateInstanceProfile",
        "iam:AddRoleToInstanceProfile",
    ]);
    f.step("create", &["apply", "-auto-approve", "-no-color"]);

    // The rollout's launch fails through every retry: a clear error, the
    // old release keeps serving, the next apply finishes the rollout.
    let next = "registry.example.com/shop-rails:2026-11-24T09-00";
    f.vars(&format!("bake = 1\ngreen_image = \"{next}\""));
    f.exhaust_retries_of("ec2:RunInstances", Kind::InternalError);
    f.step("rollout", &["apply", "-auto-approve", "-no-color"]);
    assert!(f.reapplies("rollout") >= 1, "the forced error surfaced");
    let releases = &f.ws.outputs().unwrap()["releases"]["value"];
    assert_eq!(releases["green"]["release"], 2, "{releases}");
    assert_eq!(releases["blue"]["release"], 1, "{releases}");

    f.vars(&format!(
        "bake = 1\ngreen_image = \"{next}\"\nlive = \"green\""
    ));
    f.lose_next(&["route53:ChangeResourceRecordSets"]);
    f.step("flip", &["apply", "-auto-approve", "-no-color"]);
    assert_eq!(f.ws.outputs().unwrap()["live"]["value"], "green");

    f.lose_next(&[
        "ec2:TerminateInstances",
        "ec2:DeleteSecurityGroup",
        "route53:ChangeResourceRecordSets",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:DeleteRole",
    ]);
    f.destroy_and_report("blue-green");
}

#[test]
fn blue_green_example_converges_under_faults_on_terraform_latest() {
    blue_green_converges_under_faults(TfVersion::Latest);
}

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// Story 5 under faults: one app in three regions behind a region pool
/// with a health check per region; a global rollout (primary last), a
/// region drained (its users shift to the primary), destroy.
fn global_app_converges_under_faults(version: TfVersion) {
    let mut f = Faulty::start(version, "global-app", &REGIONS);
    f.vars("replicas = 1");
    f.lose_next(&[
        "route53:CreateHealthCheck",
        "route53:ChangeTagsForResource",
        "ec2:RunInstances",
        "route53:ChangeResourceRecordSets",
    ]);
    f.step("create", &["apply", "-auto-approve", "-no-color"]);

    let image = "nginxdemos/hello:0.4";
    f.vars(&format!("replicas = 1\nimage = \"{image}\""));
    f.lose_next(&["ec2:RunInstances", "ec2:TerminateInstances"]);
    f.step("rollout", &["apply", "-auto-approve", "-no-color"]);
    let regions = &f.ws.outputs().unwrap()["regions"]["value"];
    for r in REGIONS {
        assert_eq!(regions[r]["release"], 2, "{r}: {regions}");
    }

    f.vars(&format!(
        "replicas = 1\nimage = \"{image}\"\ndrained_regions = [\"eu-west-1\"]"
    ));
    f.lose_next(&["route53:ChangeResourceRecordSets"]);
    f.step("drain", &["apply", "-auto-approve", "-no-color"]);

    f.lose_next(&[
        "route53:DeleteHealthCheck",
        "route53:ChangeResourceRecordSets",
        "ec2:TerminateInstances",
        "ec2:DeleteSecurityGroup",
    ]);
    f.destroy_and_report("global-app");
}

#[test]
fn global_app_example_converges_under_faults_on_terraform_latest() {
    global_app_converges_under_faults(TfVersion::Latest);
}

#[test]
fn blue_green_example_converges_under_faults_on_terraform_1_0() {
    blue_green_converges_under_faults(TfVersion::V1_0);
}
