//! `terraform import berth_container_app.x [<region>/]<name>`: the app's
//! arguments from the user-data trailer of its newest release's instance.

use berth_aws::fleet::{AddressKind, tags};
use tfplugin::diag::Diagnostic;
use tfplugin::provider::{ImportRequest, ImportResponse};
use tfplugin::value::Value;

use super::state::{from_trailer, instance_role, strings};
use crate::provider_data::ProviderData;

/// Imports the app named by `req.id`.
pub(super) async fn import(data: &ProviderData, req: ImportRequest) -> ImportResponse {
    match state_of(data, &req.id).await {
        Ok(state) => ImportResponse {
            state,
            ..Default::default()
        },
        Err(e) => ImportResponse {
            diagnostics: Diagnostic::error("Cannot import berth_container_app", e).into(),
            ..Default::default()
        },
    }
}

/// Builds the state of an existing app from its instances: `id` is
/// `name` or `region/name`.
///
/// # Errors
/// A message naming what was not found.
async fn state_of(data: &ProviderData, id: &str) -> Result<Value, String> {
    let parsed = crate::resources::import_id::app(id)?;
    let name = parsed.name;
    let region = parsed
        .region
        .map_or_else(|| data.aws.region.clone(), str::to_string);
    let cloud = data
        .app_cloud(Some(&region))
        .await
        .map_err(|e| e.to_string())?;
    let live = cloud
        .app_instances(name, AddressKind::Public)
        .await
        .map_err(|e| e.to_string())?;
    let newest = live.iter().map(|i| i.release).max().ok_or_else(|| {
        format!(
            "no running instances tagged {}={name} in {region}",
            tags::APP
        )
    })?;
    let inst = live
        .iter()
        .find(|i| i.release == newest)
        .ok_or("no instance of the newest release")?;
    let user_data = cloud.user_data(&inst.id).await.map_err(|e| e.to_string())?;
    let mut v = from_trailer(&user_data).map_err(|e| format!("instance {}: {e}", inst.id))?;
    if v.attr("name").as_str() != Some(name) {
        return Err(format!(
            "instance {} belongs to app {:?}, not {name:?}",
            inst.id,
            v.attr("name").as_str().unwrap_or_default()
        ));
    }
    v.set_attr("id", Value::string(format!("{region}/{name}")));
    v.set_attr("region", Value::string(&region));
    v.set_attr("release", Value::int(i64::try_from(newest).unwrap_or(0)));
    v.set_attr("fingerprint", Value::string(&inst.fingerprint));
    v.set_attr("rollout_plan", Value::List(vec![]));
    let sg = if strings(v.attr("security_group_ids")).is_empty() {
        cloud
            .find_app_security_group(name)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    v.set_attr("security_group_id", Value::opt_string(sg));
    v.set_attr("instance_role", instance_role(&v));
    v.set_attr("origin_fqdn", Value::Null);
    v.set_attr("origin_addresses", Value::List(vec![]));
    v.set_attr("instances", Value::List(vec![]));
    Ok(v)
}
