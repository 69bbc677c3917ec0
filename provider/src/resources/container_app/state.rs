//! State of a `berth_container_app`: instances and origin as Terraform
//! values, and the configuration trailer in user-data (written by apply,
//! read by import).
//!
//! Guarantees:
//! - The trailer holds the resource's arguments (never secret values:
//!   secrets are references), so import restores a configuration that
//!   plans empty.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use berth_aws::fleet::AddressKind;
use berth_rollout::{Instance, InstanceState};
use tfplugin::codec;
use tfplugin::model::{Attr, ToValue};
use tfplugin::value::Value;

/// The user-data line that carries the resource's arguments.
pub const TRAILER: &str = "# berth-config: ";

/// Attributes that are computed only (not written into the trailer).
pub const COMPUTED_ONLY: [&str; 11] = [
    "id",
    "region",
    "instance_role",
    "release",
    "fingerprint",
    "security_group_id",
    "origin_fqdn",
    "origin_addresses",
    "instances",
    "release_history",
    "rollout_plan",
];

/// The `instance_role` of an app with `instance_profile`, `name` and
/// `region`: berth's role when the profile is unset, else null (unknown
/// while the profile, the name or the region is unknown).
pub fn role_of(profile: &Attr<String>, name: Option<&str>, region: Option<&str>) -> Attr<String> {
    match (profile, name, region) {
        (Attr::Unknown(_), _, _) => Attr::unknown(),
        (Attr::Known(_), _, _) => Attr::Null,
        (Attr::Null, Some(name), Some(region)) => {
            Attr::Known(berth_aws::iam::role_name(name, region))
        }
        (Attr::Null, _, _) => Attr::unknown(),
    }
}

/// [`role_of`] for an app value.
pub fn instance_role(v: &Value) -> Value {
    let profile: Attr<String> = v.attr("instance_profile").get().unwrap_or_default();
    role_of(&profile, v.attr("name").as_str(), v.attr("region").as_str()).to_value()
}

/// Strings of a list value (unknown or null: empty).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// The addresses among `live` that take traffic for an app without an
/// origin record: the instances the state records as serving (the ones
/// berth's last apply gated and kept), or, in a state that records no
/// instances at all (just imported), every live instance of the state's
/// release. Instances an interrupted apply left are not among them, so
/// the next plan gates them before they count.
pub fn served_without_origin(state: &Value, live: &[Instance]) -> Vec<String> {
    let recorded = state.attr("instances").as_elements().unwrap_or_default();
    let serving: Vec<&str> = recorded
        .iter()
        .filter(|i| i.attr("serving").as_bool() == Some(true))
        .filter_map(|i| i.attr("id").as_str())
        .collect();
    let release = state.attr("fingerprint").as_str();
    live.iter()
        .filter(|i| {
            if recorded.is_empty() {
                Some(i.fingerprint.as_str()) == release
            } else {
                serving.contains(&i.id.as_str())
            }
        })
        .filter_map(|i| i.address.clone())
        .collect()
}

/// The engine's view of the instances recorded in `state`.
pub fn instances_of(state: &Value, kind: Option<AddressKind>) -> Vec<Instance> {
    let kind = kind.unwrap_or_default();
    state
        .attr("instances")
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            let inst = Instance {
                id: i.attr("id").as_str()?.to_string(),
                release: u64::try_from(i.attr("release").as_i64().unwrap_or(0)).unwrap_or(0),
                fingerprint: i
                    .attr("fingerprint")
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                zone: i.attr("zone").as_str().unwrap_or_default().to_string(),
                address: None,
                private_ip: i.attr("private_ip").as_str().map(str::to_string),
                public_ip: i.attr("public_ip").as_str().map(str::to_string),
                state: InstanceState::Running,
                reported_health: None,
            };
            Some(kind.apply(inst))
        })
        .collect()
}

