//! The 16 KiB EC2 user-data limit, driven by real Terraform against moto
//! and the fleet simulator: a multi-service app too large for plain
//! user-data is sent gzip-compressed (cloud-init unpacks it; the simulator
//! does the same) and boots; one too large even compressed fails at plan,
//! on the `sidecar` attribute, before anything is launched.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

use base64::Engine as _;
use std::time::Duration;

use berth_acceptance_tests::bed::{Bed, ZONE};
use berth_acceptance_tests::{PROVIDER, TfVersion, flat, repo_root};

/// Services in the large app: three times what fitted before compression.
const SERVICES: usize = 15;

fn bed() -> Bed {
    Bed::booting_in(Duration::from_millis(300)).unwrap()
}

/// The multi-service module with `n` services, each with a command, an
/// environment and a health path, as a real shop would have them.
fn many_services(n: usize) -> String {
    let module = repo_root().join("modules/multi-service");
    let mut services = String::new();
    for i in 0..n {
        write!(
            services,
            r#"
    "svc{i:02}.{ZONE}" = {{
      image       = "registry.example.com/shop/service-{i:02}:2026-11-24T10-00"
      port        = {port}
      memory      = 64
      command     = ["bundle", "exec", "puma", "-p", "{port}", "--workers", "2"]
      env         = {{ RAILS_ENV = "production", SERVICE_NAME = "service-{i:02}", DATABASE_POOL = "{i}" }}
      health_path = "/health/{i:02}"
    }}"#,
            port = 3000 + i
        )
        .unwrap();
    }
    format!(
        r#"{PROVIDER}

module "shop" {{
  source          = "{module}"
  name            = "shop"
  zone            = "{ZONE}"
  replicas        = 1
  instance_type   = "m5.2xlarge"
  health_interval = 1
  ttl             = 1
  drain           = 1
  services = {{{services}
  }}
}}
"#,
        module = module.display()
    )
}

/// Letters and digits from an LCG stream (six bits a character): text
/// that gzip cannot shrink much.
fn noise(len: usize, seed: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(ALPHABET[(x >> 58) as usize])
        })
        .collect()
}

/// An app with a sidecar file of `len` characters of noise.
fn with_key_bundle(len: usize) -> String {
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name  = "web"
  image = "nginx:1.27-alpine"
  port  = 80

  sidecar {{
    name  = "keys"
    image = "busybox:1.36"
    files = {{
      "/etc/keys/bundle.pem" = "{noise}"
    }}
  }}
}}
"#,
        noise = noise(len, 0)
    )
}

/// A plain app with `n` tags of noise, at EC2's largest tag key (128)
/// and value (256): tags travel in the state line, not in the bootstrap.
fn with_tags(n: usize) -> String {
    let tags: String = (0..n as u64)
        .map(|i| format!("\n    \"{}\" = \"{}\"", noise(128, i), noise(256, !i)))
        .collect();
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name  = "web"
  image = "nginx:1.27-alpine"
  port  = 80
  tags  = {{{tags}
  }}
}}
"#
    )
}

#[test]
fn a_multi_service_app_past_the_plain_limit_is_sent_compressed_and_boots() {
    let bed = bed();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &many_services(SERVICES)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();

    let live = bed.live();
    assert_eq!(live.len(), 1, "{live:?}");
    let raw = bed.block_on(async {
        bed.ec2
            .describe_instance_attribute()
            .instance_id(&live[0].id)
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send()
            .await
            .unwrap()
            .user_data()
            .and_then(|u| u.value())
            .unwrap()
            .to_string()
    });
    let sent = base64::engine::general_purpose::STANDARD
        .decode(&raw)
        .unwrap();
    assert!(
        sent.len() <= berth_aws::fleet::USER_DATA_LIMIT,
        "{} bytes sent",
        sent.len()
    );
    // base64 of the gzip magic 1f 8b 08.
    assert!(raw.starts_with("H4sI"), "gzip-compressed: {}", &raw[..16]);
    let script = bed.sim().user_data(&live[0].id).unwrap();
    assert!(
        script.len() > berth_aws::fleet::USER_DATA_LIMIT,
        "the script ({} bytes) would not have fitted plain",
        script.len()
    );
    for i in 0..SERVICES {
        assert!(
            script.contains(&format!("service-{i:02}:2026-11-24T10-00")),
            "service {i} in the unpacked script"
        );
        assert!(
            script.contains(&format!("'--env=SERVICE_NAME=service-{i:02}'")),
            "service {i}'s env is its container's environment"
        );
    }
    println!(
        "{SERVICES} services: script {} bytes, sent {} bytes gzipped",
        script.len(),
        sent.len()
    );
    let serving = bed.sim().serving();
    assert_eq!(serving.len(), 1, "it booted and serves: {serving:?}");
    assert!(
        bed.sim().problems().is_empty(),
        "{:?}",
        bed.sim().problems()
    );

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live().is_empty());
}

#[test]
fn user_data_too_large_even_compressed_fails_at_plan_on_the_sidecar() {
    let bed = bed();
    let ws = bed.workspace(TfVersion::Latest);
    let cfg = with_key_bundle(32 * 1024);
    ws.write("main.tf", &cfg).unwrap();
    ws.init().unwrap();
    let plan = ws.run(&["plan", "-no-color"]).unwrap();
    assert_ne!(plan.code, 0, "{}", plan.all());
    let text = flat(&plan.all());
    assert!(text.contains("User-data too large"), "{text}");
    assert!(
        text.contains("16384 bytes (before base64)") && text.contains("after gzip"),
        "the sizes: {text}"
    );
    assert!(text.contains("sidecar"), "on the sidecar attribute: {text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(bed.live().is_empty(), "nothing launched");
}

#[test]
fn user_data_too_large_only_with_its_state_line_fails_at_plan_not_at_apply() {
    // The bootstrap alone fits; with the state line apply appends (the
    // resource's arguments, its tags among them, which the bootstrap does
    // not hold) it does not. Before plan counted the state line, this
    // passed plan and failed at apply.
    let bed = bed();
    let ws = bed.workspace(TfVersion::Latest);
    // 45 tags of noise: about 13 KB after gzip.
    let cfg = with_tags(45);
    ws.write("main.tf", &cfg).unwrap();
    ws.init().unwrap();
    let plan = ws.run(&["plan", "-no-color"]).unwrap();
    let text = flat(&plan.all());
    assert_ne!(plan.code, 0, "the plan refuses it: {text}");
    assert!(text.contains("User-data too large"), "{text}");
    assert!(bed.live().is_empty(), "nothing launched");
}
