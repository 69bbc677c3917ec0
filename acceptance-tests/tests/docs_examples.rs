//! The example files the registry docs are generated from
//! (`examples/provider`, `examples/resources/<type>`,
//! `examples/data-sources/<type>`) are real configurations: each one is
//! `terraform fmt` clean and passes `terraform validate` (no errors, no
//! warnings) with the built provider, every resource and data source the
//! provider serves has its example, and every `import.sh` line is a
//! `terraform import` of a resource its example declares.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use berth_acceptance_tests::{REQUIRED_PROVIDERS, TfVersion, Workspace, repo_root};

const PROVIDER: &str = "registry.terraform.io/berth/berth";

/// Every `.tf` file of the three example trees, relative to the root.
fn example_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for tree in [
        "examples/provider",
        "examples/resources",
        "examples/data-sources",
    ] {
        collect(&root.join(tree), &mut out);
    }
    out.sort();
    out.into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "tf") {
            out.push(p);
        }
    }
}

/// The example as a root module: with a `terraform` block naming the
/// provider's source when the file has none (resource and data-source
/// examples leave it out, as the registry shows them), and how many lines
/// that block added.
fn as_root_module(text: &str) -> (String, i64) {
    if text.contains("required_providers") {
        (text.to_string(), 0)
    } else {
        let prelude = format!("{REQUIRED_PROVIDERS}\n");
        let lines = i64::try_from(prelude.lines().count()).unwrap();
        (format!("{prelude}{text}"), lines)
    }
}

/// The resource and data source types the built provider serves, from
/// `terraform providers schema -json`.
fn served_types() -> (BTreeSet<String>, BTreeSet<String>) {
    let ws = Workspace::new(TfVersion::Latest, None).unwrap();
    ws.write("main.tf", REQUIRED_PROVIDERS).unwrap();
    ws.init().unwrap();
    let r = ws.ok(&["providers", "schema", "-json"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let p = &v["provider_schemas"][PROVIDER];
    let keys = |k: &str| -> BTreeSet<String> {
        p[k].as_object()
            .unwrap_or_else(|| panic!("no {k} in the provider schema: {}", r.stdout))
            .keys()
            .cloned()
            .collect()
    };
    (keys("resource_schemas"), keys("data_source_schemas"))
}

#[test]
fn every_resource_and_data_source_has_examples_and_import_syntax() {
    let root = repo_root();
    let (resources, data_sources) = served_types();
    assert!(!resources.is_empty() && !data_sources.is_empty());
    assert!(root.join("examples/provider/provider.tf").is_file());
    let mut problems = Vec::new();
    for r in &resources {
        let dir = root.join("examples/resources").join(r);
        let Ok(example) = std::fs::read_to_string(dir.join("resource.tf")) else {
            problems.push(format!("examples/resources/{r}/resource.tf is missing"));
            continue;
        };
        let Ok(import) = std::fs::read_to_string(dir.join("import.sh")) else {
            problems.push(format!("examples/resources/{r}/import.sh is missing"));
            continue;
        };
        let mut commands = 0;
        for line in import.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            commands += 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            let ["terraform", "import", address, id] = words.as_slice() else {
                problems.push(format!(
                    "examples/resources/{r}/import.sh: {line:?} is not `terraform import ADDRESS ID`"
                ));
                continue;
            };
            let Some((ty, name)) = address.split_once('.') else {
                problems.push(format!("{r}/import.sh: bad address {address:?}"));
                continue;
            };
            if ty != r {
                problems.push(format!("{r}/import.sh imports a {ty}"));
            }
            if !example.contains(&format!("resource \"{r}\" \"{name}\"")) {
                problems.push(format!(
                    "{r}/import.sh imports {address}, which resource.tf does not declare"
                ));
            }
            assert!(!id.is_empty());
        }
        if commands == 0 {
            problems.push(format!("examples/resources/{r}/import.sh has no command"));
        }
    }
    for d in &data_sources {
        let file = root
            .join("examples/data-sources")
            .join(d)
            .join("data-source.tf");
        if !file.is_file() {
            problems.push(format!(
                "examples/data-sources/{d}/data-source.tf is missing"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_example_is_formatted_and_passes_terraform_validate() {
    let root = repo_root();
    let files = example_files(&root);
    assert!(
        files.len() >= 5,
        "expected the provider, resource and data-source examples: {files:?}"
    );
    let mut failures = Vec::new();
    for rel in &files {
        let text = std::fs::read_to_string(root.join(rel)).unwrap();
        let ws = Workspace::new(TfVersion::Latest, None).unwrap();
        // fmt on the file as written (the docs show it verbatim).
        ws.write("example.tf", &text).unwrap();
        let fmt = ws
            .run(&["fmt", "-check", "-diff", "-no-color", "example.tf"])
            .unwrap();
        if fmt.code != 0 {
            failures.push(format!(
                "{}: not `terraform fmt` clean:\n{}",
                rel.display(),
                fmt.all()
            ));
        }
        std::fs::remove_file(ws.path().join("example.tf")).unwrap();
        let (module, added) = as_root_module(&text);
        ws.write("main.tf", &module).unwrap();
        ws.init().unwrap();
        let r = ws.run(&["validate", "-json", "-no-color"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{}: validate -json: {e}\n{}", rel.display(), r.all()));
        if v["valid"] != true || v["warning_count"] != 0 {
            let diags: Vec<String> = v["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{} {}: {} (line {})",
                        d["severity"].as_str().unwrap_or_default(),
                        d["summary"].as_str().unwrap_or_default(),
                        d["detail"].as_str().unwrap_or_default(),
                        d["range"]["start"]["line"].as_i64().unwrap_or(0) - added
                    )
                })
                .collect();
            failures.push(format!("{}: terraform validate: {diags:#?}", rel.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
