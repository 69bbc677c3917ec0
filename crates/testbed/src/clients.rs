//! AWS SDK clients pointed at a moto endpoint (region `us-east-1`, static
//! `test`/`test` credentials), shared by the fleet simulator, the load
//! generator and the tests.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};
use aws_credential_types::Credentials;

/// The region every emulator client uses.
pub const REGION: &str = "us-east-1";

/// Shared SDK configuration for `endpoint` (a moto URL such as
/// `http://127.0.0.1:5000`).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "berth-testbed",
        ))
        .endpoint_url(endpoint)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}

/// An EC2 client for `endpoint`.
pub async fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config(endpoint).await)
}

/// An EC2 client for `endpoint` in `region`.
pub async fn ec2_in(endpoint: &str, region: &str) -> aws_sdk_ec2::Client {
    let cfg = sdk_config(endpoint).await;
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&cfg)
            .region(Region::new(region.to_string()))
            .build(),
    )
}

/// An IAM client for `endpoint`.
pub async fn iam(endpoint: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config(endpoint).await)
}

/// A Route53 client for `endpoint`.
pub async fn route53(endpoint: &str) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&sdk_config(endpoint).await)
}

/// Creates the hosted zone `name` in the emulator at `endpoint`; returns its
/// id without the `/hostedzone/` prefix.
///
/// # Errors
/// When the call fails.
pub async fn create_zone(endpoint: &str, name: &str) -> anyhow::Result<String> {
    let out = route53(endpoint)
        .await
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("berth-test-{name}"))
        .send()
        .await?;
    let zone = out
        .hosted_zone()
        .ok_or_else(|| anyhow::anyhow!("CreateHostedZone answered no zone"))?;
    Ok(zone.id().trim_start_matches("/hostedzone/").to_string())
}

/// The weighted record sets named `fqdn` (fully qualified, with the
/// trailing dot) in zone `zone_id`, as set identifier → Route53 weight.
///
/// # Errors
/// When the listing fails, or a record set with an identifier has no
/// weight (it is not a weighted set).
pub async fn weighted_sets(
    endpoint: &str,
    zone_id: &str,
    fqdn: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
    let out = route53(endpoint)
        .await
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await?;
    let mut sets = std::collections::BTreeMap::new();
    for r in out.resource_record_sets() {
        let Some(id) = r.set_identifier() else {
            continue;
        };
        if r.name() != fqdn {
            continue;
        }
        let weight = r
            .weight()
            .ok_or_else(|| anyhow::anyhow!("record set {fqdn} ({id}) has no weight"))?;
        sets.insert(id.to_string(), weight);
    }
    Ok(sets)
}

/// The DescribeInstances filter for live instances: pending or running.
pub fn live_state() -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build()
}

/// The value of tag `key` on instance `i` (empty: no such tag).
pub fn tag(i: &aws_sdk_ec2::types::Instance, key: &str) -> String {
    i.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_string()
}

/// An inline policy of an IAM role as JSON (IAM answers the document
/// URL-encoded; the SDK passes it on as it is).
///
/// # Panics
/// When the role or policy is missing or the document is not JSON.
#[allow(clippy::expect_used)]
pub async fn role_policy(endpoint: &str, role: &str, policy: &str) -> serde_json::Value {
    let cfg = sdk_config(endpoint).await;
    let out = aws_sdk_iam::Client::new(&cfg)
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .expect("GetRolePolicy");
    serde_json::from_str(&percent_decode(out.policy_document())).expect("a JSON policy document")
}

/// `%XX` sequences decoded (what IAM encodes in policy documents).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
