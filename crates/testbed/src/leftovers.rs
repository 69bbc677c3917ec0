//! What berth left in the emulator: after a destroy the answer must be
//! nothing — no live instance, security group, record, health check or IAM
//! role and instance profile that berth created, in any region the test
//! used.

use anyhow::Result;
use aws_sdk_ec2::types::Filter;

use crate::clients;

/// Everything berth-made that is still in the emulator, one line each
/// (`us-east-1: instance i-…`, `record shop.example.test. CNAME`, …).
///
/// Instances count when pending or running and tagged
/// `berth:managed-by`; security groups when tagged `berth:managed-by`;
/// records are every record set except the zones' own SOA and NS;
/// health checks are all of them (only berth creates any in the tests);
/// IAM roles and instance profiles under berth's path `/berth/`.
///
/// # Errors
/// When an emulator call fails.
pub async fn leftovers(endpoint: &str, regions: &[&str]) -> Result<Vec<String>> {
    let mut left = Vec::new();
    for region in regions {
        let ec2 = clients::ec2_in(endpoint, region).await;
        let managed = Filter::builder()
            .name("tag-key")
            .values("berth:managed-by")
            .build();
        let out = ec2
            .describe_instances()
            .filters(managed.clone())
            .filters(clients::live_state())
            .send()
            .await?;
        for i in out.reservations().iter().flat_map(|r| r.instances()) {
            left.push(format!(
                "{region}: instance {}",
                i.instance_id().unwrap_or("?")
            ));
        }
        let sgs = ec2
            .describe_security_groups()
            .filters(managed)
            .send()
            .await?;
        for g in sgs.security_groups() {
            left.push(format!(
                "{region}: security group {} ({})",
                g.group_id().unwrap_or("?"),
                g.group_name().unwrap_or("?")
            ));
        }
    }
    let r53 = clients::route53(endpoint).await;
    let zones = r53.list_hosted_zones().send().await?;
    for z in zones.hosted_zones() {
        let mut next: Option<(String, String)> = None;
        loop {
            let mut req = r53.list_resource_record_sets().hosted_zone_id(z.id());
            if let Some((name, ty)) = &next {
                req = req
                    .start_record_name(name)
                    .start_record_type(ty.as_str().into());
            }
            let out = req.send().await?;
            for r in out.resource_record_sets() {
                let ty = r.r#type().as_str();
                if ty != "SOA" && ty != "NS" {
                    left.push(format!(
                        "record {} {ty}{}",
                        r.name(),
                        r.set_identifier()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    ));
                }
            }
            match (
                out.is_truncated(),
                out.next_record_name(),
                out.next_record_type(),
            ) {
                (true, Some(n), Some(t)) => next = Some((n.to_string(), t.as_str().to_string())),
                _ => break,
            }
        }
    }
    let checks = r53.list_health_checks().send().await?;
    for h in checks.health_checks() {
        left.push(format!("health check {}", h.id()));
    }
    let iam = clients::iam(endpoint).await;
    let roles = iam.list_roles().path_prefix("/berth/").send().await?;
    // (moto ignores PathPrefix for some listings: check the path here.)
    for r in roles.roles().iter().filter(|r| r.path() == "/berth/") {
        left.push(format!("IAM role {}", r.role_name()));
    }
    let profiles = iam
        .list_instance_profiles()
        .path_prefix("/berth/")
        .send()
        .await?;
    for p in profiles
        .instance_profiles()
        .iter()
        .filter(|p| p.path() == "/berth/")
    {
        left.push(format!(
            "IAM instance profile {}",
            p.instance_profile_name()
        ));
    }
    Ok(left)
}
