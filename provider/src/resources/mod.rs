//! Managed resources, one module each, and what they share.

pub mod container_app;
pub mod health_checks;
pub mod import_id;
pub mod listener_rule;
pub mod region_pool;
pub mod weighted_route;

use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::path::AttributePath;
use tfplugin::value::Number;

/// One error diagnostic.
pub(crate) fn error(summary: &str, detail: impl Into<String>) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

/// A list of strings as a model holds it.
pub type Strings = Attr<Vec<Attr<String>>>;

/// The known strings of a list (unknown elements left out).
pub fn known_strings(list: &Strings) -> Vec<String> {
    list.known()
        .map(|l| {
            l.iter()
                .filter_map(|s| s.as_deref().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `now` (read from the cloud) in the shape the configuration gave it: an
/// empty list where the attribute was not set stays null.
pub(crate) fn strings_as_declared(declared: &Strings, now: &[String]) -> Strings {
    if declared.is_null() && now.is_empty() {
        Attr::Null
    } else {
        Attr::Known(now.iter().cloned().map(Attr::Known).collect())
    }
}

/// A whole number in `min..=max` (null or unknown: `default`; else an
/// error at `p` and `default`).
pub(crate) fn int(
    diags: &mut Diagnostics,
    a: &Attr<Number>,
    p: &AttributePath,
    range: (i64, i64),
    default: i64,
) -> i64 {
    let (min, max) = range;
    match a {
        // Unknown during validation (module inputs, values from other
        // resources): checked again at plan time once known.
        Attr::Null | Attr::Unknown(_) => default,
        Attr::Known(n) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => v,
            _ => {
                diags.push(
                    Diagnostic::error(
                        "Value out of range",
                        format!(
                            "`{p}` must be a whole number between {min} and {max}, not {}.",
                            n.canonical()
                        ),
                    )
                    .at(p.clone()),
                );
                default
            }
        },
    }
}
