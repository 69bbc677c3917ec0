//! Shared reads: one tag-filtered EC2 inventory and one record listing per
//! hosted zone serve every resource's Read in a refresh (apps, weighted
//! routes and region pools alike), instead of one call per resource.
//!
//! Guarantees:
//! - Concurrent readers wait for a single in-flight fetch (the lock is held
//!   across it), so a refresh of N apps makes one inventory pass.
//! - A snapshot is reused for at most [`Inventory::MAX_AGE`]; any write
//!   through this provider process invalidates it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use berth_aws::AwsError;
use berth_aws::dns::HostedZone;
use berth_aws::ports::Reads;
use berth_aws::routing::ZoneRecords;
use berth_rollout::Instance;
use tokio::sync::Mutex;
use tokio::time::Instant;

type Apps = Arc<BTreeMap<String, Vec<Instance>>>;
type Records = Arc<ZoneRecords>;

/// The provider process's read cache.
#[derive(Debug, Default)]
pub struct Inventory {
    instances: Mutex<BTreeMap<String, (Instant, Apps)>>,
    records: Mutex<BTreeMap<String, (Instant, Records)>>,
    zones: Mutex<BTreeMap<String, HostedZone>>,
}

impl Inventory {
    /// How long a snapshot is reused.
    pub const MAX_AGE: Duration = Duration::from_secs(20);

    /// Every live berth instance in the region of `cloud`, by app.
    ///
    /// # Errors
    /// [`AwsError`] when the listing fails.
    pub async fn instances(&self, cloud: &dyn Reads) -> Result<Apps, AwsError> {
        let mut slot = self.instances.lock().await;
        if let Some((at, apps)) = slot.get(cloud.region())
            && at.elapsed() < Self::MAX_AGE
        {
            return Ok(apps.clone());
        }
        let apps = Arc::new(cloud.inventory().await?);
        slot.insert(cloud.region().to_string(), (Instant::now(), apps.clone()));
        Ok(apps)
    }

    /// One indexed listing of `zone_id`: its simple A records (origins),
    /// weighted record sets (routes) and region pool records.
    ///
    /// # Errors
    /// [`AwsError`] when the listing fails.
    pub async fn records(&self, cloud: &dyn Reads, zone_id: &str) -> Result<Records, AwsError> {
        let mut slot = self.records.lock().await;
        if let Some((at, recs)) = slot.get(zone_id)
            && at.elapsed() < Self::MAX_AGE
        {
            return Ok(recs.clone());
        }
        let recs = Arc::new(cloud.zone_records(zone_id).await?);
        slot.insert(zone_id.to_string(), (Instant::now(), recs.clone()));
        Ok(recs)
    }

    /// The hosted zone named or identified by `zone` (cached for the
    /// process: zones do not move).
    ///
    /// # Errors
    /// [`AwsError`] when the lookup fails.
    pub async fn zone(&self, cloud: &dyn Reads, zone: &str) -> Result<HostedZone, AwsError> {
        let mut slot = self.zones.lock().await;
        if let Some(z) = slot.get(zone) {
            return Ok(z.clone());
        }
        let z = cloud.find_zone(zone).await?;
        slot.insert(zone.to_string(), z.clone());
        Ok(z)
    }

    /// Forgets instance and record snapshots (after any write).
    pub async fn invalidate(&self) {
        self.instances.lock().await.clear();
        self.records.lock().await.clear();
    }
}
