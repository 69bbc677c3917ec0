//! Acceptance: real Terraform (1.15 and 1.0.3) drives the built provider
//! against a moto server — the quickstart lifecycle, the schema as
//! Terraform sees it, bad configuration, and the plugin handshake rules.

use anyhow::{Result, ensure};
use berth_acceptance_tests::sim::{FleetSim, SimOptions};
use berth_acceptance_tests::{
    Moto, REQUIRED_PROVIDERS, TfVersion, Workspace, clients, provider_binary, repo_root,
};

fn quickstart_lifecycle(version: TfVersion) -> Result<()> {
    let moto = Moto::start()?;
    let sim = FleetSim::start(
        &moto.endpoint(),
        SimOptions {
            boot_delay: std::time::Duration::from_millis(300),
            ..SimOptions::default()
        },
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(clients::create_zone(&moto.endpoint(), "quickstart.test"))?;
    let ws = Workspace::new(version, Some(&moto))?;
    let example = std::fs::read_to_string(repo_root().join("examples/quickstart/main.tf"))?;
    // The example targets Terraform >= 1.0.0 and reads the endpoint from a variable.
    ws.write("main.tf", &example)?;
    ws.write(
        "terraform.tfvars",
        &format!(
            "aws_endpoint = \"{}\"\nzone = \"quickstart.test\"\n",
            moto.endpoint()
        ),
    )?;
    ws.init()?;
    ws.ok(&["validate", "-no-color"])?;
    let plan = ws.ok(&["plan", "-no-color"])?;
    ensure!(
        plan.stdout
            .contains("launch 2 × release 1 (nginxdemos/hello:0.3)"),
        "plan shows the rollout: {}",
        plan.stdout
    );
    ws.apply()?;
    let out = ws.outputs()?;
    ensure!(out["release"]["value"] == 1, "release output: {out}");
    ensure!(
        out["origin"]["value"] == "hello.quickstart.test.",
        "origin output: {out}"
    );
    let zones = out["zones"]["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(
        zones.len() >= 3
            && zones
                .iter()
                .all(|z| z.as_str().is_some_and(|z| z.starts_with("us-east-1"))),
        "moto's us-east-1 has several zones, got {zones:?}"
    );
    ensure!(
        out["instances"]["value"].as_array().map_or(0, Vec::len) == 2,
        "{out}"
    );
    ws.assert_plan_empty()?;
    // A new image is a rollout to release 2.
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-var",
        "image=nginxdemos/hello:0.4",
    ])?;
    ensure!(ws.outputs()?["release"]["value"] == 2);
    let r = ws.run(&[
        "plan",
        "-detailed-exitcode",
        "-no-color",
        "-var",
        "image=nginxdemos/hello:0.4",
    ])?;
    ensure!(r.code == 0, "plan after the rollout is empty: {}", r.all());
    ws.ok(&[
        "destroy",
        "-auto-approve",
        "-no-color",
        "-var",
        "image=nginxdemos/hello:0.4",
    ])?;
    // The simulator notices terminations at its next poll.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !sim.serving().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ensure!(sim.serving().is_empty(), "nothing serves after destroy");
    ensure!(sim.problems().is_empty(), "{:?}", sim.problems());
    Ok(())
}

#[test]
fn quickstart_lifecycle_on_terraform_latest() -> Result<()> {
    quickstart_lifecycle(TfVersion::Latest)
}

#[test]
fn quickstart_lifecycle_on_terraform_1_0() -> Result<()> {
    quickstart_lifecycle(TfVersion::V1_0)
}

fn schema_is_visible(version: TfVersion) -> Result<()> {
    let ws = Workspace::new(version, None)?;
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\nprovider \"berth\" {{}}\n"),
    )?;
    ws.init()?;
    let r = ws.ok(&["providers", "schema", "-json"])?;
    let json: serde_json::Value = serde_json::from_str(&r.stdout)?;
    let p = &json["provider_schemas"]["registry.terraform.io/berth/berth"];
    let region = &p["provider"]["block"]["attributes"]["region"];
    ensure!(
        region["optional"] == true,
        "provider.region is optional: {region}"
    );
    ensure!(
        region["description"]
            .as_str()
            .is_some_and(|d| d.contains("AWS region")),
        "{region}"
    );
    ensure!(p["provider"]["block"]["attributes"]["secret_key"]["sensitive"] == true);
    let ds = &p["data_source_schemas"]["berth_availability_zones"]["block"]["attributes"];
    ensure!(ds["names"]["computed"] == true, "names is computed: {ds}");
    ensure!(
        ds["names"]["type"] == serde_json::json!(["list", "string"]),
        "{ds}"
    );
    Ok(())
}

#[test]
fn providers_schema_json_shows_the_schema_on_terraform_latest() -> Result<()> {
    schema_is_visible(TfVersion::Latest)
}

