//! Typed models: a resource's configuration or state as a Rust struct,
//! read from a [`Value`] once and written back once, in the manner of
//! terraform-plugin-framework's `req.Plan.Get(ctx, &model)` and
//! `resp.State.Set(ctx, model)`.
//!
//! A model is a struct with `#[derive(Model)]`: one field per attribute or
//! nested block. Field types say what a position may hold:
//! - [`Attr<T>`]: null, unknown (with Terraform's refinements, kept so they
//!   can be handed back unchanged) or known — configuration and plans;
//! - `Option<T>`: null or known — state, where nothing is unknown;
//! - `T`: known only;
//! - `String`, `i64`, `f64`, `bool`, `Vec<T>` (lists), [`Set<T>`] (sets),
//!   `BTreeMap<String, T>` (maps), another model (objects and nested
//!   blocks), and [`Value`] itself for a position left untyped.
//!
//! Guarantees:
//! - [`Value::get`] reads every field and reports every one that does not
//!   fit, each as an error diagnostic on its own attribute path; it returns
//!   the model only when there are none.
//! - [`ToValue::to_value`] writes every field. A model that names every
//!   attribute and block of its schema therefore round-trips a value
//!   exactly; [`assert_covers`] checks that against the schema, nested
//!   blocks included, so an attribute added to the schema and not to the
//!   model fails a unit test instead of vanishing from state.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::path::AttributePath;
use crate::schema::Block;
use crate::types::Type;
use crate::value::{Number, Refinements, Value};

pub use tfplugin_derive::Model;

/// Reads a value of a schema position into a Rust value.
pub trait FromValue: Sized {
    /// The Rust value, or `None` after pushing at least one error to
    /// `diags` (each at `path` or below it).
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self>;
}

/// Writes a Rust value as the value of a schema position.
pub trait ToValue {
    /// The cty value.
    fn to_value(&self) -> Value;
    /// True when nothing in it is unknown (what
    /// [`Value::is_wholly_known`] says of [`ToValue::to_value`]).
    fn is_wholly_known(&self) -> bool {
        true
    }
}

/// A struct that is an object type's model (`#[derive(Model)]`).
pub trait Model: FromValue + ToValue {
    /// The attribute and block names, in declaration order.
    const ATTRIBUTES: &'static [&'static str];
}

impl Value {
    /// Reads the model `M` from this value; every misfit is an error
    /// diagnostic on its attribute path.
    pub fn get<M: FromValue>(&self) -> Result<M, Diagnostics> {
        let mut diags = Diagnostics::new();
        match M::from_value(self, &AttributePath::root(), &mut diags) {
            Some(m) if !diags.has_errors() => Ok(m),
            _ => {
                if !diags.has_errors() {
                    diags.push(Diagnostic::error(
                        "Value does not fit its model",
                        "The provider could not read this value.",
                    ));
                }
                Err(diags)
            }
        }
    }

    /// The value of a model (`ToValue::to_value`, spelled for call sites
    /// that read like the framework's `State.Set`).
    pub fn from_model<M: ToValue + ?Sized>(model: &M) -> Value {
        model.to_value()
    }
}

/// A position that may be null, unknown or known.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Attr<T> {
    /// Null: not set.
    #[default]
    Null,
    /// Not known until apply; Terraform's refinements kept as they came.
    Unknown(Refinements),
    /// Known.
    Known(T),
}

impl<T> Attr<T> {
    /// A plain unknown.
    pub fn unknown() -> Attr<T> {
        Attr::Unknown(Refinements::default())
    }
    /// The known value.
    pub fn known(&self) -> Option<&T> {
        match self {
            Attr::Known(t) => Some(t),
            _ => None,
        }
    }
    /// The known value, taken.
    pub fn into_known(self) -> Option<T> {
        match self {
            Attr::Known(t) => Some(t),
            _ => None,
        }
    }
    /// True when null.
    pub fn is_null(&self) -> bool {
        matches!(self, Attr::Null)
    }
    /// True when unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown(_))
    }
    /// `Known(f(t))`, null and unknown unchanged.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attr<U> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown(r) => Attr::Unknown(r),
            Attr::Known(t) => Attr::Known(f(t)),
        }
    }
    /// A borrowed view.
    pub fn as_ref(&self) -> Attr<&T> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown(r) => Attr::Unknown(r.clone()),
            Attr::Known(t) => Attr::Known(t),
        }
    }
}

impl<T> From<Option<T>> for Attr<T> {
    fn from(o: Option<T>) -> Attr<T> {
        o.map_or(Attr::Null, Attr::Known)
    }
}

impl Attr<String> {
    /// The known string.
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

/// The elements of a set (a list in Rust; order carries no meaning).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Set<T>(pub Vec<T>);

fn misfit(path: &AttributePath, diags: &mut Diagnostics, detail: String) {
    diags.push(Diagnostic::error("Unexpected value", detail).at(path.clone()));
}

fn name(path: &AttributePath) -> String {
    if path.is_root() {
        "The value".to_string()
    } else {
        format!("`{path}`")
    }
}

fn known<'a>(v: &'a Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<&'a Value> {
    let v = match v {
        Value::Dynamic(_, inner) => inner,
        v => v,
    };
    match v {
        Value::Null => {
            misfit(path, diags, format!("{} must be set.", name(path)));
            None
        }
        Value::Unknown(_) => {
            misfit(
                path,
                diags,
                format!("{} is not known yet; it must be known here.", name(path)),
            );
            None
        }
        v => Some(v),
    }
}

