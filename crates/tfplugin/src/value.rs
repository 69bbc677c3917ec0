//! cty values with null, unknown and known as explicit states.
//!
//! Guarantees:
//! - [`Value::Null`] and an empty collection are different values.
//! - Sets compare by value with set semantics (order and duplicates do not
//!   matter), in O(n) expected time (hashing, not pairwise).
//! - Numbers keep arbitrary precision: a number that does not fit `i64` or
//!   `f64` exactly is kept as its decimal text and compared by its canonical
//!   decimal form.
//! - Unknown values keep any refinements Terraform sent, so they can be
//!   passed back unchanged.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::path::{AttributePath, PathStep};
use crate::types::Type;

/// A cty value. Collections hold values of the collection's element type.
#[derive(Debug, Clone)]
pub enum Value {
    /// A null value (of whatever type the schema says).
    Null,
    /// A value not known until apply, with what Terraform knows about it.
    Unknown(Refinements),
    /// A known string.
    String(String),
    /// A known number.
    Number(Number),
    /// A known bool.
    Bool(bool),
    /// A known list.
    List(Vec<Value>),
    /// A known set; element order carries no meaning.
    Set(Vec<Value>),
    /// A known map.
    Map(BTreeMap<String, Value>),
    /// A known object.
    Object(BTreeMap<String, Value>),
    /// A known tuple.
    Tuple(Vec<Value>),
    /// A value at a `dynamic` position, carrying its concrete type.
    Dynamic(Box<Type>, Box<Value>),
}

/// What Terraform knows about an unknown value (protocol extension 12).
/// The default means "nothing known": plain unknown (extension 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Refinements {
    /// `Some(false)`: the value is definitely not null.
    pub nullable: Option<bool>,
    /// A known prefix of an unknown string.
    pub string_prefix: Option<String>,
    /// Lower bound of an unknown number and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Upper bound of an unknown number and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// Lower bound of an unknown collection's length.
    pub length_lower: Option<i64>,
    /// Upper bound of an unknown collection's length.
    pub length_upper: Option<i64>,
}

impl Refinements {
    /// True when nothing is known (encodes as plain unknown).
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// An arbitrary-precision number.
#[derive(Debug, Clone)]
pub enum Number {
    /// An integer that fits `i64`.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// Decimal text for anything larger or more precise.
    Big(String),
}

impl Number {
    /// Parses decimal text (as JSON or msgpack strings carry it).
    ///
    /// Returns `None` for text that is not a finite decimal number.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if !valid_decimal(t) && t.parse::<f64>().is_err() {
            return None;
        }
        // cty (big.Float) cannot hold exponents anywhere near this; the bound
        // keeps every canonical form parseable again.
        let (_, digits, point) = decimal_parts(t);
        if !digits.is_empty() && point.unsigned_abs() > MAX_DECIMAL_EXPONENT {
            return None;
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let f: f64 = t.parse().ok()?;
        if !f.is_finite() {
            // Too large for f64 but still a valid decimal: keep the text.
            return valid_decimal(t).then(|| Number::Big(t.to_string()));
        }
        if f.to_string().parse::<f64>().ok() == Some(f) && canonical_text(t) == canonical_float(f) {
            Some(Number::Float(f))
        } else if valid_decimal(t) {
            Some(Number::Big(t.to_string()))
        } else {
            None
        }
    }

    /// The value as `i64` when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// The value as `f64` (may round).
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// The canonical decimal text: equal numbers give equal text.
    pub fn canonical(&self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => canonical_float(*f),
            Number::Big(s) => canonical_text(s),
        }
    }
}

/// Largest decimal exponent a number may have.
const MAX_DECIMAL_EXPONENT: u64 = 1_000_000_000;

fn valid_decimal(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mant.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mant_ok = (!int.is_empty() || !frac.is_empty()) && digits_ok(int) && digits_ok(frac);
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.len() <= 10 && digits_ok(e)
        }
    };
    mant_ok && exp_ok
}

fn canonical_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if f.fract() == 0.0 && f.abs() < 1e300 {
        // Whole floats print without a fraction.
        return canonical_text(&format!("{f:.0}"));
    }
    canonical_text(&format!("{f}"))
}

/// Splits decimal text into (negative, significant digits, exponent) with
/// value = 0.DIGITS × 10^EXPONENT; zero has no digits. Exact, no clamping.
fn decimal_parts(t: &str) -> (bool, String, i64) {
    let t = t.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (t, 0),
    };
    let (int, frac) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    let mut digits = format!("{int}{frac}");
    let mut point = (int.len() as i64).saturating_add(exp);
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    point = point.saturating_sub(lead as i64);
    let trimmed = digits.trim_end_matches('0').len();
    digits.truncate(trimmed);
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    (neg, digits, point)
}

