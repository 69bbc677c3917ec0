//! What the fake-cloud tests share: the fake hosted zone `example.com` and
//! a harness around a provider configured as a user would, whose calls
//! all go to the fakes it was built with.

use berth_aws::AwsError;
use berth_aws::dns::HostedZone;
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

/// The fakes' one hosted zone, `example.com`, found by name or by `id`.
pub fn example_zone(zone: &str, id: &str) -> Result<HostedZone, AwsError> {
    if zone.trim_end_matches('.') == "example.com" || zone == id {
        Ok(HostedZone {
            id: id.into(),
            name: "example.com.".into(),
        })
    } else {
        Err(AwsError::Config(format!("no hosted zone {zone}")))
    }
}

/// A harness around `provider`, configured for us-east-1 with an endpoint
/// nothing listens on: a call that missed the fakes would fail loudly.
pub async fn configured(provider: BerthProvider) -> Harness {
    let mut h = Harness::new(provider).await.expect("schema is valid");
    h.configure(Value::object([
        ("region", Value::string("us-east-1")),
        ("endpoint", Value::string("http://127.0.0.1:9")),
        ("access_key", Value::string("testing")),
        ("secret_key", Value::string("testing")),
    ]))
    .await
    .expect("configures");
    h
}
