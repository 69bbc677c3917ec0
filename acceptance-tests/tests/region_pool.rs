//! `berth_region_pool` driven by real Terraform against moto: the record
//! structure and health checks exist exactly as designed (checked through
//! the Route53 API), drain and restore with a watcher that never sees an
//! alias pointing nowhere, drift repair, removing a region, import and a
//! destroy that leaves nothing.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_acceptance_tests::bed::{Bed, ZONE};
use berth_acceptance_tests::{PROVIDER, TfVersion, clients, flat};

/// One record set as `name [policy] value` (plus its health check FQDN).
type Line = String;

/// A health check that a listed record names but that is gone.
const DELETED_IN_USE: &str = "hc:DELETED-WHILE-A-RECORD-USES-IT";

/// The pool's records as lines. A check deleted between the listing and its
/// read is a race with the apply when no record names it any more (the
/// snapshot is taken again); a record still naming it is a real fault and
/// shows as [`DELETED_IN_USE`].
fn records(endpoint: &str, zone_id: &str, rt: &tokio::runtime::Runtime) -> Vec<Line> {
    rt.block_on(async {
        let r53 = clients::route53(endpoint).await;
        loop {
            match snapshot(&r53, zone_id).await {
                Ok(lines) => return lines,
                Err(gone) => {
                    let mut lines = snapshot_without_checks(&r53, zone_id).await;
                    let in_use = lines.iter().any(|l| l.ends_with(&format!(" id:{gone}")));
                    if in_use {
                        lines.push(format!("{gone} {DELETED_IN_USE}"));
                        return lines;
                    }
                    eprintln!("health check {gone} was deleted mid-read; reading again");
                }
            }
        }
    })
}

fn line(r: &aws_sdk_route53::types::ResourceRecordSet, hc: &str) -> Line {
    let policy = match (r.region(), r.failover()) {
        (Some(reg), _) => format!("latency {}", reg.as_str()),
        (None, Some(f)) => format!("failover {}", f.as_str()),
        _ => "simple".into(),
    };
    let value = match r.alias_target() {
        Some(a) => format!("alias {}", a.dns_name().trim_end_matches('.')),
        None => r
            .resource_records()
            .iter()
            .map(|x| x.value().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    };
    format!("{} [{policy}] {value}{hc}", r.name().trim_end_matches('.'))
}

async fn pool_sets(
    r53: &aws_sdk_route53::Client,
    zone_id: &str,
) -> Vec<aws_sdk_route53::types::ResourceRecordSet> {
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|r| r.name().ends_with(&format!("global.{ZONE}.")))
        .cloned()
        .collect()
}

/// Lines with each health check's FQDN, or the id of a check that was gone
/// when it was read.
async fn snapshot(r53: &aws_sdk_route53::Client, zone_id: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for r in pool_sets(r53, zone_id).await {
        let hc = match r.health_check_id() {
            Some(id) => match r53.get_health_check().health_check_id(id).send().await {
                Ok(h) => format!(
                    " hc:{}",
                    h.health_check()
                        .unwrap()
                        .health_check_config()
                        .unwrap()
                        .fully_qualified_domain_name()
                        .unwrap_or_default()
                ),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_no_such_health_check()) =>
                {
                    return Err(id.to_string());
                }
                Err(e) => panic!("GetHealthCheck {id}: {e:?}"),
            },
            None => String::new(),
        };
        lines.push(line(&r, &hc));
    }
    lines.sort();
    Ok(lines)
}

/// Lines with each health check's id instead of its FQDN.
async fn snapshot_without_checks(r53: &aws_sdk_route53::Client, zone_id: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = pool_sets(r53, zone_id)
        .await
        .iter()
        .map(|r| {
            let hc = r
                .health_check_id()
                .map(|id| format!(" id:{id}"))
                .unwrap_or_default();
            line(r, &hc)
        })
        .collect();
    lines.sort();
    lines
}

/// The pool's records as lines, read on the bed's runtime.
fn pool_records(bed: &Bed) -> Vec<Line> {
    records(&bed.moto.endpoint(), &bed.zone_id, &bed.rt)
}

fn pool(regions: &[(&str, bool)]) -> String {
    let mut blocks = String::new();
    for (r, drained) in regions {
        let short = r.split('-').next().unwrap();
        blocks.push_str(&format!(
            "  region {{\n    name     = \"{r}\"\n    hostname = \"{short}.example.net\"\n    drained  = {drained}\n  }}\n"
        ));
    }
    format!(
        r#"{PROVIDER}

resource "berth_region_pool" "global" {{
  zone    = "{ZONE}"
  name    = "global"
  primary = "us-east-1"
{blocks}}}
"#
    )
}

const THREE: [(&str, bool); 3] = [
    ("us-east-1", false),
    ("eu-west-1", false),
    ("ap-southeast-2", false),
];

