//! cty types: the type system Terraform uses for every value on the wire.
//!
//! A [`Type`] drives decoding and encoding of values ([`crate::value`]);
//! values are never decoded by guessing from the bytes. Types serialise to
//! and from the JSON form Terraform uses in schemas and `dynamic` values
//! (`"string"`, `["list","number"]`, `["object",{"a":"bool"}]`, …).

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// A UTF-8 string.
    String,
    /// An arbitrary-precision number.
    Number,
    /// A boolean.
    Bool,
    /// Any type, decided per value (`DynamicPseudoType`).
    Dynamic,
    /// An ordered sequence of one element type.
    List(Box<Type>),
    /// An unordered set of one element type; elements compare by value.
    Set(Box<Type>),
    /// String-keyed map of one element type.
    Map(Box<Type>),
    /// Fixed attributes, each with its own type.
    Object(BTreeMap<String, Type>),
    /// Fixed positions, each with its own type.
    Tuple(Vec<Type>),
}

/// A type's JSON form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid type specification: {0}")]
pub struct TypeError(pub String);

impl Type {
    /// `list(elem)`.
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    /// `set(elem)`.
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    /// `map(elem)`.
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The JSON form Terraform uses for this type.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => {
                let m = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                Json::Array(vec!["object".into(), Json::Object(m)])
            }
            Type::Tuple(elems) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The JSON form as compact bytes (what schemas and `dynamic` carry).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Reads a type from its JSON form.
    ///
    /// # Errors
    /// [`TypeError`] when the JSON is not a valid cty type specification.
    /// Object types with optional-attribute markers (a third array element)
    /// are accepted and the markers ignored.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        Self::from_json_depth(json, 0)
    }

    fn from_json_depth(json: &Json, depth: usize) -> Result<Type, TypeError> {
        if depth > 64 {
            return Err(TypeError("type nested deeper than 64 levels".into()));
        }
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(TypeError(format!("unknown primitive type {other:?}"))),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0]
                    .as_str()
                    .ok_or_else(|| TypeError("type kind must be a string".into()))?;
                let inner = |j: &Json| Self::from_json_depth(j, depth + 1);
                match kind {
                    "list" => Ok(Type::list(inner(&parts[1])?)),
                    "set" => Ok(Type::set(inner(&parts[1])?)),
                    "map" => Ok(Type::map(inner(&parts[1])?)),
                    "object" => {
                        let attrs = parts[1]
                            .as_object()
                            .ok_or_else(|| TypeError("object attributes must be a map".into()))?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), inner(v)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = parts[1]
                            .as_array()
                            .ok_or_else(|| TypeError("tuple elements must be a list".into()))?;
                        Ok(Type::Tuple(
                            elems.iter().map(inner).collect::<Result<_, _>>()?,
                        ))
                    }
                    other => Err(TypeError(format!("unknown type kind {other:?}"))),
                }
            }
            other => Err(TypeError(format!("unexpected JSON {other}"))),
        }
    }

    /// Reads a type from its JSON bytes.
    ///
    /// # Errors
    /// [`TypeError`] when the bytes are not JSON or not a type.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json =
            serde_json::from_slice(bytes).map_err(|e| TypeError(format!("not JSON: {e}")))?;
        Type::from_json(&json)
    }

    /// A short human name (`list of string`), for diagnostics.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::Dynamic => "any".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_of_nested_types() {
        let t = Type::object([
            ("name", Type::String),
            ("tags", Type::map(Type::String)),
            ("ports", Type::set(Type::Number)),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Dynamic])),
            ("items", Type::list(Type::object([("id", Type::String)]))),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), t);
    }

    #[test]
    fn json_form_matches_terraform() {
        assert_eq!(
            String::from_utf8(Type::list(Type::String).to_json_bytes()).unwrap(),
            r#"["list","string"]"#
        );
        assert_eq!(
            String::from_utf8(Type::object([("a", Type::Bool)]).to_json_bytes()).unwrap(),
            r#"["object",{"a":"bool"}]"#
        );
    }

    #[test]
    fn optional_attribute_markers_are_accepted() {
        let t = Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(t, Type::object([("a", Type::String)]));
    }

    #[test]
    fn bad_types_are_errors_not_panics() {
        for bad in [
            &br#""strin""#[..],
            br#"["list"]"#,
            br#"["object",[]]"#,
            br#"42"#,
            br#"["nope","string"]"#,
            b"not json",
        ] {
            assert!(Type::from_json_bytes(bad).is_err(), "{:?}", bad);
        }
        let deep = "[\"list\",".repeat(100) + "\"string\"" + &"]".repeat(100);
        assert!(Type::from_json_bytes(deep.as_bytes()).is_err());
    }
}
