//! Secret values never leak: an app referencing an SSM SecureString and a
//! Secrets Manager secret (and, on Terraform ≥ 1.11, handing berth a
//! write-only value) goes through init, plan (text, `-json`, saved plan),
//! apply, `show -json`, an image rollout, a write-only version bump and
//! destroy under `TF_LOG=trace`; none of the values may appear in any
//! instance's user-data, any command's output, the saved plan, the state
//! file or the trace log (which carries the provider's stderr). Each
//! search also runs for the base64 forms of a value, and is proven to look
//! in the right place: the trace log is large and names the references,
//! the state and user-data hold the references.
//!
//! On Terraform 1.0.3, which cannot keep write-only values out of state,
//! using `secret_values_wo` is an error on that attribute and nothing is
//! created.
#![allow(clippy::unwrap_used)]

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use berth_acceptance_tests::bed::{self, ZONE};
use berth_acceptance_tests::sim::{self, SimOptions};
use berth_acceptance_tests::{PROVIDER, Run, TfVersion, Workspace, clients, flat};

/// A random hex string (no `rand` crate: std's hasher keys are random).
fn random_hex() -> String {
    let s = std::collections::hash_map::RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:016x}{:016x}",
        s.hash_one(nanos),
        s.hash_one(std::process::id())
    )
}

/// The strings that betray `value`: itself, and the stable middle of its
/// base64 encoding at each of the three alignments it can have inside a
/// longer base64 text (user-data travels base64-encoded).
fn needles(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    for pad in 0..3usize {
        let mut bytes = vec![b'#'; pad];
        bytes.extend_from_slice(value.as_bytes());
        let enc = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let skip = (pad * 4).div_ceil(3);
        out.push(enc[skip..enc.len() - 4].to_string());
    }
    out
}

/// Whether `text` holds `value` or one of its base64 forms.
fn found(text: &str, value: &str) -> bool {
    needles(value).iter().any(|n| text.contains(n.as_str()))
}

/// Everything a user or an operator could see, by where it came from.
#[derive(Default)]
struct Seen {
    texts: Vec<(String, String)>,
}

impl Seen {
    fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.texts.push((place.into(), text.into()));
    }

    fn run(&mut self, what: &str, r: &Run) {
        self.add(format!("{what}: stdout"), r.stdout.clone());
        self.add(format!("{what}: stderr"), r.stderr.clone());
    }

    /// Fails naming each (secret, place) where a secret shows up.
    fn assert_clean(&self, secrets: &[(&str, &str)]) {
        let mut leaks = Vec::new();
        for (name, value) in secrets {
            for (place, text) in &self.texts {
                if found(text, value) {
                    leaks.push(format!("{name} in {place}"));
                }
            }
        }
        assert!(leaks.is_empty(), "secret values leaked: {leaks:#?}");
    }

    fn total_len(&self) -> usize {
        self.texts.iter().map(|(_, t)| t.len()).sum()
    }
}

/// moto with a SecureString parameter and a Secrets Manager secret, the
/// fleet simulator refusing any user-data that holds a secret value.
struct Bed {
    /// The shared bed: moto, the zone, the simulator, clients.
    base: bed::Bed,
    ssm: aws_sdk_ssm::Client,
    /// `ssm:/…` reference and its parameter name.
    ssm_ref: String,
    ssm_name: String,
    ssm_value: String,
    /// The secret's ARN (the reference) and value.
    sm_arn: String,
    sm_value: String,
    /// Write-only values: the first, the bumped one, and one changed
    /// without a version bump.
    wo: [String; 3],
}

