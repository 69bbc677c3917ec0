//! berth's telemetry script (`provider/src/userdata/telemetry.py`, beside
//! the agent whose signed calls it uses) against a real CloudWatch Logs API
//! (moto): the bootstrap's log reaches the stream `<instance id>/bootstrap`
//! of the app's group line by line, a second run appends to the same
//! stream, and a log larger than one PutLogEvents call is sent in several.

#![allow(clippy::unwrap_used)]

use berth_testbed::Moto;

#[path = "support/scripts.rs"]
mod scripts;
use scripts::{Scripts, text};

const INSTANCE: &str = "i-0123456789abcdef0";

/// Runs `ship-log GROUP bootstrap FILE` as instance [`INSTANCE`] with
/// `log` in FILE.
fn ship(moto: &Moto, scripts: &Scripts, group: &str, log: &str) -> String {
    let path = scripts.path().join("bootstrap.log");
    std::fs::write(&path, log).unwrap();
    let out = scripts
        .python(
            &moto.endpoint(),
            "telemetry",
            INSTANCE,
            "sys.exit(script.ship_log(*args))",
            &[group, "bootstrap", &path.to_string_lossy()],
        )
        .output()
        .unwrap();
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    text
}

/// The messages of a stream, oldest first.
fn events(moto: &Moto, group: &str, stream: &str) -> Vec<String> {
    moto.with_clients(|c| async move {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c
                .logs
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await
                .unwrap();
            let before = out.len();
            out.extend(
                page.events()
                    .iter()
                    .filter_map(|e| e.message().map(str::to_string)),
            );
            let next = page.next_forward_token().map(str::to_string);
            if out.len() == before || next == token {
                break;
            }
            token = next;
        }
        out
    })
}

#[test]
fn the_bootstrap_log_reaches_its_instances_stream_line_by_line() {
    let moto = Moto::start().unwrap();
    moto.with_clients(|c| async move {
        berth_aws::logs::ensure_log_group(&c, "/berth/web", 7, &Default::default())
            .await
            .unwrap();
    });
    let scripts = Scripts::new();
    ship(
        &moto,
        &scripts,
        "/berth/web",
        "berth: installing Docker\n\nberth: starting the app\nberth: bootstrap done\n",
    );
    let stream = format!("{INSTANCE}/bootstrap");
    assert_eq!(
        events(&moto, "/berth/web", &stream),
        [
            "berth: installing Docker",
            "berth: starting the app",
            "berth: bootstrap done"
        ]
    );
    // A second run (the stream exists) appends.
    ship(&moto, &scripts, "/berth/web", "berth: again\n");
    assert_eq!(events(&moto, "/berth/web", &stream).len(), 4);
}

#[test]
fn a_log_larger_than_one_call_is_sent_in_several() {
    let moto = Moto::start().unwrap();
    moto.with_clients(|c| async move {
        berth_aws::logs::ensure_log_group(&c, "/berth/big", 1, &Default::default())
            .await
            .unwrap();
    });
    let scripts = Scripts::new();
    // 12,000 lines: more events than one PutLogEvents call takes.
    let log: String = (0..12_000).map(|i| format!("line {i}\n")).collect();
    ship(&moto, &scripts, "/berth/big", &log);
    let got = events(&moto, "/berth/big", &format!("{INSTANCE}/bootstrap"));
    assert_eq!(got.len(), 12_000);
    assert_eq!(got[11_999], "line 11999");
}

/// A stand-in `docker stats`: the app, its nginx front and another app's
/// container, as `docker stats --no-stream --format '{{json .}}'` prints.
const DOCKER_STATS: &str = r#"#!/bin/bash
echo '{"Name":"berth-web-app","CPUPerc":"12.50%","MemPerc":"40.00%"}'
echo '{"Name":"berth-web-nginx","CPUPerc":"0.30%","MemPerc":"2.10%"}'
echo '{"Name":"berth-api-app","CPUPerc":"99.00%","MemPerc":"99.00%"}'
"#;

/// Runs one round of `metrics` for app `web` (health: `health`).
fn publish_once(moto: &Moto, health: &str) {
    let scripts = Scripts::new();
    let (app, run) = (scripts.dir("app"), scripts.dir("run"));
    std::fs::write(app.join("release.json"), r#"{"app": "web", "release": 2}"#).unwrap();
    std::fs::write(run.join("health"), health).unwrap();
    scripts.stand_in("docker", DOCKER_STATS);
    let out = scripts
        .python(
            &moto.endpoint(),
            "telemetry",
            INSTANCE,
            "sys.exit(script.metrics(*args, 60, rounds=1))",
            &[&app.to_string_lossy(), &run.to_string_lossy()],
        )
        .output()
        .unwrap();
    let text = text(&out);
    assert!(
        out.status.success() && text.contains("publishing 5 metrics of web"),
        "{text}"
    );
}

/// The maximum of metric `name` with `dims` over the last 10 minutes.
fn maximum(moto: &Moto, name: &str, dims: &[(&str, &str)]) -> Option<f64> {
    let dims: Vec<(String, String)> = dims
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let name = name.to_string();
    moto.with_clients(|c| async move {
        let now = std::time::SystemTime::now();
        let mut req = c
            .cloudwatch
            .get_metric_statistics()
            .namespace("berth")
            .metric_name(name)
            .start_time(aws_smithy_types::DateTime::from(
                now - std::time::Duration::from_secs(600),
            ))
            .end_time(aws_smithy_types::DateTime::from(
                now + std::time::Duration::from_secs(60),
            ))
            .period(60)
            .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum);
        for (k, v) in dims {
            req = req.dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name(k)
                    .value(v)
                    .build(),
            );
        }
        let out = req.send().await.unwrap();
        out.datapoints()
            .iter()
            .filter_map(|d| d.maximum())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    })
}

#[test]
fn each_containers_cpu_and_memory_and_the_instances_health_reach_cloudwatch() {
    let moto = Moto::start().unwrap();
    publish_once(&moto, "unhealthy: GET /up answered 500\n");
    let app = [("App", "web"), ("Container", "app")];
    assert_eq!(maximum(&moto, "CPUUtilization", &app), Some(12.5));
    assert_eq!(maximum(&moto, "MemoryUtilization", &app), Some(40.0));
    let front = [("App", "web"), ("Container", "nginx")];
    assert_eq!(maximum(&moto, "CPUUtilization", &front), Some(0.3));
    assert_eq!(maximum(&moto, "Unhealthy", &[("App", "web")]), Some(1.0));
    // Another app's containers are not this app's metrics.
    assert_eq!(
        maximum(
            &moto,
            "CPUUtilization",
            &[("App", "api"), ("Container", "app")]
        ),
        None
    );
}
