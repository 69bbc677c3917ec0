//! `berth_container_app` on real instances: real Terraform drives the
//! provider against moto, and every instance berth launches becomes a real
//! Debian 12 machine (systemd as PID 1, its own Docker engine) that runs
//! the exact user-data and pulls the app and an nginx front from the bed's
//! registry (see `berth_acceptance_tests::instances`). Nothing here is
//! simulated on the instance side: health tags, secrets and answers come
//! from the instances themselves.
//!
//! Run alone with `./scripts/test -- -E 'binary(real_instances)'` (the
//! bed needs a Docker engine; `scripts/instance-bed setup` prepares it).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use berth_acceptance_tests::bed::{Bed, ZONE};
use berth_acceptance_tests::instances::{
    FleetOptions, MOTO_ACCOUNT, MachineImage, PRIVATE_REGISTRY, REGISTRY, ecr_registry,
};
use berth_acceptance_tests::{PROVIDER, TfVersion, clients, flat};

/// An image of the bed's registry, as instances name it.
fn image(tag: &str) -> String {
    format!("{REGISTRY}/berth/app:{tag}")
}

/// The nginx front every test app has (port 80 → the app on 3000).
fn front() -> String {
    format!(
        r#"  sidecar {{
    name   = "nginx"
    image  = "{REGISTRY}/berth/nginx:1"
    ports  = ["80:80"]
    memory = 64
    files = {{
      "/etc/nginx/conf.d/default.conf" = "server {{\n  listen 80;\n  location / {{ proxy_pass http://app:3000; }}\n}}\n"
    }}
  }}
"#
    )
}

/// An app on real instances: the test app behind nginx, health through
/// nginx, `extra` HCL inside the resource.
fn config(name: &str, tag: &str, replicas: u32, deadline: u32, extra: &str) -> String {
    let img = image(tag);
    let front = front();
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name     = "{name}"
  image    = "{img}"
  port     = 3000
  replicas = {replicas}
  memory   = 128
  env = {{
    GREETING = "it's $HOME & \"quoted\""
  }}
{extra}
{front}
  health_check {{
    path              = "/up"
    port              = 80
    interval          = 1
    healthy_threshold = 2
    deadline          = {deadline}
  }}

  origin {{
    zone = "{ZONE}"
    name = "{name}"
    ttl  = 1
  }}

  rollout {{
    drain = 2
  }}
}}

output "release" {{
  value = berth_container_app.web.release
}}
"#
    )
}

fn bed(image: MachineImage) -> Bed {
    Bed::real(FleetOptions {
        image,
        ..FleetOptions::default()
    })
    .unwrap()
}

/// The JSON the test app answers on `/` through instance `id`'s nginx.
fn answer(bed: &Bed, id: &str) -> serde_json::Value {
    let (status, body) = bed.fleet().get(id, 80, "/").unwrap();
    assert_eq!(status, 200, "{id}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{id}: {e}: {body}"))
}

/// Waits up to `within` for `check` to hold.
fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("not within {within:?}: {what}");
}

/// Stores `value` as the SecureString parameter `name` in moto.
fn put_secure(bed: &Bed, name: &str, value: &str) {
    let endpoint = bed.moto.endpoint();
    bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        aws_sdk_ssm::Client::new(&cfg)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    });
}

fn no_fleet_errors(bed: &Bed) {
    assert!(
        bed.fleet().errors().is_empty(),
        "{:?}",
        bed.fleet().errors()
    );
}

