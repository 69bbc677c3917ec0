//! The provider in-process (tfplugin harness) against a real moto server:
//! configuration rules and `berth_availability_zones` through the AWS SDK.

use berth_testbed::Moto;
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

async fn configured(moto: &Moto, region: &str) -> Harness {
    let mut h = Harness::new(BerthProvider::new())
        .await
        .expect("schema is valid");
    h.configure(Value::object([
        ("region", Value::string(region)),
        ("endpoint", Value::string(moto.endpoint())),
        ("access_key", Value::string("testing")),
        ("secret_key", Value::string("testing")),
    ]))
    .await
    .expect("configures");
    h
}

#[tokio::test]
async fn zones_of_the_configured_region_are_listed_in_order() {
    let moto = Moto::start().expect("moto");
    for region in ["us-east-1", "eu-west-1"] {
        let h = configured(&moto, region).await;
        let v = h
            .read_data(
                "berth_availability_zones",
                Value::object([("state", Value::string("available"))]),
            )
            .await
            .expect("reads");
        assert_eq!(v.attr("region").as_str(), Some(region));
        let names: Vec<&str> = v
            .attr("names")
            .as_elements()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(names.len() >= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with(region)), "{names:?}");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
        assert_eq!(v.attr("zone_ids").as_elements().unwrap().len(), names.len());
        assert_eq!(
            v.attr("state").as_str(),
            Some("available"),
            "configured value kept"
        );
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_a_clear_error_not_a_hang() {
    let port = berth_testbed::free_port().unwrap();
    let mut h = Harness::new(BerthProvider::new()).await.unwrap();
    h.configure(Value::object([
        ("region", Value::string("us-east-1")),
        (
            "endpoint",
            Value::string(format!("http://127.0.0.1:{port}")),
        ),
        ("access_key", Value::string("a")),
        ("secret_key", Value::string("b")),
        ("max_retries", Value::int(0)),
    ]))
    .await
    .unwrap();
    let err = h
        .read_data("berth_availability_zones", Value::object::<_, &str>([]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Cannot list availability zones"), "{text}");
    assert!(
        text.contains("DescribeAvailabilityZones"),
        "names the call: {text}"
    );
}

#[tokio::test]
async fn bad_provider_values_name_their_attribute() {
    let mut h = Harness::new(BerthProvider::new()).await.unwrap();
    let cases = [
        (
            Value::object([("region", Value::string("mars-1"))]),
            "region",
        ),
        (
            Value::object([("max_retries", Value::int(-1))]),
            "max_retries",
        ),
        (
            Value::object([("endpoint", Value::string("not a url"))]),
            "endpoint",
        ),
        (
            Value::object([(
                "endpoints",
                Value::object([("route53", Value::string("x"))]),
            )]),
            "endpoints.route53",
        ),
        (
            Value::object([("secret_key", Value::string("s"))]),
            "secret_key",
        ),
    ];
    for (cfg, path) in cases {
        let err = h.configure(cfg).await.unwrap_err();
        let paths: Vec<String> = err
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, vec![path.to_string()], "{err}");
    }
}
