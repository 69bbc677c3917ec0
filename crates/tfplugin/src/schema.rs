//! Schemas: attributes, nested attributes and blocks, with descriptions,
//! defaults, validators and plan modifiers.
//!
//! A [`Schema`] gives the cty type of a resource's value
//! ([`Block::value_type`]) and everything the server needs to validate
//! configuration and plan changes. [`Schema::check`] finds the mistakes
//! Terraform would reject at `GetProviderSchema` (for example an attribute
//! that is neither required, optional nor computed) so they fail in unit
//! tests, not in front of a user.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::diag::{Diagnostic, Diagnostics};
use crate::path::AttributePath;
use crate::types::Type;
use crate::value::Value;

/// A resource, data source or provider schema.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// State schema version; bump it when the state shape changes.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema for `block`.
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }
    /// The same schema with a state version.
    #[must_use]
    pub fn version(mut self, v: i64) -> Schema {
        self.version = v;
        self
    }
    /// The cty type of values of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    /// Structural mistakes in the schema, each as an error naming the
    /// attribute. An empty result means Terraform will accept it.
    pub fn check(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        self.block.check(&AttributePath::root(), &mut d);
        d
    }
}

/// How text in a description is formatted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DescriptionKind {
    /// Plain text.
    Plain,
    /// Markdown (the default; registry docs render it).
    #[default]
    Markdown,
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested blocks, in declaration order.
    pub blocks: Vec<NestedBlock>,
    /// What the block is for.
    pub description: String,
    /// Markdown or plain.
    pub description_kind: DescriptionKind,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
}

impl Block {
    /// An empty block.
    pub fn new() -> Block {
        Block::default()
    }
    /// Adds an attribute.
    #[must_use]
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }
    /// Adds a nested block.
    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }
    /// Sets the description (markdown).
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Block {
        self.description = d.into();
        self
    }
    /// Marks the block deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Block {
        self.deprecated = true;
        self
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut attrs = std::collections::BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.value_type());
        }
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }

    /// Finds an attribute by name.
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    /// Finds a nested block by name.
    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    fn check(&self, at: &AttributePath, d: &mut Diagnostics) {
        let mut names = BTreeSet::new();
        for a in &self.attributes {
            let path = at.then_attr(&a.name);
            if !names.insert(a.name.clone()) {
                d.error_at(
                    path.clone(),
                    "Duplicate schema name",
                    format!("{path} is declared twice"),
                );
            }
            a.check(&path, d);
        }
        for b in &self.blocks {
            let path = at.then_attr(&b.name);
            if !names.insert(b.name.clone()) {
                d.error_at(
                    path.clone(),
                    "Duplicate schema name",
                    format!("{path} is declared twice"),
                );
            }
            check_name(&b.name, &path, d);
            b.block.check(&path, d);
        }
    }
}

fn check_name(name: &str, path: &AttributePath, d: &mut Diagnostics) {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !ok {
        d.error_at(
            path.clone(),
            "Invalid schema name",
            format!("{name:?} must be lowercase letters, digits and underscores"),
        );
    }
    const RESERVED: [&str; 6] = [
        "count",
        "depends_on",
        "for_each",
        "lifecycle",
        "provider",
        "provisioner",
    ];
    if path.steps().len() == 1 && RESERVED.contains(&name) {
        d.error_at(
            path.clone(),
            "Reserved schema name",
            format!("{name:?} is a Terraform meta-argument"),
        );
    }
}

/// How nested attributes or blocks repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// Exactly one object (or null).
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects by label.
    Map,
    /// One object that is never null (blocks only).
    Group,
}

/// The shape of an attribute's value.
#[derive(Clone, Debug)]
pub enum AttributeKind {
    /// A value of a cty type.
    Typed(Type),
    /// Nested attributes (protocol 6 `nested_type`).
    Nested {
        /// How the objects repeat.
        nesting: Nesting,
        /// The attributes of each object.
        attributes: Vec<Attribute>,
    },
}