fn wrong(path: &AttributePath, diags: &mut Diagnostics, want: &str) {
    misfit(path, diags, format!("{} must be {want}.", name(path)));
}

/// The entries of an object (for derived models); an error when `v` is
/// not a known object.
pub fn object_of<'a>(
    v: &'a Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) -> Option<&'a BTreeMap<String, Value>> {
    match known(v, path, diags)? {
        Value::Object(m) => Some(m),
        _ => {
            wrong(path, diags, "an object");
            None
        }
    }
}

/// An object's attribute; null when absent (for derived models).
pub fn attribute_of<'a>(obj: &'a BTreeMap<String, Value>, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    obj.get(name).unwrap_or(&NULL)
}

impl<T: FromValue> FromValue for Attr<T> {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        match v {
            Value::Null => Some(Attr::Null),
            Value::Unknown(r) => Some(Attr::Unknown(r.clone())),
            Value::Dynamic(_, inner) if inner.is_null() || inner.is_unknown() => {
                Attr::from_value(inner, path, diags)
            }
            v => T::from_value(v, path, diags).map(Attr::Known),
        }
    }
}

impl<T: ToValue> ToValue for Attr<T> {
    fn to_value(&self) -> Value {
        match self {
            Attr::Null => Value::Null,
            Attr::Unknown(r) => Value::Unknown(r.clone()),
            Attr::Known(t) => t.to_value(),
        }
    }
    fn is_wholly_known(&self) -> bool {
        match self {
            Attr::Null => true,
            Attr::Unknown(_) => false,
            Attr::Known(t) => t.is_wholly_known(),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        if v.is_null() {
            Some(None)
        } else {
            known(v, path, diags)?;
            T::from_value(v, path, diags).map(Some)
        }
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
    fn is_wholly_known(&self) -> bool {
        self.as_ref().is_none_or(ToValue::is_wholly_known)
    }
}

impl FromValue for Value {
    fn from_value(v: &Value, _: &AttributePath, _: &mut Diagnostics) -> Option<Self> {
        Some(v.clone())
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
    fn is_wholly_known(&self) -> bool {
        Value::is_wholly_known(self)
    }
}

impl FromValue for String {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        match known(v, path, diags)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                wrong(path, diags, "a string");
                None
            }
        }
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl FromValue for bool {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        match known(v, path, diags)? {
            Value::Bool(b) => Some(*b),
            _ => {
                wrong(path, diags, "a bool");
                None
            }
        }
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        match known(v, path, diags)? {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Some(i),
                None => {
                    misfit(
                        path,
                        diags,
                        format!("{} must be a whole number, not {n}.", name(path)),
                    );
                    None
                }
            },
            _ => {
                wrong(path, diags, "a number");
                None
            }
        }
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::int(*self)
    }
}

impl FromValue for Number {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        match known(v, path, diags)? {
            Value::Number(n) => Some(n.clone()),
            _ => {
                wrong(path, diags, "a number");
                None
            }
        }
    }
}

impl ToValue for Number {
    fn to_value(&self) -> Value {
        Value::Number(self.clone())
    }
}

fn elements<'a>(
    v: &'a Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
    want: &str,
) -> Option<&'a [Value]> {
    match known(v, path, diags)? {
        Value::List(e) | Value::Set(e) | Value::Tuple(e) => Some(e),
        _ => {
            wrong(path, diags, want);
            None
        }
    }
}

fn each<T: FromValue>(
    items: &[Value],
    path: &AttributePath,
    diags: &mut Diagnostics,
) -> Option<Vec<T>> {
    let read: Vec<Option<T>> = items
        .iter()
        .enumerate()
        .map(|(i, e)| T::from_value(e, &path.then_index(i), diags))
        .collect();
    read.into_iter().collect()
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        each(elements(v, path, diags, "a list")?, path, diags)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(ToValue::to_value).collect())
    }
    fn is_wholly_known(&self) -> bool {
        self.iter().all(ToValue::is_wholly_known)
    }
}

impl<T: FromValue> FromValue for Set<T> {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        each(elements(v, path, diags, "a set")?, path, diags).map(Set)
    }
}

