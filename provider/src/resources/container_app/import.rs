//! `terraform import berth_container_app.x [<region>/]<name>`: the app's
//! arguments from the user-data trailer of its newest release's instance.

use berth_aws::fleet::{AddressKind, tags};
use tfplugin::diag::Diagnostic;
use tfplugin::model::{Attr, ToValue};
use tfplugin::provider::{ImportRequest, ImportResponse};
use tfplugin::value::{Number, Value};

use super::model::{AppModel, known_strings};
use super::state::{from_trailer, role_of};
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
    let mut m: AppModel = from_trailer(&user_data)
        .and_then(|v| v.get().map_err(|d| d.to_string()))
        .map_err(|e| format!("instance {}: {e}", inst.id))?;
    if m.name.as_deref() != Some(name) {
        return Err(format!(
            "instance {} belongs to app {:?}, not {name:?}",
            inst.id,
            m.name.as_deref().unwrap_or_default()
        ));
    }
    m.id = Attr::Known(format!("{region}/{name}"));
    m.region = Attr::Known(region.clone());
    m.release = Attr::Known(Number::from(i64::try_from(newest).unwrap_or(0)));
    m.fingerprint = Attr::Known(inst.fingerprint.clone());
    m.rollout_plan = Attr::Known(vec![]);
    let sg = if known_strings(&m.security_group_ids).is_empty() {
        cloud
            .find_app_security_group(name)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    m.security_group_id = sg.into();
    m.instance_role = role_of(&m.instance_profile, Some(name), Some(&region));
    m.origin_fqdn = Attr::Null;
    m.origin_addresses = Attr::Known(vec![]);
    m.instances = Attr::Known(vec![]);
    Ok(m.to_value())
}
