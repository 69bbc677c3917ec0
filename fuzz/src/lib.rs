//! Shared logic of berth's fuzz targets (see `fuzz_targets/`).
//!
//! Each target is a thin wrapper around one `check_*` function here, so the
//! same checks run under libFuzzer (`scripts/fuzz`, `cargo fuzz run`) and
//! in plain `cargo test` over the checked-in corpus and regressions
//! (`tests/corpus.rs`).
//!
//! Input layout of `msgpack_decode` and `json_decode`: the first byte picks
//! the type ([`pick_type`]); the rest is the encoded value.

pub mod outside;

use std::collections::HashSet;
use std::sync::OnceLock;

use tfplugin::codec::{self, UndefinedAttributes};
use tfplugin::types::Type;
use tfplugin::value::Value;

/// The fixed types a decoder input may pick with its first byte.
///
/// Changing this list re-maps every existing input to other types (still
/// valid fuzz inputs, no longer the intended seeds): regenerate the seeds
/// with `examples/gen_corpus.rs` and re-check `regressions/` afterwards.
pub fn fixed_types() -> &'static [(&'static str, Type)] {
    static TYPES: OnceLock<Vec<(&'static str, Type)>> = OnceLock::new();
    TYPES.get_or_init(build_types)
}

fn build_types() -> Vec<(&'static str, Type)> {
    use Type::{Bool, Dynamic, Number, String};
    let obj = |pairs: &[(&str, Type)]| Type::object(pairs.iter().cloned());
    let nested = obj(&[
        ("s", String),
        ("n", Number),
        ("b", Bool),
        ("d", Dynamic),
        ("l", Type::list(Number)),
        ("st", Type::set(String)),
        ("m", Type::map(Bool)),
        ("t", Type::Tuple(vec![String, Dynamic, Type::list(Bool)])),
        (
            "o",
            obj(&[
                ("ls", Type::list(obj(&[("k", String), ("v", Dynamic)]))),
                ("ss", Type::set(obj(&[("x", Number), ("y", Type::set(String))]))),
                ("mm", Type::map(Type::map(Number))),
            ]),
        ),
    ]);
    // Shaped like an aws_instance-style resource: what the provider really
    // decodes on every plan and apply.
    let ebs = obj(&[
        ("device_name", String),
        ("volume_size", Number),
        ("volume_type", String),
        ("encrypted", Bool),
        ("delete_on_termination", Bool),
        ("tags", Type::map(String)),
    ]);
    let resource = obj(&[
        ("id", String),
        ("ami", String),
        ("instance_type", String),
        ("count", Number),
        ("monitoring", Bool),
        ("tags", Type::map(String)),
        ("tags_all", Type::map(String)),
        ("vpc_security_group_ids", Type::set(String)),
        ("ports", Type::list(Number)),
        ("ebs_block_device", Type::set(ebs.clone())),
        ("root_block_device", Type::list(ebs)),
        ("metadata_options", obj(&[("http_tokens", String), ("hop_limit", Number)])),
        ("timeouts", obj(&[("create", String), ("delete", String)])),
        ("user_data_args", Dynamic),
        ("availability", Type::Tuple(vec![String, Number])),
    ]);
    vec![
        ("string", String),
        ("number", Number),
        ("bool", Bool),
        ("dynamic", Dynamic),
        ("list(string)", Type::list(String)),
        ("set(string)", Type::set(String)),
        ("map(string)", Type::map(String)),
        ("list(number)", Type::list(Number)),
        ("set(number)", Type::set(Number)),
        ("list(dynamic)", Type::list(Dynamic)),
        ("set(dynamic)", Type::set(Dynamic)),
        ("map(dynamic)", Type::map(Dynamic)),
        ("set(set(string))", Type::set(Type::set(String))),
        ("set(list(number))", Type::set(Type::list(Number))),
        ("list(list(list(dynamic)))", Type::list(Type::list(Type::list(Dynamic)))),
        ("tuple", Type::Tuple(vec![String, Number, Bool, Dynamic, Type::set(Number)])),
        ("nested", nested),
        ("resource", resource),
    ]
}

/// Splits a decoder input into (type, payload).
///
/// `data[0] % (N + 1)` picks one of the N [`fixed_types`]; the extra value
/// N means "custom": `data[1]` is a length L and `data[2..2+L]` the type's
/// JSON, so the fuzzer can also reach types nobody listed. `None` when the
/// input is too short or the custom type does not parse.
pub fn pick_type(data: &[u8]) -> Option<(Type, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    let types = fixed_types();
    let i = usize::from(sel) % (types.len() + 1);
    if i < types.len() {
        return Some((types[i].1.clone(), rest));
    }
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if rest.len() < len {
        return None;
    }
    let ty = Type::from_json_bytes(&rest[..len]).ok()?;
    Some((ty, &rest[len..]))
}

/// The selector byte for a fixed type by name (for corpus generation).
pub fn selector(name: &str) -> u8 {
    let i = fixed_types()
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixed type named {name}"));
    u8::try_from(i).expect("fewer than 256 types")
}

/// The selector byte meaning "custom type follows".
pub fn custom_selector() -> u8 {
    u8::try_from(fixed_types().len()).expect("fewer than 256 types")
}

/// `v` as a set should be: set elements normalised first, then duplicates
/// removed (first occurrence kept). This is cty's meaning of a set value;
/// a msgpack round trip of `v` must give a value equal to it.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Set(items) => {
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(items.len());
            for e in items.iter().map(normalize) {
                if seen.insert(e.clone()) {
                    out.push(e);
                }
            }
            Value::Set(out)
        }
        Value::List(items) => Value::List(items.iter().map(normalize).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(normalize).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, e)| (k.clone(), normalize(e))).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, e)| (k.clone(), normalize(e))).collect()),
        Value::Dynamic(t, inner) => Value::Dynamic(t.clone(), Box::new(normalize(inner))),
        other => other.clone(),
    }
}

