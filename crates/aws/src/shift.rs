//! The traffic shift's ports on AWS: the weights of one Route53 weighted
//! name ([`Route53Weights`]) and the health of its targets, from a berth
//! app's instances' reported health and the target's Route53 health check
//! ([`TargetChecks`]).
//!
//! Guarantees: setting the weights the shift started from writes back the
//! records exactly as they were found (values, TTL and health checks), so a
//! reverted shift leaves the name as it was; every change is one atomic
//! batch computed against the records last written.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use berth_rollout::shift::{TargetHealth, WeightPort, Weights};
use berth_rollout::{Health, PortError};

use crate::ports::RouteCloud;
use crate::routing::{RecordValue, WeightedRecord};

/// One target of a weighted name, as a shift sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftTarget {
    /// The Route53 set identifier.
    pub id: String,
    /// What its record answers.
    pub value: RecordValue,
    /// A berth app whose instances' health gates shifts towards it.
    pub app: Option<String>,
    /// The Route53 health check attached to its record.
    pub health_check_id: Option<String>,
}

/// Sets the weights of the weighted records at `fqdn`.
pub struct Route53Weights<'a> {
    cloud: &'a dyn RouteCloud,
    zone_id: String,
    fqdn: String,
    ttl: i64,
    targets: &'a [ShiftTarget],
    found: Vec<WeightedRecord>,
    before: Weights,
    current: Mutex<Vec<WeightedRecord>>,
}

impl<'a> Route53Weights<'a> {
    /// The port for `fqdn` in `zone_id`, whose records are `found` now.
    pub fn new(
        cloud: &'a dyn RouteCloud,
        zone_id: &str,
        fqdn: &str,
        ttl: i64,
        targets: &'a [ShiftTarget],
        found: Vec<WeightedRecord>,
    ) -> Route53Weights<'a> {
        Route53Weights {
            cloud,
            zone_id: zone_id.to_string(),
            fqdn: fqdn.to_string(),
            ttl,
            targets,
            before: weights_of(&found),
            current: Mutex::new(found.clone()),
            found,
        }
    }

    /// The weights the records had when found.
    pub fn before(&self) -> &Weights {
        &self.before
    }
}

/// Set id → weight of weighted records.
pub fn weights_of(records: &[WeightedRecord]) -> Weights {
    records
        .iter()
        .map(|r| (r.set_id.clone(), u32::try_from(r.weight).unwrap_or(0)))
        .collect()
}

#[async_trait]
impl WeightPort for Route53Weights<'_> {
    async fn set(&self, weights: &Weights) -> Result<(), PortError> {
        let desired: Vec<WeightedRecord> = if *weights == self.before {
            self.found.clone()
        } else {
            self.targets
                .iter()
                .map(|t| WeightedRecord {
                    set_id: t.id.clone(),
                    value: t.value.clone(),
                    weight: i64::from(weights.get(&t.id).copied().unwrap_or(0)),
                    ttl: self.ttl,
                    health_check_id: t.health_check_id.clone(),
                })
                .collect()
        };
        let current = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        self.cloud
            .set_weighted(&self.zone_id, &self.fqdn, &desired, &current)
            .await
            .map_err(|e| PortError::new(format!("Route53 {}", self.fqdn), e.to_string()))?;
        if let Ok(mut c) = self.current.lock() {
            *c = desired;
        }
        Ok(())
    }
}

/// Health of a target: its app's instances (any reporting `unhealthy…` →
/// unhealthy; none `healthy` yet → starting) and then its health check.
pub struct TargetChecks<'a> {
    cloud: &'a dyn RouteCloud,
    targets: BTreeMap<&'a str, &'a ShiftTarget>,
}

impl<'a> TargetChecks<'a> {
    /// The health of `targets`.
    pub fn new(cloud: &'a dyn RouteCloud, targets: &'a [ShiftTarget]) -> TargetChecks<'a> {
        TargetChecks {
            cloud,
            targets: targets.iter().map(|t| (t.id.as_str(), t)).collect(),
        }
    }
}

#[async_trait]
impl TargetHealth for TargetChecks<'_> {
    async fn check(&self, target: &str) -> Health {
        let Some(t) = self.targets.get(target) else {
            return Health::Unhealthy(format!("no target {target}"));
        };
        if let Some(app) = &t.app {
            match self.cloud.app_instances(app, Default::default()).await {
                Err(e) => return Health::Unhealthy(format!("cannot list app {app}: {e}")),
                Ok(live) if live.is_empty() => {
                    return Health::Unhealthy(format!("app {app} has no running instances"));
                }
                Ok(live) => {
                    if let Some(bad) = live.iter().find(|i| {
                        i.reported_health
                            .as_deref()
                            .is_some_and(|h| h.starts_with("unhealthy"))
                    }) {
                        return Health::Unhealthy(format!(
                            "app {app}: instance {} reports {}",
                            bad.id,
                            bad.reported_health.as_deref().unwrap_or_default()
                        ));
                    }
                    if !live
                        .iter()
                        .any(|i| i.reported_health.as_deref() == Some("healthy"))
                    {
                        return Health::Starting;
                    }
                }
            }
        }
        if let Some(id) = &t.health_check_id {
            match self.cloud.health_check_status(id).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return Health::Unhealthy(format!("health check {id}: {why}")),
                Err(e) => return Health::Unhealthy(format!("health check {id}: {e}")),
            }
        }
        Health::Healthy
    }
}
