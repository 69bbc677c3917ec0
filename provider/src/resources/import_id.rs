//! Import ids, parsed and checked before any AWS call: a malformed id is a
//! clear diagnostic naming the expected shape, never a lookup of garbage.

use crate::validation::{valid_app_name, valid_hostname, valid_region};

/// `berth_container_app`: `<name>` or `<region>/<name>`.
#[derive(Debug, PartialEq, Eq)]
pub struct AppId<'a> {
    /// The region, when the id names one.
    pub region: Option<&'a str>,
    /// The app name.
    pub name: &'a str,
}

/// `berth_weighted_route`: `<zone>/<name>` or `<zone>/<name>/<type>`.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteId<'a> {
    /// Hosted zone name or id.
    pub zone: &'a str,
    /// Record name, relative to the zone or fully qualified.
    pub name: &'a str,
    /// `CNAME` or `A`, when given.
    pub record_type: Option<&'a str>,
}

/// `berth_region_pool`: `<zone>/<name>`.
#[derive(Debug, PartialEq, Eq)]
pub struct PoolId<'a> {
    /// Hosted zone name or id.
    pub zone: &'a str,
    /// Record name, relative to the zone or fully qualified.
    pub name: &'a str,
}

const APP_SHAPE: &str = "the import id is \"<name>\" or \"<region>/<name>\", e.g. eu-west-1/web";
const ROUTE_SHAPE: &str = "use <zone>/<name> or <zone>/<name>/<type>, e.g. example.com/api.example.com/CNAME (or, for a route in listener-rule mode, its rule's ARN)";
const POOL_SHAPE: &str = "use <zone>/<name>, e.g. example.com/api";
/// Longest id looked at; anything longer is refused unread.
const MAX_LEN: usize = 600;

fn too_long(id: &str, shape: &str) -> Option<String> {
    (id.len() > MAX_LEN).then(|| {
        format!(
            "the import id is {} bytes long (at most {MAX_LEN}); {shape}",
            id.len()
        )
    })
}

/// Parses a `berth_container_app` import id.
///
/// # Errors
/// A message saying what is wrong and the expected shape.
pub fn app(id: &str) -> Result<AppId<'_>, String> {
    if let Some(e) = too_long(id, APP_SHAPE) {
        return Err(e);
    }
    let (region, name) = match id.split_once('/') {
        Some((r, n)) => (Some(r), n),
        None => (None, id),
    };
    if let Some(r) = region
        && !valid_region(r)
    {
        return Err(format!("{r:?} is not an AWS region; {APP_SHAPE}."));
    }
    if !valid_app_name(name) {
        return Err(format!(
            "{name:?} is not an app name (1-40 lowercase letters, digits and hyphens, starting with a letter); {APP_SHAPE}."
        ));
    }
    Ok(AppId { region, name })
}

fn zone_and_name(id: &str, zone: &str, name: &str, shape: &str) -> Result<(), String> {
    if !valid_hostname(zone) {
        return Err(format!(
            "{id:?}: the zone {zone:?} is not a hosted zone name or id; {shape}"
        ));
    }
    if !valid_hostname(name) {
        return Err(format!(
            "{id:?}: the name {name:?} is not a DNS name; {shape}"
        ));
    }
    Ok(())
}

/// Parses a `berth_weighted_route` import id.
///
/// # Errors
/// A message saying what is wrong and the expected shape.
pub fn route(id: &str) -> Result<RouteId<'_>, String> {
    if let Some(e) = too_long(id, ROUTE_SHAPE) {
        return Err(e);
    }
    let parts: Vec<&str> = id.split('/').collect();
    let (zone, name, record_type) = match parts.as_slice() {
        [z, n] => (*z, *n, None),
        [z, n, t] => (*z, *n, Some(*t)),
        _ => return Err(format!("{id:?}: {ROUTE_SHAPE}")),
    };
    zone_and_name(id, zone, name, ROUTE_SHAPE)?;
    if let Some(t) = record_type
        && t != "CNAME"
        && t != "A"
    {
        return Err(format!(
            "{id:?}: the record type {t:?} is not CNAME or A; {ROUTE_SHAPE}"
        ));
    }
    Ok(RouteId {
        zone,
        name,
        record_type,
    })
}

/// Parses a `berth_region_pool` import id.
///
/// # Errors
/// A message saying what is wrong and the expected shape.
pub fn pool(id: &str) -> Result<PoolId<'_>, String> {
    if let Some(e) = too_long(id, POOL_SHAPE) {
        return Err(e);
    }
    let Some((zone, name)) = id.split_once('/') else {
        return Err(format!("{id:?}: {POOL_SHAPE}"));
    };
    zone_and_name(id, zone, name, POOL_SHAPE)?;
    Ok(PoolId { zone, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_with_and_without_a_region() {
        assert_eq!(
            app("web").unwrap(),
            AppId {
                region: None,
                name: "web"
            }
        );
        assert_eq!(
            app("eu-west-1/web").unwrap(),
            AppId {
                region: Some("eu-west-1"),
                name: "web"
            }
        );
        for bad in [
            "",
            "Web",
            "eu-west-1/",
            "mars-1/web",
            "eu-west-1/web/x",
            "/web",
        ] {
            let e = app(bad).unwrap_err();
            assert!(e.contains("<region>/<name>"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn route_ids_check_zone_name_and_type() {
        assert_eq!(
            route("example.com/api.example.com/CNAME").unwrap(),
            RouteId {
                zone: "example.com",
                name: "api.example.com",
                record_type: Some("CNAME")
            }
        );
        assert_eq!(route("Z123ABC/api").unwrap().record_type, None);
        for (bad, says) in [
            ("example.com", "<zone>/<name>"),
            ("/api", "zone \"\""),
            ("example.com/", "name \"\""),
            ("example.com/api/TXT", "record type \"TXT\""),
            ("a/b/c/d", "<zone>/<name>"),
            ("exa mple.com/api", "zone"),
        ] {
            let e = route(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn pool_ids_and_overlong_ids() {
        assert_eq!(
            pool("example.com/api").unwrap(),
            PoolId {
                zone: "example.com",
                name: "api"
            }
        );
        assert!(pool("example.com").unwrap_err().contains("<zone>/<name>"));
        let long = format!("example.com/{}", "a".repeat(1000));
        assert!(pool(&long).unwrap_err().contains("at most 600"));
        assert!(route(&long).unwrap_err().contains("at most 600"));
        assert!(app(&long).unwrap_err().contains("at most 600"));
    }
}
