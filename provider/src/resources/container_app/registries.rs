//! Private registries: the `registry_credentials` blocks and the app's
//! Amazon ECR images, turned into the logins an instance makes before it
//! pulls (passwords by secret reference, ECR tokens from the instance
//! profile), and the ECR repositories its role may pull from.
//!
//! Registry hosts are read from image references the way Docker reads
//! them: the part before the first `/` is a registry when it holds a `.` or
//! a `:` or is `localhost`; anything else is on Docker Hub (`docker.io`,
//! also written `index.docker.io` or `registry-1.docker.io`).

use std::collections::BTreeSet;

use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::path::AttributePath;

use super::model::AppModel;
use super::spec::parse_secret_ref;
use crate::userdata::{RegistryLogin, SecretSource};

/// Docker Hub's canonical name.
pub const DOCKER_HUB: &str = "docker.io";

/// One `registry_credentials` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// Registry host as written (`registry.example.com`, `docker.io`).
    pub server: String,
    /// The user.
    pub username: String,
    /// Where the password comes from.
    pub password: SecretSource,
}

/// An Amazon ECR private repository an image is in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EcrImage {
    /// The registry host, `<account>.dkr.ecr.<region>.amazonaws.com`.
    pub server: String,
    /// The registry's account id.
    pub account: String,
    /// The registry's region.
    pub region: String,
    /// The repository, e.g. `shop/web`.
    pub repository: String,
}

/// The registry host of an image reference, Docker Hub's as
/// [`DOCKER_HUB`].
pub fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            normalize_server(first)
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// A registry host with Docker Hub's aliases folded into [`DOCKER_HUB`].
pub fn normalize_server(server: &str) -> String {
    let s = server.to_ascii_lowercase();
    match s.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => s,
    }
}

/// The ECR repository of `image`, if its registry is an Amazon ECR
/// private registry (`<12 digits>.dkr.ecr[-fips].<region>.amazonaws.com`,
/// or `.amazonaws.com.cn`).
pub fn ecr_image(image: &str) -> Option<EcrImage> {
    let (host, rest) = image.split_once('/')?;
    let host = host.to_ascii_lowercase();
    let mut labels = host.split('.');
    let account = labels.next()?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if labels.next()? != "dkr" || !matches!(labels.next()?, "ecr" | "ecr-fips") {
        return None;
    }
    let region = labels.next()?;
    let tail: Vec<&str> = labels.collect();
    if region.is_empty() || !(tail == ["amazonaws", "com"] || tail == ["amazonaws", "com", "cn"]) {
        return None;
    }
    // The repository: the path without its tag or digest.
    let path = rest.split_once('@').map_or(rest, |(p, _)| p);
    let repository = match path.rfind(':') {
        Some(i) if !path[i..].contains('/') => &path[..i],
        _ => path,
    };
    Some(EcrImage {
        server: host.clone(),
        account: account.to_string(),
        region: region.to_string(),
        repository: repository.to_string(),
    })
}

/// Checks a registry host as written in `registry_credentials`.
fn check_server(s: &str) -> Result<(), String> {
    if s.contains("://") {
        return Err(format!(
            "{s:?} is a URL; give the registry's host name only, e.g. \"registry.example.com\" or \"docker.io\"."
        ));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a registry host name (with an optional port), e.g. \"registry.example.com\", \"registry.example.com:5000\" or \"docker.io\"."
        ))
    }
}

