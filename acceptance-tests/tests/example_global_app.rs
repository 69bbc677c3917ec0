//! `examples/global-app` (story 5) applied the way a user would: a copy of
//! the example next to a copy of `modules/`, real Terraform (newest and
//! 1.0.3), moto and the fleet simulator watching the three regions. The app
//! runs in us-east-1 (primary), eu-west-1 and ap-southeast-2 behind one
//! region pool, secrets by reference; a new image rolls out region by
//! region with the primary last; destroy leaves nothing in any region.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_acceptance_tests::leftovers::leftovers;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, TfVersion, Workspace, clients, flat};

const ZONE: &str = "global.test";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn tfvars(endpoint: &str, image: Option<&str>) -> String {
    let mut vars = format!(
        "aws_endpoint    = \"{endpoint}\"\nzone            = \"{ZONE}\"\nreplicas        = 1\nhealth_interval = 1\nttl             = 1\ndrain           = 1\n"
    );
    if let Some(image) = image {
        vars.push_str(&format!("image           = \"{image}\"\n"));
    }
    vars
}

/// RFC 3339 with the fraction padded, so strings compare in time order.
fn sortable(t: &str) -> String {
    let (head, frac) = t
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((t.trim_end_matches('Z'), "0"));
    format!("{head}.{frac:0<9}")
}

fn global_app_example_lifecycle(version: TfVersion) {
    let moto = Moto::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(clients::create_zone(&moto.endpoint(), ZONE))
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
    let ws = Workspace::for_example(version, Some(&moto), "global-app").unwrap();
    ws.write("terraform.tfvars", &tfvars(&moto.endpoint(), None))
        .unwrap();
    ws.init().unwrap();

    // The module's cross-input rules hold on both Terraform versions: the
    // primary region cannot be drained.
    let bad = ws
        .run(&[
            "plan",
            "-no-color",
            "-var",
            "drained_regions=[\"us-east-1\"]",
        ])
        .unwrap();
    assert_ne!(bad.code, 0, "{}", bad.all());
    assert!(
        flat(&bad.stderr).contains("Every drained region must be one of secondary_regions"),
        "{}",
        bad.all()
    );

    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let out = ws.outputs().unwrap();
    assert_eq!(out["fqdn"]["value"], format!("shop.{ZONE}."), "{out}");
    assert_eq!(
        out["rollout_order"]["value"],
        serde_json::json!(["eu-west-1", "ap-southeast-2", "us-east-1"])
    );
    let regions = &out["regions"]["value"];
    for r in REGIONS {
        assert_eq!(regions[r]["release"], 1, "{r}: {regions}");
        assert_eq!(
            regions[r]["origin"],
            format!("shop-{r}.{ZONE}."),
            "{r}: {regions}"
        );
        assert_eq!(
            regions[r]["instances"].as_array().map(Vec::len),
            Some(1),
            "{r}: {regions}"
        );
    }
    // Secrets go by reference: the user-data fetches them at boot and
    // never holds a value.
    let booted = sim.booted();
    assert_eq!(booted.len(), 3, "{booted:?}");
    for b in &booted {
        let user_data = sim.user_data(&b.id).unwrap();
        assert!(
            user_data.contains(r#""secretsmanager": "shop/database-url""#)
                && user_data.contains(r#""ssm": "/shop/secret-key-base""#),
            "{}: {user_data}",
            b.id
        );
        assert!(user_data.contains("systemctl enable --now berth-shop.service"));
    }

    // A new image: region by region, the primary last.
    let image = "nginxdemos/hello:0.4";
    ws.write("terraform.tfvars", &tfvars(&moto.endpoint(), Some(image)))
        .unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let regions = &ws.outputs().unwrap()["regions"]["value"];
    for r in REGIONS {
        assert_eq!(regions[r]["release"], 2, "{r}: {regions}");
    }
    let at = |r: &str| sortable(regions[r]["deployed_at"].as_str().unwrap());
    assert!(at("eu-west-1") < at("ap-southeast-2"), "{regions}");
    assert!(
        at("ap-southeast-2") < at("us-east-1"),
        "primary last: {regions}"
    );
    let serving = sim.serving();
    assert!(
        serving.len() == 3 && serving.iter().all(|b| b.release == "2" && b.image == image),
        "release 2 serves in every region: {serving:?}"
    );

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let left = rt.block_on(leftovers(&moto.endpoint(), &REGIONS)).unwrap();
    assert!(left.is_empty(), "left after destroy: {left:#?}");
    assert!(sim.problems().is_empty(), "{:?}", sim.problems());
}

#[test]
fn global_app_example_lifecycle_on_terraform_latest() {
    global_app_example_lifecycle(TfVersion::Latest);
}

#[test]
fn global_app_example_lifecycle_on_terraform_1_0() {
    global_app_example_lifecycle(TfVersion::V1_0);
}
