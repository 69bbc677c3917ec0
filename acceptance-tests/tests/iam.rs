//! The IAM permissions the docs list are complete: each resource's whole
//! lifecycle (create, refresh, updates, import with the exact commands of
//! its `import.sh`, destroy) and the data source's read run through real
//! Terraform with the provider's AWS traffic going through a recording
//! proxy in front of moto, and every AWS action observed must be in the
//! policy on the type's docs page (`docs/…/<name>.md`, generated from the
//! `IAM` constants by `./scripts/docs`). The reverse holds too: every
//! documented action is observed, except the few listed here with the
//! reason the lifecycle cannot reach them, so the docs do not keep actions
//! the code no longer calls.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use berth_acceptance_tests::alb::{users_listener, users_target_group};
use berth_acceptance_tests::proxy::CountingProxy;
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{Moto, PROVIDER, TfVersion, Workspace, clients, repo_root};

/// The zone every example and import id uses.
const ZONE: &str = "example.com";

/// Documented but out of this test's reach on moto.
const IN_SYNC_AT_ONCE: (&str, &str) = (
    "route53:GetChange",
    "polls a change until INSYNC; moto reports every change INSYNC at once, Route53 answers PENDING first",
);

/// The actions of the Terraform policy (the first `json` block of the
/// "IAM permissions" section) of `docs/<page>`.
fn documented(page: &str) -> BTreeSet<String> {
    let path = repo_root().join("docs").join(page);
    let text = std::fs::read_to_string(&path).unwrap();
    let section = &text[text
        .find("## IAM permissions")
        .unwrap_or_else(|| panic!("{}: no IAM permissions section", path.display()))..];
    let start = section.find("```json\n").unwrap() + 8;
    let end = start + section[start..].find("\n```").unwrap();
    let policy: serde_json::Value = serde_json::from_str(&section[start..end]).unwrap();
    let mut out = BTreeSet::new();
    for st in policy["Statement"].as_array().unwrap() {
        match &st["Action"] {
            serde_json::Value::String(a) => {
                out.insert(a.clone());
            }
            serde_json::Value::Array(list) => {
                out.extend(list.iter().map(|a| a.as_str().unwrap().to_string()));
            }
            other => panic!("unexpected Action {other}"),
        }
    }
    assert!(!out.is_empty(), "{}: empty policy", path.display());
    out
}

/// The `terraform import` argument lists of `examples/resources/<ty>/import.sh`.
fn import_commands(ty: &str) -> Vec<Vec<String>> {
    let path = repo_root()
        .join("examples/resources")
        .join(ty)
        .join("import.sh");
    let text = std::fs::read_to_string(&path).unwrap();
    let cmds: Vec<Vec<String>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let words: Vec<String> = l.split_whitespace().map(String::from).collect();
            assert_eq!(&words[..2], ["terraform", "import"], "{l}");
            words[1..].to_vec()
        })
        .collect();
    assert!(!cmds.is_empty(), "{}: no import command", path.display());
    cmds
}

/// moto, a recording proxy in front of it, and the runtime the proxy runs on.
struct Recorder {
    moto: Moto,
    proxy: CountingProxy,
    rt: tokio::runtime::Runtime,
    zone_id: String,
    observed: BTreeMap<String, u64>,
}

impl Recorder {
    fn new() -> Recorder {
        let moto = Moto::start().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let upstream = SocketAddr::from(([127, 0, 0, 1], moto.port));
        let proxy = rt.block_on(CountingProxy::start(upstream)).unwrap();
        let zone_id = rt
            .block_on(clients::create_zone(&moto.endpoint(), ZONE))
            .unwrap();
        Recorder {
            moto,
            proxy,
            rt,
            zone_id,
            observed: BTreeMap::new(),
        }
    }

    /// A workspace whose provider reaches AWS only through the proxy.
    fn workspace(&self, config: &str) -> Workspace {
        let mut ws = Workspace::new(TfVersion::Latest, None).unwrap();
        ws.set_env("AWS_ENDPOINT_URL", &self.proxy.endpoint());
        ws.write("main.tf", config).unwrap();
        ws.init().unwrap();
        ws
    }

    /// Adds what the proxy saw since the last call.
    fn collect(&mut self) {
        for (k, n) in self.proxy.take().0 {
            *self.observed.entry(k).or_default() += n;
        }
        assert_eq!(self.proxy.take_errors(), 0, "the proxy failed to relay");
    }

