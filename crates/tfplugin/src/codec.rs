//! Schema-driven msgpack and JSON encoding of cty values (`DynamicValue`).
//!
//! Guarantees:
//! - Decoding walks the [`Type`], never guesses from the bytes; any msgpack
//!   extension decodes as unknown (extension 12 refinements are kept).
//! - Decoding never panics and never allocates more than the input can
//!   hold: hostile length prefixes and deep nesting are errors.
//! - Encoding writes unknowns as extension 0 (`d4 00 00`) unless they carry
//!   refinements, numbers as the smallest exact msgpack form (integers as
//!   ints, other finite floats as float64, anything else as decimal text).
//!
//! Errors: [`CodecError`] names the attribute path where decoding or
//! encoding failed.

use std::collections::BTreeMap;

use rmp::Marker;
use serde_json::Value as Json;

use crate::path::{AttributePath, PathStep};
use crate::types::Type;
use crate::value::{Number, Refinements, Value};

/// Deepest nesting accepted when decoding.
pub const MAX_DEPTH: usize = 128;

/// A value could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at {})", if path.is_root() { "root".to_string() } else { path.to_string() })]
pub struct CodecError {
    /// What went wrong.
    pub message: String,
    /// Where in the value.
    pub path: AttributePath,
}

fn err<T>(path: &AttributePath, message: impl Into<String>) -> Result<T, CodecError> {
    Err(CodecError {
        message: message.into(),
        path: path.clone(),
    })
}

/// Decodes a msgpack `DynamicValue` of type `ty`.
///
/// # Errors
/// [`CodecError`] when the bytes do not hold one value of `ty`, or hold
/// trailing bytes.
pub fn from_msgpack(ty: &Type, bytes: &[u8]) -> Result<Value, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let mut path = AttributePath::root();
    let v = r.value(ty, &mut path, 0)?;
    if r.pos != bytes.len() {
        return err(
            &path,
            format!("{} trailing bytes after value", bytes.len() - r.pos),
        );
    }
    Ok(v)
}

