//! EC2 calls around an app's fleet: availability zones, the default AMI,
//! VPC lookup and the app's managed security group.
//!
//! Guarantees: the managed security group is found again by its tags
//! (`berth:managed-by`, `berth:app`), so a repeated or interrupted apply
//! never creates a second one; its ingress rules are reconciled to exactly
//! the requested ports and CIDRs. Every call is safe to repeat after a lost
//! answer: a duplicate group is adopted by its tags, rules already granted
//! or already revoked count as done, a group already gone as deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification};

use crate::config::Clients;
use crate::error::AwsError;
use crate::fleet::tags;

/// One availability zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityZone {
    /// AvailabilityZone name, e.g. `us-east-1a`.
    pub name: String,
    /// AvailabilityZone id, e.g. `use1-az1`.
    pub zone_id: String,
    /// `available`, `impaired`, `unavailable`, …
    pub state: String,
    /// The region the zone is in.
    pub region: String,
}

/// Lists the region's availability zones, sorted by name; `state` filters
/// by zone state when given.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn availability_zones(
    clients: &Clients,
    state: Option<&str>,
) -> Result<Vec<AvailabilityZone>, AwsError> {
    let mut req = clients.ec2.describe_availability_zones();
    if let Some(s) = state {
        req = req.filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("state")
                .values(s)
                .build(),
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeAvailabilityZones", e))?;
    let mut zones: Vec<AvailabilityZone> = out
        .availability_zones()
        .iter()
        .map(|z| AvailabilityZone {
            name: z.zone_name().unwrap_or_default().to_string(),
            zone_id: z.zone_id().unwrap_or_default().to_string(),
            state: z
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            region: z.region_name().unwrap_or(&clients.region).to_string(),
        })
        .collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(zones)
}

fn filter(name: &str, values: &[&str]) -> Filter {
    let mut f = Filter::builder().name(name);
    for v in values {
        f = f.values(*v);
    }
    f.build()
}

/// The newest Amazon Linux 2023 AMI (x86_64 or arm64 by `arch`) owned by
/// Amazon in the region.
///
/// # Errors
/// [`AwsError`] when the call fails or no image matches.
pub async fn default_ami(clients: &Clients, arch: &str) -> Result<String, AwsError> {
    let out = clients
        .ec2
        .describe_images()
        .owners("amazon")
        .filters(filter("name", &[&format!("al2023-ami-2023.*-{arch}")]))
        .filters(filter("architecture", &[arch]))
        .filters(filter("state", &["available"]))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeImages", e))?;
    out.images()
        .iter()
        .filter(|i| !i.name().unwrap_or_default().contains("minimal"))
        .max_by(|a, b| (a.creation_date(), a.name()).cmp(&(b.creation_date(), b.name())))
        .and_then(|i| i.image_id())
        .map(str::to_string)
        .ok_or_else(|| AwsError::Service {
            operation: "DescribeImages",
            code: "NoDefaultImage".into(),
            message: format!(
                "no Amazon Linux 2023 {arch} image in {}; set `ami`",
                clients.region
            ),
        })
}

/// The VPC of `subnet`, or the region's default VPC when `subnet` is None.
///
/// # Errors
/// [`AwsError`] when the call fails or there is no such VPC.
pub async fn vpc_for(clients: &Clients, subnet: Option<&str>) -> Result<String, AwsError> {
    if let Some(sn) = subnet {
        let out = clients
            .ec2
            .describe_subnets()
            .subnet_ids(sn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeSubnets", e))?;
        return out
            .subnets()
            .first()
            .and_then(|s| s.vpc_id())
            .map(str::to_string)
            .ok_or_else(|| AwsError::Service {
                operation: "DescribeSubnets",
                code: "InvalidSubnetID.NotFound".into(),
                message: format!("no subnet {sn}"),
            });
    }
    let out = clients
        .ec2
        .describe_vpcs()
        .filters(filter("isDefault", &["true"]))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeVpcs", e))?;
    out.vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string)
        .ok_or_else(|| AwsError::Service {
            operation: "DescribeVpcs",
            code: "NoDefaultVpc".into(),
            message: format!("no default VPC in {}; set `subnet_ids`", clients.region),
        })
}

/// The default subnets of the region's default VPC, one per availability
/// zone, ordered by zone name: where an app without `subnet_ids` spreads
/// its replicas round-robin.
///
/// # Errors
/// [`AwsError`] when a call fails, or when the region has no default VPC
/// or it has no default subnet (then `subnet_ids` must be set).
pub async fn default_subnets(clients: &Clients) -> Result<Vec<String>, AwsError> {
    let vpc = vpc_for(clients, None).await?;
    let out = clients
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[&vpc]))
        .filters(filter("default-for-az", &["true"]))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeSubnets", e))?;
    let mut by_zone: BTreeMap<String, String> = BTreeMap::new();
    for sn in out.subnets() {
        let available = sn
            .state()
            .is_none_or(|st| *st == aws_sdk_ec2::types::SubnetState::Available);
        if let (Some(zone), Some(id), true) = (sn.availability_zone(), sn.subnet_id(), available) {
            by_zone
                .entry(zone.to_string())
                .or_insert_with(|| id.to_string());
        }
    }
    if by_zone.is_empty() {
        return Err(AwsError::Service {
            operation: "DescribeSubnets",
            code: "NoDefaultSubnet".into(),
            message: format!(
                "the default VPC {vpc} in {} has no default subnet; set `subnet_ids`",
                clients.region
            ),
        });
    }
    Ok(by_zone.into_values().collect())
}

