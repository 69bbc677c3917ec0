//! Hostile and wrong input: every configuration in `acceptance-tests/invalid/`
//! fails at the stage its header names (`validate` or `plan`) with a
//! diagnostic whose text holds the expected fragment, on the line of the
//! expected attribute (Terraform places it from the attribute path berth
//! returns), for the expected resource address; nothing panics, and the
//! provider's AWS traffic, sent through a recording proxy in front of moto,
//! holds no mutating call (a validate none at all). Control cases
//! (`fails: no`) with values unknown until apply must validate and plan
//! cleanly. The corpus runs on Terraform Latest and 1.0.3, one `init` per
//! version, and every mismatch is reported at once.
//!
//! Header of a case file:
//!
//! ```text
//! # <what is wrong>
//! # fails: validate | plan | no
//! # expect: <address> <attribute path> :: <message fragment>
//! ```
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;

use berth_acceptance_tests::proxy::CountingProxy;
use berth_acceptance_tests::{Moto, REQUIRED_PROVIDERS, TfVersion, Workspace, repo_root};

/// Where a case must fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Validate,
    Plan,
    Never,
}

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Attr(String),
    Index(usize),
    Key(String),
}

/// One expected diagnostic.
#[derive(Clone, Debug)]
struct Expect {
    address: String,
    path: Vec<Step>,
    fragment: String,
}

/// One corpus file.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    text: String,
    fails: Stage,
    expects: Vec<Expect>,
}

fn corpus_dir() -> PathBuf {
    repo_root().join("acceptance-tests/invalid")
}