/// Encodes `value` of type `ty` as msgpack.
///
/// # Errors
/// [`CodecError`] when the value does not conform to `ty` (a provider bug;
/// the path says where).
pub fn to_msgpack(ty: &Type, value: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    let mut path = AttributePath::root();
    write_value(&mut out, ty, value, &mut path)?;
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn byte(&mut self, path: &AttributePath) -> Result<u8, CodecError> {
        match self.buf.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => err(path, "unexpected end of msgpack data"),
        }
    }
    fn take(&mut self, n: usize, path: &AttributePath) -> Result<&[u8], CodecError> {
        if self.remaining() < n {
            return err(path, "unexpected end of msgpack data");
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn be(&mut self, n: usize, path: &AttributePath) -> Result<u64, CodecError> {
        Ok(self
            .take(n, path)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
    fn peek(&self) -> Option<Marker> {
        self.buf.get(self.pos).map(|b| Marker::from_u8(*b))
    }

    /// Reads a length-prefixed container header, checking the claim
    /// against the bytes left (each element needs at least one byte).
    fn checked_len(&self, n: u64, path: &AttributePath) -> Result<usize, CodecError> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > self.remaining() {
            return err(
                path,
                format!("length {n} exceeds the {} bytes left", self.remaining()),
            );
        }
        Ok(n)
    }

    fn str(&mut self, path: &AttributePath) -> Result<String, CodecError> {
        let m = Marker::from_u8(self.byte(path)?);
        let n = match m {
            Marker::FixStr(n) => u64::from(n),
            Marker::Str8 | Marker::Bin8 => self.be(1, path)?,
            Marker::Str16 | Marker::Bin16 => self.be(2, path)?,
            Marker::Str32 | Marker::Bin32 => self.be(4, path)?,
            other => return err(path, format!("expected a string, found {other:?}")),
        };
        let n = self.checked_len(n, path)?;
        let bytes = self.take(n, path)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => err(path, "string is not valid UTF-8"),
        }
    }

    fn array_len(&mut self, path: &AttributePath) -> Result<usize, CodecError> {
        let n = match Marker::from_u8(self.byte(path)?) {
            Marker::FixArray(n) => u64::from(n),
            Marker::Array16 => self.be(2, path)?,
            Marker::Array32 => self.be(4, path)?,
            other => return err(path, format!("expected an array, found {other:?}")),
        };
        self.checked_len(n, path)
    }

    fn map_len(&mut self, path: &AttributePath) -> Result<usize, CodecError> {
        let n = match Marker::from_u8(self.byte(path)?) {
            Marker::FixMap(n) => u64::from(n),
            Marker::Map16 => self.be(2, path)?,
            Marker::Map32 => self.be(4, path)?,
            other => return err(path, format!("expected a map, found {other:?}")),
        };
        self.checked_len(n.saturating_mul(2), path).map(|n| n / 2)
    }

    fn number(&mut self, path: &AttributePath) -> Result<Number, CodecError> {
        let m = Marker::from_u8(self.byte(path)?);
        let n = match m {
            Marker::FixPos(v) => Number::Int(i64::from(v)),
            Marker::FixNeg(v) => Number::Int(i64::from(v)),
            Marker::U8 => Number::Int(self.be(1, path)? as i64),
            Marker::U16 => Number::Int(self.be(2, path)? as i64),
            Marker::U32 => Number::Int(self.be(4, path)? as i64),
            Marker::U64 => {
                let v = self.be(8, path)?;
                match i64::try_from(v) {
                    Ok(i) => Number::Int(i),
                    Err(_) => Number::Big(v.to_string()),
                }
            }
            Marker::I8 => Number::Int(i64::from(self.be(1, path)? as u8 as i8)),
            Marker::I16 => Number::Int(i64::from(self.be(2, path)? as u16 as i16)),
            Marker::I32 => Number::Int(i64::from(self.be(4, path)? as u32 as i32)),
            Marker::I64 => Number::Int(self.be(8, path)? as i64),
            Marker::F32 => float(f64::from(f32::from_bits(self.be(4, path)? as u32)), path)?,
            Marker::F64 => float(f64::from_bits(self.be(8, path)?), path)?,
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                self.pos -= 1;
                let s = self.str(path)?;
                match Number::parse(&s) {
                    Some(n) => n,
                    None => return err(path, format!("{s:?} is not a number")),
                }
            }
            other => return err(path, format!("expected a number, found {other:?}")),
        };
        Ok(n)
    }

    fn ext(
        &mut self,
        path: &AttributePath,
        depth: usize,
    ) -> Result<Option<Refinements>, CodecError> {
        let m = Marker::from_u8(self.byte(path)?);
        let len = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be(1, path)?,
            Marker::Ext16 => self.be(2, path)?,
            Marker::Ext32 => self.be(4, path)?,
            _ => return Ok(None),
        };
        let len = self.checked_len(len.saturating_add(1), path)? - 1;
        let kind = self.byte(path)? as i8;
        let payload = self.take(len, path)?;
        if kind == 12 {
            // Refinements are advisory: a malformed payload is still unknown.
            let refinements = decode_refinements(payload, depth).unwrap_or_default();
            return Ok(Some(refinements));
        }
        Ok(Some(Refinements::default()))
    }

    fn value(
        &mut self,
        ty: &Type,
        path: &mut AttributePath,
        depth: usize,
    ) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return err(path, "value nested too deeply");
        }
        match self.peek() {
            None => return err(path, "unexpected end of msgpack data"),
            Some(Marker::Null) => {
                self.pos += 1;
                return Ok(Value::Null);
            }
            Some(
                Marker::FixExt1
                | Marker::FixExt2
                | Marker::FixExt4
                | Marker::FixExt8
                | Marker::FixExt16
                | Marker::Ext8
                | Marker::Ext16
                | Marker::Ext32,
            ) => {
                let r = self.ext(path, depth)?.unwrap_or_default();
                return Ok(Value::Unknown(r));
            }
            Some(_) => {}
        }
        match ty {
            Type::String => Ok(Value::String(self.str(path)?)),
            Type::Number => Ok(Value::Number(self.number(path)?)),
            Type::Bool => match Marker::from_u8(self.byte(path)?) {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                other => err(path, format!("expected a bool, found {other:?}")),
            },
            Type::Dynamic => {
                if self.array_len(path)? != 2 {
                    return err(path, "a dynamic value must be a [type, value] pair");
                }
                let ty_json = self.str(path)?;
                let inner = Type::from_json_bytes(ty_json.as_bytes())
                    .or_else(|e| err(path, e.to_string()))?;
                if inner == Type::Dynamic {
                    return err(path, "a dynamic value cannot declare type dynamic");
                }
                let v = self.value(&inner, path, depth + 1)?;
                Ok(Value::Dynamic(Box::new(inner), Box::new(v)))
            }
            Type::List(elem) | Type::Set(elem) => {
                let n = self.array_len(path)?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let is_list = matches!(ty, Type::List(_));
                    if is_list {
                        path.push(PathStep::ElementIndex(i as i64));
                    }
                    out.push(self.value(elem, path, depth + 1)?);
                    if is_list {
                        path.pop();
                    }
                }
                Ok(if matches!(ty, Type::List(_)) {
                    Value::List(out)
                } else {
                    Value::Set(crate::value::dedup_set(out))
                })
            }
            Type::Tuple(elems) => {
                let n = self.array_len(path)?;
                if n != elems.len() {
                    return err(
                        path,
                        format!("tuple has {n} elements, type has {}", elems.len()),
                    );
                }
                let mut out = Vec::with_capacity(n);
                for (i, et) in elems.iter().enumerate() {
                    path.push(PathStep::ElementIndex(i as i64));
                    out.push(self.value(et, path, depth + 1)?);
                    path.pop();
                }
                Ok(Value::Tuple(out))
            }
            Type::Map(elem) => {
                let n = self.map_len(path)?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.str(path)?;
                    path.push(PathStep::ElementKey(k.clone()));
                    let v = self.value(elem, path, depth + 1)?;
                    path.pop();
                    out.insert(k, v);
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let n = self.map_len(path)?;
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.str(path)?;
                    let Some(at) = attrs.get(&k) else {
                        return err(path, format!("unsupported attribute {k:?}"));
                    };
                    path.push(PathStep::Attribute(k.clone()));
                    let v = self.value(at, path, depth + 1)?;
                    path.pop();
                    out.insert(k, v);
                }
                for k in attrs.keys() {
                    out.entry(k.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
        }
    }
}