#[test]
fn providers_schema_json_shows_the_schema_on_terraform_1_0() -> Result<()> {
    schema_is_visible(TfVersion::V1_0)
}

fn bad_config(version: TfVersion) -> Result<()> {
    let ws = Workspace::new(version, None)?;
    let cases = [
        (
            "region = \"moon-base\"",
            "region",
            "is not an AWS region name",
        ),
        (
            "endpoint = \"localhost:5000\"",
            "endpoint",
            "is not an http:// or https:// URL",
        ),
        ("max_retries = 99", "max_retries", "must be from 0 to 25"),
        (
            "access_key = \"AKIA\"",
            "access_key",
            "`secret_key` must be set too",
        ),
        (
            "endpoints = { ec2 = \"ftp://x\" }",
            "endpoints",
            "is not an http:// or https:// URL",
        ),
        (
            "default_tags = { \"aws:reserved\" = \"x\" }",
            "default_tags",
            "reserved prefix",
        ),
    ];
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\nprovider \"berth\" {{}}\n"),
    )?;
    ws.init()?;
    for (line, attr, message) in cases {
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}\nprovider \"berth\" {{\n  {line}\n}}\ndata \"berth_availability_zones\" \"all\" {{}}\n"),
        )?;
        let r = ws.run(&["plan", "-no-color"])?;
        ensure!(r.code != 0, "{line}: plan must fail");
        ensure!(
            r.stderr.contains(message),
            "{line}: stderr names the problem: {}",
            r.stderr
        );
        ensure!(
            r.stderr.contains(attr),
            "{line}: diagnostic names {attr}: {}",
            r.stderr
        );
        // Terraform quotes the offending line when the diagnostic has the
        // attribute path (1.0 cannot resolve paths into nested attributes
        // and quotes the provider block instead).
        let quoted = r
            .stderr
            .lines()
            .any(|l| l.contains(attr) && l.contains('='));
        ensure!(
            quoted || version == TfVersion::V1_0,
            "{line}: diagnostic points at {attr}: {}",
            r.stderr
        );
    }
    Ok(())
}

#[test]
fn bad_provider_config_names_the_attribute_on_terraform_latest() -> Result<()> {
    bad_config(TfVersion::Latest)
}

#[test]
fn bad_provider_config_names_the_attribute_on_terraform_1_0() -> Result<()> {
    bad_config(TfVersion::V1_0)
}

#[test]
fn bad_data_source_config_names_the_attribute() -> Result<()> {
    let ws = Workspace::new(TfVersion::Latest, None)?;
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\nprovider \"berth\" {{}}\ndata \"berth_availability_zones\" \"z\" {{\n  state = \"sleepy\"\n}}\n"),
    )?;
    ws.init()?;
    let r = ws.run(&["validate", "-no-color"])?;
    ensure!(r.code != 0);
    ensure!(r.all().contains("\"sleepy\" is not one of"), "{}", r.all());
    ensure!(
        r.all().contains("state = \"sleepy\""),
        "quotes the attribute: {}",
        r.all()
    );
    Ok(())
}

#[test]
fn binary_run_by_hand_prints_the_plugin_message_and_exits_1() -> Result<()> {
    let out = std::process::Command::new(provider_binary()?)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()?;
    ensure!(
        out.status.code() == Some(1),
        "exit code {:?}",
        out.status.code()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(err.contains("This binary is a plugin"), "{err}");
    ensure!(out.stdout.is_empty(), "nothing on stdout");
    Ok(())
}

#[test]
fn plugin_exits_when_terraform_is_killed() -> Result<()> {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    // bash stands in for Terraform: it starts the plugin, then is SIGKILLed.
    let script = format!("'{}' & echo $! >&2; wait", provider_binary()?.display());
    let mut parent = std::process::Command::new("bash")
        .args(["-c", &script])
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut err = BufReader::new(parent.stderr.take().expect("stderr"));
    let mut pid_line = String::new();
    err.read_line(&mut pid_line)?;
    let pid: u32 = pid_line.trim().parse()?;
    let mut out = BufReader::new(parent.stdout.take().expect("stdout"));
    let mut handshake = String::new();
    out.read_line(&mut handshake)?;
    ensure!(handshake.starts_with("1|6|unix|"), "handshake: {handshake}");
    let socket = handshake.split('|').nth(3).unwrap_or_default().to_string();
    parent.kill()?;
    parent.wait()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        // A zombie counts as gone (its parent is init now and will reap it).
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status.contains("State:\tZ") {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "plugin {pid} still running 5 s after its parent was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ensure!(
        !std::path::Path::new(&socket).exists(),
        "socket {socket} removed"
    );
    let mut log = String::new();
    std::io::Read::read_to_string(&mut err, &mut log)?;
    ensure!(
        log.contains("Terraform exited without stopping the plugin"),
        "plugin says why it stopped: {log}"
    );
    Ok(())
}
