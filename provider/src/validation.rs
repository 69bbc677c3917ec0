//! Shape checks for the values users write (image references, DNS names,
//! hosted zones, CIDR blocks, EC2 ids, ARNs, tags), shared by the
//! resources' validation so every one of them says the same thing.
//!
//! Each check returns `Err(reason)`: one sentence naming the value and what
//! is allowed, ready to be the detail of a diagnostic. The checks look at
//! shapes only and never call AWS.

use std::net::Ipv4Addr;

use tfplugin::diag::Diagnostics;
use tfplugin::path::AttributePath;
use tfplugin::schema::{Block, Nesting};
use tfplugin::value::Value;

/// Checks an AWS region name's shape (`us-east-1`, `us-gov-west-1`, …).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks a DNS name: labels of letters, digits, `-` and `_`, at most 253
/// characters; a trailing dot is allowed.
pub fn valid_hostname(h: &str) -> bool {
    let h = h.trim_end_matches('.');
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Checks an app name: 1–40 lowercase letters, digits and hyphens,
/// starting with a letter.
pub fn valid_app_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 40
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && !n.ends_with('-')
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A Docker image reference: `[registry[:port]/]path[:tag][@digest]`,
/// with lowercase path components.
pub fn image_ref(s: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "{s:?} is not an image reference ({why}); use e.g. \"nginx:1.27\" or \"registry.example.com/shop:2026-11-23\"."
        ))
    };
    if s.is_empty() {
        return bad("it is empty");
    }
    if s.len() > 512 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("no spaces, at most 512 characters");
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty()
                && algo
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !ok {
            return bad("the digest must look like sha256:<hex>");
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return bad("a tag is up to 128 letters, digits, '_', '.' and '-'");
        }
    }
    let parts: Vec<&str> = name.split('/').collect();
    let registry = parts.len() > 1
        && (parts[0].contains(['.', ':']) || parts[0] == "localhost")
        && parts[0] != "."
        && parts[0] != "..";
    for (i, p) in parts.iter().enumerate() {
        if i == 0 && registry {
            let (host, port) = match p.split_once(':') {
                Some((h, port)) => (h, Some(port)),
                None => (*p, None),
            };
            let host_ok = !host.is_empty()
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
            if !host_ok || !port_ok {
                return bad("the registry must be a host name with an optional port");
            }
            continue;
        }
        let ok = !p.is_empty()
            && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !ok {
            return bad("repository names are lowercase letters, digits and '.', '_', '-'");
        }
    }
    Ok(())
}

/// A DNS name (relative or fully qualified, a trailing dot allowed).
pub fn dns_name(s: &str) -> Result<(), String> {
    if valid_hostname(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS name: dot-separated labels of letters, digits and '-', each 1–63 characters, 253 in all."
        ))
    }
}

/// A CloudWatch Logs group name: 1–512 of letters, digits and
/// `_ - / . #`, not starting with `aws/` (reserved for AWS services).
pub fn log_group(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 512
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/' | b'.' | b'#'));
    if !ok {
        return Err(format!(
            "{s:?} is not a log group name: 1–512 letters, digits and '_', '-', '/', '.', '#', e.g. \"/berth/shop\"."
        ));
    }
    if s.starts_with("aws/") {
        return Err(format!(
            "{s:?} starts with \"aws/\", which AWS keeps for its own services."
        ));
    }
    Ok(())
}

/// A Route53 hosted zone: an id (`Z…`, optionally `/hostedzone/Z…`) or a
/// DNS name such as `example.com`.
pub fn hosted_zone(s: &str) -> Result<(), String> {
    let id = s.strip_prefix("/hostedzone/").unwrap_or(s);
    let is_id = id.len() > 1
        && id.len() <= 32
        && id.starts_with('Z')
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_id || (dns_name(s).is_ok() && !s.contains('_')) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a hosted zone: use its id (e.g. \"Z0123456789ABC\") or its DNS name (e.g. \"example.com\")."
        ))
    }
}

/// An IPv4 CIDR block such as `10.0.0.0/8`.
pub fn ipv4_cidr(s: &str) -> Result<(), String> {
    let ok = s.split_once('/').is_some_and(|(ip, len)| {
        ip.parse::<Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|n| n <= 32)
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an IPv4 CIDR block such as \"10.0.0.0/8\" or \"0.0.0.0/0\"."
        ))
    }
}