fn create_and_rollout_under_load(v: TfVersion, replicas: u32) {
    let bed = bed(MachineImage::WithDocker);
    let ws = bed.workspace(v);
    ws.write("main.tf", &config("web", "v1", replicas, 240, ""))
        .unwrap();
    ws.init().unwrap();
    let started = Instant::now();
    let created = ws.apply().unwrap();
    println!(
        "create: {replicas} real instance(s) healthy in {:?}",
        started.elapsed()
    );
    assert!(
        flat(&created.all()).contains(&format!("healthy on {replicas}/{replicas}")),
        "{}",
        created.all()
    );
    ws.assert_plan_empty().unwrap();

    // Requests through the real nginx reach the real app on every
    // instance, and the origin holds exactly those instances.
    let live = bed.live();
    assert_eq!(live.len(), replicas as usize, "{live:?}");
    for i in &live {
        let a = answer(&bed, &i.id);
        assert_eq!(a["image"], image("v1"), "{a}");
        assert_eq!(
            a["instance"],
            i.id.as_str(),
            "the app knows its instance: {a}"
        );
        assert_eq!(a["release"], "1", "{a}");
        assert_eq!(a["app"], "web", "{a}");
        // Its environment arrived as written ($ not expanded, quotes kept).
        let (ok, env) = bed.fleet().sh(
            &i.id,
            "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' berth-web-app",
        );
        assert!(ok, "{env}");
        assert!(env.contains("GREETING=it's $HOME & \"quoted\""), "{env}");
    }
    let mut record = bed.a_record("web");
    record.sort();
    let mut want: Vec<String> = live
        .iter()
        .flat_map(|i| i.ips.iter().cloned())
        .filter(|ip| record.contains(ip))
        .collect();
    want.sort();
    assert_eq!(record, want, "the origin holds exactly the live instances");
    assert_eq!(record.len(), replicas as usize);

    // An image rollout under continuous load, honouring the TTL.
    let load = bed.load("web");
    std::thread::sleep(Duration::from_secs(2));
    ws.write("main.tf", &config("web", "v2", replicas, 240, ""))
        .unwrap();
    let started = Instant::now();
    let updated = ws.apply().unwrap();
    println!("rollout: {:?}", started.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    let report = load.stop();
    println!("load during the rollout: {report:?}");
    assert_eq!(report.failures, 0, "zero failed requests: {report:?}");
    assert!(
        report.by_image.get(&image("v1")).copied().unwrap_or(0) > 0
            && report.by_image.get(&image("v2")).copied().unwrap_or(0) > 0,
        "both images answered: {report:?}"
    );
    assert!(
        flat(&updated.all()).contains("traffic moved; release 1 retired"),
        "{}",
        updated.all()
    );
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert!(live.iter().all(|i| i.release == "2"), "{live:?}");
    for i in &live {
        assert_eq!(answer(&bed, &i.id)["image"], image("v2"));
    }
    // The retired instances' machines are gone.
    eventually(Duration::from_secs(20), "old machines removed", || {
        bed.fleet().alive().len() == replicas as usize
    });

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live().is_empty());
    eventually(Duration::from_secs(20), "every machine removed", || {
        bed.fleet().alive().is_empty()
    });
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_create_and_roll_out_under_load_on_terraform_latest() {
    create_and_rollout_under_load(TfVersion::Latest, 2);
}

#[test]
fn real_instances_create_and_roll_out_under_load_on_terraform_1_0() {
    create_and_rollout_under_load(TfVersion::V1_0, 1);
}

#[test]
fn real_instances_broken_releases_fail_naming_the_instance_and_cause_while_the_old_serves() {
    let bed = bed(MachineImage::WithDocker);
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("api", "v1", 1, 90, ""))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let before = bed.live();
    let load = bed.load("api");
    std::thread::sleep(Duration::from_secs(1));

    for (tag, cause) in [
        ("exit-at-start", "container app exited with code 3"),
        ("unhealthy", "GET /up answered 500"),
    ] {
        ws.write("main.tf", &config("api", tag, 1, 90, "")).unwrap();
        let started = Instant::now();
        let run = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
        println!("{tag}: failed in {:?}", started.elapsed());
        let text = flat(&run.all());
        assert_ne!(run.code, 0, "{tag}: the apply fails:\n{text}");
        assert!(text.contains(cause), "{tag}: the cause is quoted:\n{text}");
        let new: Vec<String> = bed
            .fleet()
            .instances()
            .into_iter()
            .filter(|i| before.iter().all(|b| b.id != i.id))
            .filter(|i| text.contains(&i.id))
            .map(|i| i.id)
            .collect();
        assert!(
            !new.is_empty(),
            "{tag}: the failed instance is named:\n{text}"
        );
        // Nothing is left: only the old release's instance runs.
        assert_eq!(bed.live(), before, "{tag}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    assert_eq!(
        report.failures, 0,
        "the old release served throughout: {report:?}"
    );
    assert!(report.successes() > 0);
    assert_eq!(
        report.by_image.keys().collect::<Vec<_>>(),
        [&image("v1")],
        "{report:?}"
    );
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_get_their_secrets_and_no_sidecar_log_or_user_data_holds_them() {
    let bed = bed(MachineImage::WithDocker);
    let endpoint = bed.moto.endpoint();
    let ssm_value = format!("ssm-{}", std::process::id());
    let sm_value = format!("sm-{}-value", std::process::id());
    let wo_value = format!("wo-{}-token", std::process::id());
    put_secure(&bed, "/shop/secret_key_base", &ssm_value);
    let sm_arn = bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        aws_sdk_secretsmanager::Client::new(&cfg)
            .create_secret()
            .name("shop/redis")
            .secret_string(&sm_value)
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_string()
    });
    let extra = format!(
        r#"  secrets = {{
    SECRET_KEY_BASE = "ssm:/shop/secret_key_base"
    REDIS_URL       = "{sm_arn}"
  }}
  secret_values_wo = {{
    WO_TOKEN = var.wo_token
  }}
  secret_values_wo_version = 1
