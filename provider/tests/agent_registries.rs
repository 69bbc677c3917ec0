//! The instance agent's registry logins (`agent prepare`, before any pull)
//! against a real AWS API (moto): a password fetched from its SSM reference
//! and an Amazon ECR token from `GetAuthorizationToken` reach `docker login`
//! on its standard input, never on a command line; a refused login and an
//! unreadable password fail the start with a line naming the registry,
//! which the health reporter then reports. `docker` is a stand-in that
//! records its arguments and input (the real engine's login is proven on
//! the real-instance bed).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use berth_testbed::Moto;

#[path = "support/scripts.rs"]
mod scripts;
use scripts::{Scripts, text};

/// `prepare`, its sleeps skipped.
const PREPARE: &str = r#"
agent.time.sleep = lambda s: None
sys.exit(agent.prepare(*args))
"#;

/// A stand-in `docker`: appends `ARGS…|STDIN` to `$DOCKER_LOG`, answers
/// `$DOCKER_SAYS` on stderr with exit 1 when set.
const DOCKER: &str = r#"#!/bin/bash
input=$(cat)
echo "$*|$input" >> "$DOCKER_LOG"
if [[ -n ${DOCKER_SAYS:-} ]]; then echo "$DOCKER_SAYS" >&2; exit 1; fi
echo "Login Succeeded"
"#;

struct Bed {
    scripts: Scripts,
}

impl Bed {
    fn new(logins: serde_json::Value) -> Bed {
        let scripts = Scripts::new();
        let app = scripts.dir("app");
        let manifest = serde_json::json!({"app": "shop", "release": 3});
        std::fs::write(app.join("release.json"), manifest.to_string()).unwrap();
        std::fs::write(app.join("registries.json"), logins.to_string()).unwrap();
        scripts.stand_in("docker", DOCKER);
        Bed { scripts }
    }

    fn path(&self) -> &Path {
        self.scripts.path()
    }

    fn run_dir(&self) -> PathBuf {
        self.path().join("run")
    }

    /// Runs `prepare`; its exit code and output.
    fn prepare(&self, moto: &Moto, docker_says: &str) -> (i32, String) {
        let out = self
            .scripts
            .python(
                &moto.endpoint(),
                "agent",
                "i-0123456789abcdef0",
                PREPARE,
                &[
                    &self.path().join("app").to_string_lossy(),
                    &self.run_dir().to_string_lossy(),
                ],
            )
            .env("DOCKER_LOG", self.path().join("docker.log"))
            .env("DOCKER_SAYS", docker_says)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), text(&out))
    }

    /// The `docker` calls: (arguments, standard input).
    fn docker_calls(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.path().join("docker.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(a, i)| (a.to_string(), i.to_string()))
            .collect()
    }

    fn failure(&self) -> String {
        std::fs::read_to_string(self.run_dir().join("failure")).unwrap_or_default()
    }
}

fn put_parameter(moto: &Moto, name: &str, value: &str) {
    moto.with_clients(|clients| async move {
        berth_aws::ssm::put_secure_string(
            &clients,
            name,
            value,
            "registry password",
            &Default::default(),
        )
        .await
        .unwrap();
    });
}

fn logins() -> serde_json::Value {
    serde_json::json!([
        {"server": "registry.example.com", "username": "deploy",
         "password": {"ssm": "/shop/registry_password"}},
        {"server": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
         "ecr": {"registry_id": "123456789012", "region": "us-east-1"}},
    ])
}

#[test]
fn a_referenced_password_and_an_ecr_token_reach_docker_login_on_its_input_only() {
    let moto = Moto::start().unwrap();
    let password = format!("pw-{}", std::process::id());
    put_parameter(&moto, "/shop/registry_password", &password);
    let bed = Bed::new(logins());
    let (code, out) = bed.prepare(&moto, "");
    assert_eq!(code, 0, "{out}");
    let config = bed.run_dir().join("docker");
    let calls = bed.docker_calls();
    assert_eq!(
        calls,
        [
            (
                format!(
                    "--config {} login --username deploy --password-stdin registry.example.com",
                    config.display()
                ),
                password.clone()
            ),
            (
                format!(
                    "--config {} login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
                    config.display()
                ),
                // What moto's GetAuthorizationToken hands out for the account.
                "123456789012-auth-token".to_string()
            ),
        ]
    );
    assert!(
        !out.contains(&password),
        "the password is never printed: {out}"
    );
    assert!(
        out.contains("logged in to registry.example.com as deploy"),
        "{out}"
    );
    let mode = std::fs::metadata(&config).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(mode.permissions().mode() & 0o777, 0o700);
    assert_eq!(bed.failure(), "");
}

#[test]
fn a_refused_login_fails_the_start_naming_the_registry_and_user() {
    let moto = Moto::start().unwrap();
    put_parameter(&moto, "/shop/registry_password", "wrong");
    let bed = Bed::new(logins());
    let (code, out) = bed.prepare(
        &moto,
        "Error response from daemon: Get \"https://registry.example.com/v2/\": unauthorized: authentication required",
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        bed.failure().trim(),
        "registry login to registry.example.com as deploy denied: Get \"https://registry.example.com/v2/\": unauthorized: authentication required"
    );
    assert_eq!(bed.docker_calls().len(), 1, "a refusal is not retried");
}

#[test]
fn an_unreadable_password_fails_the_start_before_any_login() {
    let moto = Moto::start().unwrap();
    let bed = Bed::new(logins());
    let (code, out) = bed.prepare(&moto, "");
    assert_eq!(code, 1, "{out}");
    let failure = bed.failure();
    assert!(
        failure.starts_with("password of registry registry.example.com not readable: ")
            && failure.contains("ParameterNotFound"),
        "{failure}"
    );
    assert!(bed.docker_calls().is_empty());
}
