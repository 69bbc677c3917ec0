//! Builds AWS SDK clients from berth's provider settings.
//!
//! Guarantees: an endpoint override (one URL for every service, or one per
//! service) is used as given, so a local emulator such as moto works; the
//! standard credential chain is used unless keys are given; retries use
//! the SDK's standard mode with the configured attempt count: exponential
//! backoff with jitter on throttling codes (`RequestLimitExceeded`,
//! `Throttling`, `PriorRequestNotComplete`, …), 5xx answers and transport
//! errors (`tests/faults_moto.rs` checks each against moto behind the
//! fault-injecting proxy). Calls that must not be repeated blindly retry
//! themselves (see `retry`).

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_types::region::Region;

use crate::error::AwsError;

/// What the provider block says about AWS access. Its `Debug` output
/// redacts the secret key and token.
#[derive(Clone, Default)]
pub struct Settings {
    /// AWS region; `None` uses the environment / profile.
    pub region: Option<String>,
    /// Shared config profile name.
    pub profile: Option<String>,
    /// Static access key (with `secret_key`); `None` uses the chain.
    pub access_key: Option<String>,
    /// Static secret key.
    pub secret_key: Option<String>,
    /// Session token for temporary static credentials.
    pub token: Option<String>,
    /// One endpoint URL for every service.
    pub endpoint: Option<String>,
    /// Per-service endpoint URLs by service name (`ec2`, `route53`, …);
    /// these win over `endpoint`.
    pub endpoints: BTreeMap<String, String>,
    /// Total attempts per call, including the first (standard retry mode).
    pub max_attempts: u32,
}

impl Settings {
    /// Settings for a local AWS API emulator (moto, LocalStack) at
    /// `endpoint`: region `us-east-1`, static `testing` credentials and one
    /// attempt per call, so the first error surfaces as it is.
    pub fn emulator(endpoint: impl Into<String>) -> Settings {
        Settings {
            region: Some("us-east-1".into()),
            access_key: Some("testing".into()),
            secret_key: Some("testing".into()),
            endpoint: Some(endpoint.into()),
            max_attempts: 1,
            ..Settings::default()
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Settings")
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("access_key", &self.access_key)
            .field("secret_key", &redact(&self.secret_key))
            .field("token", &redact(&self.token))
            .field("endpoint", &self.endpoint)
            .field("endpoints", &self.endpoints)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_never_shows_the_secret_key_or_token() {
        let s = super::Settings {
            access_key: Some("AKIDEXAMPLE".into()),
            secret_key: Some("wJalrXUtnFEMI".into()),
            token: Some("FwoGZXIvYXdzE".into()),
            ..Default::default()
        };
        let text = format!("{s:?}");
        assert!(
            !text.contains("wJalrXUtnFEMI") && !text.contains("FwoGZXIvYXdzE"),
            "{text}"
        );
        assert!(text.contains("<redacted>"));
    }
}

/// Configured SDK clients, cheap to clone.
#[derive(Clone, Debug)]
pub struct Clients {
    /// The region in use.
    pub region: String,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// Route53 (a global service; the region only signs requests).
    pub route53: aws_sdk_route53::Client,
    /// SSM Parameter Store (the parameters berth stores write-only values in).
    pub ssm: aws_sdk_ssm::Client,
    /// IAM (a global service: the role and instance profile of an app's
    /// instances).
    pub iam: aws_sdk_iam::Client,
    /// CloudWatch Logs (an app's log group).
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch (an app's alarms).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Elastic Load Balancing v2 (an app's target groups and listener rule).
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// EC2 Auto Scaling (a release's group of instances).
    pub autoscaling: aws_sdk_autoscaling::Client,
}

impl Settings {
    /// The endpoint for `service`, if overridden.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.endpoints
            .get(service)
            .or(self.endpoint.as_ref())
            .map(String::as_str)
    }
}

/// Builds clients from `settings`.
///
/// # Errors
/// [`AwsError::Config`] when no region can be found anywhere.
pub async fn load(settings: &Settings) -> Result<Clients, AwsError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)));
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    if let (Some(ak), Some(sk)) = (&settings.access_key, &settings.secret_key) {
        loader = loader.credentials_provider(Credentials::new(
            ak,
            sk,
            settings.token.clone(),
            None,
            "berth-provider-config",
        ));
    }
    let shared = loader.load().await;
    let region = shared.region().map(|r| r.to_string()).ok_or_else(|| {
        AwsError::Config("no region: set `region` in the provider block or AWS_REGION".into())
    })?;
    let mut ec2 = aws_sdk_ec2::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("ec2") {
        ec2 = ec2.endpoint_url(url);
    }
    let mut route53 = aws_sdk_route53::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("route53") {
        route53 = route53.endpoint_url(url);
    }
    let mut ssm = aws_sdk_ssm::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("ssm") {
        ssm = ssm.endpoint_url(url);
    }
    let mut iam = aws_sdk_iam::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("iam") {
        iam = iam.endpoint_url(url);
    }
    let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("logs") {
        logs = logs.endpoint_url(url);
    }
    let mut cloudwatch = aws_sdk_cloudwatch::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("monitoring") {
        cloudwatch = cloudwatch.endpoint_url(url);
    }
    let mut elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("elasticloadbalancing") {
        elb = elb.endpoint_url(url);
    }
    let mut autoscaling = aws_sdk_autoscaling::config::Builder::from(&shared);
    if let Some(url) = settings.endpoint_for("autoscaling") {
        autoscaling = autoscaling.endpoint_url(url);
    }
    Ok(Clients {
        region,
        elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb.build()),
        autoscaling: aws_sdk_autoscaling::Client::from_conf(autoscaling.build()),
        cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch.build()),
        logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
        iam: aws_sdk_iam::Client::from_conf(iam.build()),
        ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
        route53: aws_sdk_route53::Client::from_conf(route53.build()),
        ssm: aws_sdk_ssm::Client::from_conf(ssm.build()),
    })
}