impl Bed {
    fn new() -> Bed {
        let ssm_name = format!("/shop/{}/db_password", random_hex());
        let ssm_value = format!("ssm-value-{}", random_hex());
        let sm_value = format!("sm-value-{}", random_hex());
        let wo = [1, 2, 3].map(|i| format!("wo-value-{i}-{}", random_hex()));
        let mut forbidden = vec![ssm_value.clone(), sm_value.clone()];
        forbidden.extend(wo.iter().cloned());
        let base = bed::Bed::start(Some(SimOptions {
            boot_delay: Duration::from_millis(300),
            forbidden,
            ..SimOptions::default()
        }))
        .unwrap();
        let endpoint = base.moto.endpoint();
        let (ssm, sm_arn) = base.block_on(async {
            let cfg = clients::sdk_config(&endpoint).await;
            let ssm = aws_sdk_ssm::Client::new(&cfg);
            ssm.put_parameter()
                .name(&ssm_name)
                .value(&ssm_value)
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .send()
                .await
                .unwrap();
            let sm = aws_sdk_secretsmanager::Client::new(&cfg);
            let created = sm
                .create_secret()
                .name(format!("shop/{}/api_key", random_hex()))
                .secret_string(&sm_value)
                .send()
                .await
                .unwrap();
            (ssm, created.arn().unwrap().to_string())
        });
        Bed {
            ssm_ref: format!("ssm:{ssm_name}"),
            base,
            ssm,
            ssm_name,
            ssm_value,
            sm_arn,
            sm_value,
            wo,
        }
    }

    fn secrets(&self) -> Vec<(&str, &str)> {
        let mut s = vec![
            ("the SSM parameter's value", self.ssm_value.as_str()),
            ("the Secrets Manager secret's value", self.sm_value.as_str()),
        ];
        for (i, v) in self.wo.iter().enumerate() {
            s.push((
                [
                    "write-only value 1",
                    "write-only value 2",
                    "write-only value 3",
                ][i],
                v,
            ));
        }
        s
    }

    /// The user-data of every instance of `app` ever launched (any state),
    /// read through DescribeInstanceAttribute, by instance id.
    fn user_data(&self, app: &str) -> Vec<(String, String)> {
        self.base.block_on(async {
            let out = self
                .base
                .ec2
                .describe_instances()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:berth:app")
                        .values(app)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let ids: Vec<String> = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter_map(|i| i.instance_id().map(String::from))
                .collect();
            let mut all = Vec::new();
            for id in ids {
                let attr = self
                    .base
                    .ec2
                    .describe_instance_attribute()
                    .instance_id(&id)
                    .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
                    .send()
                    .await
                    .unwrap();
                let b64 = attr.user_data().and_then(|u| u.value()).unwrap();
                all.push((id, sim::decode_user_data(b64).unwrap()));
            }
            all
        })
    }

    /// The value and tags of an SSM parameter, or None when it is absent.
    fn parameter(&self, name: &str) -> Option<(String, Vec<(String, String)>)> {
        self.base.block_on(async {
            let p = self
                .ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .ok()?;
            let p = p.parameter()?;
            assert_eq!(
                p.r#type(),
                Some(&aws_sdk_ssm::types::ParameterType::SecureString)
            );
            let tags = self
                .ssm
                .list_tags_for_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .send()
                .await
                .unwrap();
            Some((
                p.value()?.to_string(),
                tags.tag_list()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            ))
        })
    }

    /// Names of every SSM parameter in the emulator.
    fn parameter_names(&self) -> Vec<String> {
        self.base.block_on(async {
            let out = self.ssm.describe_parameters().send().await.unwrap();
            out.parameters()
                .iter()
                .filter_map(|p| p.name().map(String::from))
                .collect()
        })
    }
}

/// The app: both references, and write-only values when `wo_version` is
/// given. The write-only value comes from a sensitive variable (set by
/// [`Traced`] through `TF_VAR_wo_token`), as real secrets do: a literal
/// would be the user's own file, which Terraform quotes in diagnostics.
fn config(
    bed: &Bed,
    version: TfVersion,
    app: &str,
    image: &str,
    wo_version: Option<u32>,
) -> String {
    let wo = wo_version.map_or(String::new(), |v| {
        format!("  secret_values_wo = {{\n    WO_TOKEN = var.wo_token\n  }}\n  secret_values_wo_version = {v}\n")
    });
    // Ephemeral variables (1.10+) never reach plan files or state at all.
    let ephemeral = if version == TfVersion::Latest {
        "\n  ephemeral = true"
    } else {
        ""
    };
    format!(
        r#"{PROVIDER}

variable "wo_token" {{
  type      = string
  default   = null
  sensitive = true{ephemeral}
}}

resource "berth_container_app" "web" {{
  name     = "{app}"
  image    = "{image}"
  port     = 3000
  replicas = 2
  secrets = {{
    DB_PASSWORD = "{ssm_ref}"
    API_KEY     = "{sm_arn}"
  }}
{wo}
  health_check {{
    interval          = 1
    healthy_threshold = 1
    deadline          = 60
  }}
  origin {{
    zone = "{ZONE}"
    name = "{app}"
    ttl  = 1
  }}
  rollout {{
    drain = 1
  }}
}}
"#,
        ssm_ref = bed.ssm_ref,
        sm_arn = bed.sm_arn,
    )
}

