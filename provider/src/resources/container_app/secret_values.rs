//! Write-only secret values of `berth_container_app` (`secret_values_wo`):
//! berth stores each value in an SSM SecureString parameter it owns,
//! `/berth/<app>/<NAME>`, and the instances fetch it at boot like any
//! `ssm:` reference in `secrets`.
//!
//! Guarantees:
//! - A value is only read from the configuration at apply and only sent in
//!   the PutParameter request: never in plan, state, user-data, logs or
//!   diagnostics (write-only attributes are nulled in plan and state by
//!   tfplugin; a Terraform without write-only support is refused at
//!   validation, see `tfplugin::server`).
//! - Plan and state carry the parameter names (`secret_value_parameters`),
//!   which are part of the release fingerprint with
//!   `secret_values_wo_version`: adding or removing a name, or bumping the
//!   version, rolls out new instances that fetch the values.
//! - Values are written at create, for names new to the app, and for every
//!   name whenever `secret_values_wo_version` changes (the
//!   `password_wo_version` convention of HashiCorp's providers): a value
//!   changed without a version bump is not seen, since Terraform shows no
//!   change for it.
//! - Parameters are tagged `berth:managed-by`/`berth:app` (plus the app's
//!   tags), removed when their name leaves the configuration, when the
//!   apply that created them fails, and on destroy.

use std::collections::BTreeMap;

use berth_aws::fleet::tags;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::path::AttributePath;
use tfplugin::value::Value;

use crate::provider_data::ProviderData;

/// The write-only attribute holding the values.
pub const VALUES: &str = "secret_values_wo";
/// The attribute whose change stores the values again and rolls them out.
pub const VERSION: &str = "secret_values_wo_version";
/// The computed attribute naming the parameters berth manages.
pub const PARAMETERS: &str = "secret_value_parameters";

/// The SSM parameter holding `var` of `app`.
pub fn parameter_name(app: &str, var: &str) -> String {
    format!("/berth/{app}/{var}")
}

/// The planned `secret_value_parameters` for a configuration: variable
/// name → parameter name; null without write-only values, unknown while
/// the names or the app name are unknown.
pub fn planned_parameters(config: &Value) -> Value {
    let values = config.attr(VALUES);
    if values.is_null() {
        return Value::Null;
    }
    let (Some(entries), Some(app)) = (values.as_entries(), config.attr("name").as_str()) else {
        return Value::unknown();
    };
    Value::Map(
        entries
            .keys()
            .map(|k| (k.clone(), Value::string(parameter_name(app, k))))
            .collect(),
    )
}

/// The parameters recorded in a planned or prior value.
pub fn parameters(v: &Value) -> BTreeMap<String, String> {
    v.attr(PARAMETERS)
        .as_entries()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks `secret_values_wo` in a configuration: names usable as
/// environment variables and not set elsewhere, values that fit a
/// parameter. Diagnostics name the entry, never its value.
pub fn validate(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    let Some(entries) = config.attr(VALUES).as_entries() else {
        return d;
    };
    for (k, v) in entries {
        let path = AttributePath::attr(VALUES).then_key(k);
        if k.is_empty()
            || k.starts_with(|c: char| c.is_ascii_digit())
            || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            d.error_at(
                path.clone(),
                "Invalid environment variable name",
                format!(
                    "{k:?} must be letters, digits and underscores, not starting with a digit."
                ),
            );
        }
        for other in ["env", "secrets"] {
            if config
                .attr(other)
                .as_entries()
                .is_some_and(|m| m.contains_key(k))
            {
                d.error_at(
                    path.clone(),
                    "Variable set twice",
                    format!("{k:?} is in both `{other}` and `{VALUES}`; keep one."),
                );
            }
        }
        if let Some(s) = v.as_str() {
            if s.is_empty() {
                d.error_at(
                    path.clone(),
                    "Empty secret value",
                    format!("The value of {k:?} is empty; SSM parameters cannot be empty."),
                );
            } else if s.len() > berth_aws::ssm::MAX_VALUE_BYTES {
                d.error_at(
                    path.clone(),
                    "Secret value too large",
                    format!(
                        "The value of {k:?} is {} bytes; a standard SSM parameter holds at most {} bytes.",
                        s.len(),
                        berth_aws::ssm::MAX_VALUE_BYTES
                    ),
                );
            }
        }
    }
    d
}