/// Normalises decimal text: equal numbers give equal text. Plain decimal
/// for moderate exponents, scientific notation beyond (so `1e99999` stays
/// short).
fn canonical_text(t: &str) -> String {
    let (neg, digits, point) = decimal_parts(t);
    if digits.is_empty() {
        return "0".into();
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let n = digits.len() as i64;
    if !(-30..=40).contains(&point) {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}", point - 1));
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point >= n {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - n) as usize));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            _ => self.canonical() == other.canonical(),
        }
    }
}
impl Eq for Number {}
impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}
impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::Int(i)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Set(a), Set(b)) => set_eq(a, b),
            (Dynamic(ta, a), Dynamic(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}
impl Eq for Value {}

/// Set equality: the same distinct elements (cty sets hold no duplicates;
/// a duplicate in a hand-built set does not make it different).
fn set_eq(a: &[Value], b: &[Value]) -> bool {
    let sa: HashSet<&Value> = a.iter().collect();
    let sb: HashSet<&Value> = b.iter().collect();
    sa == sb
}

/// Removes duplicate elements, keeping the first of each.
pub(crate) fn dedup_set(items: Vec<Value>) -> Vec<Value> {
    let mut seen: HashSet<Value> = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect()
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Unknown(r) => r.hash(state),
            Value::String(s) => s.hash(state),
            Value::Number(n) => n.hash(state),
            Value::Bool(b) => b.hash(state),
            Value::List(v) | Value::Tuple(v) => v.hash(state),
            Value::Map(m) | Value::Object(m) => m.hash(state),
            Value::Set(v) => {
                // Order- and duplicate-independent: sum the hashes of the
                // distinct elements.
                // Each element is hashed once (hashing is linear in the
                // value's size, however deeply sets nest).
                let distinct: HashSet<u64> = v
                    .iter()
                    .map(|e| {
                        let mut h = std::collections::hash_map::DefaultHasher::new();
                        e.hash(&mut h);
                        h.finish()
                    })
                    .collect();
                let acc = distinct.iter().fold(0u64, |a, h| a.wrapping_add(*h));
                distinct.len().hash(state);
                acc.hash(state);
            }
            Value::Dynamic(t, v) => {
                t.hash(state);
                v.hash(state);
            }
        }
    }
}

impl Value {
    /// A plain unknown, with no refinements.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }
    /// A known string.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// A known integer number.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
    /// An object from `(name, value)` pairs.
    pub fn object<I, S>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// A string, or null when `None`.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// True for [`Value::Null`] (a dynamic wrapper around null counts too).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, v) => v.is_null(),
            _ => false,
        }
    }
    /// True when this value itself is unknown (not looking inside).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Dynamic(_, v) => v.is_unknown(),
            _ => false,
        }
    }
    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// The string, when this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, v) => v.as_str(),
            _ => None,
        }
    }
    /// The bool, when this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, v) => v.as_bool(),
            _ => None,
        }
    }
    /// The number, when this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(_, v) => v.as_number(),
            _ => None,
        }
    }
    /// The number as `i64`, when it is a known whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }
    /// The elements of a known list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            Value::Dynamic(_, v) => v.as_elements(),
            _ => None,
        }
    }
    /// The entries of a known map or object.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            Value::Dynamic(_, v) => v.as_entries(),
            _ => None,
        }
    }
    /// Mutable entries of a known map or object.
    pub fn as_entries_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            Value::Dynamic(_, v) => v.as_entries_mut(),
            _ => None,
        }
    }

    /// An object attribute; [`Value::Null`] when absent or when `self` is
    /// null, so reading optional configuration is one call.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            Value::Unknown(_) => &UNKNOWN,
            Value::Dynamic(_, v) => v.attr(name),
            _ => &NULL,
        }
    }

    /// Sets an object attribute (no-op when `self` is not an object).
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_string(), value);
        }
    }

    /// The value at `path`, if every step exists.
    pub fn at_path(&self, path: &AttributePath) -> Option<&Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attribute(n), Value::Object(m)) => m.get(n)?,
                (PathStep::ElementKey(k), Value::Map(m)) => m.get(k)?,
                (PathStep::ElementIndex(i), Value::List(v) | Value::Tuple(v)) => {
                    v.get(usize::try_from(*i).ok()?)?
                }
                (step, Value::Dynamic(_, inner)) => {
                    inner.at_path(&AttributePath::from_steps(vec![step.clone()]))?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Calls `f` on every value in the tree with its path (pre-order).
    /// Set elements are visited under the set's own path.
    pub fn walk(&self, f: &mut dyn FnMut(&AttributePath, &Value)) {
        fn go(v: &Value, path: &mut AttributePath, f: &mut dyn FnMut(&AttributePath, &Value)) {
            f(path, v);
            match v {
                Value::Object(m) => {
                    for (k, e) in m {
                        path.push(PathStep::Attribute(k.clone()));
                        go(e, path, f);
                        path.pop();
                    }
                }
                Value::Map(m) => {
                    for (k, e) in m {
                        path.push(PathStep::ElementKey(k.clone()));
                        go(e, path, f);
                        path.pop();
                    }
                }
                Value::List(l) | Value::Tuple(l) => {
                    for (i, e) in l.iter().enumerate() {
                        path.push(PathStep::ElementIndex(i as i64));
                        go(e, path, f);
                        path.pop();
                    }
                }
                Value::Set(l) => {
                    for e in l {
                        go(e, path, f);
                    }
                }
                Value::Dynamic(_, inner) => go(inner, path, f),
                _ => {}
            }
        }
        let mut path = AttributePath::root();
        go(self, &mut path, f);
    }
}