/// An EC2 id with `prefix` (`subnet`, `sg`, `ami`, …): `prefix-` and 8 to
/// 17 lowercase hexadecimal digits.
pub fn ec2_id(prefix: &str, s: &str) -> Result<(), String> {
    let ok = s
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|hex| {
            (8..=17).contains(&hex.len())
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an id of the form \"{prefix}-0123abcd\" ({prefix}- and 8 to 17 hexadecimal digits)."
        ))
    }
}

/// An EC2 instance type: `family.size`, e.g. `t3.small`.
pub fn instance_type(s: &str) -> Result<(), String> {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match s.split_once('.') {
        Some((family, size)) if part(family) && part(size) => Ok(()),
        _ => Err(format!(
            "{s:?} is not an EC2 instance type: write family.size, e.g. \"t3.small\"."
        )),
    }
}

/// An IAM instance profile name (berth launches with the name, not the
/// ARN).
pub fn instance_profile_name(s: &str) -> Result<(), String> {
    if s.starts_with("arn:") {
        return Err(format!(
            "{s:?} is an ARN; give the instance profile's name (the part after \"instance-profile/\" in its ARN)."
        ));
    }
    if !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an instance profile name: 1–128 letters, digits and +=,.@_-."
        ))
    }
}

/// An ARN of `service` whose resource starts with `resource_prefix`, with
/// a region and a 12-digit account.
pub fn arn(s: &str, service: &str, resource_prefix: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [scheme, partition, svc, region, account, resource] = parts[..] else {
        return Err(format!(
            "{s:?} is not an ARN (arn:partition:service:region:account:resource)."
        ));
    };
    if scheme != "arn" || !partition.starts_with("aws") || svc != service {
        return Err(format!("{s:?} is not an arn:aws:{service}:… ARN."));
    }
    if !valid_region(region) {
        return Err(format!(
            "{s:?} has no valid region ({region:?} is not an AWS region name)."
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{s:?} has no valid account ({account:?} is not a 12-digit account id)."
        ));
    }
    if !resource.starts_with(resource_prefix) || resource.len() == resource_prefix.len() {
        return Err(format!(
            "{s:?} does not name a {resource_prefix}… resource."
        ));
    }
    Ok(())
}

/// One AWS tag: keys of 1–128 characters not starting with `aws:`,
/// values up to 256 characters.
pub fn tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("tag key {key:?} must be 1 to 128 characters long."));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "tag key {key:?} uses the reserved prefix \"aws:\"."
        ));
    }
    if value.chars().count() > 256 {
        return Err(format!(
            "the value of tag {key:?} is longer than 256 characters."
        ));
    }
    Ok(())
}

/// Errors for computed-only attributes that `config` sets (Terraform
/// leaves this check to providers), at their paths in list or single
/// blocks; inside set blocks at the set.
pub fn read_only_set(block: &Block, config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    read_only_in(block, config, &AttributePath::root(), &mut d);
    d
}