fn float(f: f64, path: &AttributePath) -> Result<Number, CodecError> {
    if !f.is_finite() {
        return err(path, "numbers must be finite");
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Number::Int(f as i64));
    }
    Ok(Number::Float(f))
}

fn decode_refinements(payload: &[u8], depth: usize) -> Result<Refinements, CodecError> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let path = AttributePath::root();
    let n = r.map_len(&path)?;
    let mut out = Refinements::default();
    let bound = |r: &mut Reader<'_>| -> Result<(Number, bool), CodecError> {
        if r.array_len(&path)? != 2 {
            return err(&path, "bound must be [number, inclusive]");
        }
        let n = r.number(&path)?;
        let inc = matches!(Marker::from_u8(r.byte(&path)?), Marker::True);
        Ok((n, inc))
    };
    for _ in 0..n {
        let key = r.number(&path)?.as_i64().unwrap_or(-1);
        match key {
            1 => out.nullable = Some(matches!(Marker::from_u8(r.byte(&path)?), Marker::True)),
            2 => out.string_prefix = Some(r.str(&path)?),
            3 => out.number_lower = Some(bound(&mut r)?),
            4 => out.number_upper = Some(bound(&mut r)?),
            5 => out.length_lower = r.number(&path)?.as_i64(),
            6 => out.length_upper = r.number(&path)?.as_i64(),
            _ => {
                // Unknown refinement kinds: skip one value of any shape.
                let mut p = AttributePath::root();
                r.value(&Type::Dynamic, &mut p, depth + 1).ok();
                return Ok(out);
            }
        }
    }
    Ok(out)
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_str(out, s);
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    match n {
        Number::Int(i) => {
            let _ = rmp::encode::write_sint(out, *i);
        }
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            let _ = rmp::encode::write_sint(out, *f as i64);
        }
        Number::Float(f) => {
            let _ = rmp::encode::write_f64(out, *f);
        }
        Number::Big(s) => write_str(out, &Number::Big(s.clone()).canonical()),
    }
}