/// A Terraform workspace whose commands all log at trace level into one
/// file.
struct Traced {
    ws: Workspace,
    log: PathBuf,
    seen: Seen,
    /// `TF_VAR_wo_token` for the following commands.
    wo_token: String,
}

impl Traced {
    fn new(bed: &Bed, version: TfVersion) -> Traced {
        let ws = bed.base.workspace(version);
        let log = ws.path().join("..").join("trace.log");
        Traced {
            ws,
            log,
            seen: Seen::default(),
            wo_token: String::new(),
        }
    }

    /// Runs Terraform with `TF_LOG=trace`; records both output streams.
    fn run(&mut self, args: &[&str]) -> Run {
        let out = self
            .ws
            .command(args)
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", &self.log)
            .env("TF_VAR_wo_token", &self.wo_token)
            .output()
            .unwrap();
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.seen.run(&format!("terraform {}", args.join(" ")), &r);
        r
    }

    fn ok(&mut self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code,
            0,
            "terraform {args:?} ({:?}) failed:\n{}",
            self.ws.version,
            r.all()
        );
        r
    }

    fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.ws.path().join(name)).ok()
    }

    fn trace_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Records the state file (and its backup), `show -json` of the state,
    /// and the user-data of every instance; returns the user-data.
    fn record_state_and_user_data(&mut self, bed: &Bed, app: &str, step: &str) -> Vec<String> {
        for f in ["terraform.tfstate", "terraform.tfstate.backup"] {
            if let Some(text) = self.file(f) {
                self.seen.add(format!("{f} after {step}"), text);
            }
        }
        self.ok(&["show", "-json", "-no-color"]);
        let uds = bed.user_data(app);
        for (id, ud) in &uds {
            self.seen
                .add(format!("user-data of {id} after {step}"), ud.clone());
        }
        uds.into_iter().map(|(_, ud)| ud).collect()
    }
}

