//! Generates the registry docs under `docs/` (the tfplugindocs layout:
//! `index.md`, `resources/<name>.md`, `data-sources/<name>.md`) from
//! hand-written templates, the example files and the schemas, so docs and
//! code cannot drift (`provider/tests/docs.rs` fails when `docs/` is out of
//! date; `./scripts/docs` rewrites it).
//!
//! Sources, relative to the repository root:
//!
//! - `templates/index.md.tmpl`, `templates/resources/<name>.md.tmpl`,
//!   `templates/data-sources/<name>.md.tmpl`: front matter and prose
//!   (`<name>` without the `berth_` prefix); `templates/guides/<name>.md.tmpl`:
//!   a guide, `guides/<name>.md`, as written;
//! - `examples/provider/provider.tf`,
//!   `examples/resources/<type>/resource.tf` and `import.sh`,
//!   `examples/data-sources/<type>/data-source.tf`: the example
//!   configurations (every one passes `terraform validate`, see
//!   `acceptance-tests/tests/docs_examples.rs`);
//! - the schemas (attribute descriptions) and each type's
//!   [`Permissions`].
//!
//! Templates use a subset of tfplugindocs' placeholders:
//!
//! | placeholder | becomes |
//! |---|---|
//! | `{{ .Name }}` | the type name, e.g. `berth_container_app` |
//! | `{{ .ProviderName }}` | `berth` |
//! | `{{ tffile .ExampleFile }}` | the example, in a `terraform` code block |
//! | `{{ codefile "shell" .ImportFile }}` | `import.sh`, in a `shell` code block |
//! | `{{ tffile "examples/…" }}`, `{{ codefile "LANG" "examples/…" }}` | any other file |
//! | `{{ .IAMMarkdown }}` | the "IAM permissions" section |
//! | `{{ .SchemaMarkdown }}` | the "Schema" section |
//!
//! A resource page must use the example, the import file, the IAM and the
//! schema section; a data-source page all but the import file; the index
//! the example and the schema.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::permissions::{Grant, Permissions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tfplugin::provider::Provider;
use tfplugin::schema::{Attribute, AttributeKind, Block, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

/// The command that regenerates `docs/`.
pub const COMMAND: &str = "./scripts/docs";

/// The IAM permissions of the resource or data source `type_name`, or
/// `None` when it has not declared them (see [`crate::registry`]).
pub fn permissions(type_name: &str) -> Option<&'static Permissions> {
    crate::registry::permissions(type_name)
}

// ---- schema -----------------------------------------------------------------

