//! EC2 calls: availability zones (more come with berth_container_app).

use crate::config::Clients;
use crate::error::AwsError;

/// One availability zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Zone name, e.g. `us-east-1a`.
    pub name: String,
    /// Zone id, e.g. `use1-az1`.
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
) -> Result<Vec<Zone>, AwsError> {
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
    let mut zones: Vec<Zone> = out
        .availability_zones()
        .iter()
        .map(|z| Zone {
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
