//! The provider itself: the `provider "berth"` block (AWS region,
//! credentials, endpoints, retries and default tags, validated with
//! attribute-named diagnostics), configure, and the types it serves (from
//! [`crate::registry`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use berth_aws::ports::{AppCloud, RouteCloud};
use tfplugin::diag::Diagnostics;
use tfplugin::path::AttributePath;
use tfplugin::provider::{
    ConfigureRequest, ConfigureResponse, DataSource, Provider, Resource, ValidateRequest,
};
use tfplugin::schema::validators::{check, http_url, int_between};
use tfplugin::schema::{Attribute, Block, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use crate::provider_data::ProviderData;

/// Services whose endpoint can be overridden one by one.
pub const SERVICES: [&str; 10] = [
    "autoscaling",
    "ec2",
    "elasticloadbalancing",
    "iam",
    "logs",
    "monitoring",
    "route53",
    "ssm",
    "secretsmanager",
    "sts",
];

/// Attempts after the first one when `max_retries` is not set.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// The berth provider.
#[derive(Clone, Debug, Default)]
pub struct BerthProvider {
    /// Where `berth_container_app` makes its calls instead of the AWS
    /// SDK clients (a fake cloud in tests).
    app_cloud: Option<Arc<dyn AppCloud>>,
    /// Where `berth_weighted_route` and `berth_region_pool` make theirs.
    route_cloud: Option<Arc<dyn RouteCloud>>,
}

impl BerthProvider {
    /// The provider as Terraform runs it: every call through the AWS SDK.
    pub fn new() -> BerthProvider {
        BerthProvider::default()
    }

    /// This provider with `berth_container_app` making every cloud call
    /// through `cloud` (its applies, refreshes, imports and deletes), so
    /// the glue above the port runs in process against a fake.
    #[must_use]
    pub fn with_app_cloud(mut self, cloud: Arc<dyn AppCloud>) -> BerthProvider {
        self.app_cloud = Some(cloud);
        self
    }

    /// This provider with `berth_weighted_route` and `berth_region_pool`
    /// making every cloud call through `cloud`.
    #[must_use]
    pub fn with_route_cloud(mut self, cloud: Arc<dyn RouteCloud>) -> BerthProvider {
        self.route_cloud = Some(cloud);
        self
    }
}

fn region_validator() -> impl tfplugin::schema::Validator {
    check(
        "must be an AWS region name such as us-east-1",
        |v| match v.as_str() {
            Some(r) if crate::validation::valid_region(r) => Ok(()),
            Some(r) => Err(format!(
                "{r:?} is not an AWS region name (expected something like \"us-east-1\")."
            )),
            None => Ok(()),
        },
    )
}

/// Checks a map of AWS tags (keys 1–128 characters not starting with
/// `aws:`, values up to 256 characters).
pub fn tags_validator() -> impl tfplugin::schema::Validator {
    check(
        "keys of 1–128 characters not starting with aws:, values up to 256 characters",
        |v| {
            let Some(m) = v.as_entries() else {
                return Ok(());
            };
            for (k, val) in m {
                crate::validation::tag(k, val.as_str().unwrap_or_default())?;
            }
            Ok(())
        },
    )
}

fn non_empty() -> impl tfplugin::schema::Validator {
    check("must not be empty", |v| match v.as_str() {
        Some(s) if s.trim().is_empty() => Err(
            "an empty string is not a value here; leave the attribute out to use the default."
                .into(),
        ),
        _ => Ok(()),
    })
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Reads [`berth_aws::Settings`] from a wholly known provider block.
pub fn settings_from(config: &Value) -> berth_aws::Settings {
    let mut endpoints = BTreeMap::new();
    for s in SERVICES {
        if let Some(url) = config.attr("endpoints").attr(s).as_str() {
            endpoints.insert(s.to_string(), url.to_string());
        }
    }
    let retries = config
        .attr("max_retries")
        .as_i64()
        .map_or(DEFAULT_MAX_RETRIES, |n| n.clamp(0, 25) as u32);
    berth_aws::Settings {
        region: opt_str(config.attr("region")),
        profile: opt_str(config.attr("profile")),
        access_key: opt_str(config.attr("access_key")),
        secret_key: opt_str(config.attr("secret_key")),
        token: opt_str(config.attr("token")),
        endpoint: opt_str(config.attr("endpoint")),
        endpoints,
        max_attempts: retries + 1,
    }
}

#[async_trait]
impl Provider for BerthProvider {
    fn type_name(&self) -> &str {
        "berth"
    }

    fn schema(&self) -> Schema {
        let endpoint_attrs = SERVICES
            .iter()
            .map(|s| {
                Attribute::string(*s)
                    .optional()
                    .description(format!("Endpoint URL for {s} calls; wins over `endpoint`."))
                    .validate(http_url())
            })
            .collect();
        Schema::new(
            Block::new()
                .description("berth: zero-downtime container deploys, traffic shifting and multi-region routing on your own AWS account.")
                .attribute(
                    Attribute::string("region")
                        .optional()
                        .description("AWS region, e.g. `us-east-1`. Defaults to `AWS_REGION` / the profile's region.")
                        .validate(region_validator()),
                )
                .attribute(Attribute::string("profile").optional().description("Shared config/credentials profile to use.").validate(non_empty()))
                .attribute(
                    Attribute::string("access_key")
                        .optional()
                        .sensitive()
                        .validate(non_empty())
                        .description("Static access key id. Prefer the standard credential chain (environment, profile, instance role)."),
                )
                .attribute(Attribute::string("secret_key").optional().sensitive().description("Static secret access key; needs `access_key`."))
                .attribute(Attribute::string("token").optional().sensitive().description("Session token for temporary static credentials."))
                .attribute(
                    Attribute::string("endpoint")
                        .optional()
                        .description("One endpoint URL for every AWS service, e.g. a local emulator `http://127.0.0.1:5000`.")
                        .validate(http_url()),
                )
                .attribute(
                    Attribute::nested("endpoints", Nesting::Single, endpoint_attrs)
                        .optional()
                        .description("Per-service endpoint URLs."),
                )
                .attribute(
                    Attribute::number("max_retries")
                        .optional()
                        .description(format!(
                            "Retries after the first attempt of a failed retryable AWS call (throttling, 5xx), with backoff and jitter. Default {DEFAULT_MAX_RETRIES}."
                        ))
                        .validate(int_between(0, 25)),
                )
                .attribute(
                    Attribute::new("default_tags", Type::map(Type::String))
                        .optional()
                        .description("Tags added to every AWS object berth creates (berth's own tags win on conflict).")
                        .validate(tags_validator()),
                ),
        )
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        let mut d = Diagnostics::new();
        let c = &req.config;
        let has = |n: &str| !c.attr(n).is_null();
        if has("access_key") && !has("secret_key") {
            // Point at what is written (Terraform quotes that line).
            d.error_at(
                AttributePath::attr("access_key"),
                "Missing secret_key",
                "`access_key` is set, so `secret_key` must be set too.",
            );
        }
        if has("secret_key") && !has("access_key") {
            d.error_at(
                AttributePath::attr("secret_key"),
                "Missing access_key",
                "`secret_key` is set, so `access_key` must be set too.",
            );
        }
        d
    }

    async fn configure(&self, req: ConfigureRequest) -> ConfigureResponse {
        let mut resp = ConfigureResponse::default();
        if !req.config.is_wholly_known() {
            // Values known only after apply: resources report "not configured".
            return resp;
        }
        let settings = settings_from(&req.config);
        let default_tags = req
            .config
            .attr("default_tags")
            .as_entries()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        match berth_aws::config::load(&settings).await {
            Ok(aws) => {
                tracing::info!(region = %aws.region, endpoint = ?settings.endpoint, "configured AWS clients");
                resp.data = Some(Arc::new(ProviderData {
                    aws,
                    default_tags,
                    inventory: Default::default(),
                    settings: settings.clone(),
                    regional: Default::default(),
                    app_cloud: self.app_cloud.clone(),
                    route_cloud: self.route_cloud.clone(),
                }));
            }
            Err(e) => resp.diagnostics.error_at(
                AttributePath::attr("region"),
                "Cannot configure AWS",
                e.to_string(),
            ),
        }
        resp
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        crate::registry::resources()
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        crate::registry::data_sources()
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_shapes() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-3",
        ] {
            assert!(crate::validation::valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-x",
            "moon-base-1",
            "us--1",
        ] {
            assert!(!crate::validation::valid_region(bad), "{bad}");
        }
    }

    #[test]
    fn schema_is_valid() {
        assert!(BerthProvider::new().schema().check().is_empty());
    }

    #[test]
    fn settings_prefer_per_service_endpoints() {
        let cfg = Value::object([
            ("endpoint", Value::string("http://127.0.0.1:1")),
            (
                "endpoints",
                Value::object([("ec2", Value::string("http://127.0.0.1:2"))]),
            ),
            ("max_retries", Value::int(5)),
        ]);
        let s = settings_from(&cfg);
        assert_eq!(s.endpoint_for("ec2"), Some("http://127.0.0.1:2"));
        assert_eq!(s.endpoint_for("route53"), Some("http://127.0.0.1:1"));
        assert_eq!(s.max_attempts, 6);
    }
}
