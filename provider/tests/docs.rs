//! The registry docs under `docs/` are what `./scripts/docs` generates
//! from `templates/`, the example files under `examples/{provider,
//! resources,data-sources}` and the schemas: no page missing, stale or
//! left over. With `BERTH_UPDATE_DOCS=1` (what `./scripts/docs` sets) the
//! test rewrites `docs/` instead of failing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use terraform_provider_berth::BerthProvider;
use terraform_provider_berth::docs::{COMMAND, generate};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every `.md` file under `dir`, relative to it.
fn markdown_files(dir: &Path, rel: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let rel = rel.join(e.file_name());
        if path.is_dir() {
            markdown_files(&path, &rel, out);
        } else if path.extension().is_some_and(|x| x == "md") {
            out.insert(rel);
        }
    }
}

#[test]
fn docs_are_generated_from_templates_examples_and_schemas() {
    let root = repo_root();
    let docs = root.join("docs");
    let pages = generate(&BerthProvider::new(), &root).unwrap_or_else(|errors| {
        panic!(
            "the docs cannot be generated:\n  {}\n(fix these, then run {COMMAND})",
            errors.join("\n  ")
        )
    });
    let update = std::env::var_os("BERTH_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (rel, want) in &pages {
        let file = docs.join(rel);
        let have = std::fs::read_to_string(&file).ok();
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        if update {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).expect("creates docs/ folders");
            }
            std::fs::write(&file, want).expect("writes docs");
            eprintln!("wrote docs/{}", rel.display());
        } else if have.is_none() {
            stale.push(format!("docs/{} is missing", rel.display()));
        } else {
            stale.push(format!("docs/{} is out of date", rel.display()));
        }
    }
    let mut present = BTreeSet::new();
    markdown_files(&docs, Path::new(""), &mut present);
    for rel in present {
        if pages.contains_key(&rel) {
            continue;
        }
        if update {
            std::fs::remove_file(docs.join(&rel)).expect("removes a leftover page");
            eprintln!("removed docs/{}", rel.display());
        } else {
            stale.push(format!(
                "docs/{} documents nothing (no such resource or data source)",
                rel.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/ is out of date: run {COMMAND} (and commit docs/):\n  {}",
        stale.join("\n  ")
    );
}
