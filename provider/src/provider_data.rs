//! What the configured provider hands every resource and data source: AWS
//! clients (per region, built on first use), default tags and the shared
//! inventory of reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_aws::ports::{AppCloud, RouteCloud};

/// What every resource and data source gets once the provider is configured.
#[derive(Debug)]
pub struct ProviderData {
    /// AWS SDK clients.
    pub aws: berth_aws::Clients,
    /// Tags added to every object berth creates.
    pub default_tags: BTreeMap<String, String>,
    /// Shared reads for refreshes.
    pub inventory: crate::inventory::Inventory,
    /// The settings the clients were built from (for other regions).
    pub settings: berth_aws::Settings,
    /// Clients for regions other than the provider's, built on first use.
    pub regional: tokio::sync::Mutex<BTreeMap<String, berth_aws::Clients>>,
    /// Where `berth_container_app` makes its calls when not through the
    /// clients (a fake cloud in tests; see
    /// [`crate::BerthProvider::with_app_cloud`]).
    pub app_cloud: Option<Arc<dyn AppCloud>>,
    /// Where `berth_weighted_route` and `berth_region_pool` make theirs
    /// (see [`crate::BerthProvider::with_route_cloud`]).
    pub route_cloud: Option<Arc<dyn RouteCloud>>,
}

impl ProviderData {
    /// Clients for `region` (the provider's own when `None` or equal).
    ///
    /// # Errors
    /// [`berth_aws::AwsError`] when the clients cannot be built.
    pub async fn clients_for(
        &self,
        region: Option<&str>,
    ) -> Result<berth_aws::Clients, berth_aws::AwsError> {
        let Some(r) = region.filter(|r| *r != self.aws.region) else {
            return Ok(self.aws.clone());
        };
        let mut cache = self.regional.lock().await;
        if let Some(c) = cache.get(r) {
            return Ok(c.clone());
        }
        let mut settings = self.settings.clone();
        settings.region = Some(r.to_string());
        let c = berth_aws::config::load(&settings).await?;
        cache.insert(r.to_string(), c.clone());
        Ok(c)
    }

    /// `berth_container_app`'s cloud port for `region` (the provider's own
    /// when `None`): the clients, or the cloud the provider was made with.
    ///
    /// # Errors
    /// [`berth_aws::AwsError`] when the clients cannot be built.
    pub async fn app_cloud(
        &self,
        region: Option<&str>,
    ) -> Result<Arc<dyn AppCloud>, berth_aws::AwsError> {
        match &self.app_cloud {
            Some(cloud) => Ok(cloud.clone()),
            None => Ok(Arc::new(self.clients_for(region).await?)),
        }
    }

    /// The Route53 port of weighted routes and region pools: the
    /// provider's clients, or the cloud the provider was made with.
    pub fn route_cloud(&self) -> Arc<dyn RouteCloud> {
        match &self.route_cloud {
            Some(cloud) => cloud.clone(),
            None => Arc::new(self.aws.clone()),
        }
    }
}

/// Provider data for unit tests: every resource calls a fake AWS account.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use berth_testbed::fake_cloud::{FakeAws, REGION};

    use super::ProviderData;

    /// Provider data whose apps, routes and pools call `fake`; the SDK
    /// clients point at an endpoint nothing listens on, so a call that
    /// missed the fake fails loudly.
    pub async fn on_fake(fake: &FakeAws) -> ProviderData {
        let settings = berth_aws::Settings {
            region: Some(REGION.into()),
            endpoint: Some("http://127.0.0.1:9".into()),
            access_key: Some("testing".into()),
            secret_key: Some("testing".into()),
            max_attempts: 1,
            ..Default::default()
        };
        let aws = berth_aws::config::load(&settings)
            .await
            .expect("clients build without a network");
        ProviderData {
            aws,
            default_tags: Default::default(),
            inventory: Default::default(),
            settings,
            regional: Default::default(),
            app_cloud: Some(Arc::new(fake.clone())),
            route_cloud: Some(Arc::new(fake.clone())),
        }
    }
}
