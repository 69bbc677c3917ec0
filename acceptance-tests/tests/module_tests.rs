//! Runs every module's own `terraform test` files (`modules/<name>/tests/
//! *.tftest.hcl`) with real Terraform and the real provider against moto:
//! plans with default and custom inputs, and the variables' validation
//! rules (`expect_failures`).
//!
//! Convention for the test files: configure `provider "berth"` with a
//! region only (the emulator endpoint and credentials come from the
//! environment) and use the hosted zone [`ZONE`], which exists.
//! `terraform test` needs Terraform ≥ 1.6 (`mock_provider`/`command` are
//! not in 1.0), so this runs on the newest Terraform only; the examples
//! built on the modules run on both versions (`examples.rs`).
#![allow(clippy::unwrap_used)]

use berth_acceptance_tests::{Moto, TfVersion, Workspace, clients, copy_tree, repo_root};

/// The hosted zone the module tests may use.
const ZONE: &str = "modules.test";

fn modules_with_tests() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("modules"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("tests").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn run_module_tests(module: &str) {
    let moto = Moto::start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(clients::create_zone(&moto.endpoint(), ZONE))
        .unwrap();
    let mut ws = Workspace::new(TfVersion::Latest, Some(&moto)).unwrap();
    // Run inside a copy of the whole modules/ tree, so sibling sources
    // (`../regional-app`) resolve.
    let modules = ws.path().join("modules");
    copy_tree(&repo_root().join("modules"), &modules).unwrap();
    ws.set_env(
        "TF_DATA_DIR",
        &ws.path().join(".terraform-data").display().to_string(),
    );
    let dir = modules.join(module);
    let run = |args: &[&str]| {
        let out = ws.command(args).current_dir(&dir).output().unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "terraform {args:?} in modules/{module}:\n{text}"
        );
        text
    };
    run(&["init", "-no-color"]);
    let out = run(&["test", "-no-color"]);
    eprintln!("{out}");
    let runs: usize = std::fs::read_dir(dir.join("tests"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tftest.hcl"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            text.lines().filter(|l| l.starts_with("run \"")).count()
        })
        .sum();
    assert!(runs > 0, "modules/{module}/tests has no run blocks");
    assert!(
        out.contains(&format!("Success! {runs} passed, 0 failed.")),
        "modules/{module}: expected {runs} passing runs:\n{out}"
    );
}

#[test]
fn every_module_has_terraform_tests() {
    let all: Vec<String> = std::fs::read_dir(repo_root().join("modules"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let tested = modules_with_tests();
    for m in &all {
        assert!(tested.contains(m), "modules/{m} has no tests/ folder");
        for f in ["README.md", "variables.tf", "outputs.tf", "main.tf"] {
            assert!(
                repo_root().join("modules").join(m).join(f).is_file(),
                "modules/{m} has no {f}"
            );
        }
    }
}

macro_rules! module_tests {
    ($($test:ident => $module:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_module_tests($module);
            }
        )*
        #[test]
        fn every_module_with_tests_is_listed_here() {
            let listed = [$($module),*];
            for m in modules_with_tests() {
                assert!(listed.contains(&m.as_str()), "add modules/{m} to module_tests! in module_tests.rs");
            }
        }
    };
}

module_tests! {
    app_module_tests_pass => "app",
    blue_green_module_tests_pass => "blue-green",
    paas_migration_module_tests_pass => "paas-migration",
    multi_service_module_tests_pass => "multi-service",
    global_app_module_tests_pass => "global-app",
    regional_app_module_tests_pass => "regional-app",
}