"#
    );
    let mut ws = bed.workspace(TfVersion::Latest);
    let cfg = config("shop", "v1", 1, 240, &extra).replace(
        "resource \"berth_container_app\"",
        "variable \"wo_token\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n\nresource \"berth_container_app\"",
    );
    ws.write("main.tf", &cfg).unwrap();
    ws.set_env("TF_VAR_wo_token", &wo_value);
    ws.init().unwrap();
    ws.apply().unwrap();
    let id = bed.live()[0].id.clone();
    let a = answer(&bed, &id);
    let sha = |v: &str| {
        use sha2::Digest as _;
        sha2::Sha256::digest(v.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(a["env_sha256"]["SECRET_KEY_BASE"], sha(&ssm_value), "{a}");
    assert_eq!(a["env_sha256"]["REDIS_URL"], sha(&sm_value), "{a}");
    assert_eq!(a["env_sha256"]["WO_TOKEN"], sha(&wo_value), "{a}");

    // The sidecar did not get them.
    let (ok, env) = bed.fleet().sh(
        &id,
        "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' berth-shop-nginx",
    );
    assert!(ok, "{env}");
    for name in ["SECRET_KEY_BASE", "REDIS_URL", "WO_TOKEN"] {
        assert!(!env.contains(name), "the sidecar has {name}: {env}");
    }
    // They are in no user-data, bootstrap log or journal on the instance,
    // and the env file on tmpfs is root's alone.
    let (ok, perms) = bed
        .fleet()
        .sh(&id, "stat -c '%a %U' /run/berth/shop/secrets.env");
    assert!(ok && perms.trim() == "600 root", "{perms}");
    let (_, everything) = bed.fleet().sh(
        &id,
        "cat /var/lib/cloud/instance/user-data.txt | (gunzip -c 2>/dev/null || cat); \
         cat /var/log/berth-bootstrap.log /var/log/cloud-init-output.log; \
         cat /etc/berth/shop/*.json; journalctl --no-pager -o cat; \
         docker logs berth-shop-app 2>&1; docker logs berth-shop-nginx 2>&1",
    );
    assert!(
        everything.contains("/shop/secret_key_base") && everything.len() > 10_000,
        "the search looked in the right place ({} bytes)",
        everything.len()
    );
    for v in [&ssm_value, &sm_value, &wo_value] {
        assert!(
            !everything.contains(v.as_str()),
            "a secret value leaked on the instance"
        );
    }
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_recover_from_reboot_and_crash_and_a_terminated_one_is_replaced() {
    let bed = bed(MachineImage::WithDocker);
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("web", "v1", 2, 240, ""))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let live = bed.live();
    let (a, b) = (live[0].id.clone(), live[1].id.clone());

    // The app's process dies (a crash, or the OOM killer): Docker restarts it.
    let (ok, out) = bed.fleet().sh(
        &a,
        "kill -9 $(docker inspect -f '{{.State.Pid}}' berth-web-app)",
    );
    assert!(ok, "{out}");
    eventually(
        Duration::from_secs(60),
        "the app answers again after a crash",
        || bed.fleet().get(&a, 80, "/").is_ok_and(|(s, _)| s == 200),
    );
    let (_, restarts) = bed
        .fleet()
        .sh(&a, "docker inspect -f '{{.RestartCount}}' berth-web-app");
    assert!(
        restarts.trim().parse::<u32>().unwrap_or(0) >= 1,
        "{restarts}"
    );

    // A reboot: systemd starts Docker and the app again; the user-data
    // does not run a second time.
    bed.fleet().reboot(&b).unwrap();
    eventually(
        Duration::from_secs(120),
        "the app answers again after a reboot",
        || bed.fleet().get(&b, 80, "/").is_ok_and(|(s, _)| s == 200),
    );
    assert_eq!(answer(&bed, &b)["image"], image("v1"));
    let (_, runs) = bed.fleet().sh(
        &b,
        "grep -c 'berth: bootstrap done' /var/log/berth-bootstrap.log",
    );
    assert_eq!(runs.trim(), "1", "the user-data ran once");
    ws.assert_plan_empty().unwrap();

    // An instance terminated outside Terraform: the plan shows it, and the
    // apply restores capacity with a real instance that serves.
    bed.terminate(&a);
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        !plan.stdout.contains("No changes."),
        "the plan shows the lost instance:\n{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert_eq!(live.len(), 2, "{live:?}");
    for i in &live {
        assert_eq!(answer(&bed, &i.id)["image"], image("v1"));
    }
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_boot_from_bare_debian_12_and_install_docker_themselves() {
    let bed = bed(MachineImage::Bare);
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("web", "v1", 1, 600, ""))
        .unwrap();
    ws.init().unwrap();
    let started = Instant::now();
    ws.apply().unwrap();
    println!("bare Debian 12 → healthy in {:?}", started.elapsed());
    let id = bed.live()[0].id.clone();
    let (ok, which) = bed.fleet().sh(&id, "dpkg -s docker.io | grep -i '^Status'");
    assert!(ok && which.contains("install ok installed"), "{which}");
    assert_eq!(answer(&bed, &id)["image"], image("v1"));
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

/// Story 1's migrations: `release_command` runs once per release, on one
/// of its new instances, before the release answers any request; a failing
/// one stops the rollout with its exit code and last lines while the old
/// release serves on.
#[test]
fn real_instances_run_the_release_command_once_per_release_before_its_traffic() {
    use berth_acceptance_tests::recorder::{Recorder, query};
    let bed = bed(MachineImage::WithDocker);
    // The release command reports each run to a recorder of the bed's own.
    let rec = Recorder::start(&bed.fleet().env().gateway).unwrap();
    let record = format!(
        "  release_command = [\"release-record\", \"{}\"]\n",
        rec.url()
    );
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("mig", "v1", 2, 120, &record))
        .unwrap();
    ws.init().unwrap();
    let plan = flat(&ws.ok(&["plan", "-no-color"]).unwrap().all());
    assert!(
        plan.contains(&format!(
            "release command: release-record {} on 1 new instance, before traffic",
            rec.url()
        )),
        "the plan shows the step:\n{plan}"
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let hits = rec.hits();
    assert_eq!(hits.len(), 1, "one run for release 1: {hits:?}");
    assert_eq!(query(&hits[0].1, "release"), Some("1"));
    let live: Vec<String> = bed.live().into_iter().map(|i| i.id).collect();
    assert_eq!(live.len(), 2);
    assert!(
        live.iter()
            .any(|id| query(&hits[0].1, "instance") == Some(id.as_str())),
        "it ran on one of the release's instances: {hits:?} {live:?}"
    );

    // Release 2 under load: one more run, before its first answer.
    let load = bed.load("mig");
    let load_started = Instant::now() - load.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    ws.write("main.tf", &config("mig", "v2", 2, 120, &record))
        .unwrap();
    ws.apply().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    assert_eq!(report.failures, 0, "zero failed requests: {report:?}");
    let hits = rec.hits();
    assert_eq!(hits.len(), 2, "one run per release: {hits:?}");
    assert_eq!(query(&hits[1].1, "release"), Some("2"));
    let ran = hits[1].0.duration_since(load_started);
    let first_v2 = report.first_success[&image("v2")];
    println!("release 2: command ran at {ran:?}, first answer at {first_v2:?}");
    assert!(
        ran < first_v2,
        "the command ran before release 2 answered: {ran:?} vs {first_v2:?}"
    );
    ws.assert_plan_empty().unwrap();

    // A failing command: release 3 never serves, release 2 serves on.
    let before = bed.live();
    let load = bed.load("mig");
    std::thread::sleep(Duration::from_secs(1));
    ws.write(
        "main.tf",
        &config(
            "mig",
            "v3",
            2,
            120,
            "  release_command = [\"release-fail\"]\n",
        ),
    )
    .unwrap();
    let run = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    let text = flat(&run.all());
    assert_ne!(run.code, 0, "the apply fails:\n{text}");
    for want in ["exit 3", "relation \"users\" does not exist"] {
        assert!(text.contains(want), "{want} quoted:\n{text}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    assert_eq!(
        report.failures, 0,
        "release 2 served throughout: {report:?}"
    );
    assert_eq!(
        report.by_image.keys().collect::<Vec<_>>(),
        [&image("v2")],
        "{report:?}"
    );
    assert_eq!(bed.live(), before, "release 3's instances are gone");

    // Destroy leaves no marker behind.
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let endpoint = bed.moto.endpoint();
    let left = bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        aws_sdk_ssm::Client::new(&cfg)
            .get_parameters_by_path()
            .path("/berth/mig")
            .recursive(true)
            .send()
            .await
            .unwrap()
            .parameters()
            .len()
    });
    assert_eq!(left, 0, "no release command marker left");
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_never_run_the_release_command_twice_when_an_apply_is_killed_during_it() {
    use berth_acceptance_tests::recorder::{Recorder, query};
    use std::os::unix::process::CommandExt as _;
    let bed = bed(MachineImage::WithDocker);
    let rec = Recorder::start(&bed.fleet().env().gateway).unwrap();
    let record = |extra: &str| {
        format!(
            "  release_command = [\"release-record\", \"{}\"{extra}]\n",
            rec.url()
        )
    };
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("cut", "v1", 1, 180, &record("")))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    assert_eq!(rec.hits().len(), 1, "release 1's run: {:?}", rec.hits());

    // Release 2's command records its run, then works 20 s more: Terraform
    // and the provider are killed (SIGKILL, the whole process group, as a
    // CI runner that times out does) while it works.
    let load = bed.load("cut");
    let load_started = Instant::now() - load.elapsed();
    ws.write("main.tf", &config("cut", "v2", 1, 180, &record(", \"20\"")))
        .unwrap();
    let mut apply = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(120), "release 2's command runs", || {
        rec.hits().len() == 2
    });
    let killed_at = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", apply.id())])
        .status();
    assert!(!apply.wait().unwrap().success(), "the apply was killed");

    // The next apply finishes release 2 without running its command again:
    // it waits for the run the killed apply started.
    ws.apply().unwrap();
    let finished = killed_at.elapsed();
    ws.assert_plan_empty().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    assert_eq!(report.failures, 0, "zero failed requests: {report:?}");
    let hits = rec.hits();
    let runs_of = |r: &str| {
        hits.iter()
            .filter(|(_, p)| query(p, "release") == Some(r))
            .count()
    };
    assert_eq!(
        (runs_of("1"), runs_of("2")),
        (1, 1),
        "one run per release: {hits:?}"
    );
    // Release 2 took no traffic before its one run had finished.
    let worked_until = hits[1].0.duration_since(load_started) + Duration::from_secs(20);
    let first_v2 = report.first_success[&image("v2")];
    assert!(
        first_v2 > worked_until,
        "release 2 answered at {first_v2:?}, before its command finished at {worked_until:?}"
    );
    let live = bed.live();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(answer(&bed, &live[0].id)["image"], image("v2"));
    println!(
        "killed during release 2's command; the next apply finished it in {finished:?}; command done at {worked_until:?}, release 2's first answer at {first_v2:?}; {} requests, 0 failed",
        report.requests
    );
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

/// `config` with the app's image on `registry` instead of the bed's open one.
fn config_on(registry: &str, name: &str, tag: &str, deadline: u32, extra: &str) -> String {
    config(name, tag, 1, deadline, extra).replace(
        &format!("\"{}\"", image(tag)),
        &format!("\"{registry}/berth/app:{tag}\""),
    )
}

#[test]
fn real_instances_pull_from_a_private_registry_with_a_referenced_password_and_are_denied_without() {
    let bed = bed(MachineImage::WithDocker);
    let env = bed.fleet().env().clone();
    let password = env.private_registry_password.clone();
    put_secure(&bed, "/shop/registry_password", &password);
    let login = format!(
        r#"  registry_credentials {{
    server   = "{PRIVATE_REGISTRY}"
    username = "{}"
    password = "ssm:/shop/registry_password"
  }}
"#,
        env.private_registry_user
    );
    let ws = bed.workspace(TfVersion::Latest);
    ws.write(
        "main.tf",
        &config_on(PRIVATE_REGISTRY, "shop", "v1", 240, &login),
    )
    .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let id = bed.live()[0].id.clone();
    assert_eq!(answer(&bed, &id)["image"], image("v1"));
    // The engine pulled it from the private registry, with the login the
    // agent made on tmpfs; the password is on no disk and in no log.
    let (ok, images) = bed
        .fleet()
        .sh(&id, "docker image ls --format '{{.Repository}}:{{.Tag}}'");
    assert!(
        ok && images.contains(&format!("{PRIVATE_REGISTRY}/berth/app:v1")),
        "{images}"
    );
    let (ok, config) = bed
        .fleet()
        .sh(&id, "cat /run/berth/shop/docker/config.json");
    assert!(ok && config.contains(PRIVATE_REGISTRY), "{config}");
    let (_, everything) = bed.fleet().sh(
        &id,
        "cat /var/lib/cloud/instance/user-data.txt | (gunzip -c 2>/dev/null || cat); \
         cat /var/log/berth-bootstrap.log /var/log/cloud-init-output.log /etc/berth/shop/*.json; \
         journalctl --no-pager -o cat; grep -rl berth-bed /root /etc /var/lib/docker/image 2>/dev/null",
    );
    assert!(
        everything.contains("/shop/registry_password")
            && everything.contains(&format!("logged in to {PRIVATE_REGISTRY}")),
        "the search looked in the right place: {everything}"
    );
    assert!(
        !everything.contains(&password),
        "the registry password leaked on the instance"
    );

    // Without the login, release 2's pull is denied: the gate fails with
    // the registry's answer and release 1 serves on.
    let before = bed.live();
    ws.write(
        "main.tf",
        &config_on(PRIVATE_REGISTRY, "shop", "v2", 120, ""),
    )
    .unwrap();
    let run = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    let text = flat(&run.all());
    assert_ne!(run.code, 0, "the apply fails:\n{text}");
    let want = format!("bootstrap: pull {PRIVATE_REGISTRY}/berth/app:v2 denied:");
    assert!(text.contains(&want), "{want} in:\n{text}");
    assert!(text.contains("no basic auth credentials"), "{text}");
    assert_eq!(bed.live(), before, "release 2's instance is gone");
    assert_eq!(answer(&bed, &id)["image"], image("v1"));
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_pull_ecr_images_with_their_instance_profile_and_log_in_again_after_a_reboot() {
    let bed = bed(MachineImage::WithDocker);
    let registry = ecr_registry("us-east-1");
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config_on(&registry, "ecr", "v1", 240, ""))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let id = bed.live()[0].id.clone();
    assert_eq!(answer(&bed, &id)["image"], image("v1"));

    // berth's role may take a token and pull from this repository only.
    let endpoint = bed.moto.endpoint();
    let policy = bed.block_on(clients::role_policy(
        &endpoint,
        "berth-ecr-us-east-1",
        "berth-instance",
    ));
    let st = policy["Statement"].as_array().unwrap();
    let pull = st.iter().find(|s| s["Sid"] == "EcrPull").unwrap();
    assert_eq!(
        pull["Resource"],
        serde_json::json!([format!(
            "arn:aws:ecr:us-east-1:{MOTO_ACCOUNT}:repository/berth/app"
        )])
    );
    assert!(
        st.iter()
            .any(|s| s["Action"] == "ecr:GetAuthorizationToken")
    );

    // A reboot with the image gone: the pull needs a login, and the one
    // made at boot is gone with /run (a token lives 12 h): the agent logs
    // in again before the app starts.
    let (ok, out) = bed.fleet().sh(
        &id,
        &format!("systemctl stop berth-ecr && docker rmi {registry}/berth/app:v1 && ls /run/berth/ecr/docker"),
    );
    assert!(ok, "{out}");
    bed.fleet().reboot(&id).unwrap();
    eventually(
        Duration::from_secs(120),
        "the app answers again after the reboot",
        || bed.fleet().get(&id, 80, "/").is_ok_and(|(s, _)| s == 200),
    );
    let (ok, log) = bed
        .fleet()
        .sh(&id, "journalctl -b --no-pager -o cat -u berth-ecr");
    assert!(
        ok && log.contains(&format!("logged in to {registry} as AWS"))
            && log.contains(&format!("pulling {registry}/berth/app:v1")),
        "{log}"
    );
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    no_fleet_errors(&bed);
}