fn designed() -> Vec<Line> {
    let mut v: Vec<Line> = [
        "global.berth.test [latency ap-southeast-2] alias ap-southeast-2.pool.global.berth.test",
        "global.berth.test [latency eu-west-1] alias eu-west-1.pool.global.berth.test",
        "global.berth.test [latency us-east-1] alias us-east-1.pool.global.berth.test",
        "ap-southeast-2.pool.global.berth.test [failover PRIMARY] ap.example.net hc:ap.example.net",
        "ap-southeast-2.pool.global.berth.test [failover SECONDARY] us.example.net hc:us.example.net",
        "eu-west-1.pool.global.berth.test [failover PRIMARY] eu.example.net hc:eu.example.net",
        "eu-west-1.pool.global.berth.test [failover SECONDARY] us.example.net hc:us.example.net",
        "us-east-1.pool.global.berth.test [failover PRIMARY] us.example.net hc:us.example.net",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.sort();
    v
}

/// Every alias points at a name that has records, and some region answers.
fn consistent(lines: &[Line]) -> Result<(), String> {
    let names: BTreeSet<&str> = lines.iter().filter_map(|l| l.split(' ').next()).collect();
    let aliases: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split(" alias ").nth(1))
        .collect();
    if let Some(l) = lines.iter().find(|l| l.ends_with(DELETED_IN_USE)) {
        return Err(format!(
            "a record uses a deleted health check ({l}): {lines:?}"
        ));
    }
    if aliases.is_empty() {
        return Err(format!("no latency record: {lines:?}"));
    }
    for a in aliases {
        if !names.contains(a) {
            return Err(format!("alias to missing {a}: {lines:?}"));
        }
    }
    Ok(())
}

fn lifecycle(v: TfVersion) {
    let bed = Bed::start(None).unwrap();
    let ws = bed.workspace(v);
    ws.write("main.tf", &pool(&THREE)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(pool_records(&bed), designed());
    assert_eq!(bed.health_checks(), 3);

    // Drain eu-west-1 and restore it, watched: never an alias to nowhere.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, stop, endpoint, zone) = (
            seen.clone(),
            stop.clone(),
            bed.moto.endpoint(),
            bed.zone_id.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                seen.lock().unwrap().push(records(&endpoint, &zone, &rt));
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    ws.write(
        "main.tf",
        &pool(&[
            ("us-east-1", false),
            ("eu-west-1", true),
            ("ap-southeast-2", false),
        ]),
    )
    .unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let drained = pool_records(&bed);
    assert!(
        drained.contains(
            &"global.berth.test [latency eu-west-1] alias us-east-1.pool.global.berth.test"
                .to_string()
        ),
        "{drained:?}"
    );
    assert_eq!(
        drained.len(),
        8,
        "the drained region's pool stays for restore"
    );
    ws.write("main.tf", &pool(&THREE)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(pool_records(&bed), designed());

    // Removing a region: its alias goes before its pool.
    ws.write(
        "main.tf",
        &pool(&[("us-east-1", false), ("eu-west-1", false)]),
    )
    .unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    for (i, s) in seen.lock().unwrap().iter().enumerate() {
        consistent(s).unwrap_or_else(|e| panic!("sample {i}: {e}"));
    }
    assert_eq!(pool_records(&bed).len(), 5);
    assert_eq!(bed.health_checks(), 2);

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(pool_records(&bed).is_empty(), "{:?}", pool_records(&bed));
    assert_eq!(bed.health_checks(), 0);
}

#[test]
fn records_drain_restore_remove_and_destroy_latest() {
    lifecycle(TfVersion::Latest);
}

#[test]
fn records_drain_restore_remove_and_destroy_terraform_1_0() {
    lifecycle(TfVersion::V1_0);
}

#[test]
fn drift_is_repaired_and_import_plans_empty() {
    let bed = Bed::start(None).unwrap();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &pool(&THREE)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();

    // Someone deletes eu-west-1's failover secondary by hand.
    bed.rt.block_on(async {
        use aws_sdk_route53::types::*;
        let r53 = &bed.r53;
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(&bed.zone_id)
            .send()
            .await
            .unwrap();
        let rs = out
            .resource_record_sets()
            .iter()
            .find(|r| r.set_identifier() == Some("eu-west-1-secondary"))
            .unwrap()
            .clone();
        r53.change_resource_record_sets()
            .hosted_zone_id(&bed.zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Delete)
                            .resource_record_set(rs)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let plan = ws
        .run(&["plan", "-detailed-exitcode", "-no-color"])
        .unwrap();
    assert_eq!(plan.code, 2, "drift shows: {}", plan.all());
    assert!(
        flat(&plan.stdout).contains("eu-west-1.pool.global.berth.test [failover secondary]"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(pool_records(&bed), designed());

    for v in [TfVersion::Latest, TfVersion::V1_0] {
        let other = bed.workspace(v);
        other.write("main.tf", &pool(&THREE)).unwrap();
        other.init().unwrap();
        other
            .ok(&[
                "import",
                "-no-color",
                "berth_region_pool.global",
                &format!("{ZONE}/global"),
            ])
            .unwrap();
        other.assert_plan_empty().unwrap();
    }

    // The primary cannot be drained: a diagnostic on `primary`.
    ws.write(
        "main.tf",
        &pool(&[("us-east-1", true), ("eu-west-1", false)]),
    )
    .unwrap();
    let r = ws.run(&["plan", "-no-color"]).unwrap();
    assert_ne!(r.code, 0);
    assert!(
        flat(&r.all()).contains("Primary region drained"),
        "{}",
        r.all()
    );
}