    /// Fails unless every observed action is documented on `page` and
    /// every documented one was observed or is in `unreached` (action,
    /// why the lifecycle cannot call it).
    fn check(mut self, page: &str, unreached: &[(&str, &str)]) {
        self.collect();
        let docs = documented(page);
        let observed: BTreeSet<String> = self.observed.keys().cloned().collect();
        eprintln!("{page}: observed {:?}", self.observed);
        let undocumented: Vec<&String> = observed.difference(&docs).collect();
        assert!(
            undocumented.is_empty(),
            "AWS calls missing from the IAM permissions in docs/{page}: {undocumented:?}\n\
             (add them to the type's `IAM` constant, then run ./scripts/docs); observed: {:?}",
            self.observed
        );
        let skipped: BTreeSet<String> = unreached.iter().map(|(a, _)| a.to_string()).collect();
        let never: Vec<&String> = docs
            .difference(&observed)
            .filter(|a| !skipped.contains(*a))
            .collect();
        assert!(
            never.is_empty(),
            "docs/{page} lists actions the lifecycle never called: {never:?}\n\
             (remove them from the `IAM` constant if the code no longer calls them, or \
             exercise them here); observed: {:?}",
            self.observed
        );
    }
}

/// Imports with every command of `import.sh` into a fresh workspace,
/// forgetting the resource again after each.
fn import_all(rec: &Recorder, ty: &str, config: &str) {
    let ws = rec.workspace(config);
    for cmd in import_commands(ty) {
        let mut args: Vec<&str> = vec![cmd[0].as_str(), "-no-color"];
        args.extend(cmd[1..].iter().map(String::as_str));
        ws.ok(&args).unwrap();
        ws.ok(&["state", "rm", "-no-color", &cmd[1]]).unwrap();
    }
}

fn app_config(image: &str, subnet: Option<&str>, cidr: &str, tags: &str) -> String {
    let subnet = subnet.map_or(String::new(), |s| format!("subnet_ids = [\"{s}\"]"));
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "shop" {{
  name          = "shop"
  image         = "{image}"
  port          = 3000
  replicas      = 1
  ingress_cidrs = ["{cidr}"]
  {subnet}
  tags = {{ {tags} }}

  health_check {{
    interval          = 1
    healthy_threshold = 1
    deadline          = 60
  }}
  origin {{
    zone = "{ZONE}"
    name = "shop"
    ttl  = 1
  }}
  rollout {{
    drain = 1
  }}
}}
"#
    )
}