fn type_name(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s:?}`"),
        Value::Number(n) => format!("`{}`", n.canonical()),
        Value::Bool(b) => format!("`{b}`"),
        _ => "set".into(),
    }
}

fn nesting_name(n: Nesting) -> &'static str {
    match n {
        Nesting::Single | Nesting::Group => "",
        Nesting::List => " List",
        Nesting::Set => " Set",
        Nesting::Map => " Map",
    }
}

/// What the nested sections are anchored and titled by.
struct Nested {
    /// Dotted path, e.g. `region.health_check`.
    path: String,
    /// HTML anchor, e.g. `nestedblock--region--health_check`.
    anchor: String,
    content: NestedContent,
}

enum NestedContent {
    Block(Block),
    Attributes(Vec<Attribute>),
}

fn anchor(kind: &str, path: &str) -> String {
    format!("nested{kind}--{}", path.replace('.', "--"))
}

fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn attribute_line(out: &mut String, a: &Attribute, parent: &str, nested: &mut Vec<Nested>) {
    let ty = match &a.kind {
        AttributeKind::Typed(t) => type_name(t),
        AttributeKind::Nested { nesting, .. } => format!("Attributes{}", nesting_name(*nesting)),
    };
    let mut notes = String::new();
    for (on, note) in [
        (a.sensitive, "Sensitive"),
        (a.write_only, "Write-only"),
        (a.deprecated.is_some(), "Deprecated"),
    ] {
        if on {
            let _ = write!(notes, ", {note}");
        }
    }
    let _ = write!(out, "- `{}` ({ty}{notes})", a.name);
    if !a.description.is_empty() {
        let _ = write!(out, " {}", a.description.trim());
    }
    if let Some(d) = &a.default
        && !a.description.contains("Default")
    {
        let _ = write!(out, " Default {}.", literal(d));
    }
    if let Some(msg) = &a.deprecated {
        let _ = write!(out, " Deprecated: {msg}");
    }
    if let AttributeKind::Typed(Type::List(e) | Type::Set(e)) = &a.kind
        && let Type::Object(fields) = e.as_ref()
    {
        let names: Vec<String> = fields.keys().map(|k| format!("`{k}`")).collect();
        let _ = write!(out, " Each element has {}.", names.join(", "));
    }
    if let AttributeKind::Nested { attributes, .. } = &a.kind {
        let path = join_path(parent, &a.name);
        let id = anchor("att", &path);
        let _ = write!(out, " (see [below for nested schema](#{id}))");
        nested.push(Nested {
            path,
            anchor: id,
            content: NestedContent::Attributes(attributes.clone()),
        });
    }
    out.push('\n');
}

type Pick = fn(&Attribute) -> bool;
const GROUPS: [(&str, Pick); 3] = [
    ("Required", |a| a.required),
    ("Optional", |a| a.optional),
    ("Read-Only", |a| a.computed && !a.optional && !a.required),
];

/// The Required / Optional / Read-Only lists of one block; `heading`
/// formats a group's title.
fn block_groups(
    out: &mut String,
    block: &Block,
    parent: &str,
    heading: fn(&str) -> String,
    nested: &mut Vec<Nested>,
) {
    for (title, pick) in GROUPS {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = match title {
            "Required" => block.blocks.iter().filter(|b| b.min_items > 0).collect(),
            "Optional" => block.blocks.iter().filter(|b| b.min_items == 0).collect(),
            _ => vec![],
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}\n", heading(title));
        for a in attrs {
            attribute_line(out, a, parent, nested);
        }
        for b in blocks {
            let mut limits = Vec::new();
            if b.min_items > 0 {
                limits.push(format!("Min: {}", b.min_items));
            }
            if b.max_items > 0 && !matches!(b.nesting, Nesting::Single | Nesting::Group) {
                limits.push(format!("Max: {}", b.max_items));
            }
            let limits = if limits.is_empty() {
                String::new()
            } else {
                format!(", {}", limits.join(", "))
            };
            let path = join_path(parent, &b.name);
            let id = anchor("block", &path);
            let _ = writeln!(
                out,
                "- `{}` (Block{}{limits}) {} (see [below for nested schema](#{id}))",
                b.name,
                nesting_name(b.nesting),
                b.block.description.trim(),
            );
            nested.push(Nested {
                path,
                anchor: id,
                content: NestedContent::Block(b.block.clone()),
            });
        }
    }
}

/// The "Schema" section for `schema`, heading included.
pub fn schema_markdown(schema: &Schema) -> String {
    let mut out = String::from("## Schema\n");
    let mut nested = Vec::new();
    block_groups(
        &mut out,
        &schema.block,
        "",
        |t| format!("### {t}"),
        &mut nested,
    );
    let mut i = 0;
    while i < nested.len() {
        let path = nested[i].path.clone();
        let _ = writeln!(
            out,
            "\n<a id=\"{}\"></a>\n### Nested Schema for `{path}`",
            nested[i].anchor
        );
        let mut inner = Vec::new();
        match &nested[i].content {
            NestedContent::Block(b) => {
                block_groups(&mut out, b, &path, |t| format!("{t}:"), &mut inner);
            }
            NestedContent::Attributes(attrs) => {
                let b = Block {
                    attributes: attrs.clone(),
                    ..Block::default()
                };
                block_groups(&mut out, &b, &path, |t| format!("{t}:"), &mut inner);
            }
        }
        nested.extend(inner);
        i += 1;
    }
    out
}

/// Every attribute and nested block of `schema` without a description,
/// by dotted path (`timeouts.create`), plus `(resource)` when the schema
/// itself has none.
pub fn missing_descriptions(schema: &Schema) -> Vec<String> {
    fn attrs(list: &[Attribute], parent: &str, out: &mut Vec<String>) {
        for a in list {
            let path = join_path(parent, &a.name);
            if a.description.trim().is_empty() {
                out.push(path.clone());
            }
            if let AttributeKind::Nested { attributes, .. } = &a.kind {
                attrs(attributes, &path, out);
            }
        }
    }
    fn block(b: &Block, parent: &str, out: &mut Vec<String>) {
        attrs(&b.attributes, parent, out);
        for nb in &b.blocks {
            let path = join_path(parent, &nb.name);
            if nb.block.description.trim().is_empty() {
                out.push(path.clone());
            }
            block(&nb.block, &path, out);
        }
    }
    let mut out = Vec::new();
    if schema.block.description.trim().is_empty() {
        out.push("(the schema itself)".to_string());
    }
    block(&schema.block, "", &mut out);
    out
}

// ---- IAM --------------------------------------------------------------------

/// `BerthContainerApp` for `berth_container_app`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn statement(sid: &str, actions: &[&str], g: Option<&Grant>) -> serde_json::Value {
    let action = match actions {
        [one] => serde_json::Value::from(*one),
        many => serde_json::Value::from(many.to_vec()),
    };
    let mut s = serde_json::Map::new();
    s.insert("Sid".into(), sid.into());
    s.insert("Effect".into(), "Allow".into());
    s.insert("Action".into(), action);
    s.insert("Resource".into(), g.map_or("*", |g| g.resource).into());
    if let Some((op, key, value)) = g.and_then(|g| g.condition) {
        let values = if op.starts_with("ForAllValues") || op.starts_with("ForAnyValue") {
            serde_json::Value::from(vec![value])
        } else {
            serde_json::Value::from(value)
        };
        s.insert(
            "Condition".into(),
            serde_json::json!({ op: { key: values } }),
        );
    }
    serde_json::Value::Object(s)
}

fn grant_statement(sid: &str, g: &Grant) -> serde_json::Value {
    statement(&format!("{sid}{}", camel(g.actions[0])), g.actions, Some(g))
}

fn policy(statements: Vec<serde_json::Value>) -> String {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": statements,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The policy for Terraform's credentials: one statement with every
/// always-needed action, one per conditional grant.
pub fn terraform_policy(sid: &str, actions: &[&str], conditional: &[Grant]) -> String {
    let mut st = vec![statement(sid, actions, None)];
    st.extend(conditional.iter().map(|g| grant_statement(sid, g)));
    policy(st)
}

fn instance_policy(sid: &str, p: &Permissions) -> String {
    policy(
        p.instance_role
            .iter()
            .map(|g| grant_statement(sid, g))
            .collect(),
    )
}

fn actions_list(actions: &[&str]) -> String {
    actions.iter().map(|a| format!("- `{a}`\n")).collect()
}

/// The "IAM permissions" section of one resource or data source,
/// heading included.
pub fn iam_markdown(kind: Kind, type_name: &str, p: &Permissions) -> String {
    let sid = camel(type_name);
    let calls = match kind {
        Kind::DataSource => "every AWS call its read makes",
        _ => "every AWS call its create, read, update, delete and import make",
    };
    let mut out = String::from("## IAM permissions\n\n");
    let _ = write!(
        out,
        "The credentials Terraform runs with need these actions for `{type_name}` \
         ({calls}):\n\n{}",
        actions_list(p.actions)
    );
    for g in p.conditional {
        let _ = write!(
            out,
            "\nOnly when {}: {} ({}).\n",
            g.when,
            g.actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            g.why
        );
    }
    let _ = write!(
        out,
        "\nAs a policy for the role or user Terraform runs as:\n\n```json\n{}\n```\n",
        terraform_policy(&sid, p.actions, p.conditional)
    );
    if !p.instance_role.is_empty() {
        out.push_str(
            "\n### Instance role\n\nTerraform's credentials do not need these; the app's instances do, \
             through their instance profile. Without `instance_profile`, berth makes a role for the \
             app (`instance_role`) with exactly these, narrowed to the app's own instances, parameters \
             and secrets; a profile of your own (`instance_profile`) needs them too:\n\n",
        );
        for g in p.instance_role {
            let acts = g
                .actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let when = if g.when.is_empty() {
                String::new()
            } else {
                format!(" (when {})", g.when)
            };
            let _ = writeln!(out, "- {acts}{when}: {}", g.why);
        }
        let _ = write!(
            out,
            "\n```json\n{}\n```\n",
            instance_policy(&format!("{sid}Instance"), p)
        );
    }
    out
}

/// The index page's "IAM permissions" section: one policy for every
/// resource and data source.
fn provider_iam_markdown(all: &[&Permissions]) -> String {
    let mut actions = BTreeSet::new();
    let mut conditional: Vec<Grant> = Vec::new();
    for p in all {
        actions.extend(p.actions.iter().copied());
        for g in p.conditional {
            if !conditional.iter().any(|c| c.actions == g.actions) {
                conditional.push(*g);
            }
        }
    }
    // An action one type always needs is not conditional overall.
    conditional.retain(|g| !g.actions.iter().all(|a| actions.contains(a)));
    let actions: Vec<&'static str> = actions.into_iter().collect();
    let mut out = String::from("## IAM permissions\n\n");
    out.push_str(
        "Each resource and data source page lists the actions it needs and why. \
         One policy that covers all of them, for the role or user Terraform runs as:\n\n",
    );
    let _ = write!(
        out,
        "```json\n{}\n```\n",
        terraform_policy("Berth", &actions, &conditional)
    );
    for g in &conditional {
        let _ = write!(
            out,
            "\nThe {} statement is needed only when {} ({}).\n",
            g.actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            g.when,
            g.why
        );
    }
    out.push_str(
        "\n`berth_container_app` instances need their own instance profile as well; see \
         [its page](resources/container_app.md#instance-role).\n",
    );
    out
}

// ---- templates ----------------------------------------------------------------

/// What a page is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The provider (`docs/index.md`).
    Provider,
    /// A managed resource.
    Resource,
    /// A data source.
    DataSource,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Provider => "",
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
        }
    }
}

/// Everything a template can refer to.
pub struct Subject {
    /// What the page documents.
    pub kind: Kind,
    /// Type name (`berth_container_app`; the provider's name for the index).
    pub name: String,
    /// Its schema.
    pub schema: Schema,
    /// The rendered "IAM permissions" section, if any.
    pub iam: Option<String>,
    /// The example file, relative to the repository root.
    pub example: String,
    /// The import file, relative to the repository root (resources).
    pub import: Option<String>,
}

impl Subject {
    /// `templates/…` for this subject.
    pub fn template_path(&self) -> String {
        match self.kind {
            Kind::Provider => "templates/index.md.tmpl".into(),
            k => format!("templates/{}/{}.md.tmpl", k.dir(), short(&self.name)),
        }
    }

    /// `docs/…` relative to `docs/`.
    pub fn page_path(&self) -> PathBuf {
        match self.kind {
            Kind::Provider => PathBuf::from("index.md"),
            k => Path::new(k.dir()).join(format!("{}.md", short(&self.name))),
        }
    }
}

fn short(type_name: &str) -> &str {
    type_name.strip_prefix("berth_").unwrap_or(type_name)
}

/// Reads a repository file for a template.
pub trait Files {
    /// The text of `path` (relative to the repository root).
    ///
    /// # Errors
    /// A message naming the file when it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// Files under a directory on disk.
pub struct Dir(pub PathBuf);

impl Files for Dir {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(self.0.join(path)).map_err(|e| format!("{path}: {e}"))
    }
}

fn fenced(lang: &str, text: &str) -> String {
    format!("```{lang}\n{}\n```", text.trim_end())
}

/// Parses `"quoted"` at the start of `s`; returns it and the rest.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start().strip_prefix('"')?;
    let end = s.find('"')?;
    Some((&s[..end], &s[end + 1..]))
}

/// Renders a template for `subject`.
///
/// # Errors
/// Every problem found, each naming the template: an unknown placeholder,
/// a missing file, a required section the template does not use.
pub fn render(
    template_name: &str,
    template: &str,
    subject: &Subject,
    files: &dyn Files,
) -> Result<String, Vec<String>> {
    let mut errors = Vec::new();
    let mut out = String::new();
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            errors.push(format!("{template_name}: `{{{{` without `}}}}`"));
            rest = "";
            break;
        };
        let expr = after[..end].trim();
        rest = &after[end + 2..];
        let file_arg = |arg: &str, used: &mut BTreeSet<&str>| -> Result<String, String> {
            let arg = arg.trim();
            match arg {
                ".ExampleFile" => {
                    used.insert("example");
                    Ok(subject.example.clone())
                }
                ".ImportFile" => {
                    used.insert("import");
                    subject
                        .import
                        .clone()
                        .ok_or_else(|| format!("{template_name}: .ImportFile is for resources"))
                }
                _ => match quoted(arg) {
                    Some((p, tail)) if tail.trim().is_empty() => Ok(p.to_string()),
                    _ => Err(format!("{template_name}: bad file argument {arg:?}")),
                },
            }
        };
        let value = if expr == ".Name" {
            Ok(subject.name.clone())
        } else if expr == ".ProviderName" {
            Ok("berth".to_string())
        } else if expr == ".SchemaMarkdown" || expr == ".SchemaMarkdown | trimspace" {
            used.insert("schema");
            Ok(schema_markdown(&subject.schema).trim().to_string())
        } else if expr == ".IAMMarkdown" || expr == ".IAMMarkdown | trimspace" {
            used.insert("iam");
            subject
                .iam
                .as_ref()
                .map(|s| s.trim().to_string())
                .ok_or_else(|| format!("{template_name}: no IAM permissions for {}", subject.name))
        } else if let Some(arg) = expr.strip_prefix("tffile ") {
            file_arg(arg, &mut used)
                .and_then(|p| files.read(&p))
                .map(|t| fenced("terraform", &t))
        } else if let Some(args) = expr.strip_prefix("codefile ") {
            match quoted(args) {
                Some((lang, arg)) => file_arg(arg, &mut used)
                    .and_then(|p| files.read(&p))
                    .map(|t| fenced(lang, &t)),
                None => Err(format!(
                    "{template_name}: codefile needs a quoted language: {{{{ {expr} }}}}"
                )),
            }
        } else {
            Err(format!(
                "{template_name}: unknown placeholder {{{{ {expr} }}}}"
            ))
        };
        match value {
            Ok(v) => out.push_str(&v),
            Err(e) => errors.push(e),
        }
    }
    out.push_str(rest);
    let required: &[(&str, &str)] = match subject.kind {
        Kind::Provider => &[
            ("example", "{{ tffile .ExampleFile }}"),
            ("schema", "{{ .SchemaMarkdown }}"),
            ("iam", "{{ .IAMMarkdown }}"),
        ],
        Kind::Resource => &[
            ("example", "{{ tffile .ExampleFile }}"),
            ("import", "{{ codefile \"shell\" .ImportFile }}"),
            ("iam", "{{ .IAMMarkdown }}"),
            ("schema", "{{ .SchemaMarkdown }}"),
        ],
        Kind::DataSource => &[
            ("example", "{{ tffile .ExampleFile }}"),
            ("iam", "{{ .IAMMarkdown }}"),
            ("schema", "{{ .SchemaMarkdown }}"),
        ],
    };
    for (key, placeholder) in required {
        if !used.contains(key) {
            errors.push(format!("{template_name}: must use {placeholder}"));
        }
    }
    // The generated-file notice goes after the front matter.
    let notice = format!(
        "<!-- Generated by {COMMAND} from {template_name}, the example files and the schema; edit those, not this file. -->\n"
    );
    let page = match out
        .strip_prefix("---\n")
        .and_then(|body| body.find("\n---\n").map(|i| i + 4 + 5))
    {
        Some(end) => format!("{}{notice}{}", &out[..end], &out[end..]),
        None => {
            errors.push(format!(
                "{template_name}: must start with front matter (`---` … `---`)"
            ));
            out
        }
    };
    if errors.is_empty() {
        Ok(normalise(&page))
    } else {
        Err(errors)
    }
}

/// Trailing spaces removed, at most one blank line in a row outside code
/// blocks, one newline at the end.
fn normalise(page: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    let mut in_code = false;
    for line in page.lines() {
        let line = line.trim_end();
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if line.is_empty() && blank && !in_code {
            continue;
        }
        blank = line.is_empty();
        out.push_str(line);
        out.push('\n');
    }
    format!("{}\n", out.trim_end())
}

/// Every subject of `provider`: the index, then resources, then data
/// sources, with their IAM sections rendered.
pub fn subjects(provider: &dyn Provider) -> Vec<Subject> {
    let mut all: Vec<&'static Permissions> = Vec::new();
    let mut out = Vec::new();
    for r in provider.resources() {
        let name = r.type_name().to_string();
        let p = permissions(&name);
        all.extend(p);
        out.push(Subject {
            kind: Kind::Resource,
            iam: p.map(|p| iam_markdown(Kind::Resource, &name, p)),
            example: format!("examples/resources/{name}/resource.tf"),
            import: Some(format!("examples/resources/{name}/import.sh")),
            schema: r.schema(),
            name,
        });
    }
    for d in provider.data_sources() {
        let name = d.type_name().to_string();
        let p = permissions(&name);
        all.extend(p);
        out.push(Subject {
            kind: Kind::DataSource,
            iam: p.map(|p| iam_markdown(Kind::DataSource, &name, p)),
            example: format!("examples/data-sources/{name}/data-source.tf"),
            import: None,
            schema: d.schema(),
            name,
        });
    }
    out.insert(
        0,
        Subject {
            kind: Kind::Provider,
            name: provider.type_name().to_string(),
            schema: provider.schema(),
            iam: Some(provider_iam_markdown(&all)),
            example: "examples/provider/provider.tf".into(),
            import: None,
        },
    );
    out
}

/// Every page of `docs/` (path relative to `docs/` → content), generated
/// from the templates and examples under `root`.
///
/// # Errors
/// Every problem found: missing descriptions (naming the attribute),
/// templates, example or import files, IAM declarations, resources that
/// cannot be imported, leftover templates or example folders.
pub fn generate(
    provider: &dyn Provider,
    root: &Path,
) -> Result<BTreeMap<PathBuf, String>, Vec<String>> {
    let files = Dir(root.to_path_buf());
    let mut errors = Vec::new();
    let mut pages = BTreeMap::new();
    let importable: BTreeSet<String> = provider
        .resources()
        .iter()
        .filter(|r| r.as_import().is_some())
        .map(|r| r.type_name().to_string())
        .collect();
    let subjects = subjects(provider);
    for s in &subjects {
        for path in missing_descriptions(&s.schema) {
            errors.push(format!("{}: `{path}` has no description", s.name));
        }
        if s.kind != Kind::Provider {
            match permissions(&s.name) {
                None => errors.push(format!(
                    "{}: no IAM permissions declared (add an `IAM` constant next to it and list it with the type in registry.rs)",
                    s.name
                )),
                Some(p) => errors.extend(
                    p.problems()
                        .into_iter()
                        .map(|e| format!("{}: IAM {e}", s.name)),
                ),
            }
        }
        if s.kind == Kind::Resource && !importable.contains(&s.name) {
            errors.push(format!(
                "{}: every resource must support import (its page shows the syntax)",
                s.name
            ));
        }
        let tmpl_path = s.template_path();
        let Ok(template) = files.read(&tmpl_path) else {
            errors.push(format!(
                "{tmpl_path} is missing: write the page's front matter and prose (copy another template)"
            ));
            continue;
        };
        match render(&tmpl_path, &template, s, &files) {
            Ok(page) => {
                pages.insert(s.page_path(), page);
            }
            Err(e) => errors.extend(e),
        }
    }
    errors.extend(leftovers(root, &subjects));
    pages.extend(guides(root));
    if errors.is_empty() {
        Ok(pages)
    } else {
        Err(errors)
    }
}

/// The guides: each `templates/guides/<name>.md.tmpl` is the page
/// `guides/<name>.md` as written (prose only, no placeholders).
fn guides(root: &Path) -> BTreeMap<PathBuf, String> {
    entries(&root.join("templates").join("guides"))
        .into_iter()
        .filter_map(|e| {
            let name = e.strip_suffix(".md.tmpl")?;
            let text =
                std::fs::read_to_string(root.join("templates").join("guides").join(&e)).ok()?;
            Some((
                PathBuf::from("guides").join(format!("{name}.md")),
                normalise(&text),
            ))
        })
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Templates and example folders that belong to no resource or data source.
fn leftovers(root: &Path, subjects: &[Subject]) -> Vec<String> {
    let mut errors = Vec::new();
    let names = |k: Kind| -> BTreeSet<String> {
        subjects
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| s.name.clone())
            .collect()
    };
    for kind in [Kind::Resource, Kind::DataSource] {
        let known = names(kind);
        for e in entries(&root.join("examples").join(kind.dir())) {
            if !known.contains(&e) {
                errors.push(format!(
                    "examples/{}/{e}: no such {} (remove the folder)",
                    kind.dir(),
                    kind.dir().trim_end_matches('s')
                ));
            }
        }
        for e in entries(&root.join("templates").join(kind.dir())) {
            let ok = e
                .strip_suffix(".md.tmpl")
                .is_some_and(|n| known.contains(&format!("berth_{n}")));
            if !ok {
                errors.push(format!(
                    "templates/{}/{e}: no such {} (remove the template)",
                    kind.dir(),
                    kind.dir().trim_end_matches('s')
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BerthProvider;

    struct NoFiles;
    impl Files for NoFiles {
        fn read(&self, path: &str) -> Result<String, String> {
            Ok(format!("# {path}\n"))
        }
    }

    #[test]
    fn schema_sections_group_attributes_and_anchor_nested_blocks() {
        let s = crate::resources::container_app::schema::schema();
        let text = schema_markdown(&s);
        assert!(text.contains("### Required\n\n- `name` (String)"), "{text}");
        assert!(text.contains("### Read-Only\n"), "{text}");
        assert!(
            text.contains(
                "<a id=\"nestedblock--health_check\"></a>\n### Nested Schema for `health_check`\n\nOptional:\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("- `sidecar` (Block List) An extra container"),
            "{text}"
        );
        assert!(
            text.contains("(see [below for nested schema](#nestedblock--sidecar))"),
            "{text}"
        );
        let pool = crate::resources::region_pool::schema();
        let text = schema_markdown(&pool);
        assert!(text.contains("- `region` (Block Set, Min: 1)"), "{text}");
        assert!(
            text.contains("<a id=\"nestedblock--region--health_check\"></a>\n### Nested Schema for `region.health_check`"),
            "{text}"
        );
        let provider = BerthProvider::new().schema();
        let text = schema_markdown(&provider);
        assert!(
            text.contains("<a id=\"nestedatt--endpoints\"></a>\n### Nested Schema for `endpoints`\n\nOptional:\n\n- `autoscaling` (String)"),
            "{text}"
        );
    }

    #[test]
    fn missing_descriptions_are_named_by_path() {
        use tfplugin::schema::{NestedBlock, Nesting};
        let s = Schema::new(
            Block::new()
                .description("x")
                .attribute(Attribute::string("a").optional().description("A."))
                .attribute(Attribute::string("b").optional())
                .attribute(Attribute::nested(
                    "n",
                    Nesting::Single,
                    vec![Attribute::string("inner").optional()],
                ))
                .block(NestedBlock::new(
                    "blk",
                    Nesting::List,
                    Block::new().attribute(Attribute::string("deep").optional()),
                )),
        );
        assert_eq!(
            missing_descriptions(&s),
            vec!["b", "n", "n.inner", "blk", "blk.deep"]
        );
        for r in BerthProvider::new().resources() {
            assert_eq!(missing_descriptions(&r.schema()), Vec::<String>::new());
        }
    }

    #[test]
    fn every_type_declares_sorted_unique_iam_actions() {
        let p = BerthProvider::new();
        let names: Vec<String> = p
            .resources()
            .iter()
            .map(|r| r.type_name().to_string())
            .chain(p.data_sources().iter().map(|d| d.type_name().to_string()))
            .collect();
        for name in names {
            let perms = permissions(&name).unwrap_or_else(|| panic!("{name}: no IAM"));
            assert!(!perms.actions.is_empty(), "{name}");
            assert_eq!(perms.problems(), Vec::<String>::new(), "{name}");
            let all = perms.terraform_actions();
            assert!(all.windows(2).all(|w| w[0] < w[1]), "{name}: {all:?}");
        }
        let bad = Permissions {
            actions: &["ec2:b", "ec2:A", "ec2:A"],
            conditional: &[],
            instance_role: &[],
        };
        assert_eq!(bad.problems().len(), 2, "{:?}", bad.problems());
    }

    #[test]
    fn policies_are_valid_json_with_every_action() {
        let p = &crate::resources::container_app::IAM;
        let text = terraform_policy("BerthContainerApp", p.actions, p.conditional);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut seen = Vec::new();
        for st in doc["Statement"].as_array().into_iter().flatten() {
            match &st["Action"] {
                serde_json::Value::String(s) => seen.push(s.clone()),
                serde_json::Value::Array(a) => {
                    seen.extend(a.iter().filter_map(|v| v.as_str().map(String::from)));
                }
                _ => panic!("{st}"),
            }
        }
        seen.sort();
        // An action may be in two statements (iam:PassRole: on berth's
        // role, or on the user's with a condition).
        seen.dedup();
        assert_eq!(seen, p.terraform_actions());
        assert!(
            text.contains("\"iam:PassedToService\": \"ec2.amazonaws.com\""),
            "{text}"
        );
        let md = iam_markdown(Kind::Resource, "berth_container_app", p);
        assert!(md.contains("### Instance role"), "{md}");
        assert!(md.contains("- `ec2:RunInstances`\n"), "{md}");
    }

    #[test]
    fn templates_expand_placeholders_and_require_sections() {
        let subject = Subject {
            kind: Kind::Resource,
            name: "berth_thing".into(),
            schema: Schema::new(Block::new().description("A thing.")),
            iam: Some("## IAM permissions\n\n- `ec2:X`\n".into()),
            example: "examples/resources/berth_thing/resource.tf".into(),
            import: Some("examples/resources/berth_thing/import.sh".into()),
        };
        let tmpl = "---\npage_title: \"{{ .Name }}\"\n---\n\n# {{ .Name }}\n\n## Example Usage\n\n{{ tffile .ExampleFile }}\n\n## Import\n\n{{ codefile \"shell\" .ImportFile }}\n\n\n\n{{ .IAMMarkdown }}\n\n{{ .SchemaMarkdown | trimspace }}\n";
        let page = render("t.md.tmpl", tmpl, &subject, &NoFiles).unwrap_or_default();
        assert!(
            page.starts_with("---\npage_title: \"berth_thing\"\n---\n<!-- Generated by ./scripts/docs from t.md.tmpl"),
            "{page}"
        );
        assert!(
            page.contains("```terraform\n# examples/resources/berth_thing/resource.tf\n```"),
            "{page}"
        );
        assert!(
            page.contains("```shell\n# examples/resources/berth_thing/import.sh\n```\n\n## IAM"),
            "blank lines collapsed: {page}"
        );
        assert!(page.ends_with("## Schema\n"), "{page}");

        let errs = render("t.md.tmpl", "---\n---\n{{ .Nope }}", &subject, &NoFiles)
            .err()
            .unwrap_or_default();
        assert!(
            errs.iter()
                .any(|e| e.contains("unknown placeholder {{ .Nope }}")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("must use {{ codefile \"shell\" .ImportFile }}")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("must use {{ .IAMMarkdown }}")),
            "{errs:?}"
        );
    }
}