/// Instances as the `instances` attribute, sorted by id.
pub fn instances_value(list: &[Instance], origin: &[String]) -> Value {
    let mut list: Vec<&Instance> = list.iter().collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list.dedup_by(|a, b| a.id == b.id);
    Value::List(
        list.iter()
            .map(|i| {
                Value::object([
                    ("id", Value::string(&i.id)),
                    ("zone", Value::string(&i.zone)),
                    ("private_ip", Value::opt_string(i.private_ip.clone())),
                    ("public_ip", Value::opt_string(i.public_ip.clone())),
                    ("release", Value::int(i64::try_from(i.release).unwrap_or(0))),
                    ("fingerprint", Value::string(&i.fingerprint)),
                    (
                        "serving",
                        Value::Bool(i.address.as_ref().is_some_and(|a| origin.contains(a))),
                    ),
                ])
            })
            .collect(),
    )
}

/// A sorted list of strings as a value.
pub fn strings_value(items: &[String]) -> Value {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    Value::List(items.into_iter().map(Value::String).collect())
}

/// The trailer line for `planned` (arguments only, with the resolved AMI),
/// plus the release it was written for.
///
/// # Errors
/// A message when the value does not fit the schema (a bug).
pub fn trailer(planned: &Value, ami: &str, deployed_at: &str) -> Result<String, String> {
    let mut v = planned.clone();
    for a in COMPUTED_ONLY {
        v.set_attr(a, Value::Null);
    }
    v.set_attr("ami", Value::string(ami));
    // Keep the deploy time where import can find it.
    v.set_attr(
        "release_history",
        Value::List(vec![Value::object([
            ("release", planned.attr("release").clone()),
            ("image", planned.attr("image").clone()),
            ("fingerprint", planned.attr("fingerprint").clone()),
            ("deployed_at", Value::string(deployed_at)),
        ])]),
    );
    let ty = super::schema::schema().value_type();
    let bytes = codec::to_msgpack(&ty, &v).map_err(|e| e.to_string())?;
    Ok(format!("{TRAILER}{}\n", STANDARD.encode(bytes)))
}

/// Decodes the trailer of a user-data script.
///
/// # Errors
/// A message when there is no trailer or it does not decode.
pub fn from_trailer(user_data: &str) -> Result<Value, String> {
    let line = user_data
        .lines()
        .find_map(|l| l.strip_prefix(TRAILER))
        .ok_or("the instance's user-data has no berth configuration line")?;
    let bytes = STANDARD
        .decode(line.trim())
        .map_err(|e| format!("berth configuration line: {e}"))?;
    let ty = super::schema::schema().value_type();
    codec::from_msgpack(&ty, &bytes).map_err(|e| format!("berth configuration line: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> Value {
        Value::object([
            ("name", Value::string("web")),
            ("image", Value::string("shop:1")),
            ("release", Value::int(3)),
            ("fingerprint", Value::string("sha256:abc")),
            (
                "secrets",
                Value::Map([("KEY".to_string(), Value::string("ssm:/shop/key"))].into()),
            ),
        ])
    }

    #[test]
    fn trailer_round_trips_arguments_and_drops_computed_values() {
        let mut p = planned();
        p.set_attr("rollout_plan", Value::List(vec![Value::string("launch")]));
        let ty = crate::resources::container_app::schema::schema().value_type();
        // Fill every attribute so the value conforms to the schema type.
        let Value::Object(mut full) =
            codec::from_json(&ty, b"{}", codec::UndefinedAttributes::Ignore).unwrap()
        else {
            panic!("object expected")
        };
        if let Value::Object(m) = &p {
            full.extend(m.clone());
        }
        let line = trailer(&Value::Object(full), "ami-123", "2026-11-23T10:00:00Z").unwrap();
        assert!(line.starts_with(TRAILER) && line.ends_with('\n'));
        let script = format!("#!/bin/bash\necho hi\n{line}");
        let back = from_trailer(&script).unwrap();
        assert_eq!(back.attr("name").as_str(), Some("web"));
        assert_eq!(back.attr("ami").as_str(), Some("ami-123"));
        assert_eq!(back.attr("rollout_plan"), &Value::Null);
        assert_eq!(
            back.attr("release_history").as_elements().unwrap()[0]
                .attr("deployed_at")
                .as_str(),
            Some("2026-11-23T10:00:00Z")
        );
        assert!(from_trailer("#!/bin/bash\n").is_err());
        assert!(from_trailer(&format!("{TRAILER}not-base64!\n")).is_err());
    }
}