fn write_unknown(out: &mut Vec<u8>, r: &Refinements) {
    if r.is_empty() {
        out.extend_from_slice(&[0xd4, 0x00, 0x00]);
        return;
    }
    let mut payload = Vec::new();
    let mut entries = 0u32;
    let mut body = Vec::new();
    if let Some(nullable) = r.nullable {
        let _ = rmp::encode::write_sint(&mut body, 1);
        let _ = rmp::encode::write_bool(&mut body, nullable);
        entries += 1;
    }
    if let Some(p) = &r.string_prefix {
        let _ = rmp::encode::write_sint(&mut body, 2);
        write_str(&mut body, p);
        entries += 1;
    }
    for (key, b) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, inc)) = b {
            let _ = rmp::encode::write_sint(&mut body, key);
            let _ = rmp::encode::write_array_len(&mut body, 2);
            write_number(&mut body, n);
            let _ = rmp::encode::write_bool(&mut body, *inc);
            entries += 1;
        }
    }
    for (key, l) in [(5, r.length_lower), (6, r.length_upper)] {
        if let Some(l) = l {
            let _ = rmp::encode::write_sint(&mut body, key);
            let _ = rmp::encode::write_sint(&mut body, l);
            entries += 1;
        }
    }
    let _ = rmp::encode::write_map_len(&mut payload, entries);
    payload.extend_from_slice(&body);
    let _ = rmp::encode::write_ext_meta(out, payload.len() as u32, 12);
    out.extend_from_slice(&payload);
}

/// The type a value has when written at a `dynamic` position without an
/// explicit type: element types come from the first known element.
pub fn infer_type(v: &Value) -> Type {
    fn elem_type(items: &[Value]) -> Type {
        items
            .iter()
            .find(|e| !e.is_null() && !e.is_unknown())
            .map_or(Type::Dynamic, infer_type)
    }
    match v {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::String(_) => Type::String,
        Value::Number(_) => Type::Number,
        Value::Bool(_) => Type::Bool,
        Value::List(items) => Type::list(elem_type(items)),
        Value::Set(items) => Type::set(elem_type(items)),
        Value::Map(m) => Type::map(elem_type(&m.values().cloned().collect::<Vec<_>>())),
        Value::Object(m) => {
            Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect())
        }
        Value::Tuple(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Dynamic(t, _) => (**t).clone(),
    }
}

fn write_value(
    out: &mut Vec<u8>,
    ty: &Type,
    v: &Value,
    path: &mut AttributePath,
) -> Result<(), CodecError> {
    if let (Type::Dynamic, Value::Dynamic(inner_ty, inner)) = (ty, v) {
        let _ = rmp::encode::write_array_len(out, 2);
        let _ = rmp::encode::write_bin(out, &inner_ty.to_json_bytes());
        return write_value(out, inner_ty, inner, path);
    }
    if let Value::Dynamic(_, inner) = v {
        return write_value(out, ty, inner, path);
    }
    match (ty, v) {
        (_, Value::Null) => {
            let _ = rmp::encode::write_nil(out);
        }
        (_, Value::Unknown(r)) => write_unknown(out, r),
        (Type::Dynamic, other) => {
            let t = infer_type(other);
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_bin(out, &t.to_json_bytes());
            write_value(out, &t, other, path)?;
        }
        (Type::String, Value::String(s)) => write_str(out, s),
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::Bool, Value::Bool(b)) => {
            let _ = rmp::encode::write_bool(out, *b);
        }
        (Type::List(et), Value::List(items)) => {
            let _ = rmp::encode::write_array_len(out, items.len() as u32);
            for (i, e) in items.iter().enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                write_value(out, et, e, path)?;
                path.pop();
            }
        }
        (Type::Set(et), Value::Set(items)) => {
            // Sets never carry duplicates on the wire.
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            let unique: Vec<&Value> = items.iter().filter(|e| seen.insert(*e)).collect();
            let _ = rmp::encode::write_array_len(out, unique.len() as u32);
            for e in unique {
                write_value(out, et, e, path)?;
            }
        }
        (Type::Tuple(ets), Value::Tuple(items)) if ets.len() == items.len() => {
            let _ = rmp::encode::write_array_len(out, items.len() as u32);
            for (i, (et, e)) in ets.iter().zip(items).enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                write_value(out, et, e, path)?;
                path.pop();
            }
        }
        (Type::Map(et), Value::Map(m)) => {
            let _ = rmp::encode::write_map_len(out, m.len() as u32);
            for (k, e) in m {
                write_str(out, k);
                path.push(PathStep::ElementKey(k.clone()));
                write_value(out, et, e, path)?;
                path.pop();
            }
        }
        (Type::Object(attrs), Value::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return err(
                    path,
                    format!("value has attribute {extra:?} that the type lacks"),
                );
            }
            let _ = rmp::encode::write_map_len(out, attrs.len() as u32);
            for (k, at) in attrs {
                write_str(out, k);
                path.push(PathStep::Attribute(k.clone()));
                write_value(out, at, m.get(k).unwrap_or(&Value::Null), path)?;
                path.pop();
            }
        }
        (ty, v) => {
            return err(
                path,
                format!("cannot encode {} as {}", kind_name(v), ty.friendly_name()),
            );
        }
    }
    Ok(())
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a bool",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(..) => "a dynamic value",
    }
}