/// The messages of stream `stream` of log group `group` in moto.
fn log_events(bed: &Bed, group: &str, stream: &str) -> Vec<String> {
    let endpoint = bed.moto.endpoint();
    bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        match aws_sdk_cloudwatchlogs::Client::new(&cfg)
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .send()
            .await
        {
            Ok(out) => out
                .events()
                .iter()
                .filter_map(|e| e.message().map(str::to_string))
                .collect(),
            Err(_) => vec![],
        }
    })
}

#[test]
fn real_instances_send_every_containers_output_and_the_bootstrap_log_to_cloudwatch_logs() {
    let bed = bed(MachineImage::WithDocker);
    let logs = "  logs {\n    retention_days = 7\n  }\n";
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("logs", "v1", 1, 240, logs))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let id = bed.live()[0].id.clone();
    // A request through nginx: the front logs it too.
    assert_eq!(answer(&bed, &id)["image"], image("v1"));

    let group = "/berth/logs";
    let mut app = vec![];
    let mut front = vec![];
    eventually(
        Duration::from_secs(30),
        "the app's and nginx's lines reach their streams",
        || {
            app = log_events(&bed, group, &format!("{id}/app"));
            front = log_events(&bed, group, &format!("{id}/nginx"));
            app.iter()
                .any(|l| l.contains("berth-test-app: listening on 0.0.0.0:3000"))
                && front.iter().any(|l| l.contains("GET / HTTP/1.1"))
        },
    );
    let boot = log_events(&bed, group, &format!("{id}/bootstrap"));
    assert!(
        boot.iter().any(|l| l.contains("berth: starting the app")),
        "the bootstrap's own log: {boot:?}"
    );
    // docker logs still works on the instance (Docker keeps a local copy).
    let (ok, local) = bed.fleet().sh(&id, "docker logs berth-logs-app 2>&1");
    assert!(ok && local.contains("listening on"), "{local}");

    // The group: made by berth, tagged as the app's, with its retention.
    let endpoint = bed.moto.endpoint();
    let (retention, tags) = bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        let c = aws_sdk_cloudwatchlogs::Client::new(&cfg);
        let g = c
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .unwrap();
        let g = g.log_groups()[0].clone();
        let arn = g.arn().unwrap().trim_end_matches(":*").to_string();
        let tags = c
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap()
            .tags()
            .cloned()
            .unwrap_or_default();
        (g.retention_in_days(), tags)
    });
    assert_eq!(retention, Some(7));
    assert_eq!(tags.get("berth:app").map(String::as_str), Some("logs"));

    // Retention changed outside Terraform: the plan puts it back.
    bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        aws_sdk_cloudwatchlogs::Client::new(&cfg)
            .put_retention_policy()
            .log_group_name(group)
            .retention_in_days(1)
            .send()
            .await
            .unwrap();
    });
    let plan = flat(&ws.ok(&["plan", "-no-color"]).unwrap().all());
    assert!(plan.contains("retention_days = 1 -> 7"), "{plan}");
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();

    // Destroy keeps the logs (delete_on_destroy is false by default).
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(!log_events(&bed, group, &format!("{id}/app")).is_empty());
    no_fleet_errors(&bed);
}