impl<T: ToValue> ToValue for Set<T> {
    fn to_value(&self) -> Value {
        Value::Set(self.0.iter().map(ToValue::to_value).collect())
    }
    fn is_wholly_known(&self) -> bool {
        self.0.iter().all(ToValue::is_wholly_known)
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(v: &Value, path: &AttributePath, diags: &mut Diagnostics) -> Option<Self> {
        let entries = match known(v, path, diags)? {
            Value::Map(m) | Value::Object(m) => m,
            _ => {
                wrong(path, diags, "a map");
                return None;
            }
        };
        let read: Vec<Option<(String, T)>> = entries
            .iter()
            .map(|(k, e)| T::from_value(e, &path.then_key(k), diags).map(|t| (k.clone(), t)))
            .collect();
        read.into_iter().collect()
    }
}

impl<T: ToValue> ToValue for BTreeMap<String, T> {
    fn to_value(&self) -> Value {
        Value::Map(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
    fn is_wholly_known(&self) -> bool {
        self.values().all(ToValue::is_wholly_known)
    }
}

/// A value of `ty` with every position set (collections hold one element),
/// so a round trip through a model shows any position the model drops.
fn sample_of(ty: &Type) -> Value {
    match ty {
        Type::String => Value::string("s"),
        Type::Number => Value::int(7),
        Type::Bool => Value::Bool(true),
        Type::Dynamic => Value::Dynamic(Box::new(Type::String), Box::new(Value::string("d"))),
        Type::List(t) => Value::List(vec![sample_of(t)]),
        Type::Set(t) => Value::Set(vec![sample_of(t)]),
        Type::Map(t) => Value::Map(BTreeMap::from([("k".to_string(), sample_of(t))])),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), sample_of(t)))
                .collect(),
        ),
        Type::Tuple(items) => Value::Tuple(items.iter().map(sample_of).collect()),
    }
}

/// A value of `block`'s type with every attribute and nested block set
/// (every collection and list or set block holds one element).
pub fn sample(block: &Block) -> Value {
    sample_of(&block.value_type())
}

/// Panics unless `M` reads and writes back a value of `block`'s type with
/// every attribute and nested block set: for a unit test beside the model.
pub fn assert_covers<M: FromValue + ToValue>(block: &Block) {
    let full = sample(block);
    let model: M = match full.get() {
        Ok(m) => m,
        Err(d) => panic!("the model cannot read a full value of its schema: {d:?}"),
    };
    let back = model.to_value();
    if back != full {
        let mut missing = Vec::new();
        full.walk(&mut |p, v| {
            if back.at_path(p) != Some(v) {
                missing.push(p.to_string());
            }
        });
        panic!(
            "the model does not write back what it read; positions lost or changed: {missing:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock, Nesting};

    // `path`, `value` and `diags` are also the derive's own names inside.
    #[derive(Model, Debug, PartialEq)]
    struct Inner {
        port: i64,
        path: Option<String>,
    }

    #[derive(Model, Debug, PartialEq)]
    struct Outer {
        name: Attr<String>,
        #[model(name = "type")]
        kind: Attr<String>,
        tags: Attr<BTreeMap<String, String>>,
        inner: Option<Inner>,
        items: Vec<Inner>,
        zones: Set<String>,
    }

    fn block() -> Block {
        let inner = Block::new()
            .attribute(Attribute::number("port").required())
            .attribute(Attribute::string("path").optional());
        Block::new()
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("type").optional())
            .attribute(Attribute::new("tags", Type::map(Type::String)).optional())
            .attribute(Attribute::new("zones", Type::set(Type::String)).optional())
            .block(NestedBlock::new("inner", Nesting::Single, inner.clone()))
            .block(NestedBlock::new("items", Nesting::List, inner))
    }

    #[test]
    fn a_model_that_names_every_attribute_round_trips() {
        assert_covers::<Outer>(&block());
    }

    #[derive(Model)]
    struct Partial {
        name: Attr<String>,
    }

    #[test]
    #[should_panic(expected = "positions lost")]
    fn a_model_missing_an_attribute_fails_the_coverage_check() {
        assert_covers::<Partial>(&block());
    }

    #[test]
    fn every_misfit_is_reported_on_its_own_path() {
        let v = Value::object([
            ("name", Value::int(3)),
            ("type", Value::unknown()),
            ("tags", Value::Null),
            ("inner", Value::object([("port", Value::string("x"))])),
            (
                "items",
                Value::List(vec![Value::object([("port", Value::Null)])]),
            ),
            ("zones", Value::Set(vec![])),
        ]);
        let d = v.get::<Outer>().expect_err("misfits");
        let paths: Vec<String> = d
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, ["name", "inner.port", "items[0].port"], "{d:?}");
    }

    #[test]
    fn unknowns_keep_their_refinements() {
        let r = Refinements {
            string_prefix: Some("ab".into()),
            ..Default::default()
        };
        let v = Value::Unknown(r.clone());
        let a: Attr<String> = v.get().expect("reads");
        assert_eq!(a, Attr::Unknown(r));
        assert_eq!(a.to_value(), v);
    }

    #[test]
    fn wholly_known_looks_inside() {
        let mut v = sample(&block());
        let m: Outer = v.get().expect("reads");
        assert!(m.is_wholly_known());
        v.set_attr("tags", Value::unknown());
        let m: Outer = v.get().expect("reads");
        assert!(!m.is_wholly_known());
        assert_eq!(m.is_wholly_known(), v.is_wholly_known());
    }

    #[test]
    fn a_whole_number_is_required_for_i64() {
        let v = Value::Number(Number::Float(1.5));
        let d = v.get::<i64>().expect_err("not whole");
        assert!(format!("{d:?}").contains("whole number"), "{d:?}");
    }
}
