//! What the fake-cloud tests share: a harness around a provider
//! configured as a user would, whose calls all go to the fakes it was
//! built with.

use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

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