static UNKNOWN: Value = Value::Unknown(Refinements {
    nullable: None,
    string_prefix: None,
    number_lower: None,
    number_upper: None,
    length_lower: None,
    length_upper: None,
});

impl Default for Value {
    /// Null.
    fn default() -> Value {
        Value::Null
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_differ() {
        assert_ne!(Value::Null, Value::List(vec![]));
        assert_ne!(Value::Null, Value::string(""));
        assert_ne!(Value::Map(BTreeMap::new()), Value::Null);
    }

    #[test]
    fn sets_compare_by_value_not_order() {
        let a = Value::Set(vec!["a".into(), "b".into()]);
        let b = Value::Set(vec!["b".into(), "a".into(), "b".into()]);
        let c = Value::Set(vec!["a".into(), "c".into()]);
        assert_eq!(a, b, "duplicates and order do not matter");
        assert_ne!(a, c);
        // Nested: {[a], [a, a]} holds one distinct element.
        let inner1 = Value::Set(vec!["a".into()]);
        let inner2 = Value::Set(vec!["a".into(), "a".into()]);
        assert_eq!(inner1, inner2);
        assert_eq!(dedup_set(vec![inner1, inner2]).len(), 1);
        let h = |v: &Value| {
            let mut s = std::collections::hash_map::DefaultHasher::new();
            v.hash(&mut s);
            s.finish()
        };
        assert_eq!(h(&a), h(&b));
    }

    #[test]
    fn deeply_nested_sets_hash_in_linear_time() {
        let mut v = Value::string("a");
        for _ in 0..64 {
            v = Value::Set(vec![v]);
        }
        let started = std::time::Instant::now();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        v.hash(&mut h);
        assert_eq!(v.clone(), v);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn large_sets_compare_quickly() {
        let n = 20_000;
        let a = Value::Set((0..n).map(|i| Value::string(format!("e{i}"))).collect());
        let b = Value::Set(
            (0..n)
                .rev()
                .map(|i| Value::string(format!("e{i}")))
                .collect(),
        );
        // Pairwise comparison would be 4e8 steps; hashing is instant.
        assert_eq!(a, b);
    }

    #[test]
    fn numbers_compare_by_canonical_value() {
        assert_eq!(Number::Int(1), Number::Float(1.0));
        assert_eq!(Number::parse("1.50").unwrap(), Number::Float(1.5));
        assert_eq!(Number::parse("1e3").unwrap(), Number::Int(1000));
        assert_eq!(Number::parse("-0.0").unwrap(), Number::Int(0));
        let big = Number::parse("123456789012345678901234567890").unwrap();
        assert!(matches!(big, Number::Big(_)));
        assert_eq!(big.canonical(), "123456789012345678901234567890");
        let precise = Number::parse("0.1000000000000000000000000001").unwrap();
        assert!(matches!(precise, Number::Big(_)));
        assert_ne!(precise, Number::Float(0.1));
        assert_eq!(Number::parse("0.1").unwrap(), Number::Float(0.1));
        assert!(Number::parse("abc").is_none());
        assert!(Number::parse("1e").is_none());
        assert!(Number::parse("NaN").is_none());
        assert_eq!(Number::parse("1e400").unwrap().canonical(), "1e400");
        assert_eq!(Number::parse("12.5e39").unwrap().canonical(), "1.25e40");
        // No clamping: distinct huge numbers stay distinct, and short.
        assert_ne!(
            Number::parse("1e200000").unwrap(),
            Number::parse("1e100000").unwrap()
        );
        assert_eq!(Number::parse("-1e-99999").unwrap().canonical(), "-1e-99999");
        assert_eq!(Number::parse("0.000001").unwrap().canonical(), "0.000001");
        // Found by fuzzing: the canonical form of a huge exponent parses again.
        let n = Number::parse("-71e+999999990").unwrap();
        assert_eq!(Number::parse(&n.canonical()).unwrap(), n);
        assert!(
            Number::parse("-71e+999999999").is_none(),
            "beyond cty's range"
        );
    }

    #[test]
    fn attr_of_null_or_missing_is_null() {
        let v = Value::object([("a", Value::string("x"))]);
        assert_eq!(v.attr("a").as_str(), Some("x"));
        assert!(v.attr("b").is_null());
        assert!(Value::Null.attr("a").is_null());
        assert!(Value::unknown().attr("a").is_unknown());
    }

    #[test]
    fn wholly_known_looks_inside() {
        let v = Value::object([("a", Value::List(vec![Value::unknown()]))]);
        assert!(!v.is_wholly_known());
        assert!(!v.is_unknown());
    }
}