/// Checks a known, non-null value and reports problems at `path`.
pub trait Validator: Send + Sync {
    /// A sentence for documentation: "must be between 1 and 100".
    fn description(&self) -> String;
    /// Adds diagnostics for a bad value; `path` names the attribute.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

/// Decides whether a change to an attribute forces replacement.
pub type ReplaceIf = Arc<dyn Fn(&Value, &Value) -> bool + Send + Sync>;

/// How planning treats an attribute.
#[derive(Clone)]
pub enum PlanModifier {
    /// A computed attribute keeps its prior value in the plan instead of
    /// becoming unknown whenever the resource changes.
    UseStateForUnknown,
    /// Any change of the value replaces the resource.
    RequiresReplace,
    /// A change replaces the resource when the function (prior, planned)
    /// returns true.
    RequiresReplaceIf(ReplaceIf, &'static str),
}

impl fmt::Debug for PlanModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanModifier::UseStateForUnknown => f.write_str("UseStateForUnknown"),
            PlanModifier::RequiresReplace => f.write_str("RequiresReplace"),
            PlanModifier::RequiresReplaceIf(_, why) => write!(f, "RequiresReplaceIf({why})"),
        }
    }
}

/// An attribute.
#[derive(Clone)]
pub struct Attribute {
    /// Name in configuration.
    pub name: String,
    /// Its value's shape.
    pub kind: AttributeKind,
    /// What it means (shown in docs and `providers schema`).
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// Set by the provider (alone or when not configured).
    pub computed: bool,
    /// Hidden in plan output.
    pub sensitive: bool,
    /// Never stored in plan or state (Terraform ≥ 1.11).
    pub write_only: bool,
    /// Deprecated: still accepted, with a warning.
    pub deprecated: Option<String>,
    /// Value planned when configuration leaves it null.
    pub default: Option<Value>,
    /// Checks on known values.
    pub validators: Vec<Arc<dyn Validator>>,
    /// Planning behaviour.
    pub plan_modifiers: Vec<PlanModifier>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("sensitive", &self.sensitive)
            .field("write_only", &self.write_only)
            .field("default", &self.default)
            .field("plan_modifiers", &self.plan_modifiers)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    /// An attribute of type `ty`; say [`Attribute::required`],
    /// [`Attribute::optional`] or [`Attribute::computed`] next.
    pub fn new(name: impl Into<String>, ty: Type) -> Attribute {
        Attribute {
            name: name.into(),
            kind: AttributeKind::Typed(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: None,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }
    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::String)
    }
    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Number)
    }
    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Bool)
    }
    /// An attribute with nested attributes.
    pub fn nested(
        name: impl Into<String>,
        nesting: Nesting,
        attributes: Vec<Attribute>,
    ) -> Attribute {
        Attribute {
            kind: AttributeKind::Nested {
                nesting,
                attributes,
            },
            ..Attribute::new(name, Type::Dynamic)
        }
    }
    /// Must be configured.
    #[must_use]
    pub fn required(mut self) -> Attribute {
        self.required = true;
        self
    }
    /// May be configured.
    #[must_use]
    pub fn optional(mut self) -> Attribute {
        self.optional = true;
        self
    }
    /// Set by the provider.
    #[must_use]
    pub fn computed(mut self) -> Attribute {
        self.computed = true;
        self
    }
    /// Hidden in plan output and logs.
    #[must_use]
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    /// Never stored in plan or state.
    #[must_use]
    pub fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }
    /// Deprecated with a message saying what to use instead.
    #[must_use]
    pub fn deprecated(mut self, message: impl Into<String>) -> Attribute {
        self.deprecated = Some(message.into());
        self
    }
    /// Describes the attribute (markdown).
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Attribute {
        self.description = d.into();
        self
    }
    /// Planned when configuration leaves the attribute null; implies
    /// optional + computed.
    #[must_use]
    pub fn default(mut self, v: impl Into<Value>) -> Attribute {
        self.default = Some(v.into());
        self.optional = true;
        self.computed = true;
        self
    }
    /// Adds a validator.
    #[must_use]
    pub fn validate(mut self, v: impl Validator + 'static) -> Attribute {
        self.validators.push(Arc::new(v));
        self
    }
    /// Adds a plan modifier.
    #[must_use]
    pub fn plan_modifier(mut self, m: PlanModifier) -> Attribute {
        self.plan_modifiers.push(m);
        self
    }
    /// Shorthand for [`PlanModifier::RequiresReplace`].
    #[must_use]
    pub fn requires_replace(self) -> Attribute {
        self.plan_modifier(PlanModifier::RequiresReplace)
    }
    /// Shorthand for [`PlanModifier::UseStateForUnknown`].
    #[must_use]
    pub fn use_state_for_unknown(self) -> Attribute {
        self.plan_modifier(PlanModifier::UseStateForUnknown)
    }

    /// The cty type of the attribute's values.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Typed(t) => t.clone(),
            AttributeKind::Nested {
                nesting,
                attributes,
            } => {
                let obj = Type::Object(
                    attributes
                        .iter()
                        .map(|a| (a.name.clone(), a.value_type()))
                        .collect(),
                );
                match nesting {
                    Nesting::Single | Nesting::Group => obj,
                    Nesting::List => Type::list(obj),
                    Nesting::Set => Type::set(obj),
                    Nesting::Map => Type::map(obj),
                }
            }
        }
    }

    /// The nested attributes, when this attribute has them.
    pub fn nested_attributes(&self) -> Option<(&Nesting, &[Attribute])> {
        match &self.kind {
            AttributeKind::Nested {
                nesting,
                attributes,
            } => Some((nesting, attributes)),
            AttributeKind::Typed(_) => None,
        }
    }

    /// True when the attribute keeps its prior value instead of unknown.
    pub fn uses_state_for_unknown(&self) -> bool {
        self.plan_modifiers
            .iter()
            .any(|m| matches!(m, PlanModifier::UseStateForUnknown))
    }

    fn check(&self, path: &AttributePath, d: &mut Diagnostics) {
        check_name(&self.name, path, d);
        let mut bad = |why: &str| {
            d.push(
                Diagnostic::error("Invalid attribute schema", format!("{path}: {why}"))
                    .at(path.clone()),
            );
        };
        if !self.required && !self.optional && !self.computed {
            bad("must be required, optional or computed");
        }
        if self.required && (self.optional || self.computed) {
            bad("required cannot be combined with optional or computed");
        }
        if self.default.is_some() && !self.computed {
            bad("a default needs computed");
        }
        if self.write_only && self.computed {
            bad("write-only attributes cannot be computed");
        }
        if self.computed && !self.optional && !self.validators.is_empty() {
            bad("validators on a computed-only attribute never run");
        }
        if let AttributeKind::Nested {
            nesting: Nesting::Group,
            ..
        } = self.kind
        {
            bad("nested attributes cannot use group nesting");
        }
        if let AttributeKind::Nested { attributes, .. } = &self.kind {
            for a in attributes {
                a.check(&path.then_attr(&a.name), d);
            }
        }
    }
}

