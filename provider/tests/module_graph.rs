//! The provider crate's modules import each other in one direction only:
//! no cycles between its top-level modules or between the resources and
//! data sources (each one a unit with its submodules). A cycle makes a
//! module impossible to understand, test or move alone.
//!
//! The graph is read from the source: every `crate::…` path and every
//! `super::…` that leaves a unit is an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The unit a source file belongs to: `checks`, `resources`,
/// `resources/container_app`, `data_sources/availability_zones`, …
fn unit_of(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        [group, leaf] if leaf == "mod" => group.clone(),
        [group, sub, ..] => format!("{group}/{sub}"),
        _ => String::new(),
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names after `prefix` in `text`: `crate::a::b` gives (a, Some(b)),
/// `crate::a::{b, c}` gives (a, b) and (a, c).
fn paths(text: &str, prefix: &str) -> Vec<(String, Option<String>)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let first = ident(rest);
        if first.is_empty() {
            continue;
        }
        let after = &rest[first.len()..];
        if let Some(tail) = after.strip_prefix("::{") {
            let inner = &tail[..tail.find('}').unwrap_or(0)];
            for item in inner.split(',') {
                out.push((
                    first.clone(),
                    Some(ident(item.trim())).filter(|s| !s.is_empty()),
                ));
            }
        } else if let Some(tail) = after.strip_prefix("::") {
            out.push((first.clone(), Some(ident(tail)).filter(|s| !s.is_empty())));
        } else {
            out.push((first, None));
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let units: BTreeSet<String> = all
        .iter()
        .map(|f| unit_of(f.strip_prefix(&src).expect("under src")))
        .collect();
    let resolve = |first: &str, second: Option<&str>| -> String {
        match second {
            Some(s) if units.contains(&format!("{first}/{s}")) => format!("{first}/{s}"),
            _ => first.to_string(),
        }
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&src).expect("under src");
        let unit = unit_of(rel);
        if unit == "main" || unit == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read");
        // Tests may reach anywhere; only the code counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut targets: Vec<String> = paths(code, "crate::")
            .into_iter()
            .map(|(a, b)| resolve(&a, b.as_deref()))
            .collect();
        // `super::` leaves the unit from its mod.rs or a one-file unit;
        // `super::super::` from a file inside a unit's directory.
        let depth = rel.iter().count();
        let top_of_unit = depth == 2 || (depth == 3 && rel.ends_with("mod.rs"));
        if let Some((group, _)) = unit.split_once('/') {
            let prefix = if top_of_unit {
                "super::"
            } else {
                "super::super::"
            };
            for (a, _) in paths(code, prefix) {
                if a != "super" {
                    targets.push(resolve(group, Some(&a)));
                }
            }
        }
        let entry = g.entry(unit.clone()).or_default();
        for t in targets {
            if t != unit && units.contains(&t) {
                entry.insert(t);
            }
        }
    }
    g
}

/// A cycle in `g`, if any.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_provider_crates_modules_import_each_other_without_cycles() {
    let g = graph();
    assert!(
        g.contains_key("resources/container_app") && g.contains_key("validation"),
        "the graph sees the crate: {g:?}"
    );
    if let Some(c) = cycle(&g) {
        panic!(
            "import cycle: {}\n(move what both sides need into a module of its own)\ngraph: {g:#?}",
            c.join(" → ")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert!(cycle(&g).is_none());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&g).unwrap_or_default(), ["a", "b", "c", "a"]);
    assert_eq!(
        paths(
            "use crate::resources::{container_app, region_pool};",
            "crate::"
        ),
        [
            ("resources".to_string(), Some("container_app".to_string())),
            ("resources".to_string(), Some("region_pool".to_string()))
        ]
    );
}