/// Encodes a known `value` of type `ty` as compact JSON that
/// [`from_json`] reads back to the same value: object attributes that are
/// null are left out (decoding fills them in as null), numbers too large
/// or precise for `i64`/`f64` are decimal strings, dynamic values are
/// `{"type":…,"value":…}`.
///
/// # Errors
/// [`CodecError`] when the value is (or holds) an unknown, or does not
/// conform to `ty`.
pub fn to_json(ty: &Type, value: &Value) -> Result<Json, CodecError> {
    let mut path = AttributePath::root();
    json_of(ty, value, &mut path)
}

fn json_of(ty: &Type, v: &Value, path: &mut AttributePath) -> Result<Json, CodecError> {
    if let Value::Dynamic(inner_ty, inner) = v {
        if *ty == Type::Dynamic {
            let value = json_of(inner_ty, inner, path)?;
            return Ok(serde_json::json!({ "type": inner_ty.to_json(), "value": value }));
        }
        return json_of(ty, inner, path);
    }
    let each = |et: &Type, items: &[Value], path: &mut AttributePath, index: bool| {
        let mut out = Vec::with_capacity(items.len());
        for (i, e) in items.iter().enumerate() {
            if index {
                path.push(PathStep::ElementIndex(i as i64));
            }
            out.push(json_of(et, e, path)?);
            if index {
                path.pop();
            }
        }
        Ok::<_, CodecError>(Json::Array(out))
    };
    match (ty, v) {
        (_, Value::Null) => Ok(Json::Null),
        (_, Value::Unknown(_)) => err(path, "an unknown value has no JSON form"),
        (Type::Dynamic, other) => {
            let t = infer_type(other);
            let value = json_of(&t, other, path)?;
            Ok(serde_json::json!({ "type": t.to_json(), "value": value }))
        }
        (Type::String, Value::String(s)) => Ok(Json::String(s.clone())),
        (Type::Number, Value::Number(n)) => Ok(match n {
            Number::Int(i) => Json::from(*i),
            Number::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Json::String(n.canonical()), Json::Number),
            Number::Big(_) => Json::String(n.canonical()),
        }),
        (Type::Bool, Value::Bool(b)) => Ok(Json::Bool(*b)),
        (Type::List(et), Value::List(items)) => each(et, items, path, true),
        (Type::Set(et), Value::Set(items)) => {
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            let unique: Vec<Value> = items.iter().filter(|e| seen.insert(*e)).cloned().collect();
            each(et, &unique, path, false)
        }
        (Type::Tuple(ets), Value::Tuple(items)) if ets.len() == items.len() => {
            let mut out = Vec::with_capacity(items.len());
            for (i, (et, e)) in ets.iter().zip(items).enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                out.push(json_of(et, e, path)?);
                path.pop();
            }
            Ok(Json::Array(out))
        }
        (Type::Map(et), Value::Map(m)) => {
            let mut out = serde_json::Map::new();
            for (k, e) in m {
                path.push(PathStep::ElementKey(k.clone()));
                out.insert(k.clone(), json_of(et, e, path)?);
                path.pop();
            }
            Ok(Json::Object(out))
        }
        (Type::Object(attrs), Value::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return err(
                    path,
                    format!("value has attribute {extra:?} that the type lacks"),
                );
            }
            let mut out = serde_json::Map::new();
            for (k, at) in attrs {
                let Some(e) = m.get(k).filter(|e| !matches!(e, Value::Null)) else {
                    continue;
                };
                path.push(PathStep::Attribute(k.clone()));
                out.insert(k.clone(), json_of(at, e, path)?);
                path.pop();
            }
            Ok(Json::Object(out))
        }
        (ty, v) => err(
            path,
            format!("cannot encode {} as {}", kind_name(v), ty.friendly_name()),
        ),
    }
}

/// How JSON decoding treats object attributes the type does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndefinedAttributes {
    /// Fail (wire values must match the schema exactly).
    Reject,
    /// Drop them (state written by an older schema).
    Ignore,
}