/// Finds a set (anywhere inside `v`) holding two equal elements.
pub fn find_duplicate_set_element(v: &Value) -> Option<&Value> {
    match v {
        Value::Set(items) => {
            let mut seen = HashSet::new();
            for e in items {
                if !seen.insert(e) {
                    return Some(e);
                }
            }
            items.iter().find_map(find_duplicate_set_element)
        }
        Value::List(items) | Value::Tuple(items) => items.iter().find_map(find_duplicate_set_element),
        Value::Map(m) | Value::Object(m) => m.values().find_map(find_duplicate_set_element),
        Value::Dynamic(_, inner) => find_duplicate_set_element(inner),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    const MAX: usize = 512;
    let mut s: String = bytes.iter().take(MAX).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > MAX {
        s.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    s
}

/// The properties every value decoded from the wire must have, whatever
/// decoder produced it:
/// 1. it re-encodes as msgpack, and that decodes;
/// 2. the encoder never puts a set with two equal elements on the wire;
/// 3. decoding gives the value back, up to set deduplication ([`normalize`]);
/// 4. re-encoding settles: after one round trip the bytes are a fixed
///    point, `encode(decode(e)) == e` for `e = encode(decode(encode(v)))`.
///
/// (4) is not asserted for the first encoding: one number may have two
/// exact encodings (2^63 arrives as uint64, is kept as decimal text, is
/// written as a string and read back as a float64), which is harmless;
/// equality of the values (3) is what matters.
pub fn check_round_trip(ty: &Type, v: &Value) {
    let ty_json = String::from_utf8_lossy(&ty.to_json_bytes()).into_owned();
    let encode = |v: &Value, what: &str| {
        codec::to_msgpack(ty, v)
            .unwrap_or_else(|e| panic!("{what} does not re-encode: {e}\ntype: {ty_json}\nvalue: {v:?}"))
    };
    let decode = |bytes: &[u8], what: &str| {
        codec::from_msgpack(ty, bytes).unwrap_or_else(|e| {
            panic!("{what} does not decode: {e}\ntype: {ty_json}\nvalue: {v:?}\nencoded: {}", hex(bytes))
        })
    };
    let e1 = encode(v, "a decoded value");
    let v1 = decode(&e1, "the encoder's output");
    if let Some(dup) = find_duplicate_set_element(&v1) {
        panic!(
            "the encoder wrote a set with duplicate elements ({dup:?})\ntype: {ty_json}\nvalue: {v:?}\nencoded: {}",
            hex(&e1)
        );
    }
    let want = normalize(v);
    assert!(
        v1 == want,
        "decode(encode(v)) != v (up to set dedup)\ntype: {ty_json}\nv: {v:?}\nnormalized v: {want:?}\ngot: {v1:?}\nencoded: {}",
        hex(&e1)
    );
    let e2 = encode(&v1, "a round-tripped value");
    let v2 = decode(&e2, "the second encoding");
    assert!(v2 == v1, "second round trip changed the value\ntype: {ty_json}\nbefore: {v1:?}\nafter: {v2:?}");
    let e3 = encode(&v2, "a twice round-tripped value");
    assert!(
        e3 == e2,
        "re-encoding does not settle\ntype: {ty_json}\nv: {v:?}\nsecond: {}\nthird:  {}",
        hex(&e2),
        hex(&e3)
    );
}

/// `msgpack_decode`: decoding arbitrary bytes never panics, and anything
/// that decodes passes [`check_round_trip`].
pub fn check_msgpack(data: &[u8]) {
    let Some((ty, bytes)) = pick_type(data) else { return };
    if let Ok(v) = codec::from_msgpack(&ty, bytes) {
        check_round_trip(&ty, &v);
    }
}

/// `json_decode`: `from_json` never panics in either mode; a value the
/// strict mode accepts the lenient mode accepts identically; anything that
/// decodes passes [`check_round_trip`].
pub fn check_json(data: &[u8]) {
    let Some((ty, bytes)) = pick_type(data) else { return };
    let strict = codec::from_json(&ty, bytes, UndefinedAttributes::Reject);
    let lenient = codec::from_json(&ty, bytes, UndefinedAttributes::Ignore);
    if let Ok(s) = &strict {
        match &lenient {
            Ok(l) => assert!(l == s, "Reject and Ignore disagree\nreject: {s:?}\nignore: {l:?}"),
            Err(e) => panic!("Reject accepted what Ignore refused ({e})\nvalue: {s:?}"),
        }
        check_round_trip(&ty, s);
    } else if let Ok(l) = &lenient {
        check_round_trip(&ty, l);
    }
}

/// `type_json`: reading a type never panics or overflows the stack, and a
/// type read back from its own JSON is the same type.
pub fn check_type_json(data: &[u8]) {
    let Ok(t) = Type::from_json_bytes(data) else { return };
    let bytes = t.to_json_bytes();
    let back = Type::from_json_bytes(&bytes);
    assert!(
        back.as_ref() == Ok(&t),
        "type JSON does not round-trip\ntype: {t:?}\njson: {}\nread back: {back:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(t.to_json_bytes(), bytes, "to_json_bytes is not deterministic");
    let _ = t.friendly_name();
}
