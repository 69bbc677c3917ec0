//! `examples/multi-service` (story 4) applied the way a user would: a copy
//! of the example next to a copy of `modules/`, real Terraform (newest and
//! 1.0.3), moto and the fleet simulator. Three services behind one nginx
//! front on the same hosts, each with its own memory limit; a new image for
//! one service is a rollout of the hosts; destroy leaves nothing behind.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_acceptance_tests::leftovers::leftovers;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, TfVersion, Workspace, clients};

const ZONE: &str = "shop.test";

fn tfvars(endpoint: &str, api_image: Option<&str>) -> String {
    let mut vars = format!(
        "aws_endpoint    = \"{endpoint}\"\nzone            = \"{ZONE}\"\nreplicas        = 1\nhealth_interval = 1\nttl             = 1\ndrain           = 1\n"
    );
    if let Some(image) = api_image {
        vars.push_str(&format!("api_image       = \"{image}\"\n"));
    }
    vars
}

/// The compose file (JSON) in an instance's user-data.
fn compose_of(user_data: &str) -> serde_json::Value {
    let start = user_data
        .find("compose.yaml' <<'")
        .and_then(|i| user_data[i..].find('\n').map(|j| i + j + 1))
        .unwrap();
    let end = start + user_data[start..].find("\n}\n").unwrap() + 2;
    serde_json::from_str(&user_data[start..end]).unwrap()
}

/// The services of the one serving instance's compose file.
fn serving_services(sim: &FleetSim) -> serde_json::Value {
    let serving = sim.serving();
    assert_eq!(serving.len(), 1, "one instance serves: {serving:?}");
    let user_data = sim.user_data(&serving[0].id).unwrap();
    compose_of(&user_data)["services"].clone()
}

fn multi_service_example_lifecycle(version: TfVersion) {
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
    let ws = Workspace::for_example(version, Some(&moto), "multi-service").unwrap();
    ws.write("terraform.tfvars", &tfvars(&moto.endpoint(), None))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();

    let out = ws.outputs().unwrap();
    assert_eq!(out["release"]["value"], 1, "{out}");
    assert_eq!(out["origin"]["value"], format!("shop.{ZONE}."), "{out}");
    let routing = &out["routing"]["value"];
    assert_eq!(
        routing[format!("api.{ZONE}")]["upstream"],
        "http://api-shop-test:3000",
        "{routing}"
    );
    assert_eq!(routing[format!("docs.{ZONE}")]["container"], "docs");
    for h in ["api", "admin", "docs"] {
        assert_eq!(
            out["hostnames"]["value"][h],
            format!("{h}.{ZONE}."),
            "{out}"
        );
    }

    // The instance runs the front and one container per service, each with
    // its memory limit; only the front publishes a port.
    let services = serving_services(&sim);
    assert_eq!(services["app"]["image"], "nginx:1.27-alpine", "{services}");
    assert_eq!(services["app"]["ports"], serde_json::json!(["80:80"]));
    assert_eq!(services["app"]["mem_limit"], "64m");
    // The front's config, as compose sees it ("$" escaped as "$$").
    let conf = services["app"]["environment"]["BERTH_NGINX_CONF"]
        .as_str()
        .unwrap();
    for (host, upstream) in [
        ("api", "api-shop-test:3000"),
        ("admin", "admin-shop-test:80"),
        ("docs", "docs:80"),
    ] {
        assert!(
            conf.contains(&format!("server_name {host}.{ZONE};"))
                && conf.contains(&format!("set $$u http://{upstream};")),
            "{host} routes to {upstream}:\n{conf}"
        );
    }
    for (name, image, memory) in [
        ("api-shop-test", "python:3.12-alpine", "256m"),
        ("admin-shop-test", "nginxdemos/hello:0.4", "64m"),
        ("docs", "nginx:1.27-alpine", "32m"),
    ] {
        assert_eq!(services[name]["image"], image, "{services}");
        assert_eq!(services[name]["mem_limit"], memory, "{services}");
        assert!(services[name].get("ports").is_none(), "{services}");
    }
    assert_eq!(
        services["api-shop-test"]["command"],
        serde_json::json!(["python", "-m", "http.server", "3000"])
    );
    assert_eq!(
        services["api-shop-test"]["environment"],
        serde_json::json!({ "APP_ENV": "production", "PYTHONUNBUFFERED": "1" }),
        "the service's env is its container's environment"
    );
    assert!(services["docs"].get("environment").is_none(), "{services}");

    // Each hostname is a CNAME to the origin.
    let records = rt.block_on(async {
        clients::route53(&moto.endpoint())
            .await
            .list_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .send()
            .await
            .unwrap()
    });
    for h in ["api", "admin", "docs"] {
        let r = records
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == format!("{h}.{ZONE}."))
            .unwrap();
        assert_eq!(r.weight(), Some(100));
        assert_eq!(
            r.resource_records()[0].value(),
            format!("shop.{ZONE}"),
            "{r:?}"
        );
    }

    // Deploy the API only: one rollout of the hosts, the other services
    // keep their images.
    let first = sim.serving()[0].id.clone();
    ws.write(
        "terraform.tfvars",
        &tfvars(&moto.endpoint(), Some("python:3.13-alpine")),
    )
    .unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout.contains("launch 1 × release 2"),
        "the plan shows the rollout:\n{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let out = ws.outputs().unwrap();
    assert_eq!(out["release"]["value"], 2, "{out}");
    assert_eq!(
        out["routing"]["value"][format!("api.{ZONE}")]["image"],
        "python:3.13-alpine"
    );
    let serving = sim.serving();
    assert!(
        serving.len() == 1 && serving[0].id != first && serving[0].release == "2",
        "release 2 replaced release 1: {serving:?}"
    );
    let services = serving_services(&sim);
    assert_eq!(services["api-shop-test"]["image"], "python:3.13-alpine");
    assert_eq!(services["admin-shop-test"]["image"], "nginxdemos/hello:0.4");
    assert_eq!(services["docs"]["image"], "nginx:1.27-alpine");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let left = rt
        .block_on(leftovers(&moto.endpoint(), &[clients::REGION]))
        .unwrap();
    assert!(left.is_empty(), "left after destroy: {left:#?}");
    assert!(sim.problems().is_empty(), "{:?}", sim.problems());
}

#[test]
fn multi_service_example_lifecycle_on_terraform_latest() {
    multi_service_example_lifecycle(TfVersion::Latest);
}

#[test]
fn multi_service_example_lifecycle_on_terraform_1_0() {
    multi_service_example_lifecycle(TfVersion::V1_0);
}