/// Reads and checks the `registry_credentials` blocks; diagnostics name
/// the attribute. `images` are the app's and its sidecars' images (all
/// known), checked to use each server.
pub fn credentials(
    d: &mut Diagnostics,
    m: &AppModel,
    images: Option<&[String]>,
) -> Vec<RegistryCredentials> {
    let p = AttributePath::attr("registry_credentials");
    let used: Option<BTreeSet<String>> =
        images.map(|imgs| imgs.iter().map(|i| registry_host(i)).collect());
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, c) in m
        .registry_credentials
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let at = p.then_index(i);
        let mut ok = true;
        let server = c.server.as_deref();
        if let Some(s) = server {
            if let Err(why) = check_server(s) {
                d.push(Diagnostic::error("Invalid registry", why).at(at.then_attr("server")));
                ok = false;
            } else if !seen.insert(normalize_server(s)) {
                d.push(
                    Diagnostic::error(
                        "Registry given twice",
                        format!("{s:?} has credentials in an earlier `registry_credentials` block; keep one."),
                    )
                    .at(at.then_attr("server")),
                );
                ok = false;
            } else if let Some(used) = &used
                && !used.contains(&normalize_server(s))
            {
                d.push(
                    Diagnostic::error(
                        "Registry of no image",
                        format!(
                            "no image of this app is on {s:?} (its images are on {}); check the host name, or remove the block.",
                            used.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .at(at.then_attr("server")),
                );
                ok = false;
            }
        }
        if let Some(u) = c.username.as_deref()
            && (u.is_empty() || u.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
        {
            d.push(
                Diagnostic::error(
                    "Invalid registry username",
                    format!("{u:?} must be a non-empty name without spaces."),
                )
                .at(at.then_attr("username")),
            );
            ok = false;
        }
        let password = match c.password.as_deref().map(parse_secret_ref) {
            Some(Ok(src)) => Some(src),
            Some(Err(why)) => {
                d.push(
                    Diagnostic::error("Invalid registry password reference", why)
                        .at(at.then_attr("password")),
                );
                None
            }
            None => None,
        };
        if let (true, Some(server), Some(username), Some(password)) =
            (ok, server, c.username.as_deref(), password)
        {
            out.push(RegistryCredentials {
                server: normalize_server(server),
                username: username.to_string(),
                password,
            });
        }
    }
    out
}

/// The logins an instance makes before it pulls `images`: one per
/// credentials block, and one per ECR registry of the images that has no
/// block (with the instance profile's token), in that order.
pub fn logins(creds: &[RegistryCredentials], images: &[String]) -> Vec<RegistryLogin> {
    let mut out: Vec<RegistryLogin> = creds
        .iter()
        .map(|c| RegistryLogin::Password {
            server: c.server.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
        })
        .collect();
    let mut ecr: Vec<EcrImage> = images.iter().filter_map(|i| ecr_image(i)).collect();
    ecr.sort();
    ecr.dedup_by(|a, b| a.server == b.server);
    for e in ecr {
        if !creds.iter().any(|c| c.server == e.server) {
            out.push(RegistryLogin::Ecr {
                server: e.server,
                registry_id: e.account,
                region: e.region,
            });
        }
    }
    out
}

/// The ECR repositories the instances pull `images` from with their
/// profile's token (those without credentials), sorted, no repeats.
pub fn ecr_pulls(creds: &[RegistryCredentials], images: &[String]) -> Vec<EcrImage> {
    let mut v: Vec<EcrImage> = images
        .iter()
        .filter_map(|i| ecr_image(i))
        .filter(|e| !creds.iter().any(|c| c.server == e.server))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts_are_read_the_way_docker_reads_them() {
        for (image, host) in [
            ("nginx:1.27", "docker.io"),
            ("acme/shop:1", "docker.io"),
            ("docker.io/acme/shop:1", "docker.io"),
            ("index.docker.io/acme/shop", "docker.io"),
            ("registry.example.com/shop:2026", "registry.example.com"),
            (
                "Registry.Example.com:5000/shop",
                "registry.example.com:5000",
            ),
            ("localhost/shop", "localhost"),
            ("localhost:5000/shop", "localhost:5000"),
        ] {
            assert_eq!(registry_host(image), host, "{image}");
        }
    }

    #[test]
    fn ecr_images_are_recognised_with_their_account_region_and_repository() {
        let e =
            ecr_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:2026-11-23").unwrap();
        assert_eq!(e.server, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        assert_eq!(
            (e.account.as_str(), e.region.as_str()),
            ("123456789012", "eu-west-1")
        );
        assert_eq!(e.repository, "shop/web");
        let d = ecr_image(&format!(
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app@sha256:{}",
            "a".repeat(64)
        ))
        .unwrap();
        assert_eq!(
            (d.region.as_str(), d.repository.as_str()),
            ("us-east-1", "app")
        );
        assert_eq!(
            ecr_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app")
                .unwrap()
                .region,
            "cn-north-1"
        );
        for not in [
            "nginx:1",
            "public.ecr.aws/nginx/nginx:1",
            "12345.dkr.ecr.us-east-1.amazonaws.com/app",
            "123456789012.dkr.ecr.us-east-1.example.com/app",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert!(ecr_image(not).is_none(), "{not}");
        }
    }

    fn creds(server: &str) -> RegistryCredentials {
        RegistryCredentials {
            server: server.into(),
            username: "deploy".into(),
            password: SecretSource::Ssm("/shop/registry".into()),
        }
    }

    #[test]
    fn ecr_registries_without_credentials_log_in_with_the_instance_profile() {
        let images = vec![
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1".to_string(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/nginx:1".to_string(),
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/tools:1".to_string(),
            "registry.example.com/shop:1".to_string(),
        ];
        let c = vec![
            creds("registry.example.com"),
            creds("210987654321.dkr.ecr.eu-west-1.amazonaws.com"),
        ];
        let l = logins(&c, &images);
        assert_eq!(l.len(), 3, "{l:?}");
        assert!(
            matches!(&l[0], RegistryLogin::Password { server, .. } if server == "registry.example.com")
        );
        assert_eq!(
            l[2],
            RegistryLogin::Ecr {
                server: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
                registry_id: "123456789012".into(),
                region: "us-east-1".into(),
            }
        );
        let pulls = ecr_pulls(&c, &images);
        let repos: Vec<&str> = pulls.iter().map(|e| e.repository.as_str()).collect();
        assert_eq!(repos, ["nginx", "shop"]);
        assert!(logins(&[], &["nginx:1".to_string()]).is_empty());
    }

    #[test]
    fn servers_are_host_names() {
        for ok in [
            "docker.io",
            "registry.example.com",
            "registry.example.com:5000",
            "localhost",
        ] {
            assert!(check_server(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://registry.example.com",
            "registry.example.com/shop",
            "registry.example.com:0",
            "registry..example.com",
            "",
        ] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
    }
}
