//! `examples/multi-service` (story 4) applied the way a user would: a copy
//! of the example next to a copy of `modules/`, real Terraform (newest and
//! 1.0.3), moto and the fleet simulator. Three services behind one nginx
//! front on the same hosts, each with its own memory limit; a new image for
//! one service is a rollout of the hosts; destroy leaves nothing behind.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use berth_acceptance_tests::leftovers::leftovers;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::userdata::{self, Container};
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

/// The containers of the one serving instance, by name.
fn serving_containers(sim: &FleetSim) -> BTreeMap<String, Container> {
    let serving = sim.serving();
    assert_eq!(serving.len(), 1, "one instance serves: {serving:?}");
    let user_data = sim.user_data(&serving[0].id).unwrap();
    userdata::containers(&user_data)
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect()
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
    let services = serving_containers(&sim);
    let front = &services["app"];
    assert_eq!(front.image, "nginx:1.27-alpine", "{front:?}");
    assert_eq!(front.opt("publish"), ["80:80"]);
    assert_eq!(front.opt("memory"), ["64m"]);
    // The front's config, passed to Docker exactly as written.
    let conf = front.env()["BERTH_NGINX_CONF"].clone();
    for (host, upstream) in [
        ("api", "api-shop-test:3000"),
        ("admin", "admin-shop-test:80"),
        ("docs", "docs:80"),
    ] {
        assert!(
            conf.contains(&format!("server_name {host}.{ZONE};"))
                && conf.contains(&format!("set $u http://{upstream};")),
            "{host} routes to {upstream}:\n{conf}"
        );
    }
    for (name, image, memory) in [
        ("api-shop-test", "python:3.12-alpine", "256m"),
        ("admin-shop-test", "nginxdemos/hello:0.4", "64m"),
        ("docs", "nginx:1.27-alpine", "32m"),
    ] {
        let c = &services[name];
        assert_eq!(c.image, image, "{c:?}");
        assert_eq!(c.opt("memory"), [memory], "{c:?}");
        assert!(c.opt("publish").is_empty(), "{c:?}");
        assert_eq!(c.opt("network-alias"), [name], "reached by its name");
    }
    assert_eq!(
        services["api-shop-test"].command,
        ["python", "-m", "http.server", "3000"]
    );
    assert_eq!(
        services["api-shop-test"].env(),
        BTreeMap::from([
            ("APP_ENV".to_string(), "production".to_string()),
            ("PYTHONUNBUFFERED".to_string(), "1".to_string())
        ]),
        "the service's env is its container's environment"
    );
    assert!(services["docs"].env().is_empty(), "{:?}", services["docs"]);

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
    let services = serving_containers(&sim);
    assert_eq!(services["api-shop-test"].image, "python:3.13-alpine");
    assert_eq!(services["admin-shop-test"].image, "nginxdemos/hello:0.4");
    assert_eq!(services["docs"].image, "nginx:1.27-alpine");

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
