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
use tfplugin::codec::{self, UndefinedAttributes};
use tfplugin::model::Attr;
use tfplugin::value::{Number, Value};

use super::model::{AppModel, InstanceModel, Strings};

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

/// The addresses among `live` that take traffic for an app without an
/// origin record: the instances the state records as serving (the ones
/// berth's last apply gated and kept), or, in a state that records no
/// instances at all (just imported), every live instance of the state's
/// release. Instances an interrupted apply left are not among them, so
/// the next plan gates them before they count.
pub fn served_without_origin(state: &AppModel, live: &[Instance]) -> Vec<String> {
    let recorded: &[InstanceModel] = state.instances.known().map_or(&[], Vec::as_slice);
    let serving: Vec<&str> = recorded
        .iter()
        .filter(|i| i.serving.known() == Some(&true))
        .filter_map(|i| i.id.as_deref())
        .collect();
    let release = state.fingerprint.as_deref();
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
pub fn instances_of(state: &AppModel, kind: Option<AddressKind>) -> Vec<Instance> {
    let kind = kind.unwrap_or_default();
    state
        .instances
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|i| {
            let inst = Instance {
                id: i.id.as_deref()?.to_string(),
                release: i
                    .release
                    .known()
                    .and_then(Number::as_i64)
                    .and_then(|r| u64::try_from(r).ok())
                    .unwrap_or(0),
                fingerprint: i.fingerprint.as_deref().unwrap_or_default().to_string(),
                zone: i.zone.as_deref().unwrap_or_default().to_string(),
                address: None,
                private_ip: i.private_ip.as_deref().map(str::to_string),
                public_ip: i.public_ip.as_deref().map(str::to_string),
                state: InstanceState::Running,
                reported_health: None,
            };
            Some(kind.apply(inst))
        })
        .collect()
}

/// Instances as the `instances` attribute, sorted by id; `serving` when
/// the address is among `origin`.
pub fn instances_model(list: &[Instance], origin: &[String]) -> Vec<InstanceModel> {
    let mut list: Vec<&Instance> = list.iter().collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list.dedup_by(|a, b| a.id == b.id);
    list.iter()
        .map(|i| InstanceModel {
            id: Attr::Known(i.id.clone()),
            zone: Attr::Known(i.zone.clone()),
            private_ip: i.private_ip.clone().into(),
            public_ip: i.public_ip.clone().into(),
            release: Attr::Known(Number::from(i64::try_from(i.release).unwrap_or(0))),
            fingerprint: Attr::Known(i.fingerprint.clone()),
            serving: Attr::Known(i.address.as_ref().is_some_and(|a| origin.contains(a))),
        })
        .collect()
}

/// A sorted list of distinct strings as a list attribute.
pub fn strings_attr(items: &[String]) -> Strings {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    Attr::Known(items.into_iter().map(Attr::Known).collect())
}

/// The trailer line for `planned` (arguments only, with the resolved AMI),
/// plus the release it was written for, as one line of compact JSON: the
/// outer gzip of the user-data then shares what the script already holds
/// (file contents, images, commands).
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
    let json = codec::to_json(&ty, &v).map_err(|e| e.to_string())?;
    Ok(format!("{TRAILER}{json}\n"))
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
    let line = line.trim();
    let ty = super::schema::schema().value_type();
    let value = if line.starts_with('{') {
        codec::from_json(&ty, line.as_bytes(), UndefinedAttributes::Ignore)
    } else {
        // Base64 msgpack: what berth wrote until 2026-12 (still read).
        let bytes = STANDARD
            .decode(line)
            .map_err(|e| format!("berth configuration line: {e}"))?;
        codec::from_msgpack(&ty, &bytes)
    };
    value.map_err(|e| format!("berth configuration line: {e}"))
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
        assert!(from_trailer(&format!("{TRAILER}{{\"name\":3\n")).is_err());
    }

    #[test]
    fn trailer_is_one_line_of_json_and_older_base64_msgpack_lines_still_read() {
        let mut p = planned();
        p.set_attr("command", Value::List(vec![Value::string("a\nb")]));
        let line = trailer(&p, "ami-123", "2026-11-23T10:00:00Z").unwrap();
        let body = line.strip_prefix(TRAILER).unwrap();
        assert!(
            body.starts_with('{') && body.trim_end().lines().count() == 1,
            "{line}"
        );
        assert!(
            !body.contains(":null"),
            "null attributes are left out: {body}"
        );
        let json_back = from_trailer(&line).unwrap();
        assert_eq!(json_back.attr("command"), p.attr("command"));
        // The same arguments as an earlier berth wrote them.
        let ty = crate::resources::container_app::schema::schema().value_type();
        let old = codec::from_json(&ty, body.as_bytes(), UndefinedAttributes::Ignore).unwrap();
        let packed = STANDARD.encode(codec::to_msgpack(&ty, &old).unwrap());
        let old_back = from_trailer(&format!("#!/bin/bash\n{TRAILER}{packed}\n")).unwrap();
        assert_eq!(old_back, json_back);
    }
}