/// The alarms named `berth.<app>.*` in moto: name → (threshold, metric).
fn alarms_of(bed: &Bed, app: &str) -> std::collections::BTreeMap<String, (f64, String)> {
    let endpoint = bed.moto.endpoint();
    let prefix = format!("berth.{app}.");
    bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        aws_sdk_cloudwatch::Client::new(&cfg)
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .send()
            .await
            .unwrap()
            .metric_alarms()
            .iter()
            .map(|a| {
                (
                    a.alarm_name().unwrap_or_default().to_string(),
                    (
                        a.threshold().unwrap_or_default(),
                        a.metric_name().unwrap_or_default().to_string(),
                    ),
                )
            })
            .collect()
    })
}

/// How many CPU datapoints of `app`'s app container moto holds.
fn cpu_samples(bed: &Bed, app: &str) -> f64 {
    let endpoint = bed.moto.endpoint();
    let app = app.to_string();
    bed.block_on(async {
        let cfg = clients::sdk_config(&endpoint).await;
        let now = std::time::SystemTime::now();
        aws_sdk_cloudwatch::Client::new(&cfg)
            .get_metric_statistics()
            .namespace("berth")
            .metric_name("CPUUtilization")
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("App")
                    .value(app)
                    .build(),
            )
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("Container")
                    .value("app")
                    .build(),
            )
            .start_time(aws_smithy_types::DateTime::from(
                now - Duration::from_secs(900),
            ))
            .end_time(aws_smithy_types::DateTime::from(
                now + Duration::from_secs(60),
            ))
            .period(60)
            .statistics(aws_sdk_cloudwatch::types::Statistic::SampleCount)
            .send()
            .await
            .unwrap()
            .datapoints()
            .iter()
            .filter_map(|d| d.sample_count())
            .sum()
    })
}