/// What [`store`] wrote: the parameters that did not exist for the app
/// before this apply (to remove again if the apply fails).
#[derive(Debug, Default)]
pub struct Stored {
    /// Parameter names new in this apply.
    pub added: Vec<String>,
}

/// Writes the values the planned change needs: all of them on create or
/// when the version changed, otherwise those of names new to the app.
/// Stops at the first failure, with an error on that entry of
/// `secret_values_wo`; [`Stored::added`] lists what was written anyway, for
/// the caller to remove when the apply fails.
pub async fn store(
    data: &ProviderData,
    config: &Value,
    prior: Option<&Value>,
    planned: &Value,
) -> (Stored, Diagnostics) {
    let mut stored = Stored::default();
    let wanted = parameters(planned);
    if wanted.is_empty() {
        return (stored, Diagnostics::new());
    }
    let before = prior.map(parameters).unwrap_or_default();
    let rewrite_all = prior.is_none_or(|p| p.attr(VERSION) != planned.attr(VERSION));
    let values = config.attr(VALUES).as_entries();
    let app = planned
        .attr("name")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let aws = match data.clients_for(planned.attr("region").as_str()).await {
        Ok(a) => a,
        Err(e) => {
            let d = at(
                AttributePath::attr(VALUES),
                "Cannot configure AWS for the app's region",
                e.to_string(),
            );
            return (stored, d);
        }
    };
    let mut tag_set = data.default_tags.clone();
    if let Some(m) = planned.attr("tags").as_entries() {
        tag_set.extend(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
        );
    }
    tag_set.insert(tags::MANAGED_BY.into(), "berth".into());
    tag_set.insert(tags::APP.into(), app.clone());
    for (var, param) in &wanted {
        let is_new = before.get(var) != Some(param);
        if !rewrite_all && !is_new {
            continue;
        }
        let path = AttributePath::attr(VALUES).then_key(var);
        let Some(value) = values.and_then(|m| m.get(var)?.as_str()) else {
            let d = at(
                path,
                "Missing write-only value",
                format!("{var:?} has no known value at apply time, so berth cannot store it."),
            );
            return (stored, d);
        };
        tracing::info!(app = %app, "{app}: storing the write-only value of {var} in SSM parameter {param}");
        let description = format!(
            "{var} of berth app {app} (secret_values_wo); managed by berth, deleted with the app"
        );
        if is_new {
            // Listed before the call: a write that half succeeds is removed too.
            stored.added.push(param.clone());
        }
        if let Err(e) =
            berth_aws::ssm::put_secure_string(&aws, param, value, &description, &tag_set).await
        {
            let d = at(
                path,
                "Cannot store a write-only secret value",
                format!("SSM parameter {param} ({var}): {e}"),
            );
            return (stored, d);
        }
    }
    (stored, Diagnostics::new())
}

/// Deletes the parameters `names` in the app's region (`state`'s region).
/// Returns warnings for those that could not be deleted (they are tagged,
/// so a later apply or a person can remove them).
pub async fn remove(data: &ProviderData, state: &Value, names: &[String]) -> Diagnostics {
    let mut d = Diagnostics::new();
    if names.is_empty() {
        return d;
    }
    let app = state.attr("name").as_str().unwrap_or_default();
    let aws = match data.clients_for(state.attr("region").as_str()).await {
        Ok(a) => a,
        Err(e) => {
            d.push(Diagnostic::warning(
                "Secret parameters left behind",
                format!("{}: {e}", names.join(", ")),
            ));
            return d;
        }
    };
    for name in names {
        tracing::info!(app = %app, "{app}: deleting SSM parameter {name}");
        if let Err(e) = berth_aws::ssm::delete_parameter(&aws, name).await {
            d.push(Diagnostic::warning(
                "Secret parameter left behind",
                format!("{name} (tagged berth:app={app}) could not be deleted: {e}"),
            ));
        }
    }
    d
}

/// Parameters of `prior` no longer in `planned`.
pub fn dropped(prior: &Value, planned: &Value) -> Vec<String> {
    let keep: Vec<String> = parameters(planned).into_values().collect();
    parameters(prior)
        .into_values()
        .filter(|p| !keep.contains(p))
        .collect()
}