/// Decodes a JSON `DynamicValue` or raw state of type `ty`.
///
/// # Errors
/// [`CodecError`] when the bytes are not JSON or do not match `ty`.
pub fn from_json(
    ty: &Type,
    bytes: &[u8],
    undefined: UndefinedAttributes,
) -> Result<Value, CodecError> {
    let json: Json = serde_json::from_slice(bytes)
        .or_else(|e| err(&AttributePath::root(), format!("invalid JSON: {e}")))?;
    let mut path = AttributePath::root();
    json_value(ty, &json, &mut path, undefined, 0)
}

fn json_value(
    ty: &Type,
    j: &Json,
    path: &mut AttributePath,
    undefined: UndefinedAttributes,
    depth: usize,
) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return err(path, "value nested too deeply");
    }
    if j.is_null() {
        return Ok(Value::Null);
    }
    let mismatch =
        |path: &AttributePath| err(path, format!("expected {}, found {j}", ty.friendly_name()));
    match ty {
        Type::String => match j {
            Json::String(s) => Ok(Value::String(s.clone())),
            // cty's JSON decoder converts primitive scalars to strings.
            Json::Number(n) => Ok(Value::String(n.to_string())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => mismatch(path),
        },
        Type::Number => match j {
            Json::Number(n) => Number::parse(&n.to_string())
                .map(Value::Number)
                .map_or_else(|| mismatch(path), Ok),
            Json::String(s) => Number::parse(s)
                .map(Value::Number)
                .map_or_else(|| mismatch(path), Ok),
            _ => mismatch(path),
        },
        Type::Bool => match j {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => mismatch(path),
        },
        Type::Dynamic => {
            let (Some(t), Some(v)) = (j.get("type"), j.get("value")) else {
                return err(path, "a dynamic value must be {\"type\":…,\"value\":…}");
            };
            let inner = Type::from_json(t).or_else(|e| err(path, e.to_string()))?;
            if inner == Type::Dynamic {
                return err(path, "a dynamic value cannot declare type dynamic");
            }
            let v = json_value(&inner, v, path, undefined, depth + 1)?;
            Ok(Value::Dynamic(Box::new(inner), Box::new(v)))
        }
        Type::List(et) | Type::Set(et) => {
            let Json::Array(items) = j else {
                return mismatch(path);
            };
            let is_list = matches!(ty, Type::List(_));
            let mut out = Vec::with_capacity(items.len());
            for (i, e) in items.iter().enumerate() {
                if is_list {
                    path.push(PathStep::ElementIndex(i as i64));
                }
                out.push(json_value(et, e, path, undefined, depth + 1)?);
                if is_list {
                    path.pop();
                }
            }
            Ok(if is_list {
                Value::List(out)
            } else {
                Value::Set(crate::value::dedup_set(out))
            })
        }
        Type::Tuple(ets) => {
            let Json::Array(items) = j else {
                return mismatch(path);
            };
            if items.len() != ets.len() {
                return mismatch(path);
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (et, e)) in ets.iter().zip(items).enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                out.push(json_value(et, e, path, undefined, depth + 1)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(et) => {
            let Json::Object(m) = j else {
                return mismatch(path);
            };
            let mut out = BTreeMap::new();
            for (k, e) in m {
                path.push(PathStep::ElementKey(k.clone()));
                out.insert(k.clone(), json_value(et, e, path, undefined, depth + 1)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Json::Object(m) = j else {
                return mismatch(path);
            };
            let mut out = BTreeMap::new();
            for (k, e) in m {
                let Some(at) = attrs.get(k) else {
                    if undefined == UndefinedAttributes::Ignore {
                        continue;
                    }
                    return err(path, format!("unsupported attribute {k:?}"));
                };
                path.push(PathStep::Attribute(k.clone()));
                out.insert(k.clone(), json_value(at, e, path, undefined, depth + 1)?);
                path.pop();
            }
            for k in attrs.keys() {
                out.entry(k.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("on", Type::Bool),
            ("tags", Type::map(Type::String)),
            ("zones", Type::set(Type::String)),
            ("ports", Type::list(Type::Number)),
            ("pair", Type::Tuple(vec![Type::String, Type::Bool])),
            ("any", Type::Dynamic),
            ("nested", Type::list(Type::object([("id", Type::String)]))),
        ])
    }

    fn sample_value() -> Value {
        Value::object([
            ("name", Value::string("web")),
            ("count", Value::int(3)),
            ("on", Value::Bool(true)),
            (
                "tags",
                Value::Map([("a".to_string(), Value::string("b"))].into()),
            ),
            (
                "zones",
                Value::Set(vec!["us-east-1a".into(), "us-east-1b".into()]),
            ),
            (
                "ports",
                Value::List(vec![Value::int(80), Value::Number(Number::Float(1.5))]),
            ),
            ("pair", Value::Tuple(vec!["x".into(), Value::Bool(false)])),
            (
                "any",
                Value::Dynamic(
                    Box::new(Type::list(Type::String)),
                    Box::new(Value::List(vec![])),
                ),
            ),
            (
                "nested",
                Value::List(vec![Value::object([("id", Value::unknown())])]),
            ),
        ])
    }

    #[test]
    fn msgpack_round_trip() {
        let ty = sample_type();
        let v = sample_value();
        let bytes = to_msgpack(&ty, &v).unwrap();
        assert_eq!(from_msgpack(&ty, &bytes).unwrap(), v);
    }

    #[test]
    fn unknown_is_extension_zero() {
        assert_eq!(
            to_msgpack(&Type::String, &Value::unknown()).unwrap(),
            vec![0xd4, 0, 0]
        );
        assert_eq!(to_msgpack(&Type::String, &Value::Null).unwrap(), vec![0xc0]);
    }

    #[test]
    fn any_extension_decodes_as_unknown() {
        // fixext4 with type 7: not ours, still unknown.
        let v = from_msgpack(&Type::Number, &[0xd6, 7, 1, 2, 3, 4]).unwrap();
        assert!(v.is_unknown());
    }

    #[test]
    fn refined_unknowns_are_kept_and_reencoded() {
        let r = Refinements {
            nullable: Some(false),
            string_prefix: Some("ami-".into()),
            ..Refinements::default()
        };
        let bytes = to_msgpack(&Type::String, &Value::Unknown(r.clone())).unwrap();
        assert_eq!(bytes[0], 0xc7, "ext8");
        assert_eq!(
            from_msgpack(&Type::String, &bytes).unwrap(),
            Value::Unknown(r)
        );
        let r = Refinements {
            number_lower: Some((Number::Int(0), true)),
            length_upper: Some(5),
            ..Refinements::default()
        };
        let bytes = to_msgpack(&Type::Number, &Value::Unknown(r.clone())).unwrap();
        assert_eq!(
            from_msgpack(&Type::Number, &bytes).unwrap(),
            Value::Unknown(r)
        );
    }

    #[test]
    fn numbers_arrive_as_int_float_or_string() {
        let cases: Vec<(Vec<u8>, Number)> = vec![
            (vec![0x05], Number::Int(5)),
            (vec![0xd0, 0xfb], Number::Int(-5)),
            (
                vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Number::parse("18446744073709551615").unwrap(),
            ),
            (
                [vec![0xcb], 2.5f64.to_bits().to_be_bytes().to_vec()].concat(),
                Number::Float(2.5),
            ),
            (
                [vec![0xa4], b"1e30".to_vec()].concat(),
                Number::parse("1e30").unwrap(),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                from_msgpack(&Type::Number, &bytes).unwrap(),
                Value::Number(want)
            );
        }
        let big = Number::parse("123456789012345678901234567890.5").unwrap();
        let bytes = to_msgpack(&Type::Number, &Value::Number(big.clone())).unwrap();
        assert_eq!(
            from_msgpack(&Type::Number, &bytes).unwrap(),
            Value::Number(big)
        );
    }

    #[test]
    fn missing_object_attributes_are_null_and_unknown_ones_fail() {
        let ty = Type::object([("a", Type::String), ("b", Type::String)]);
        let mut bytes = vec![0x81];
        write_str(&mut bytes, "a");
        write_str(&mut bytes, "x");
        let v = from_msgpack(&ty, &bytes).unwrap();
        assert!(v.attr("b").is_null());
        let mut bad = vec![0x81];
        write_str(&mut bad, "zz");
        write_str(&mut bad, "x");
        let e = from_msgpack(&ty, &bad).unwrap_err();
        assert!(e.message.contains("zz"), "{e}");
    }

    #[test]
    fn hostile_lengths_and_nesting_fail_cleanly() {
        // array32 claiming 4 billion elements.
        assert!(from_msgpack(&Type::list(Type::String), &[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        // map32 claiming huge size.
        assert!(
            from_msgpack(
                &Type::map(Type::String),
                &[0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1]
            )
            .is_err()
        );
        // dynamic inside dynamic, deeper than the limit.
        let mut bytes = Vec::new();
        for _ in 0..(MAX_DEPTH + 5) {
            bytes.push(0x92);
            bytes.push(0xa7);
            bytes.extend_from_slice(b"dynamic");
        }
        assert!(from_msgpack(&Type::Dynamic, &bytes).is_err());
        // trailing bytes
        assert!(from_msgpack(&Type::Bool, &[0xc3, 0xc3]).is_err());
        // invalid utf-8
        assert!(from_msgpack(&Type::String, &[0xa1, 0xff]).is_err());
    }

    #[test]
    fn encoding_wrong_shape_names_the_path() {
        let ty = Type::object([("port", Type::Number)]);
        let e = to_msgpack(&ty, &Value::object([("port", Value::string("80"))])).unwrap_err();
        assert_eq!(e.path.to_string(), "port");
    }

    #[test]
    fn sets_are_deduplicated_on_encode() {
        let ty = Type::set(Type::String);
        let bytes = to_msgpack(&ty, &Value::Set(vec!["a".into(), "a".into()])).unwrap();
        assert_eq!(
            from_msgpack(&ty, &bytes).unwrap(),
            Value::Set(vec!["a".into()])
        );
    }

    #[test]
    fn json_round_trip_leaves_null_attributes_out_and_refuses_unknowns() {
        let ty = sample_type();
        let mut v = sample_value();
        v.set_attr(
            "nested",
            Value::List(vec![Value::object([("id", Value::string("i"))])]),
        );
        v.set_attr("count", Value::Null);
        v.set_attr(
            "ports",
            Value::List(vec![
                Value::int(80),
                Value::Number(Number::Big("1e400".into())),
            ]),
        );
        let json = to_json(&ty, &v).unwrap();
        assert!(json.get("count").is_none(), "{json}");
        let text = serde_json::to_vec(&json).unwrap();
        assert_eq!(
            from_json(&ty, &text, UndefinedAttributes::Reject).unwrap(),
            v
        );
        let err = to_json(&ty, &sample_value()).unwrap_err();
        assert!(err.to_string().contains("nested[0].id"), "{err}");
    }

    #[test]
    fn json_decoding_by_type() {
        let ty = sample_type();
        let json = br#"{"name":"web","count":3,"on":true,"tags":{"a":"b"},"zones":["x"],
            "ports":[80,1.5],"pair":["x",false],"any":{"type":"string","value":"s"},"nested":[{"id":"i"}]}"#;
        let v = from_json(&ty, json, UndefinedAttributes::Reject).unwrap();
        assert_eq!(v.attr("count").as_i64(), Some(3));
        assert_eq!(v.attr("any").as_str(), Some("s"));
        let with_extra = br#"{"name":"web","removed_attr":1}"#;
        assert!(from_json(&ty, with_extra, UndefinedAttributes::Reject).is_err());
        let v = from_json(&ty, with_extra, UndefinedAttributes::Ignore).unwrap();
        assert!(v.attr("count").is_null());
        let big = from_json(
            &Type::Number,
            b"123456789012345678901234567890",
            UndefinedAttributes::Reject,
        )
        .unwrap();
        assert_eq!(
            big.as_number().unwrap().canonical(),
            "123456789012345678901234567890"
        );
    }
}

#[cfg(test)]
mod regression_tests {
    use super::*;

    /// Found by the msgpack_decode fuzz target: a set of sets whose
    /// elements become equal once their own duplicates are dropped.
    #[test]
    fn nested_set_duplicates_collapse_to_one_element() {
        let ty = Type::set(Type::set(Type::String));
        let bytes = [0x92, 0x91, 0xa1, b'a', 0x92, 0xa1, b'a', 0xa1, b'a'];
        let v = from_msgpack(&ty, &bytes).unwrap();
        assert_eq!(v.as_elements().unwrap().len(), 1, "{v:?}");
        let again = to_msgpack(&ty, &v).unwrap();
        assert_eq!(again, vec![0x91, 0x91, 0xa1, b'a']);
        assert_eq!(from_msgpack(&ty, &again).unwrap(), v);
        let j = from_json(&ty, br#"[["a"],["a","a"]]"#, UndefinedAttributes::Reject).unwrap();
        assert_eq!(j, v);
    }
}