#[test]
fn real_instances_publish_cpu_and_memory_and_the_apps_alarms_follow_the_config() {
    let bed = bed(MachineImage::WithDocker);
    let alarms = |threshold: u32| {
        format!(
            r#"  metrics {{
    interval = 10
  }}
  alarm {{
    name          = "hot"
    metric        = "cpu"
    threshold     = {threshold}
    period        = 60
    alarm_actions = ["arn:aws:sns:us-east-1:123456789012:ops"]
  }}
  alarm {{
    name      = "sick"
    metric    = "unhealthy_instances"
    threshold = 1
    period    = 10
  }}
"#
        )
    };
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("mon", "v1", 2, 240, &alarms(80)))
        .unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert_eq!(live.len(), 2);

    // Every instance publishes: its publisher says so, and moto holds a
    // sample per instance and round.
    for i in &live {
        eventually(Duration::from_secs(60), "the instance publishes", || {
            let (_, log) = bed
                .fleet()
                .sh(&i.id, "journalctl --no-pager -o cat -u berth-mon-metrics");
            log.contains("publishing 5 metrics of mon every 10 s")
        });
    }
    eventually(
        Duration::from_secs(60),
        "samples from both instances",
        || cpu_samples(&bed, "mon") >= 4.0,
    );

    // The alarms exist as declared; a new threshold changes them in place.
    let a = alarms_of(&bed, "mon");
    assert_eq!(a["berth.mon.hot"], (80.0, "CPUUtilization".to_string()));
    assert_eq!(a["berth.mon.sick"].1, "Unhealthy");
    ws.write("main.tf", &config("mon", "v1", 2, 240, &alarms(95)))
        .unwrap();
    let plan = flat(&ws.ok(&["plan", "-no-color"]).unwrap().all());
    assert!(plan.contains("threshold = 80 -> 95"), "{plan}");
    assert!(plan.contains("1 to change"), "in place: {plan}");
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(alarms_of(&bed, "mon")["berth.mon.hot"].0, 95.0);
    assert_eq!(bed.live(), live, "no new release for an alarm");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(alarms_of(&bed, "mon").is_empty(), "destroy removes them");
    no_fleet_errors(&bed);
}

/// An app on real instances behind the bed's load balancer: the test app
/// behind nginx, checked through nginx on 80 (which is then the port the
/// load balancer sends requests to).
fn lb_config(listener: &str, tag: &str, replicas: u32) -> String {
    format!(
        "{PROVIDER}\n{}",
        lb_app(listener, ("web", "shop.example.com", 10), tag, replicas)
    )
}

/// App `name` on real instances behind the bed's load balancer, its rule
/// matching `host` at `priority`.
fn lb_app(
    listener: &str,
    (name, host, priority): (&str, &str, u32),
    tag: &str,
    replicas: u32,
) -> String {
    let img = image(tag);
    let front = front();
    format!(
        r#"
resource "berth_container_app" "{name}" {{
  name     = "{name}"
  image    = "{img}"
  port     = 3000
  replicas = {replicas}
  memory   = 128
{front}
  health_check {{
    path              = "/up"
    port              = 80
    interval          = 5
    timeout           = 2
    healthy_threshold = 2
    unhealthy_threshold = 2
    deadline          = 240
  }}

  load_balancer {{
    listener_arn = "{listener}"
    hosts        = ["{host}"]
    priority     = {priority}
  }}

  capacity {{
    min = 1
    max = 3
  }}

  rollout {{
    drain = 2
  }}
}}
"#
    )
}