fn read_only_in(block: &Block, obj: &Value, at: &AttributePath, d: &mut Diagnostics) {
    if obj.is_null() || obj.is_unknown() {
        return;
    }
    for a in &block.attributes {
        if a.computed && !a.optional && !a.required && !obj.attr(&a.name).is_null() {
            let p = at.then_attr(&a.name);
            d.error_at(
                p.clone(),
                "Read-only attribute set",
                format!(
                    "`{p}` is computed by berth and cannot be set in configuration; remove it."
                ),
            );
        }
    }
    for b in &block.blocks {
        let path = at.then_attr(&b.name);
        match (b.nesting, obj.attr(&b.name)) {
            (Nesting::List, Value::List(items)) => {
                for (i, e) in items.iter().enumerate() {
                    read_only_in(&b.block, e, &path.then_index(i), d);
                }
            }
            (Nesting::Set, Value::Set(items)) => {
                for e in items {
                    read_only_in(&b.block, e, &path, d);
                }
            }
            (Nesting::Single | Nesting::Group, v) => read_only_in(&b.block, v, &path, d),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_attributes_in_configuration_are_errors_at_their_path() {
        let block = Block::new()
            .attribute(tfplugin::schema::Attribute::string("state").optional())
            .attribute(tfplugin::schema::Attribute::string("region").computed());
        let ok = Value::object([
            ("state", Value::string("available")),
            ("region", Value::Null),
        ]);
        assert!(read_only_set(&block, &ok).is_empty());
        let bad = Value::object([("state", Value::Null), ("region", Value::string("x"))]);
        let d = read_only_set(&block, &bad);
        assert_eq!(d.iter().count(), 1, "{d:?}");
        let p = d
            .iter()
            .next()
            .and_then(|x| x.attribute.as_ref())
            .map(ToString::to_string);
        assert_eq!(p.as_deref(), Some("region"));
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "nginx:1.27",
            "library/nginx:latest",
            "registry.example.com/shop:2026-11-23",
            "localhost:5000/shop",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1.2_3",
            "python:3.13-alpine",
            "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image_ref(ok).is_ok(), "{ok}: {:?}", image_ref(ok));
        }
        for bad in [
            "",
            "my shop image!",
            "nginx::latest",
            "registry.example.com/Shop:v1/2",
            "Nginx",
            "nginx:",
            "nginx@md5",
            "-nginx",
            "registry.example.com:99999/shop",
            "shop//web",
        ] {
            assert!(image_ref(bad).is_err(), "{bad}");
        }
        assert!(
            image_ref("a b")
                .unwrap_err()
                .contains("not an image reference")
        );
    }

    #[test]
    fn zones_names_and_cidrs() {
        assert!(hosted_zone("example.com").is_ok());
        assert!(hosted_zone("Z0123456789ABC").is_ok());
        assert!(hosted_zone("/hostedzone/Z0123456789ABC").is_ok());
        for bad in ["", "my zone!", "example com", "-example-.com", "a..b"] {
            assert!(hosted_zone(bad).is_err(), "{bad}");
        }
        assert!(dns_name("web").is_ok());
        assert!(dns_name("api.example.com.").is_ok());
        assert!(dns_name("web app..eu").is_err());
        assert!(dns_name("").is_err());
        assert!(ipv4_cidr("0.0.0.0/0").is_ok());
        assert!(ipv4_cidr("10.1.0.0/16").is_ok());
        for bad in ["everyone", "10.0.0.0", "10.0.0.0/33", "::/0", "300.0.0.0/8"] {
            assert!(ipv4_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ec2_ids_types_and_profiles() {
        assert!(ec2_id("subnet", "subnet-0abc1234").is_ok());
        assert!(ec2_id("sg", "sg-0123456789abcdef0").is_ok());
        assert!(ec2_id("subnet", "vpc-0abc1234").is_err());
        assert!(ec2_id("sg", "default").is_err());
        assert!(ec2_id("ami", "ami-12").is_err());
        assert!(ec2_id("ami", "ami-0ABC1234").is_err());
        assert!(instance_type("t3.small").is_ok());
        assert!(instance_type("m7gd.2xlarge").is_ok());
        assert!(instance_type("huge").is_err());
        assert!(instance_type("T3.small").is_err());
        assert!(instance_profile_name("web-profile").is_ok());
        let e = instance_profile_name("arn:aws:iam::123456789012:role/web").unwrap_err();
        assert!(e.contains("instance-profile"), "{e}");
        assert!(instance_profile_name("has space").is_err());
    }

    #[test]
    fn arns_need_service_region_account_and_resource() {
        let ok = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbC";
        assert!(arn(ok, "secretsmanager", "secret:").is_ok());
        let e = arn(
            "arn:aws:secretsmanager:everywhere:me:secret:api-key",
            "secretsmanager",
            "secret:",
        )
        .unwrap_err();
        assert!(e.contains("region"), "{e}");
        let e = arn(
            "arn:aws:secretsmanager:us-east-1:me:secret:api-key",
            "secretsmanager",
            "secret:",
        )
        .unwrap_err();
        assert!(e.contains("account"), "{e}");
        assert!(
            arn(
                "arn:aws:ssm:us-east-1:123456789012:parameter",
                "ssm",
                "parameter/"
            )
            .is_err()
        );
        assert!(arn("arn:aws:s3:::bucket", "ssm", "parameter/").is_err());
    }

    #[test]
    fn tags() {
        assert!(tag("team", "web").is_ok());
        assert!(
            tag("aws:owner", "x")
                .unwrap_err()
                .contains("reserved prefix")
        );
        assert!(tag("", "x").is_err());
        assert!(tag("k", &"v".repeat(257)).is_err());
    }
}
