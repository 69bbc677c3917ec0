//! Writes the checked-in seed corpora under `fuzz/corpus/<target>/`.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus
//!
//! Seeds are valid inputs, mostly produced by tfplugin's own encoder from
//! sample values of every fixed type (see `berth_fuzz::fixed_types`), plus
//! hand-written wire forms the encoder never produces (other number
//! encodings, bin strings, other extension types, refined unknowns). Every
//! seed is checked to decode before it is written. Existing files with
//! the same names are overwritten; nothing else is deleted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use berth_fuzz::{custom_selector, fixed_types, selector};
use tfplugin::codec::{self, UndefinedAttributes};
use tfplugin::types::Type;
use tfplugin::value::{Number, Refinements, Value};

/// How a sample value is filled in.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Every leaf known, collections with two elements.
    Full,
    /// Leaves alternate null and unknown (refined where it fits).
    Holes,
    /// Empty collections, empty strings, zero.
    Empty,
}

fn sample(ty: &Type, fill: Fill, salt: usize) -> Value {
    let leaf_hole = |salt: usize| -> Option<Value> {
        if fill != Fill::Holes {
            return None;
        }
        Some(if salt % 2 == 0 { Value::Null } else { Value::unknown() })
    };
    match ty {
        Type::String => leaf_hole(salt).unwrap_or_else(|| match fill {
            Fill::Empty => Value::string(""),
            _ => Value::string(["web-1", "ami-0abc", "us-east-1a", "ünïcødé ✓"][salt % 4]),
        }),
        Type::Number => leaf_hole(salt).unwrap_or_else(|| match fill {
            Fill::Empty => Value::int(0),
            _ => Value::Number(
                [
                    Number::Int(42),
                    Number::Float(1.5),
                    Number::Int(-7),
                    Number::parse("123456789012345678901234567890.5").expect("valid"),
                ][salt % 4]
                    .clone(),
            ),
        }),
        Type::Bool => leaf_hole(salt).unwrap_or(Value::Bool(salt % 2 == 0)),
        Type::Dynamic => {
            if let Some(h) = leaf_hole(salt) {
                return h;
            }
            let inner = [
                Type::String,
                Type::list(Type::String),
                Type::object([("a", Type::Number), ("b", Type::set(Type::Bool))]),
                Type::map(Type::Number),
            ][salt % 4]
                .clone();
            let v = sample(&inner, fill, salt + 1);
            Value::Dynamic(Box::new(inner), Box::new(v))
        }
        Type::List(e) | Type::Set(e) => {
            let items: Vec<Value> = match fill {
                Fill::Empty => vec![],
                Fill::Holes => vec![sample(e, Fill::Full, salt), sample(e, fill, salt + 1)],
                Fill::Full => vec![sample(e, fill, salt), sample(e, fill, salt + 1)],
            };
            if matches!(ty, Type::List(_)) { Value::List(items) } else { Value::Set(items) }
        }
        Type::Map(e) => Value::Map(match fill {
            Fill::Empty => BTreeMap::new(),
            _ => [("a".to_string(), sample(e, fill, salt)), ("b-key".to_string(), sample(e, fill, salt + 1))].into(),
        }),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .enumerate()
                .map(|(i, (k, t))| (k.clone(), sample(t, fill, salt + i)))
                .collect(),
        ),
        Type::Tuple(ts) => Value::Tuple(ts.iter().enumerate().map(|(i, t)| sample(t, fill, salt + i)).collect()),
    }
}