/// The bed with real instances, the user's listener and the bed's load
/// balancer playing it (and Auto Scaling's replacements).
fn lb_bed() -> (
    Bed,
    berth_aws::Clients,
    String,
    berth_acceptance_tests::alb::Alb,
) {
    let bed = bed(MachineImage::WithDocker);
    let c = bed
        .block_on(berth_aws::config::load(&berth_aws::Settings::emulator(
            bed.moto.endpoint(),
        )))
        .unwrap();
    let (_, listener) = bed
        .block_on(berth_acceptance_tests::alb::users_listener(&c, "shop"))
        .unwrap();
    let alb = berth_acceptance_tests::alb::Alb::start(
        &bed.moto.endpoint(),
        &listener,
        "127.0.0.1",
        bed.fleet().resolver(),
    )
    .unwrap();
    alb.play_auto_scaling();
    (bed, c, listener, alb)
}

fn lb_rollout_under_load(v: TfVersion) {
    use berth_acceptance_tests::loadgen::{LoadGen, LoadOptions};
    let (bed, c, listener, alb) = lb_bed();
    let ws = bed.workspace(v);
    ws.write("main.tf", &lb_config(&listener, "v1", 2)).unwrap();
    ws.init().unwrap();
    let started = Instant::now();
    let created = ws.apply().unwrap();
    println!(
        "create behind the load balancer: 2 real instances in an Auto Scaling group, healthy in {:?}",
        started.elapsed()
    );
    assert!(
        flat(&created.all()).contains("healthy on 2/2"),
        "{}",
        created.all()
    );
    ws.assert_plan_empty().unwrap();
    let first = bed
        .block_on(berth_aws::lb::target_group_arn(&c, "berth-web-1"))
        .unwrap()
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the load balancer forwards",
        || {
            alb.weights_seen()
                .iter()
                .any(|(_, _, w)| w.contains(&(first.clone(), 1)))
        },
    );
    // Both Auto Scaling instances answer through the load balancer.
    let load = LoadGen::through(alb.addr(), "shop.example.com", LoadOptions::default()).unwrap();
    eventually(Duration::from_secs(30), "both instances answer", || {
        load.report().by_instance.len() == 2
    });

    // The rollout shifts the rule 10 %, 50 %, 100 %.
    let stepped = lb_config(&listener, "v2", 2).replace(
        "    priority     = 10\n",
        "    priority     = 10\n    shift {\n      steps = [10, 50]\n      bake  = 2\n    }\n",
    );
    assert!(stepped.contains("shift {"));
    ws.write("main.tf", &stepped).unwrap();
    let started = Instant::now();
    let updated = ws.apply().unwrap();
    println!("rollout behind the load balancer: {:?}", started.elapsed());
    let second = bed
        .block_on(berth_aws::lb::target_group_arn(&c, "berth-web-2"))
        .unwrap()
        .unwrap();
    let mut steps: Vec<(u32, u32)> = alb
        .weights_seen()
        .iter()
        .map(|(_, _, w)| {
            let of = |arn: &str| w.iter().find(|(g, _)| g == arn).map_or(0, |(_, n)| *n);
            (of(&first), of(&second))
        })
        .filter(|(a, b)| a + b == 100)
        .collect();
    steps.dedup();
    println!("forwards seen on real instances (release 1, release 2): {steps:?}");
    assert_eq!(steps, vec![(90, 10), (50, 50), (0, 100)]);
    std::thread::sleep(Duration::from_secs(2));
    let report = load.stop();
    println!("load through the load balancer during the rollout: {report:?}");
    assert_eq!(report.failures, 0, "zero failed requests: {report:?}");
    assert!(
        report.by_image.get(&image("v1")).copied().unwrap_or(0) > 0
            && report.by_image.get(&image("v2")).copied().unwrap_or(0) > 0,
        "both images answered: {report:?}"
    );
    assert!(
        flat(&updated.all()).contains("release 1 retired"),
        "{}",
        updated.all()
    );
    ws.assert_plan_empty().unwrap();
    assert_eq!(
        bed.block_on(berth_aws::asg::app_groups(&c, "web")).unwrap(),
        vec!["berth-web-2".to_string()]
    );
    let live = bed.live();
    assert!(live.iter().all(|i| i.release == "2"), "{live:?}");
    eventually(Duration::from_secs(30), "old machines removed", || {
        bed.fleet().alive().len() == 2
    });
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live().is_empty());
    eventually(Duration::from_secs(30), "every machine removed", || {
        bed.fleet().alive().is_empty()
    });
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_roll_out_behind_the_load_balancer_with_zero_failed_requests() {
    lb_rollout_under_load(TfVersion::Latest);
}

#[test]
fn real_instances_roll_out_behind_the_load_balancer_on_terraform_1_0() {
    lb_rollout_under_load(TfVersion::V1_0);
}

