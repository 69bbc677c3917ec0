//! `modules/global-app` on real Terraform against moto and the fleet
//! simulator watching three regions: an app per region behind a region
//! pool; an image update rolls out region by region with the primary last;
//! draining a region; destroy leaves nothing in any region.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, PROVIDER, TfVersion, Workspace, clients, copy_tree, repo_root};

const ZONE: &str = "berth.test";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// Copies the repository's modules next to the configuration (as a
/// checkout of the repository would have them), so the relative source
/// `./modules/global-app` and its `../regional-app` resolve locally.
fn copy_modules(ws: &Workspace) {
    copy_tree(&repo_root().join("modules"), &ws.path().join("modules")).unwrap();
}

fn config(image: &str, drained: &[&str]) -> String {
    let drained: Vec<String> = drained.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        r#"{PROVIDER}

module "shop" {{
  source            = "./modules/global-app"
  name              = "shop"
  image             = "{image}"
  primary_region    = "us-east-1"
  secondary_regions = ["eu-west-1", "ap-southeast-2"]
  drained_regions   = [{}]
  zone              = "{ZONE}"
  replicas          = 1
  health_interval   = 1
  ttl               = 1
  drain             = 1
}}

output "regions" {{
  value = module.shop.regions
}}
output "fqdn" {{
  value = module.shop.fqdn
}}
"#,
        drained.join(", ")
    )
}

/// RFC 3339 with the fraction padded, so strings compare in time order.
fn sortable(t: &str) -> String {
    let (head, frac) = t
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((t.trim_end_matches('Z'), "0"));
    format!("{head}.{frac:0<9}")
}

fn live_in(endpoint: &str, region: &str, rt: &tokio::runtime::Runtime) -> usize {
    rt.block_on(async {
        let ec2 = clients::ec2_in(endpoint, region).await;
        let out = ec2
            .describe_instances()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:berth:app")
                    .values("shop")
                    .build(),
            )
            .filters(clients::live_state())
            .send()
            .await
            .unwrap();
        out.reservations().iter().map(|r| r.instances().len()).sum()
    })
}

#[test]
fn rollout_goes_region_by_region_with_the_primary_last() {
    let moto = Moto::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let zone_id = rt
        .block_on(clients::create_zone(&moto.endpoint(), ZONE))
        .unwrap();
    let sim = FleetSim::start_in(
        &moto.endpoint(),
        &REGIONS,
        SimOptions {
            boot_delay: Duration::from_millis(300),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let ws = Workspace::new(TfVersion::Latest, Some(&moto)).unwrap();
    copy_modules(&ws);
    ws.write("main.tf", &config("shop:1", &[])).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    for r in REGIONS {
        assert_eq!(live_in(&moto.endpoint(), r, &rt), 1, "one instance in {r}");
    }
    let out = ws.outputs().unwrap();
    assert_eq!(out["fqdn"]["value"], format!("shop.{ZONE}."));

    ws.write("main.tf", &config("shop:2", &[])).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let regions = &ws.outputs().unwrap()["regions"]["value"];
    let at = |r: &str| sortable(regions[r]["deployed_at"].as_str().unwrap());
    for r in REGIONS {
        assert_eq!(regions[r]["release"], 2, "{r}: {regions}");
    }
    assert!(at("eu-west-1") < at("ap-southeast-2"), "{regions}");
    assert!(
        at("ap-southeast-2") < at("us-east-1"),
        "primary last: {regions}"
    );

    // Drain eu-west-1: its latency record now leads to the primary's pool.
    ws.write("main.tf", &config("shop:2", &["eu-west-1"]))
        .unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let alias = rt.block_on(async {
        let out = clients::route53(&moto.endpoint())
            .await
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .find(|r| {
                r.set_identifier() == Some("eu-west-1") && r.name() == format!("shop.{ZONE}.")
            })
            .and_then(|r| r.alias_target())
            .map(|a| a.dns_name().to_string())
            .unwrap()
    });
    assert!(alias.starts_with("us-east-1.pool.shop."), "{alias}");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    for r in REGIONS {
        assert_eq!(live_in(&moto.endpoint(), r, &rt), 0, "nothing left in {r}");
    }
    assert!(sim.problems().is_empty(), "{:?}", sim.problems());
}