/// cty's JSON form of a wholly known value (dynamic as `{"type","value"}`).
fn to_json(ty: &Type, v: &Value) -> String {
    fn go(ty: &Type, v: &Value, out: &mut String) {
        match (ty, v) {
            (_, Value::Null) => out.push_str("null"),
            (Type::Dynamic, Value::Dynamic(t, inner)) => {
                out.push_str("{\"type\":");
                out.push_str(&String::from_utf8(t.to_json_bytes()).expect("utf-8"));
                out.push_str(",\"value\":");
                go(t, inner, out);
                out.push('}');
            }
            (_, Value::String(s)) => out.push_str(&json_str(s)),
            (_, Value::Number(n)) => out.push_str(&n.canonical()),
            (_, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
            (Type::List(e) | Type::Set(e), Value::List(items) | Value::Set(items)) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go(e, item, out);
                }
                out.push(']');
            }
            (Type::Tuple(ts), Value::Tuple(items)) => {
                out.push('[');
                for (i, (t, item)) in ts.iter().zip(items).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go(t, item, out);
                }
                out.push(']');
            }
            (Type::Map(_) | Type::Object(_), Value::Map(m) | Value::Object(m)) => {
                out.push('{');
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_str(k));
                    out.push(':');
                    let t = match ty {
                        Type::Map(e) => (**e).clone(),
                        Type::Object(a) => a[k].clone(),
                        _ => unreachable!(),
                    };
                    go(&t, item, out);
                }
                out.push('}');
            }
            (t, v) => panic!("no JSON for {v:?} as {t:?}"),
        }
    }
    let mut out = String::new();
    go(ty, v, &mut out);
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Writer {
    dir: PathBuf,
    count: usize,
}

impl Writer {
    fn new(root: &Path, target: &str) -> Writer {
        let dir = root.join("corpus").join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        Writer { dir, count: 0 }
    }
    fn put(&mut self, name: &str, bytes: &[u8]) {
        let name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        fs::write(self.dir.join(format!("seed-{name}")), bytes).expect("write seed");
        self.count += 1;
    }
}

fn with_selector(sel: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![sel];
    v.extend_from_slice(payload);
    v
}