#[test]
fn real_instances_behind_the_load_balancer_replace_a_dead_one_without_terraform() {
    use berth_acceptance_tests::alb::TargetHealth;
    use berth_acceptance_tests::loadgen::{LoadGen, LoadOptions};
    let (bed, c, listener, alb) = lb_bed();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &lb_config(&listener, "v1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let arn = bed
        .block_on(berth_aws::lb::target_group_arn(&c, "berth-web-1"))
        .unwrap()
        .unwrap();
    let load = LoadGen::through(alb.addr(), "shop.example.com", LoadOptions::default()).unwrap();
    eventually(Duration::from_secs(30), "both instances answer", || {
        load.report().by_instance.len() == 2
    });
    let before: Vec<String> = bed.live().into_iter().map(|i| i.id).collect();

    // The instance's Docker engine dies (and with it nginx and the app);
    // the machine and its EC2 instance stay up.
    let dead = before[0].clone();
    let (ok, out) = bed
        .fleet()
        .sh(&dead, "systemctl mask --now docker.socket docker.service");
    assert!(ok, "{out}");
    let died = Instant::now();
    eventually(
        Duration::from_secs(20),
        "the load balancer fails it",
        || alb.health(&arn, &dead) == Some(TargetHealth::Unhealthy),
    );
    let detected = died.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let at_detection = load.report();
    // Auto Scaling's replacement boots a real machine and takes traffic.
    let mut replacement = String::new();
    eventually(Duration::from_secs(240), "a healthy replacement", || {
        let live: Vec<String> = bed.live().into_iter().map(|i| i.id).collect();
        match live.iter().find(|i| !before.contains(i)) {
            Some(id) if !live.contains(&dead) => {
                replacement.clone_from(id);
                alb.health(&arn, id) == Some(TargetHealth::Healthy)
            }
            _ => false,
        }
    });
    let recovered = died.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let report = load.stop();
    println!(
        "real instance {dead} lost its engine: the load balancer failed it after {:.1} s ({} of {} requests failed until then); its replacement {replacement} served {:.1} s after; {} failed after the detection",
        detected.as_secs_f64(),
        at_detection.failures,
        at_detection.requests,
        recovered.as_secs_f64(),
        report.failures - at_detection.failures
    );
    assert_eq!(report.failures, at_detection.failures, "{report:?}");
    assert!(
        report.by_instance.contains_key(&replacement),
        "the replacement answers: {report:?}"
    );
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    eventually(Duration::from_secs(30), "every machine removed", || {
        bed.fleet().alive().is_empty()
    });
    no_fleet_errors(&bed);
}

#[test]
fn real_instances_behind_the_load_balancer_share_a_listener_and_a_broken_release_never_gets_weight()
{
    use berth_acceptance_tests::loadgen::{LoadGen, LoadOptions};
    let (bed, c, listener, alb) = lb_bed();
    // A 90 s deadline: a release answering 500 counts as starting for
    // half of it (the agent's start period), then fails its gate.
    let two = |web: &str, api: &str| {
        format!(
            "{PROVIDER}\n{}{}",
            lb_app(&listener, ("web", "shop.example.com", 10), web, 1),
            lb_app(&listener, ("api", "api.example.com", 11), api, 1)
        )
        .replace("deadline          = 240", "deadline          = 90")
    };
    let groups = |app: &str| bed.block_on(berth_aws::asg::app_groups(&c, app)).unwrap();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &two("v1", "v1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let web = LoadGen::through(alb.addr(), "shop.example.com", LoadOptions::default()).unwrap();
    let api = LoadGen::through(alb.addr(), "api.example.com", LoadOptions::default()).unwrap();
    eventually(Duration::from_secs(30), "both apps answer", || {
        web.report().successes() > 10 && api.report().successes() > 10
    });
    let web_rule = || {
        bed.block_on(berth_aws::lb::app_rule(&c, &listener, "web"))
            .unwrap()
            .unwrap()
            .weights
    };
    let web_before = web_rule();

    // web's new release answers 500 on /up: the apply fails naming the
    // cause, the release never gets weight and is removed.
    ws.write("main.tf", &two("unhealthy", "v1")).unwrap();
    let started = Instant::now();
    let run = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    let text = flat(&run.all());
    println!(
        "broken release behind the load balancer: failed in {:?}",
        started.elapsed()
    );
    assert_ne!(run.code, 0, "{text}");
    for s in ["release 2 failed its health gate", "GET /up answered 500"] {
        assert!(text.contains(s), "{s}: {text}");
    }
    let weighted: Vec<(String, u32)> = alb
        .weights_seen()
        .into_iter()
        .flat_map(|(_, _, w)| w)
        .filter(|(arn, _)| berth_aws::lb_fleet::name_of_arn(arn) == "berth-web-2")
        .collect();
    assert!(
        weighted.iter().all(|(_, w)| *w == 0),
        "the broken release never got weight: {weighted:?}"
    );
    assert_eq!(groups("web"), vec!["berth-web-1".to_string()]);
    assert_eq!(
        bed.block_on(berth_aws::lb::target_group_arn(&c, "berth-web-2"))
            .unwrap(),
        None
    );
    assert_eq!(web_rule(), web_before);

    // api rolls out on its own; web's rule is not touched.
    ws.write("main.tf", &two("v1", "v2")).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(groups("api"), vec!["berth-api-2".to_string()]);
    assert_eq!(groups("web"), vec!["berth-web-1".to_string()]);
    assert_eq!(web_rule(), web_before);
    std::thread::sleep(Duration::from_secs(2));
    let (web, api) = (web.stop(), api.stop());
    println!("through one listener: web {web:?}; api {api:?}");
    assert_eq!(web.failures, 0, "{web:?}");
    assert_eq!(api.failures, 0, "{api:?}");
    assert!(api.by_image.contains_key(&image("v2")), "{api:?}");
    assert_eq!(
        web.by_image.keys().collect::<Vec<_>>(),
        [&image("v1")],
        "{web:?}"
    );
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    eventually(Duration::from_secs(60), "every machine removed", || {
        bed.fleet().alive().is_empty()
    });
    no_fleet_errors(&bed);
}