fn parse_path(s: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for seg in s.split('.') {
        let (name, mut rest) = seg.split_once('[').map_or((seg, ""), |(n, r)| (n, r));
        out.push(Step::Attr(name.to_string()));
        while !rest.is_empty() {
            let (inner, after) = rest.split_once(']').unwrap();
            match inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                Some(key) => out.push(Step::Key(key.to_string())),
                None => out.push(Step::Index(inner.parse().unwrap())),
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

fn load() -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("tf") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut fails = None;
        let mut expects = Vec::new();
        for line in text.lines().take_while(|l| l.starts_with('#')) {
            if let Some(f) = line.strip_prefix("# fails:") {
                fails = Some(match f.trim() {
                    "validate" => Stage::Validate,
                    "plan" => Stage::Plan,
                    "no" => Stage::Never,
                    other => panic!("{name}: unknown stage {other:?}"),
                });
            } else if let Some(e) = line.strip_prefix("# expect:") {
                let (target, fragment) = e.split_once("::").unwrap();
                let (address, path) = target.trim().split_once(' ').unwrap();
                expects.push(Expect {
                    address: address.to_string(),
                    path: parse_path(path.trim()),
                    fragment: fragment.trim().to_string(),
                });
            }
        }
        let fails = fails.unwrap_or_else(|| panic!("{name}: no `# fails:` line"));
        assert_eq!(
            fails == Stage::Never,
            expects.is_empty(),
            "{name}: failing cases need `# expect:` lines, controls none"
        );
        cases.push(Case {
            name,
            text,
            fails,
            expects,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// A block or attribute found in the file: its first line and the lines
/// its body spans (1-based, inclusive).
#[derive(Clone, Copy, Debug)]
struct Span {
    line: usize,
    end: usize,
}

/// Lines of `text`, 1-based.
struct Source<'a> {
    lines: Vec<&'a str>,
}

impl Source<'_> {
    fn depth_change(line: &str) -> i64 {
        let mut d = 0;
        let mut in_str = false;
        for c in line.chars() {
            match c {
                '"' => in_str = !in_str,
                '{' | '[' if !in_str => d += 1,
                '}' | ']' if !in_str => d -= 1,
                '#' if !in_str => break,
                _ => {}
            }
        }
        d
    }

    /// The span from `line` to where the brackets opened on it close.
    fn span_from(&self, line: usize) -> Span {
        let mut depth = 0;
        for n in line..=self.lines.len() {
            depth += Self::depth_change(self.lines[n - 1]);
            if depth <= 0 {
                return Span { line, end: n };
            }
        }
        Span {
            line,
            end: self.lines.len(),
        }
    }

    /// Direct children of `body` whose line satisfies `is`.
    fn children(&self, body: Span, is: impl Fn(&str) -> bool) -> Vec<Span> {
        let mut out = Vec::new();
        let mut n = body.line + 1;
        while n < body.end {
            let s = self.span_from(n);
            if is(self.lines[n - 1].trim_start()) {
                out.push(s);
            }
            n = s.end + 1;
        }
        out
    }

    fn top(&self, address: &str) -> Option<Span> {
        let header = match address.split('.').collect::<Vec<_>>()[..] {
            ["provider", name] => format!("provider \"{name}\""),
            ["data", ty, name] => format!("data \"{ty}\" \"{name}\""),
            [ty, name] => format!("resource \"{ty}\" \"{name}\""),
            _ => return None,
        };
        let n = self.lines.iter().position(|l| l.starts_with(&header))? + 1;
        Some(self.span_from(n))
    }

    /// The line Terraform puts a diagnostic for `path` in the block of
    /// `address` on, following its rules: an attribute's value (a list
    /// element or map entry when indexed), else the opening line of the
    /// deepest block reached (a block type with several blocks and no
    /// index, such as a set, stops there). Terraform 1.0 (`legacy`) does
    /// not look into an attribute's object value: a path to one of its
    /// keys lands on the enclosing block's line.
    fn expected_line(&self, address: &str, path: &[Step], legacy: bool) -> Option<usize> {
        let mut body = self.top(address)?;
        let mut i = 0;
        while i < path.len() {
            let Step::Attr(name) = &path[i] else {
                return Some(body.line);
            };
            let is_block = |l: &str| {
                l.strip_prefix(name.as_str())
                    .is_some_and(|r| r.trim_start().starts_with('{'))
            };
            let is_attr = |l: &str| {
                l.strip_prefix(name.as_str())
                    .is_some_and(|r| r.trim_start().starts_with('='))
            };
            let blocks = self.children(body, is_block);
            if !blocks.is_empty() {
                match path.get(i + 1) {
                    Some(Step::Index(n)) => {
                        body = *blocks.get(*n)?;
                        i += 2;
                    }
                    _ if blocks.len() == 1 => {
                        body = blocks[0];
                        i += 1;
                    }
                    _ => return Some(body.line),
                }
                continue;
            }
            let Some(attr) = self.children(body, is_attr).first().copied() else {
                return Some(body.line);
            };
            let key = match path.get(i + 1) {
                Some(Step::Attr(_)) if legacy => return Some(body.line),
                Some(Step::Key(k) | Step::Attr(k)) => Some(k),
                _ => None,
            };
            return Some(match key {
                Some(k) => (attr.line..=attr.end)
                    .find(|&n| {
                        let l = self.lines[n - 1].trim_start();
                        let quoted = format!("\"{k}\"");
                        [k.as_str(), quoted.as_str()].iter().any(|p| {
                            l.strip_prefix(p)
                                .is_some_and(|r| r.trim_start().starts_with('='))
                        })
                    })
                    .unwrap_or(attr.line),
                _ => attr.line,
            });
        }
        Some(body.line)
    }
}

/// What Terraform's JSON output says about one diagnostic.
#[derive(Clone, Debug)]
struct Diag {
    severity: String,
    text: String,
    address: Option<String>,
    line: Option<u64>,
    file: Option<String>,
}

impl Diag {
    fn from(v: &serde_json::Value) -> Diag {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Diag {
            severity: s("severity"),
            text: format!("{} — {}", s("summary"), s("detail")),
            address: v["address"].as_str().map(str::to_string),
            line: v["range"]["start"]["line"].as_u64(),
            file: v["range"]["filename"].as_str().map(str::to_string),
        }
    }
}

/// The address Terraform gives diagnostics of `address`.
fn terraform_address(address: &str) -> String {
    match address.strip_prefix("provider.") {
        Some(name) => format!("provider[\"registry.terraform.io/berth/{name}\"]"),
        None => address.to_string(),
    }
}

/// Diagnostics of `validate -json` (one document) or `plan -json` (one
/// message per line).
fn diagnostics(stdout: &str) -> Vec<Diag> {
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(stdout)
        && let Some(list) = doc["diagnostics"].as_array()
    {
        return list.iter().map(Diag::from).collect();
    }
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic")
        .map(|m| Diag::from(&m["diagnostic"]))
        .collect()
}

/// Words that only show when the provider or Terraform crashed.
const CRASH_SIGNS: [&str; 5] = [
    "panic",
    "crash",
    "plugin did not respond",
    "plugin exited",
    "stack trace",
];

/// moto, a recording proxy in front of it, and one initialised workspace.
struct Bench {
    _moto: Moto,
    proxy: CountingProxy,
    _rt: tokio::runtime::Runtime,
    ws: Workspace,
}

impl Bench {
    fn new(version: TfVersion) -> Bench {
        let moto = Moto::start().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let upstream = SocketAddr::from(([127, 0, 0, 1], moto.port));
        let proxy = rt.block_on(CountingProxy::start(upstream)).unwrap();
        let mut ws = Workspace::new(version, None).unwrap();
        ws.set_env("AWS_ENDPOINT_URL", &proxy.endpoint());
        ws.write("versions.tf", REQUIRED_PROVIDERS).unwrap();
        ws.write("main.tf", "").unwrap();
        ws.init().unwrap();
        Bench {
            _moto: moto,
            proxy,
            _rt: rt,
            ws,
        }
    }

    /// Runs one case; the mismatches, each one line.
    fn check(&self, case: &Case) -> Vec<String> {
        let mut bad = Vec::new();
        self.ws.write("main.tf", &case.text).unwrap();
        let src = Source {
            lines: case.text.lines().collect(),
        };
        let _ = self.proxy.take();
        let validate = self.ws.run(&["validate", "-json", "-no-color"]).unwrap();
        self.crashes("validate", &validate.all(), &mut bad);
        let calls = self.proxy.take();
        if calls.total() != 0 {
            bad.push(format!("validate reached AWS: {:?}", calls.0));
        }
        let vdiags = diagnostics(&validate.stdout);
        if case.fails == Stage::Validate {
            if validate.code == 0 {
                bad.push("validate succeeded".into());
            }
            self.matches(case, &src, &vdiags, "validate", &mut bad);
            return bad;
        }
        let errors: Vec<&Diag> = vdiags.iter().filter(|d| d.severity == "error").collect();
        if validate.code != 0 || !errors.is_empty() {
            bad.push(format!(
                "validate failed ({}): {errors:?} {}",
                validate.code, validate.stderr
            ));
            return bad;
        }
        let plan = self
            .ws
            .run(&["plan", "-json", "-input=false", "-no-color"])
            .unwrap();
        self.crashes("plan", &plan.all(), &mut bad);
        let calls = self.proxy.take();
        let mutating: Vec<&String> = calls
            .0
            .keys()
            .filter(|k| {
                let action = k.split_once(':').map_or(k.as_str(), |(_, a)| a);
                !["Describe", "List", "Get"]
                    .iter()
                    .any(|p| action.starts_with(p))
            })
            .collect();
        if !mutating.is_empty() {
            bad.push(format!("plan made mutating AWS calls: {:?}", calls.0));
        }
        if self.proxy.take_errors() != 0 {
            bad.push("the proxy failed to relay a call".into());
        }
        let pdiags = diagnostics(&plan.stdout);
        match case.fails {
            Stage::Plan => {
                if plan.code == 0 {
                    bad.push("plan succeeded".into());
                }
                self.matches(case, &src, &pdiags, "plan", &mut bad);
            }
            _ => {
                let errors: Vec<&Diag> = pdiags.iter().filter(|d| d.severity == "error").collect();
                if plan.code != 0 || !errors.is_empty() {
                    bad.push(format!(
                        "plan failed ({}): {errors:?} {}",
                        plan.code, plan.stderr
                    ));
                }
            }
        }
        bad
    }

    fn crashes(&self, stage: &str, output: &str, bad: &mut Vec<String>) {
        let lower = output.to_lowercase();
        for sign in CRASH_SIGNS {
            if lower.contains(sign) {
                bad.push(format!("{stage} output mentions {sign:?}: {output}"));
            }
        }
    }

    fn matches(
        &self,
        case: &Case,
        src: &Source<'_>,
        diags: &[Diag],
        stage: &str,
        bad: &mut Vec<String>,
    ) {
        let version = self.ws.version;
        for e in &case.expects {
            let legacy = version == TfVersion::V1_0;
            let Some(line) = src.expected_line(&e.address, &e.path, legacy) else {
                bad.push(format!("{} {:?}: not found in the file", e.address, e.path));
                continue;
            };
            let want_address = terraform_address(&e.address);
            let hit = diags.iter().any(|d| {
                d.severity == "error"
                    && d.text.contains(&e.fragment)
                    && d.line == Some(line as u64)
                    && d.file.as_deref() == Some("main.tf")
                    && d.address.as_ref().is_none_or(|a| *a == want_address)
            });
            if !hit {
                let seen: Vec<String> = diags
                    .iter()
                    .map(|d| {
                        format!(
                            "[{} line {:?} {:?}] {}",
                            d.severity,
                            d.line,
                            d.address.as_deref().unwrap_or("-"),
                            d.text
                        )
                    })
                    .collect();
                bad.push(format!(
                    "{stage}: no error containing {:?} on line {line} ({} {:?}); saw {seen:?}",
                    e.fragment, e.address, e.path
                ));
            }
        }
    }
}

fn run_corpus(version: TfVersion) {
    let bench = Bench::new(version);
    let cases = load();
    let mut report = Vec::new();
    for case in &cases {
        let bad = bench.check(case);
        eprintln!(
            "{version:?} {}: {}",
            case.name,
            if bad.is_empty() { "ok" } else { "MISMATCH" }
        );
        for b in bad {
            report.push(format!("{}: {b}", case.name));
        }
    }
    assert!(
        report.is_empty(),
        "{} mismatch(es) on Terraform {version:?}:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn corpus_covers_every_type_and_stage() {
    let cases = load();
    let failing = cases.iter().filter(|c| c.fails != Stage::Never).count();
    assert!(failing >= 25, "only {failing} invalid cases");
    for kind in [
        "provider.berth",
        "berth_container_app.",
        "berth_weighted_route.",
        "berth_region_pool.",
        "data.berth_availability_zones.",
    ] {
        let n = cases
            .iter()
            .filter(|c| c.expects.iter().any(|e| e.address.starts_with(kind)))
            .count();
        assert!(n >= 3, "{kind}: only {n} cases");
    }
    for stage in [Stage::Validate, Stage::Plan, Stage::Never] {
        assert!(
            cases.iter().any(|c| c.fails == stage),
            "no case for {stage:?}"
        );
    }
    // Every expectation names a place that exists in its file.
    for c in &cases {
        let src = Source {
            lines: c.text.lines().collect(),
        };
        for e in &c.expects {
            assert!(
                src.expected_line(&e.address, &e.path, false).is_some(),
                "{}: {} not in the file",
                c.name,
                e.address
            );
        }
    }
}

#[test]
fn path_locator_follows_terraform_rules() {
    let text = "resource \"t\" \"n\" {\n  name = \"x\"\n  env = {\n    A = \"1\"\n    \"B\" = \"2\"\n  }\n  target {\n    id = \"a\"\n  }\n  target {\n    id = \"b\"\n    weight = 5\n  }\n}\n";
    let src = Source {
        lines: text.lines().collect(),
    };
    let at = |p: &str| src.expected_line("t.n", &parse_path(p), false);
    assert_eq!(at("name"), Some(2));
    assert_eq!(at("env[\"B\"]"), Some(5));
    assert_eq!(at("target[1].weight"), Some(12));
    assert_eq!(at("target[0].weight"), Some(7), "missing: the block's line");
    assert_eq!(at("target"), Some(1), "several blocks, no index");
    assert_eq!(at("ttl"), Some(1));
    assert_eq!(at("env.A"), Some(4));
    assert_eq!(
        src.expected_line("t.n", &parse_path("env.A"), true),
        Some(1),
        "Terraform 1.0 stops at the block"
    );
}

#[test]
fn invalid_configs_fail_cleanly_on_terraform_latest() {
    run_corpus(TfVersion::Latest);
}

#[test]
fn invalid_configs_fail_cleanly_on_terraform_1_0_3() {
    run_corpus(TfVersion::V1_0);
}