/// Every member of a zip archive (a saved plan), concatenated, read with
/// the tools' Python (no zip crate in the workspace).
fn unzipped(path: &std::path::Path) -> String {
    let python = berth_acceptance_tests::tools_dir()
        .unwrap()
        .join("venv/bin/python");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n    sys.stdout.buffer.write(z.read(n))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn state_resource(state_json: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(state_json).unwrap();
    v["values"]["root_module"]["resources"][0]["values"].clone()
}

/// The references scenario on `version`, plus write-only values when
/// `write_only` (Terraform ≥ 1.11).
fn secrets_never_leak(version: TfVersion, write_only: bool) {
    let bed = Bed::new();
    let app = "vault";
    let wo_param = format!("/berth/{app}/WO_TOKEN");
    let wo = |v: u32| write_only.then_some(v);
    let mut t = Traced::new(&bed, version);
    if write_only {
        // Otherwise the variable is unused, and a set variable is stored in
        // saved plans (on 1.0 nothing can be ephemeral).
        t.wo_token.clone_from(&bed.wo[0]);
    }
    t.ws.write("main.tf", &config(&bed, version, app, "shop:1", wo(1)))
        .unwrap();

    // Init, plan (text, JSON, saved), show of the saved plan, apply of it.
    t.ok(&["init", "-no-color"]);
    t.ok(&["plan", "-no-color", "-out=tfplan"]);
    let json_plan = t.ok(&["plan", "-json", "-no-color"]);
    assert!(
        json_plan.stdout.contains("\"type\":\"planned_change\"")
            && json_plan.stdout.contains("\"type\":\"change_summary\""),
        "plan -json printed JSON lines:\n{}",
        json_plan.stdout
    );
    let shown = t.ok(&["show", "-json", "-no-color", "tfplan"]);
    let planned: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let pv = &planned["planned_values"]["root_module"]["resources"][0]["values"];
    assert_eq!(pv["secrets"]["DB_PASSWORD"], bed.ssm_ref.as_str(), "{pv}");
    if write_only {
        assert!(
            pv["secret_values_wo"].is_null(),
            "write-only in the plan: {pv}"
        );
        assert_eq!(pv["secret_value_parameters"]["WO_TOKEN"], wo_param.as_str());
    }
    let plan_file = unzipped(&t.ws.path().join("tfplan"));
    assert!(
        found(&plan_file, &bed.ssm_name),
        "the unzipped plan file holds the references"
    );
    t.seen.add("the saved plan file (unzipped)", plan_file);
    t.ok(&["apply", "-no-color", "tfplan"]);
    let uds = t.record_state_and_user_data(&bed, app, "create");
    assert_eq!(uds.len(), 2, "two instances launched");
    for ud in &uds {
        assert!(
            ud.contains(&bed.ssm_name),
            "user-data fetches the parameter:\n{ud}"
        );
        assert!(
            ud.contains(&bed.sm_arn),
            "user-data fetches the secret:\n{ud}"
        );
        assert_eq!(
            ud.contains(&format!("\"ssm\": \"{wo_param}\"")),
            write_only,
            "user-data fetches the write-only value's parameter:\n{ud}"
        );
    }
    let state = t.file("terraform.tfstate").unwrap();
    assert!(state.contains(&bed.ssm_ref) && state.contains(&bed.sm_arn));
    let shown = t.ok(&["show", "-json", "-no-color"]);
    let values = state_resource(&shown.stdout);
    assert_eq!(values["release"], 1, "{values}");
    if write_only {
        assert!(values["secret_values_wo"].is_null(), "{values}");
        assert_eq!(
            values["secret_value_parameters"]["WO_TOKEN"],
            wo_param.as_str()
        );
        let (stored, tags) = bed.parameter(&wo_param).expect("berth stored the value");
        assert_eq!(stored, bed.wo[0]);
        assert!(
            tags.contains(&("berth:app".into(), app.into()))
                && tags.contains(&("berth:managed-by".into(), "berth".into())),
            "{tags:?}"
        );
    }
    let again = t.run(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(again.code, 0, "plan after apply is empty:\n{}", again.all());

    // A rollout: a new image.
    t.ws.write("main.tf", &config(&bed, version, app, "shop:2", wo(1)))
        .unwrap();
    t.ok(&["apply", "-auto-approve", "-no-color"]);
    t.record_state_and_user_data(&bed, app, "the image rollout");
    assert_eq!(
        state_resource(&t.ok(&["show", "-json"]).stdout)["release"],
        2
    );

    if write_only {
        // A new value with a version bump: stored and rolled out.
        t.wo_token.clone_from(&bed.wo[1]);
        t.ws.write("main.tf", &config(&bed, version, app, "shop:2", wo(2)))
            .unwrap();
        let plan = t.ok(&["plan", "-no-color"]);
        let text = flat(&plan.stdout);
        assert!(
            text.contains("secret_values_wo_version = 1 -> 2") && text.contains("release"),
            "the bump shows in the plan:\n{}",
            plan.stdout
        );
        t.ok(&["apply", "-auto-approve", "-no-color"]);
        t.record_state_and_user_data(&bed, app, "the version bump");
        assert_eq!(
            state_resource(&t.ok(&["show", "-json"]).stdout)["release"],
            3
        );
        assert_eq!(bed.parameter(&wo_param).unwrap().0, bed.wo[1]);
        let booted: Vec<String> = bed
            .base
            .sim()
            .booted()
            .into_iter()
            .filter(|b| b.release == "3")
            .map(|b| b.id)
            .collect();
        assert_eq!(booted.len(), 2, "release 3 booted on 2 instances");
        // A value changed without a bump: not a change (documented).
        t.wo_token.clone_from(&bed.wo[2]);
        assert_eq!(t.run(&["plan", "-detailed-exitcode", "-no-color"]).code, 0);
        assert_eq!(bed.parameter(&wo_param).unwrap().0, bed.wo[1]);
    }

    t.ok(&["destroy", "-auto-approve", "-no-color"]);
    for f in ["terraform.tfstate", "terraform.tfstate.backup"] {
        if let Some(text) = t.file(f) {
            t.seen.add(format!("{f} after destroy"), text);
        }
    }
    if write_only {
        assert_eq!(
            bed.parameter(&wo_param),
            None,
            "destroy deleted the parameter"
        );
    }
    assert!(
        bed.parameter_names()
            .iter()
            .all(|n| !n.starts_with("/berth/")),
        "no berth parameter left: {:?}",
        bed.parameter_names()
    );

    // The search looked where the values would be.
    let trace = t.trace_log();
    assert!(trace.len() > 100_000, "trace log is {} bytes", trace.len());
    for reference in [bed.ssm_name.as_str(), bed.sm_arn.as_str()] {
        assert!(
            found(&trace, reference),
            "the same search finds the reference {reference} in the trace log"
        );
    }
    assert!(
        trace.contains("rollout plan"),
        "the trace log carries the provider's own log lines"
    );
    if write_only {
        assert!(trace.contains(&format!(
            "storing the write-only value of WO_TOKEN in SSM parameter {wo_param}"
        )));
    }
    t.seen.add("the trace log", trace);
    assert!(t.seen.total_len() > 200_000);
    assert!(
        bed.base.sim().problems().is_empty(),
        "{:?}",
        bed.base.sim().problems()
    );
    t.seen.assert_clean(&bed.secrets());
}

#[test]
fn secret_references_and_write_only_values_never_leak_on_latest() {
    secrets_never_leak(TfVersion::Latest, true);
}

#[test]
fn secret_references_never_leak_on_1_0() {
    secrets_never_leak(TfVersion::V1_0, false);
}

#[test]
fn write_only_values_are_refused_on_1_0() {
    let bed = Bed::new();
    let app = "vault";
    let mut t = Traced::new(&bed, TfVersion::V1_0);
    t.wo_token.clone_from(&bed.wo[0]);
    t.ws.write(
        "main.tf",
        &config(&bed, TfVersion::V1_0, app, "shop:1", Some(1)),
    )
    .unwrap();
    t.ok(&["init", "-no-color"]);
    for cmd in [
        &["validate", "-no-color"][..],
        &["plan", "-no-color"],
        &["apply", "-auto-approve", "-no-color"],
    ] {
        let r = t.run(cmd);
        assert_ne!(r.code, 0, "{cmd:?} must fail:\n{}", r.all());
        let text = flat(&r.all());
        assert!(
            text.contains("Write-only attribute not supported by this Terraform")
                && text.contains("secret_values_wo is write-only")
                && text.contains("Terraform 1.11"),
            "{cmd:?}: a clear error on the attribute:\n{}",
            r.all()
        );
    }
    assert!(bed.user_data(app).is_empty(), "no instance launched");
    assert!(
        bed.parameter_names()
            .iter()
            .all(|n| !n.starts_with("/berth/")),
        "nothing stored: {:?}",
        bed.parameter_names()
    );
    if let Some(state) = t.file("terraform.tfstate") {
        t.seen.add("terraform.tfstate", state);
    }
    let trace = t.trace_log();
    assert!(
        trace.contains("ValidateResourceConfig"),
        "the trace log covers the refused validation ({} bytes)",
        trace.len()
    );
    t.seen.add("the trace log", trace);
    t.seen.assert_clean(&bed.secrets());
}

#[test]
fn needles_find_a_value_inside_base64_at_any_alignment() {
    let value = "wo-value-1-0123456789abcdef";
    for prefix in ["", "a", "ab", "abc"] {
        let text = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{value}!"));
        assert!(
            needles(value).iter().any(|n| text.contains(n.as_str())),
            "{prefix:?}"
        );
    }
    assert!(
        !needles(value)
            .iter()
            .any(|n| "unrelated text".contains(n.as_str()))
    );
}
