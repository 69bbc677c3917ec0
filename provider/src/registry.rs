//! The one list of berth's resources and data sources, each with its IAM
//! permissions: the provider serves it, and the docs generator and the IAM
//! lists are derived from it, so a new type is added here only. Each is
//! served through [`Configured`], which hands it the provider's data.

use std::sync::Arc;

use tfplugin::configured::Configured;
use tfplugin::provider::{DataSource, Resource};

use crate::data_sources::availability_zones;
use crate::permissions::Permissions;
use crate::resources::{container_app, region_pool, weighted_route};

/// Every resource type with the IAM permissions its operations need.
pub fn resources() -> Vec<(Arc<dyn Resource>, &'static Permissions)> {
    vec![
        (
            Arc::new(Configured(container_app::ContainerApp)),
            &container_app::IAM,
        ),
        (
            Arc::new(Configured(weighted_route::WeightedRoute)),
            &weighted_route::IAM,
        ),
        (
            Arc::new(Configured(region_pool::RegionPool)),
            &region_pool::IAM,
        ),
    ]
}

/// Every data source with the IAM permissions its read needs.
pub fn data_sources() -> Vec<(Arc<dyn DataSource>, &'static Permissions)> {
    vec![(
        Arc::new(Configured(availability_zones::AvailabilityZones)),
        &availability_zones::IAM,
    )]
}

/// The IAM permissions of the resource or data source `type_name`.
pub fn permissions(type_name: &str) -> Option<&'static Permissions> {
    resources()
        .into_iter()
        .find(|(r, _)| r.type_name() == type_name)
        .map(|(_, p)| p)
        .or_else(|| {
            data_sources()
                .into_iter()
                .find(|(d, _)| d.type_name() == type_name)
                .map(|(_, p)| p)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_type_is_found_by_its_name_and_names_are_unique() {
        let mut names: Vec<String> = super::resources()
            .iter()
            .map(|(r, _)| r.type_name().to_string())
            .chain(
                super::data_sources()
                    .iter()
                    .map(|(d, _)| d.type_name().to_string()),
            )
            .collect();
        for n in &names {
            assert!(super::permissions(n).is_some(), "{n}");
        }
        assert!(super::permissions("berth_nothing").is_none());
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "{names:?}");
    }
}