/// A nested block.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    /// Block type name in configuration.
    pub name: String,
    /// How blocks of this type repeat.
    pub nesting: Nesting,
    /// The block's content.
    pub block: Block,
    /// Fewest blocks allowed (0 = optional).
    pub min_items: i64,
    /// Most blocks allowed (0 = unlimited).
    pub max_items: i64,
}

impl NestedBlock {
    /// A nested block type.
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> NestedBlock {
        NestedBlock {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }
    /// Sets the allowed number of blocks.
    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> NestedBlock {
        self.min_items = min;
        self.max_items = max;
        self
    }
    /// The cty type of this block's values.
    pub fn value_type(&self) -> Type {
        let obj = self.block.value_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => obj,
            Nesting::List => Type::list(obj),
            Nesting::Set => Type::set(obj),
            Nesting::Map => Type::map(obj),
        }
    }
}

/// Ready-made validators.
pub mod validators {
    use super::*;

    struct Func<F> {
        description: String,
        check: F,
    }
    impl<F> Validator for Func<F>
    where
        F: Fn(&Value) -> Result<(), String> + Send + Sync,
    {
        fn description(&self) -> String {
            self.description.clone()
        }
        fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
            if let Err(why) = (self.check)(value) {
                diags.error_at(path.clone(), format!("Invalid value for {path}"), why);
            }
        }
    }

    /// A validator from a description and a check returning the reason a
    /// value is wrong.
    pub fn check<F>(description: impl Into<String>, check: F) -> impl Validator
    where
        F: Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    {
        Func {
            description: description.into(),
            check,
        }
    }

    /// The string must be one of `allowed`.
    pub fn one_of(allowed: &[&str]) -> impl Validator {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        let list = allowed
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        check(format!("must be one of {list}"), move |v| {
            match v.as_str() {
                Some(s) if allowed.iter().any(|a| a == s) => Ok(()),
                Some(s) => Err(format!("{s:?} is not one of {list}.")),
                None => Ok(()),
            }
        })
    }

    /// The number must be a whole number in `min..=max`.
    pub fn int_between(min: i64, max: i64) -> impl Validator {
        check(
            format!("must be a whole number from {min} to {max}"),
            move |v| {
                let Some(n) = v.as_number() else {
                    return Ok(());
                };
                match n.as_i64() {
                    Some(i) if (min..=max).contains(&i) => Ok(()),
                    Some(i) => Err(format!("{i} is out of range: must be from {min} to {max}.")),
                    None => Err(format!("{n} is not a whole number from {min} to {max}.")),
                }
            },
        )
    }

    /// The string's length (in characters) must be in `min..=max`.
    pub fn length_between(min: usize, max: usize) -> impl Validator {
        check(
            format!("must be {min} to {max} characters long"),
            move |v| {
                let Some(s) = v.as_str() else { return Ok(()) };
                let n = s.chars().count();
                if (min..=max).contains(&n) {
                    Ok(())
                } else {
                    Err(format!(
                        "{s:?} is {n} characters long; it must be {min} to {max}."
                    ))
                }
            },
        )
    }

    /// The string must be an absolute `http://` or `https://` URL.
    pub fn http_url() -> impl Validator {
        check("must be an http:// or https:// URL", |v| {
            let Some(s) = v.as_str() else { return Ok(()) };
            let rest = s
                .strip_prefix("http://")
                .or_else(|| s.strip_prefix("https://"));
            match rest {
                Some(r)
                    if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) =>
                {
                    Ok(())
                }
                _ => Err(format!(
                    "{s:?} is not an http:// or https:// URL with a host."
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::validators::*;
    use super::*;

    fn sample() -> Schema {
        Schema::new(
            Block::new()
                .attribute(Attribute::string("name").required().description("n"))
                .attribute(Attribute::number("replicas").default(Value::int(2)))
                .attribute(Attribute::string("id").computed().use_state_for_unknown())
                .attribute(
                    Attribute::nested(
                        "health",
                        Nesting::Single,
                        vec![Attribute::string("path").optional()],
                    )
                    .optional(),
                )
                .block(NestedBlock::new(
                    "rule",
                    Nesting::List,
                    Block::new().attribute(Attribute::bool("on").optional()),
                )),
        )
    }

    #[test]
    fn implied_type_covers_attributes_and_blocks() {
        let t = sample().value_type();
        let Type::Object(attrs) = t else {
            panic!("object")
        };
        assert_eq!(attrs["replicas"], Type::Number);
        assert_eq!(attrs["health"], Type::object([("path", Type::String)]));
        assert_eq!(
            attrs["rule"],
            Type::list(Type::object([("on", Type::Bool)]))
        );
    }

    #[test]
    fn a_good_schema_checks_clean() {
        assert!(sample().check().is_empty(), "{}", sample().check());
    }

    #[test]
    fn schema_mistakes_are_caught_with_paths() {
        let s = Schema::new(
            Block::new()
                .attribute(Attribute::string("neither"))
                .attribute(Attribute::string("both").required().computed())
                .attribute(Attribute::string("Bad-Name").optional())
                .attribute(Attribute::string("count").optional())
                .attribute(Attribute::string("dup").optional())
                .attribute(Attribute::string("dup").optional()),
        );
        let d = s.check();
        let paths: Vec<String> = d
            .iter()
            .filter_map(|d| d.attribute.as_ref())
            .map(|p| p.to_string())
            .collect();
        for want in ["neither", "both", "Bad-Name", "count", "dup"] {
            assert!(paths.iter().any(|p| p == want), "{want} not flagged: {d}");
        }
    }

    #[test]
    fn validators_name_the_path() {
        let mut d = Diagnostics::new();
        let p = AttributePath::attr("replicas");
        int_between(1, 10).validate(&Value::int(0), &p, &mut d);
        int_between(1, 10).validate(&Value::int(5), &p, &mut d);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].attribute.as_ref().unwrap().to_string(), "replicas");
        assert!(d.0[0].detail.contains("from 1 to 10"));
        let mut d = Diagnostics::new();
        one_of(&["a", "b"]).validate(&Value::string("c"), &p, &mut d);
        http_url().validate(&Value::string("ftp://x"), &p, &mut d);
        http_url().validate(&Value::string("http://127.0.0.1:5000"), &p, &mut d);
        length_between(1, 3).validate(&Value::string("abcd"), &p, &mut d);
        assert_eq!(d.0.len(), 3, "{d}");
    }
}
