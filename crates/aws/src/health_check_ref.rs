//! Caller references of berth's Route53 health checks: the reference alone
//! tells whose a check is and what it was made for (a lost answer can leave
//! a check without tags), and no reference is ever used twice (Route53
//! refuses the reference of a deleted check, so a stable one would break
//! the re-creation of a route or pool with the same settings).
//!
//! A reference reads `berth-<owner>-<key>-<intent>-<nonce>`: 12 hex of the
//! owner's SHA-256, the key (up to 16 characters, for people reading the
//! console), 10 hex of a digest of key and configuration, and 12 hex that
//! differ on every call.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::routing::HealthCheckSpec;

const OWNER_HEX: usize = 12;
const KEY_CHARS: usize = 16;

/// The start of every reference of `owner`'s checks.
pub fn owner_prefix(owner: &str) -> String {
    format!("berth-{}-", hex(owner.as_bytes(), OWNER_HEX))
}

/// The start of the references of `owner`'s check for `key` with the
/// configuration `spec`: a check whose reference starts so was made for
/// exactly that.
pub fn intent_prefix(owner: &str, key: &str, spec: &HealthCheckSpec) -> String {
    let readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(KEY_CHARS)
        .collect();
    let intent = hex(format!("{key}\n{spec:?}").as_bytes(), 10);
    format!("{}{readable}-{intent}-", owner_prefix(owner))
}

/// A reference for a new check (at most 64 characters, as Route53 allows).
pub fn fresh(owner: &str, key: &str, spec: &HealthCheckSpec) -> String {
    format!("{}{}", intent_prefix(owner, key, spec), nonce())
}

fn hex(bytes: &[u8], n: usize) -> String {
    Sha256::digest(bytes)
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(n)
        .map(|d| char::from_digit(u32::from(d), 16).unwrap_or('0'))
        .collect()
}

/// 12 hex digits that differ on every call (a per-process random key over
/// the clock, the process id and a counter).
fn nonce() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(now);
    h.write_u32(std::process::id());
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    format!("{:012x}", h.finish() >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(port: i32) -> HealthCheckSpec {
        HealthCheckSpec {
            protocol: "HTTPS".into(),
            fqdn: Some("a.example.net".into()),
            ip: None,
            port,
            path: Some("/up".into()),
            interval: 30,
            failure_threshold: 3,
        }
    }

    #[test]
    fn a_fresh_reference_names_its_owner_and_intent_and_is_never_repeated() {
        let owner = "route/api.example.com.";
        let a = fresh(owner, "green", &spec(443));
        let b = fresh(owner, "green", &spec(443));
        assert_ne!(a, b, "two creations never share a reference");
        for r in [&a, &b] {
            assert!(
                r.starts_with(&intent_prefix(owner, "green", &spec(443))),
                "{r}"
            );
            assert!(r.starts_with(&owner_prefix(owner)), "{r}");
            assert!(r.contains("-green-"), "the key stays readable: {r}");
        }
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn owners_keys_and_configurations_each_change_the_prefix() {
        let o = "pool/eu.example.com.";
        let base = intent_prefix(o, "eu-west-1", &spec(443));
        assert_ne!(base, intent_prefix(o, "eu-west-1", &spec(8443)));
        assert_ne!(base, intent_prefix(o, "eu-west-2", &spec(443)));
        assert_ne!(owner_prefix(o), owner_prefix("pool/us.example.com."));
        assert!(
            !intent_prefix("pool/us.example.com.", "eu-west-1", &spec(443))
                .starts_with(&owner_prefix(o))
        );
        // Keys that read the same once shortened still differ by intent.
        let long = "k".repeat(40);
        assert_ne!(
            intent_prefix(o, &long, &spec(443)),
            intent_prefix(o, &format!("{long}x"), &spec(443))
        );
    }

    #[test]
    fn references_stay_within_route53s_64_characters_whatever_the_input() {
        let r = fresh(&"x/".repeat(300), &"ключ -*/".repeat(30), &spec(443));
        assert!(r.len() <= 64, "{} characters: {r}", r.len());
        assert!(r.is_ascii(), "{r}");
    }
}