fn at(path: AttributePath, summary: &str, detail: String) -> Diagnostics {
    Diagnostic::error(summary, detail).at(path).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(values: Value) -> Value {
        Value::object([
            ("name", Value::string("web")),
            (
                "env",
                Value::Map([("MODE".to_string(), Value::string("x"))].into()),
            ),
            (
                "secrets",
                Value::Map([("API_KEY".to_string(), Value::string("ssm:/k"))].into()),
            ),
            (VALUES, values),
        ])
    }

    fn map(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(*v)))
                .collect(),
        )
    }

    #[test]
    fn parameters_are_planned_from_the_names_only() {
        let p = planned_parameters(&config(map(&[("DB_PASSWORD", "hunter2")])));
        assert_eq!(
            p,
            map(&[("DB_PASSWORD", "/berth/web/DB_PASSWORD")]),
            "names, never values"
        );
        assert!(planned_parameters(&config(Value::Null)).is_null());
        assert!(planned_parameters(&config(Value::unknown())).is_unknown());
        // Known names with an unknown value still plan known parameters.
        let partly = Value::Map([("TOKEN".to_string(), Value::unknown())].into());
        assert_eq!(
            planned_parameters(&config(partly)),
            map(&[("TOKEN", "/berth/web/TOKEN")])
        );
    }

    #[test]
    fn bad_names_clashes_and_sizes_name_the_entry_never_the_value() {
        let big = "s".repeat(berth_aws::ssm::MAX_VALUE_BYTES + 1);
        let d = validate(&config(map(&[
            ("1BAD", "hunter2"),
            ("MODE", "hunter2"),
            ("API_KEY", "hunter2"),
            ("EMPTY", ""),
            ("BIG", &big),
            ("FINE", "hunter2"),
        ])));
        let paths: Vec<String> = d
            .iter()
            .map(|x| x.attribute.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                r#"secret_values_wo["1BAD"]"#,
                r#"secret_values_wo["API_KEY"]"#,
                r#"secret_values_wo["BIG"]"#,
                r#"secret_values_wo["EMPTY"]"#,
                r#"secret_values_wo["MODE"]"#,
            ],
            "{d}"
        );
        let text = d.to_string();
        assert!(!text.contains("hunter2") && !text.contains("sss"), "{text}");
        assert!(validate(&config(map(&[("FINE", "x")]))).is_empty());
    }

    #[test]
    fn version_and_names_change_the_fingerprint_and_their_absence_does_not() {
        use super::super::spec::fingerprint;
        let base = Value::object([("image", Value::string("shop:1"))]);
        let with = |params: Value, version: Value| {
            let mut v = base.clone();
            v.set_attr(PARAMETERS, params);
            v.set_attr(VERSION, version);
            fingerprint(&v, &Value::Null).unwrap()
        };
        let plain = fingerprint(&base, &Value::Null).unwrap();
        assert_eq!(
            with(Value::Null, Value::Null),
            plain,
            "apps without them keep theirs"
        );
        let one = with(map(&[("A", "/berth/web/A")]), Value::int(1));
        assert_ne!(one, plain);
        assert_ne!(
            with(map(&[("A", "/berth/web/A")]), Value::int(2)),
            one,
            "a bump rolls out"
        );
        assert_ne!(
            with(
                map(&[("A", "/berth/web/A"), ("B", "/berth/web/B")]),
                Value::int(1)
            ),
            one,
            "a new name rolls out"
        );
        let mut unknown = base.clone();
        unknown.set_attr(PARAMETERS, Value::unknown());
        assert_eq!(fingerprint(&unknown, &Value::Null), None);
    }

    #[test]
    fn dropped_lists_parameters_whose_names_left_the_configuration() {
        let prior = Value::object([(
            PARAMETERS,
            map(&[("A", "/berth/web/A"), ("B", "/berth/web/B")]),
        )]);
        let planned = Value::object([(PARAMETERS, map(&[("B", "/berth/web/B")]))]);
        assert_eq!(dropped(&prior, &planned), ["/berth/web/A"]);
        assert!(dropped(&planned, &prior).is_empty());
        let none = Value::object([(PARAMETERS, Value::Null)]);
        assert_eq!(dropped(&prior, &none).len(), 2);
    }
}
