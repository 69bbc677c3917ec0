//! Checks for the provider's own decoders of bytes from outside: stored
//! state (UpgradeResourceState), import ids typed by a user, and what is
//! read back from the cloud (user-data configuration lines, instance tags,
//! Route53 names).

use terraform_provider_berth::resources::container_app::{model::AppModel, spec::AppConfig, state};
use terraform_provider_berth::resources::{import_id, region_pool, weighted_route};
use tfplugin::codec::{self, UndefinedAttributes};
use tfplugin::schema::Schema;
use tfplugin::types::Type;
use tfplugin::value::Value;

/// The managed resources whose state a user's state file may hold, in
/// the order the first byte of a `state_upgrade` input picks them.
pub fn resource_schemas() -> Vec<(&'static str, Schema)> {
    vec![
        (
            "berth_container_app",
            terraform_provider_berth::resources::container_app::schema::schema(),
        ),
        ("berth_weighted_route", weighted_route::schema()),
        ("berth_region_pool", region_pool::schema()),
    ]
}

fn resource_types() -> &'static [(&'static str, Type)] {
    static TYPES: std::sync::OnceLock<Vec<(&'static str, Type)>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| {
        resource_schemas()
            .into_iter()
            .map(|(n, s)| (n, s.value_type()))
            .collect()
    })
}

/// `state_upgrade`: byte 0 picks a resource, the rest is its stored state
/// as Terraform sends it to UpgradeResourceState (JSON). Decoding it the
/// way the server does (current schema, attributes that no longer exist
/// dropped) never panics; what decodes round-trips and then goes through
/// every function that reads a prior state (config parsing, the instance
/// list, the rollout fingerprint) without panicking.
pub fn check_state_upgrade(data: &[u8]) {
    let Some((&sel, raw)) = data.split_first() else { return };
    let types = resource_types();
    let (name, ty) = &types[usize::from(sel) % types.len()];
    let Ok(v) = codec::from_json(ty, raw, UndefinedAttributes::Ignore) else { return };
    crate::check_round_trip(ty, &v);
    match *name {
        "berth_container_app" => {
            let _ = AppConfig::from_value(&v);
            if let Ok(m) = v.get::<AppModel>() {
                let _ = state::instances_of(&m, None);
                let _ = state::served_without_origin(&m, &[]);
            }
            let _ = terraform_provider_berth::resources::container_app::spec::fingerprint(
                &v,
                &Value::Null,
            );
        }
        "berth_weighted_route" => {
            let (cfg, _) = weighted_route::plan::parse(&v);
            let _ = cfg.weights();
            let _ = cfg.record_type();
        }
        _ => {
            let _ = region_pool::plan::parse(&v);
        }
    }
}

/// `import_id`: every parser of `terraform import` ids either refuses the
/// text or returns parts that put back together give the id exactly.
pub fn check_import_id(data: &[u8]) {
    let Ok(id) = std::str::from_utf8(data) else { return };
    if let Ok(a) = import_id::app(id) {
        let back = match a.region {
            Some(r) => format!("{r}/{}", a.name),
            None => a.name.to_string(),
        };
        assert_eq!(back, id, "app id does not put back together");
        assert!(!a.name.is_empty() && !a.name.contains('/'));
    }
    if let Ok(r) = import_id::route(id) {
        let mut back = format!("{}/{}", r.zone, r.name);
        if let Some(t) = r.record_type {
            assert!(t == "CNAME" || t == "A", "record type {t:?} accepted");
            back = format!("{back}/{t}");
        }
        assert_eq!(back, id, "route id does not put back together");
    }
    if let Ok(p) = import_id::pool(id) {
        assert_eq!(format!("{}/{}", p.zone, p.name), id);
        assert!(!p.zone.is_empty() && !p.name.is_empty() && !p.name.contains('/'));
    }
}

/// `cloud`: byte 0 picks a reader of cloud data, the rest is its input.
/// - 0: an instance's user-data as EC2 returns it (base64, maybe of gzip):
///   decoded and unpacked (bounded), then
///   its berth configuration line read back; what reads back is a value
///   of the app's type that re-encodes.
/// - 1: the same for user-data text (already decoded).
/// - 2: an instance as DescribeInstances returns it, built from fields
///   separated by NUL (id, state, zone, addresses, then tag key/value
///   pairs): converting it never panics, keeps the id and reads the
///   release tag only when it is a number.
/// - 3: a Route53 record name, decoded (escapes) and canonicalised.
pub fn check_cloud(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    match sel % 4 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if let Some(script) = berth_aws::fleet::decode_user_data(&text) {
                user_data(&script);
            }
        }
        1 => user_data(&String::from_utf8_lossy(rest)),
        2 => instance(rest),
        _ => {
            let name = String::from_utf8_lossy(rest);
            let once = berth_aws::dns::decode_name(&name);
            assert_eq!(
                berth_aws::dns::decode_name(&once),
                once,
                "decoding a decoded name changes it"
            );
        }
    }
}

fn user_data(text: &str) {
    if let Ok(v) = state::from_trailer(text) {
        let ty = &resource_types()[0].1;
        codec::to_msgpack(ty, &v).expect("a configuration line read back re-encodes");
        let _ = AppConfig::from_value(&v);
    }
}

fn instance(rest: &[u8]) {
    use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Placement, Tag};
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\0');
    let mut next = || fields.next().map(str::to_string);
    let id = next();
    let state = next();
    let zone = next();
    let public = next();
    let private = next();
    let mut b = Instance::builder();
    if let Some(id) = &id {
        b = b.instance_id(id);
    }
    if let Some(s) = state {
        b = b.state(InstanceState::builder().name(InstanceStateName::from(s.as_str())).build());
    }
    if let Some(z) = zone {
        b = b.placement(Placement::builder().availability_zone(z).build());
    }
    if let Some(p) = public.filter(|p| !p.is_empty()) {
        b = b.public_ip_address(p);
    }
    if let Some(p) = private.filter(|p| !p.is_empty()) {
        b = b.private_ip_address(p);
    }
    let mut release_tag = None;
    while let (Some(k), Some(v)) = (next(), next()) {
        if k == "berth:release" {
            // The last of repeated keys wins, as in the reader's tag map.
            release_tag = Some(v.clone());
        }
        b = b.tags(Tag::builder().key(k).value(v).build());
    }
    let got = berth_aws::fleet::to_instance(&b.build());
    match (&id, got) {
        (None, Some(i)) => panic!("an instance without an id was read as {i:?}"),
        (Some(id), Some(i)) => {
            assert_eq!(&i.id, id);
            let want = release_tag.and_then(|r| r.parse::<u64>().ok()).unwrap_or(0);
            assert_eq!(i.release, want, "release tag read wrongly");
        }
        (Some(id), None) => panic!("instance {id:?} was dropped"),
        (None, None) => {}
    }
}
