//! `berth_region_pool`'s configuration, plan and state as typed models:
//! one field per attribute and block of [`super::schema::schema`], read
//! from Terraform's value once per request and written back once.

use std::collections::BTreeMap;

use tfplugin::model::{Attr, Model, Set};

use crate::resources::health_checks::HealthCheckModel;

/// The resource.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct PoolModel {
    /// `<zone id>/<fqdn>` (computed).
    pub id: Attr<String>,
    /// Hosted zone id or name.
    pub zone: Attr<String>,
    /// Record name.
    pub name: Attr<String>,
    /// TTL of the regional records.
    pub ttl: Attr<i64>,
    /// The primary region.
    pub primary: Attr<String>,
    /// Fully qualified name (computed).
    pub fqdn: Attr<String>,
    /// Hosted zone id (computed).
    pub zone_id: Attr<String>,
    /// Region → health check id (computed).
    pub health_check_ids: Attr<BTreeMap<String, String>>,
    /// The record sets, one line each (computed).
    pub records: Attr<Vec<String>>,
    /// The `region` blocks.
    pub region: Attr<Set<RegionModel>>,
}

/// One `region` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RegionModel {
    /// The AWS region.
    pub name: Attr<String>,
    /// The region's endpoint host (CNAME).
    pub hostname: Attr<String>,
    /// IPv4 addresses (A).
    pub addresses: Attr<Vec<Attr<String>>>,
    /// Out of rotation.
    pub drained: Attr<bool>,
    /// The region's health check settings.
    pub health_check: Attr<HealthCheckModel>,
}

impl PoolModel {
    /// The `region` blocks (none while unknown).
    pub fn regions(&self) -> &[RegionModel] {
        self.region.known().map_or(&[], |s| s.0.as_slice())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_model_covers_the_schema() {
        tfplugin::model::assert_covers::<super::PoolModel>(&super::super::schema::schema().block);
    }
}