#[test]
fn container_app_calls_only_documented_actions() {
    let rec = Recorder::new();
    let _sim = FleetSim::start(
        &rec.moto.endpoint(),
        SimOptions {
            boot_delay: Duration::from_millis(300),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let subnet = rec.rt.block_on(async {
        let ec2 = clients::ec2(&rec.moto.endpoint()).await;
        let out = ec2.describe_subnets().send().await.unwrap();
        let mut ids: Vec<String> = out
            .subnets()
            .iter()
            .filter(|s| s.default_for_az() == Some(true))
            .filter_map(|s| s.subnet_id().map(String::from))
            .collect();
        ids.sort();
        ids.into_iter().next().unwrap()
    });

    // Create (default AMI, default VPC, managed security group, origin).
    let tags = r#"team = "shop", owner = "ops""#;
    let ws = rec.workspace(&app_config("shop:1", None, "0.0.0.0/0", tags));
    ws.apply().unwrap();
    // Refresh.
    ws.assert_plan_empty().unwrap();
    // Tags only: retagged in place (one set, one removed).
    let cfg = app_config("shop:1", None, "0.0.0.0/0", r#"team = "checkout""#);
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    // A rollout into a given subnet, with other ingress.
    let cfg = app_config(
        "shop:2",
        Some(&subnet),
        "10.0.0.0/8",
        r#"team = "checkout""#,
    );
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // A write-only secret value: stored in SSM (then deleted with the app).
    let cfg = cfg.replace(
        "  tags = {",
        "  secret_values_wo         = { TOKEN = \"t0ken\" }\n  secret_values_wo_version = 1\n  tags = {",
    );
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // A release command: its marker read before the rollout, older ones
    // listed after it (and deleted with the app).
    let cfg = cfg.replace(
        "  tags = {",
        "  release_command = [\"bin/rails\", \"db:migrate\"]\n  tags = {",
    );
    // Logs to CloudWatch, the group deleted with the app.
    let cfg = cfg.replace(
        "  tags = {",
        "  logs {\n    retention_days    = 7\n    delete_on_destroy = true\n  }\n  alarm {\n    name      = \"hot\"\n    metric    = \"cpu\"\n    threshold = 80\n  }\n  tags = {",
    );
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // Import, with each documented id.
    import_all(&rec, "berth_container_app", &cfg);
    // Load-balancer mode: from the origin record to the user's listener
    // (a new release in an Auto Scaling group, the record removed).
    let listener = rec.rt.block_on(async {
        let c = berth_aws::config::load(&berth_aws::Settings::emulator(rec.moto.endpoint()))
            .await
            .unwrap();
        users_listener(&c, "shop").await.unwrap().1
    });
    let origin =
        format!("  origin {{\n    zone = \"{ZONE}\"\n    name = \"shop\"\n    ttl  = 1\n  }}\n");
    let origin = origin.as_str();
    assert!(cfg.contains(origin), "{cfg}");
    // A target group checks at most every 5 s and wants 2 passes.
    let checks = "    interval          = 1\n    healthy_threshold = 1\n";
    assert!(cfg.contains(checks), "{cfg}");
    let cfg = cfg.replace(
        checks,
        "    interval          = 5\n    timeout           = 2\n    healthy_threshold = 2\n",
    );
    let lb = |priority: u32, extra: &str| {
        cfg.replace(
            origin,
            &format!(
                "  load_balancer {{\n    listener_arn = \"{listener}\"\n    hosts = [\"shop.example.com\"]\n    priority = {priority}\n  }}\n  capacity {{\n    min = 1\n    max = 3\n{extra}  }}\n"
            ),
        )
    };
    let scaled = "    schedule {\n      name = \"day\"\n      recurrence = \"0 8 * * *\"\n      desired = 2\n    }\n    target_tracking {\n      metric = \"requests_per_target\"\n      target = 500\n    }\n";
    ws.write("main.tf", &lb(10, scaled)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // Another priority, no schedule, no policy: changed in place.
    let cfg = lb(20, "");
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // A rollout: the old release's group, target group and template go.
    let cfg = cfg.replace("shop:2", "shop:3");
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // Import behind the load balancer (the rule, the group's settings).
    import_all(&rec, "berth_container_app", &cfg);
    // Destroy.
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();

    rec.check(
        "resources/container_app.md",
        &[
            (
                "iam:PassRole",
                "an authorization check of RunInstances with `instance_profile`, not a call",
            ),
            (
                "route53:GetHostedZone",
                "origin.zone given as an id; the example and this test use a name",
            ),
            (
                "logs:TagResource",
                "an authorization check of CreateLogGroup with tags, not a call",
            ),
            (
                "cloudwatch:TagResource",
                "an authorization check of PutMetricAlarm with tags, not a call",
            ),
            (
                "elasticloadbalancing:AddTags",
                "an authorization check of CreateTargetGroup and CreateRule with tags, not a call",
            ),
            (
                "autoscaling:CreateOrUpdateTags",
                "an authorization check of CreateAutoScalingGroup with tags, not a call",
            ),
            (
                "iam:CreateServiceLinkedRole",
                "made by Auto Scaling itself for an account's first group, not a call",
            ),
            IN_SYNC_AT_ONCE,
        ],
    );
}

fn route_config(paas: u32, aws: u32, shift: bool) -> String {
    let shift = if shift {
        "shift {\n    to    = \"aws\"\n    steps = [50, 100]\n    bake  = 0\n  }"
    } else {
        ""
    };
    format!(
        r#"{PROVIDER}

resource "berth_weighted_route" "api" {{
  zone = "{ZONE}"
  name = "api"
  ttl  = 1

  target {{
    id       = "paas"
    hostname = "shop-prod.herokuapp.com"
    weight   = {paas}
  }}
  target {{
    id       = "aws"
    hostname = "shop-origin.{ZONE}"
    app      = "shop"
    weight   = {aws}
    health_check {{
      protocol = "HTTPS"
      path     = "/up"
    }}
  }}
  {shift}
}}
"#
    )
}

#[test]
fn weighted_route_calls_only_documented_actions() {
    let rec = Recorder::new();
    // A healthy instance of the app `shop` for the shift's gates (made
    // directly in moto: its calls are not the route's).
    let shop = rec.rt.block_on(async {
        use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
        let ec2 = clients::ec2(&rec.moto.endpoint()).await;
        let image = ec2.describe_images().send().await.unwrap().images()[0]
            .image_id()
            .unwrap()
            .to_string();
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        ec2.run_instances()
            .image_id(image)
            .min_count(1)
            .max_count(1)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(tag("berth:managed-by", "berth"))
                    .tags(tag("berth:app", "shop"))
                    .tags(tag("berth:health", "healthy"))
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .instances()[0]
            .instance_id()
            .unwrap()
            .to_string()
    });

    // Create (records, a health check), refresh.
    let ws = rec.workspace(&route_config(100, 0, false));
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // A health-gated shift (app instances and the health check).
    let cfg = route_config(0, 100, true);
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    import_all(&rec, "berth_weighted_route", &cfg);
    // Destroy (records, the route's health checks found by tag).
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();

    // Listener-rule mode: the user's listener and two target groups (made
    // directly in moto), the shop instance in `green`.
    let (listener, blue, green) = rec.rt.block_on(async {
        let c = berth_aws::config::load(&berth_aws::Settings::emulator(rec.moto.endpoint()))
            .await
            .unwrap();
        (
            users_listener(&c, "shop").await.unwrap().1,
            users_target_group(&c, "blue", &[]).await.unwrap(),
            users_target_group(&c, "green", &[shop]).await.unwrap(),
        )
    });
    let rule_route = |priority: u32, blue_w: u32, shift: &str| {
        format!(
            "{PROVIDER}\nresource \"berth_weighted_route\" \"lb\" {{\n  name = \"api\"\n  listener_rule {{\n    listener_arn = \"{listener}\"\n    paths = [\"/api/*\"]\n    priority = {priority}\n  }}\n  target {{\n    id = \"blue\"\n    target_group_arn = \"{blue}\"\n    weight = {blue_w}\n  }}\n  target {{\n    id = \"green\"\n    target_group_arn = \"{green}\"\n    app = \"shop\"\n    weight = {}\n  }}\n{shift}}}\n",
            100 - blue_w
        )
    };
    // Create, refresh; a gated shift with a new priority; import by ARN;
    // destroy.
    let ws = rec.workspace(&rule_route(5, 100, ""));
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let shift = "  shift {\n    to = \"green\"\n    steps = [50]\n    bake = 0\n  }\n";
    ws.write("main.tf", &rule_route(6, 0, shift)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let id = ws
        .ok(&["state", "show", "-no-color", "berth_weighted_route.lb"])
        .unwrap()
        .stdout
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "id").then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap();
    ws.ok(&["state", "rm", "-no-color", "berth_weighted_route.lb"])
        .unwrap();
    ws.ok(&["import", "-no-color", "berth_weighted_route.lb", &id])
        .unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();

    rec.check(
        "resources/weighted_route.md",
        &[
            (
                "route53:GetHostedZone",
                "zone given as an id; the example and the import id use a name",
            ),
            IN_SYNC_AT_ONCE,
            (
                "elasticloadbalancing:AddTags",
                "an authorization check of CreateRule with tags, not a call",
            ),
        ],
    );
}

fn pool_config(zone: &str, eu_drained: bool) -> String {
    format!(
        r#"{PROVIDER}

resource "berth_region_pool" "api" {{
  zone    = "{zone}"
  name    = "api"
  primary = "us-east-1"
  ttl     = 1

  region {{
    name     = "us-east-1"
    hostname = "us.example.net"
    health_check {{
      path = "/up"
    }}
  }}
  region {{
    name     = "eu-west-1"
    hostname = "eu.example.net"
    drained  = {eu_drained}
  }}
}}
"#
    )
}

#[test]
fn region_pool_calls_only_documented_actions() {
    let rec = Recorder::new();
    // The zone by id here (GetHostedZone), by name in the import id.
    let zone = rec.zone_id.clone();
    let ws = rec.workspace(&pool_config(&zone, false));
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // Drain a region.
    let cfg = pool_config(&zone, true);
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    import_all(&rec, "berth_region_pool", &cfg);
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();

    rec.check("resources/region_pool.md", &[IN_SYNC_AT_ONCE]);
}

#[test]
fn availability_zones_calls_only_documented_actions() {
    let rec = Recorder::new();
    let ws = rec.workspace(&format!(
        r#"{PROVIDER}

data "berth_availability_zones" "available" {{
  state = "available"
}}

output "zones" {{
  value = data.berth_availability_zones.available.names
}}
"#
    ));
    ws.apply().unwrap();
    rec.check("data-sources/availability_zones.md", &[]);
}