fn custom(ty_json: &str, payload: &[u8]) -> Vec<u8> {
    let len = u8::try_from(ty_json.len()).expect("short type JSON");
    let mut v = vec![custom_selector(), len];
    v.extend_from_slice(ty_json.as_bytes());
    v.extend_from_slice(payload);
    v
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // ---- msgpack_decode -------------------------------------------------
    let mut mp = Writer::new(root, "msgpack_decode");
    let refined = Value::Unknown(Refinements {
        nullable: Some(false),
        string_prefix: Some("ami-".into()),
        number_lower: Some((Number::Int(0), true)),
        number_upper: Some((Number::Float(10.5), false)),
        length_lower: Some(1),
        length_upper: Some(3),
    });
    for (name, ty) in fixed_types() {
        let sel = selector(name);
        let mut values = vec![
            ("null", Value::Null),
            ("unknown", Value::unknown()),
            ("refined", refined.clone()),
            ("full", sample(ty, Fill::Full, 0)),
            ("empty", sample(ty, Fill::Empty, 0)),
        ];
        if !matches!(ty, Type::String | Type::Number | Type::Bool | Type::Dynamic) {
            values.push(("holes", sample(ty, Fill::Holes, 0)));
        }
        for (what, v) in values {
            let bytes = codec::to_msgpack(ty, &v).unwrap_or_else(|e| panic!("{name} {what}: {e}"));
            codec::from_msgpack(ty, &bytes).unwrap_or_else(|e| panic!("{name} {what}: {e}"));
            mp.put(&format!("{name}-{what}"), &with_selector(sel, &bytes));
        }
    }
    // Wire forms the encoder does not write but peers may.
    let hand: &[(&str, &str, &[u8])] = &[
        ("number", "u64-max", &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ("number", "u64-2pow63", &[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ("number", "i64-min", &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ("number", "f32", &[0xca, 0x3f, 0xc0, 0, 0]),
        ("number", "f64-frac", &[0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]),
        ("number", "str-1e30", b"\xa41e30"),
        ("number", "str-precise", b"\xbe0.1000000000000000000000000001"),
        ("number", "i8", &[0xd0, 0xfb]),
        ("number", "u16", &[0xcd, 0x01, 0x00]),
        ("string", "bin8", b"\xc4\x03abc"),
        ("string", "str8", b"\xd9\x05hello"),
        ("string", "fixext1-7", &[0xd4, 7, 1]),
        ("string", "fixext4", &[0xd6, 7, 1, 2, 3, 4]),
        ("string", "ext8-12-bad-payload", &[0xc7, 2, 12, 0xc1, 0xc1]),
        ("string", "ext12-unknown-key", &[0xc7, 5, 12, 0x81, 0x09, 0x92, 0x01, 0xc3]),
        ("bool", "false", &[0xc2]),
        ("dynamic", "bin-type-json", b"\x92\xc4\x08\"string\"\xa2hi"),
        ("dynamic", "str-type-json", b"\x92\xa8\"number\"\x05"),
        ("dynamic", "list-dyn", b"\x92\xaf[\"list\",\"bool\"]\x92\xc3\xc2"),
        ("set(string)", "dupes", b"\x93\xa1a\xa1a\xa1b"),
        ("set(set(string))", "nested", b"\x92\x91\xa1a\x92\xa1a\xa1b"),
        ("map(string)", "map16", b"\xde\x00\x01\xa1k\xa1v"),
        ("list(string)", "array16", b"\xdc\x00\x02\xa1x\xc0"),
    ];
    for (name, what, bytes) in hand {
        let ty = &fixed_types()[usize::from(selector(name))].1;
        codec::from_msgpack(ty, bytes).unwrap_or_else(|e| panic!("{name} {what}: {e}"));
        mp.put(&format!("{name}-{what}"), &with_selector(selector(name), bytes));
    }
    let custom_types = [
        r#"["tuple",[]]"#,
        r#"["object",{}]"#,
        r#"["map",["set","number"]]"#,
        r#"["object",{"a":["tuple",["string","dynamic"]],"b":["list",["map","bool"]]},["b"]]"#,
        r#"["set",["set",["set",["set",["set",["set",["list",["set","number"]]]]]]]]"#,
    ];
    for (i, tj) in custom_types.iter().enumerate() {
        let ty = Type::from_json_bytes(tj.as_bytes()).expect("valid type");
        let v = sample(&ty, Fill::Full, i);
        let bytes = codec::to_msgpack(&ty, &v).expect("encode");
        mp.put(&format!("custom-{i}"), &custom(tj, &bytes));
    }

    // ---- json_decode ----------------------------------------------------
    let mut js = Writer::new(root, "json_decode");
    for (name, ty) in fixed_types() {
        let sel = selector(name);
        js.put(&format!("{name}-null"), &with_selector(sel, b"null"));
        for (what, fill) in [("full", Fill::Full), ("empty", Fill::Empty)] {
            let v = sample(ty, fill, 1);
            let text = to_json(ty, &v);
            let got = codec::from_json(ty, text.as_bytes(), UndefinedAttributes::Reject)
                .unwrap_or_else(|e| panic!("{name} {what}: {e}\n{text}"));
            assert!(got == v, "{name} {what}: JSON seed decodes to {got:?}, not {v:?}");
            js.put(&format!("{name}-{what}"), &with_selector(sel, text.as_bytes()));
        }
    }
    let hand_json: &[(&str, &str, &str)] = &[
        ("string", "from-number", "12.50"),
        ("string", "from-bool", "true"),
        ("string", "escapes", r#""a\"b\\c\u00e9\ud83d\ude00""#),
        ("number", "from-string", r#""1e3""#),
        ("number", "big", "123456789012345678901234567890"),
        ("number", "huge-exp", "1e400"),
        ("number", "neg-zero", "-0.0"),
        ("bool", "from-string", r#""false""#),
        ("dynamic", "nested-dyn", r#"{"type":["list","dynamic"],"value":[{"type":"bool","value":true},null]}"#),
        ("resource", "extra-attr", r#"{"id":"i-1","removed_attr":{"x":1},"tags":{"Name":"web"}}"#),
        ("nested", "dup-keys", r#"{"s":"a","s":"b","n":1}"#),
        ("set(string)", "dupes", r#"["a","a","b"]"#),
        ("set(set(string))", "nested", r#"[["a"],["a","a"]]"#),
        ("tuple", "mixed", r#"["x","5",false,{"type":"number","value":"7"},[1,1,2]]"#),
    ];
    for (name, what, text) in hand_json {
        let ty = &fixed_types()[usize::from(selector(name))].1;
        codec::from_json(ty, text.as_bytes(), UndefinedAttributes::Ignore)
            .unwrap_or_else(|e| panic!("{name} {what}: {e}"));
        js.put(&format!("{name}-{what}"), &with_selector(selector(name), text.as_bytes()));
    }
    for (i, tj) in custom_types.iter().enumerate() {
        let ty = Type::from_json_bytes(tj.as_bytes()).expect("valid type");
        let text = to_json(&ty, &sample(&ty, Fill::Full, i));
        js.put(&format!("custom-{i}"), &custom(tj, text.as_bytes()));
    }

    // ---- type_json ------------------------------------------------------
    let mut tj = Writer::new(root, "type_json");
    for (name, ty) in fixed_types() {
        tj.put(name, &ty.to_json_bytes());
    }
    for (i, t) in custom_types.iter().enumerate() {
        Type::from_json_bytes(t.as_bytes()).expect("valid type");
        tj.put(&format!("custom-{i}"), t.as_bytes());
    }
    let deep = "[\"list\",".repeat(60) + "\"string\"" + &"]".repeat(60);
    tj.put("deep-60", deep.as_bytes());
    tj.put("optional-markers", br#"["object",{"a":"string","b":["list","number"]},["b"]]"#);
    tj.put("escaped-key", br#"["object",{"a\"b\u00e9":"bool","":"dynamic"}]"#);

    // ---- state_upgrade: each resource's state as Terraform stores it -----
    let mut su = Writer::new(root, "state_upgrade");
    let schemas = berth_fuzz::outside::resource_schemas();
    for (i, (name, schema)) in schemas.iter().enumerate() {
        let ty = schema.value_type();
        let sel = u8::try_from(i).expect("few resources");
        for (what, fill) in [("full", Fill::Full), ("empty", Fill::Empty)] {
            let text = to_json(&ty, &sample(&ty, fill, i));
            codec::from_json(&ty, text.as_bytes(), UndefinedAttributes::Ignore)
                .unwrap_or_else(|e| panic!("{name} {what}: {e}"));
            su.put(&format!("{name}-{what}"), &with_selector(sel, text.as_bytes()));
        }
        su.put(&format!("{name}-removed-attr"), &with_selector(sel, br#"{"id":"x","gone":{"a":[1]}}"#));
    }

    // ---- import_id: ids of every shape, good and bad ----------------------
    let mut ii = Writer::new(root, "import_id");
    for (what, id) in [
        ("app", "web"),
        ("app-region", "eu-west-1/web"),
        ("route", "example.com/api.example.com"),
        ("route-type", "example.com/api.example.com/CNAME"),
        ("route-zone-id", "Z0123456789ABC/api/A"),
        ("pool", "example.com/api"),
        ("bad-type", "example.com/api/TXT"),
        ("empty-parts", "//"),
        ("unicode", "exämple.com/äpi"),
    ] {
        ii.put(what, id.as_bytes());
    }

    // ---- cloud: user-data, instances and record names as AWS returns them --
    let mut cl = Writer::new(root, "cloud");
    let app_ty = schemas[0].1.value_type();
    let planned = sample(&app_ty, Fill::Full, 0);
    let line = terraform_provider_berth::resources::container_app::state::trailer(
        &planned,
        "ami-0abc",
        "2026-11-23T10:00:00Z",
    )
    .expect("a trailer for a sample app");
    let script = format!("#!/bin/bash\necho boot\n{line}");
    {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(script.as_bytes());
        cl.put("user-data-base64", &with_selector(0, encoded.as_bytes()));
    }
    cl.put("user-data-text", &with_selector(1, script.as_bytes()));
    cl.put("user-data-no-line", &with_selector(1, b"#!/bin/bash\necho hi\n"));
    cl.put(
        "instance",
        &with_selector(
            2,
            b"i-0abc\0running\0us-east-1a\x0054.1.2.3\x0010.0.0.5\0berth:app\0web\0berth:release\x007\0berth:health\0healthy",
        ),
    );
    cl.put("instance-bad-release", &with_selector(2, b"i-1\0pending\0\0\0\0berth:release\0-3"));
    cl.put("record-name", &with_selector(3, b"\\052.Example.COM"));

    println!(
        "wrote {} msgpack_decode, {} json_decode, {} type_json, {} state_upgrade, {} import_id, {} cloud seeds under {}",
        mp.count,
        js.count,
        tj.count,
        su.count,
        ii.count,
        cl.count,
        root.join("corpus").display()
    );
}
