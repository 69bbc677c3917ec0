//! The SSM adapter against a real moto server: a SecureString written,
//! overwritten and tagged, then deleted (twice: the second is a no-op).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use berth_aws::{Clients, Settings};
use berth_testbed::Moto;

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

async fn value(c: &Clients, name: &str) -> Option<(String, String)> {
    let out = c
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .ok()?;
    let p = out.parameter()?;
    Some((p.value()?.to_string(), p.r#type()?.as_str().to_string()))
}

#[tokio::test]
async fn secure_string_is_written_overwritten_tagged_and_deleted() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let name = "/berth/web/DB_PASSWORD";
    let tags: BTreeMap<String, String> = [
        ("berth:managed-by".to_string(), "berth".to_string()),
        ("berth:app".to_string(), "web".to_string()),
    ]
    .into();
    berth_aws::ssm::put_secure_string(&c, name, "first", "test", &tags)
        .await
        .unwrap();
    assert_eq!(
        value(&c, name).await,
        Some(("first".into(), "SecureString".into()))
    );
    berth_aws::ssm::put_secure_string(&c, name, "second", "test", &tags)
        .await
        .unwrap();
    assert_eq!(value(&c, name).await.unwrap().0, "second");
    let listed = c
        .ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .unwrap();
    let got: BTreeMap<String, String> = listed
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(got, tags);

    let too_big = "x".repeat(berth_aws::ssm::MAX_VALUE_BYTES + 1);
    let err = berth_aws::ssm::put_secure_string(&c, "/berth/web/BIG", &too_big, "t", &tags)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("4 KiB") && !err.contains("xxxx"), "{err}");

    berth_aws::ssm::delete_parameter(&c, name).await.unwrap();
    assert_eq!(value(&c, name).await, None);
    berth_aws::ssm::delete_parameter(&c, name).await.unwrap();
}