/// What the managed security group must allow in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ingress {
    /// TCP ports.
    pub ports: BTreeSet<u16>,
    /// Source CIDR blocks.
    pub cidrs: BTreeSet<String>,
}

/// The id of the security group berth manages for `app`, if it exists.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn find_app_security_group(
    clients: &Clients,
    app: &str,
) -> Result<Option<String>, AwsError> {
    let out = clients
        .ec2
        .describe_security_groups()
        .filters(filter(&format!("tag:{}", tags::MANAGED_BY), &["berth"]))
        .filters(filter(&format!("tag:{}", tags::APP), &[app]))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeSecurityGroups", e))?;
    let mut ids: Vec<String> = out
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids.into_iter().next())
}

fn rules_of(perms: &[IpPermission]) -> BTreeSet<(u16, String)> {
    let mut out = BTreeSet::new();
    for p in perms {
        if p.ip_protocol() != Some("tcp") {
            continue;
        }
        let (Some(from), Some(to)) = (p.from_port(), p.to_port()) else {
            continue;
        };
        if from != to {
            continue;
        }
        for r in p.ip_ranges() {
            if let (Ok(port), Some(c)) = (u16::try_from(from), r.cidr_ip()) {
                out.insert((port, c.to_string()));
            }
        }
    }
    out
}

fn permission(port: u16, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(i32::from(port))
        .to_port(i32::from(port))
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .description("berth app ingress")
                .build(),
        )
        .build()
}

/// Creates (or finds) the security group berth manages for `app` in
/// `vpc_id` and reconciles its ingress to exactly `ingress`. Returns its id.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn ensure_app_security_group(
    clients: &Clients,
    app: &str,
    vpc_id: &str,
    ingress: &Ingress,
    extra_tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let id = match find_app_security_group(clients, app).await? {
        Some(id) => id,
        None => {
            let mut tag_list: Vec<Tag> = extra_tags
                .iter()
                .filter(|(k, _)| !k.starts_with("berth:") && k.as_str() != "Name")
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            tag_list.extend([
                Tag::builder().key(tags::MANAGED_BY).value("berth").build(),
                Tag::builder().key(tags::APP).value(app).build(),
                Tag::builder()
                    .key("Name")
                    .value(format!("berth-{app}"))
                    .build(),
            ]);
            let created = clients
                .ec2
                .create_security_group()
                .group_name(format!("berth-{app}"))
                .description(format!("berth app {app} (managed by Terraform/berth)"))
                .vpc_id(vpc_id)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::SecurityGroup)
                        .set_tags(Some(tag_list))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateSecurityGroup", e));
            match created {
                Ok(out) => out.group_id().unwrap_or_default().to_string(),
                // A retry after a lost answer: the first call made the
                // group (tagged at creation), so adopt it.
                Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
                    find_app_security_group(clients, app).await?.ok_or(e)?
                }
                Err(e) => return Err(e),
            }
        }
    };
    let out = clients
        .ec2
        .describe_security_groups()
        .group_ids(&id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeSecurityGroups", e))?;
    let have = out
        .security_groups()
        .first()
        .map(|g| rules_of(g.ip_permissions()))
        .unwrap_or_default();
    let want: BTreeSet<(u16, String)> = ingress
        .ports
        .iter()
        .flat_map(|p| ingress.cidrs.iter().map(move |c| (*p, c.clone())))
        .collect();
    let revoke: Vec<IpPermission> = have
        .difference(&want)
        .map(|(p, c)| permission(*p, c))
        .collect();
    let grant: Vec<IpPermission> = want
        .difference(&have)
        .map(|(p, c)| permission(*p, c))
        .collect();
    if !revoke.is_empty() {
        let revoked = clients
            .ec2
            .revoke_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(revoke))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("RevokeSecurityGroupIngress", e));
        // A retry after a lost answer finds the rules already gone.
        if let Err(e) = revoked
            && e.code() != Some("InvalidPermission.NotFound")
        {
            return Err(e);
        }
    }
    if !grant.is_empty() {
        let granted = clients
            .ec2
            .authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(grant))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("AuthorizeSecurityGroupIngress", e));
        // A retry after a lost answer finds the rules already there.
        if let Err(e) = granted
            && e.code() != Some("InvalidPermission.Duplicate")
        {
            return Err(e);
        }
    }
    Ok(id)
}

/// Deletes a security group, retrying while terminated instances still
/// hold it (`DependencyViolation`) for up to `patience`. A group that is
/// already gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails for another reason or patience runs out.
pub async fn delete_security_group(
    clients: &Clients,
    id: &str,
    patience: Duration,
) -> Result<(), AwsError> {
    let started = tokio::time::Instant::now();
    loop {
        match clients
            .ec2
            .delete_security_group()
            .group_id(id)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk("DeleteSecurityGroup", e);
                match &err {
                    AwsError::Service { code, .. } if code == "InvalidGroup.NotFound" => {
                        return Ok(());
                    }
                    AwsError::Service { code, .. }
                        if code == "DependencyViolation" && started.elapsed() < patience =>
                    {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    _ => return Err(err),
                }
            }
        }
    }
}
