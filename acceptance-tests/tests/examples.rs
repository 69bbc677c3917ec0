//! The story examples (`examples/<story>`) applied the way a user would —
//! a copy of the example next to a copy of `modules/`, real Terraform
//! (newest and 1.0.3), moto and the fleet simulator: apply, an empty second
//! plan, one realistic change (a new image, a blue/green flip, a migration
//! 0 → 100 %), an empty plan again, destroy, and nothing left behind.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use berth_acceptance_tests::leftovers::leftovers;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, TfVersion, Workspace, clients};

const ZONE: &str = "examples.test";

/// A running example: emulator, simulator, workspace.
struct Example {
    moto: Moto,
    sim: FleetSim,
    ws: Workspace,
    rt: tokio::runtime::Runtime,
    zone_id: String,
}

impl Example {
    fn start(version: TfVersion, name: &str) -> Example {
        let moto = Moto::start().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let zone_id = rt
            .block_on(clients::create_zone(&moto.endpoint(), ZONE))
            .unwrap();
        let sim = FleetSim::start(
            &moto.endpoint(),
            SimOptions {
                boot_delay: Duration::from_millis(300),
                ..SimOptions::default()
            },
        )
        .unwrap();
        let ws = Workspace::for_example(version, Some(&moto), name).unwrap();
        Example {
            moto,
            sim,
            ws,
            rt,
            zone_id,
        }
    }

    /// Writes `terraform.tfvars`: the emulator, the zone, short waits, and
    /// `extra` (`name = value` lines).
    fn vars(&self, extra: &str) {
        self.ws
            .write(
                "terraform.tfvars",
                &format!(
                    "aws_endpoint    = \"{}\"\nzone            = \"{ZONE}\"\nhealth_interval = 1\nttl             = 1\ndrain           = 1\n{extra}\n",
                    self.moto.endpoint()
                ),
            )
            .unwrap();
    }

    fn apply_and_expect_no_drift(&self) {
        self.ws.apply().unwrap();
        self.ws.assert_plan_empty().unwrap();
    }

    fn outputs(&self) -> serde_json::Value {
        self.ws.outputs().unwrap()
    }

    /// Route53 weights of the weighted records named `name` (relative to
    /// the zone), by set identifier.
    fn weights(&self, name: &str) -> BTreeMap<String, i64> {
        self.rt
            .block_on(clients::weighted_sets(
                &self.moto.endpoint(),
                &self.zone_id,
                &format!("{name}.{ZONE}."),
            ))
            .unwrap()
    }

    /// Destroys, then checks the emulator holds nothing berth made and the
    /// simulator saw nothing wrong.
    fn destroy_and_expect_nothing_left(&self) {
        self.ws
            .ok(&["destroy", "-auto-approve", "-no-color"])
            .unwrap();
        let left = self
            .rt
            .block_on(leftovers(&self.moto.endpoint(), &[clients::REGION]))
            .unwrap();
        assert!(left.is_empty(), "left after destroy: {left:#?}");
        assert!(self.sim.problems().is_empty(), "{:?}", self.sim.problems());
    }
}

fn django_example_rolls_out_a_new_image(version: TfVersion) {
    let ex = Example::start(version, "django");
    ex.vars("");
    ex.ws.init().unwrap();
    ex.apply_and_expect_no_drift();
    let out = ex.outputs();
    assert_eq!(out["release"]["value"], 1);
    assert_eq!(out["url"]["value"], format!("https://www.{ZONE}/"));
    assert_eq!(ex.weights("www"), BTreeMap::from([("shop".into(), 100)]));

    let image = "registry.example.com/shop-django:2026-11-24T09-00";
    ex.vars(&format!("image = \"{image}\""));
    ex.apply_and_expect_no_drift();
    let out = ex.outputs();
    assert_eq!(out["release"]["value"], 2, "{out}");
    assert_eq!(out["image"]["value"], image);
    // The app module keeps the previous release warm for a DNS-flip
    // rollback: 2 instances of each release are up.
    let serving = ex.sim.serving();
    for release in ["1", "2"] {
        let n = serving.iter().filter(|i| i.release == release).count();
        assert_eq!(n, 2, "release {release}: {serving:?}");
    }

    ex.destroy_and_expect_nothing_left();
}

fn blue_green_example_deploys_to_the_idle_side_and_flips(version: TfVersion) {
    let ex = Example::start(version, "blue-green");
    ex.vars("bake = 1");
    ex.ws.init().unwrap();
    ex.apply_and_expect_no_drift();
    assert_eq!(
        ex.weights("shop"),
        BTreeMap::from([("blue".into(), 100), ("green".into(), 0)])
    );

    // A new version on the idle side: a rollout no user sees.
    let next = "registry.example.com/shop-rails:2026-11-24T09-00";
    ex.vars(&format!("bake = 1\ngreen_image = \"{next}\""));
    ex.apply_and_expect_no_drift();
    let releases = &ex.outputs()["releases"]["value"];
    assert_eq!(releases["green"]["release"], 2, "{releases}");
    assert_eq!(releases["green"]["image"], next);
    assert_eq!(releases["blue"]["release"], 1, "blue untouched: {releases}");
    assert_eq!(ex.weights("shop")["blue"], 100, "still all on blue");

    // The flip: progressive, gated on green's health.
    ex.vars(&format!(
        "bake = 1\ngreen_image = \"{next}\"\nlive = \"green\""
    ));
    ex.apply_and_expect_no_drift();
    assert_eq!(
        ex.weights("shop"),
        BTreeMap::from([("blue".into(), 0), ("green".into(), 100)])
    );
    assert_eq!(ex.outputs()["idle"]["value"], "blue");

    ex.destroy_and_expect_nothing_left();
}

fn paas_migration_example_moves_all_traffic_in_steps(version: TfVersion) {
    let ex = Example::start(version, "paas-migration");
    ex.vars("bake = 1");
    ex.ws.init().unwrap();
    ex.apply_and_expect_no_drift();
    assert_eq!(
        ex.weights("api"),
        BTreeMap::from([("aws".into(), 0), ("paas".into(), 100)])
    );

    ex.vars("bake = 1\npercent = 100");
    ex.apply_and_expect_no_drift();
    assert_eq!(
        ex.weights("api"),
        BTreeMap::from([("aws".into(), 100), ("paas".into(), 0)])
    );
    let plan = ex.outputs()["shift_plan"]["value"].to_string();
    for step in ["aws=10", "aws=25", "aws=50", "aws=100"] {
        assert!(plan.contains(step), "{step} missing from {plan}");
    }

    ex.destroy_and_expect_nothing_left();
}

#[test]
fn django_example_on_terraform_latest() {
    django_example_rolls_out_a_new_image(TfVersion::Latest);
}

#[test]
fn django_example_on_terraform_1_0() {
    django_example_rolls_out_a_new_image(TfVersion::V1_0);
}

#[test]
fn blue_green_example_on_terraform_latest() {
    blue_green_example_deploys_to_the_idle_side_and_flips(TfVersion::Latest);
}

#[test]
fn blue_green_example_on_terraform_1_0() {
    blue_green_example_deploys_to_the_idle_side_and_flips(TfVersion::V1_0);
}

#[test]
fn paas_migration_example_on_terraform_latest() {
    paas_migration_example_moves_all_traffic_in_steps(TfVersion::Latest);
}

#[test]
fn paas_migration_example_on_terraform_1_0() {
    paas_migration_example_moves_all_traffic_in_steps(TfVersion::V1_0);
}
