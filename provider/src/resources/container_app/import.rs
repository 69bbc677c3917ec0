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
use crate::resources::strings_as_declared;

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
    let mut inst = live
        .iter()
        .find(|i| i.release == newest)
        .ok_or("no instance of the newest release")?;
    let cloud_ref = cloud.as_ref();
    let read = |id: String| async move {
        let user_data = cloud_ref.user_data(&id).await.map_err(|e| e.to_string())?;
        from_trailer(&user_data)
            .and_then(|v| v.get::<AppModel>().map_err(|d| d.to_string()))
            .map_err(|e| format!("instance {id}: {e}"))
    };
    let mut m: AppModel = read(inst.id.clone()).await?;
    // Behind a load balancer the release the rule serves is the app's
    // (a newer one may be kept warm after a rollback), with the rule and
    // the delay as they are now.
    if let Some(listener) = m
        .load_balancer
        .known()
        .and_then(|lb| lb.listener_arn.as_deref())
        .map(str::to_string)
    {
        let now = cloud
            .lb_settings(&listener, name)
            .await
            .map_err(|e| format!("the app's rule on {listener}: {e}"))?;
        let by_group = berth_aws::lb_fleet::address_by_group(name, live.clone());
        if let Some(s) = by_group
            .iter()
            .filter(|i| i.address.as_ref().is_some_and(|a| now.serving.contains(a)))
            .max_by_key(|i| i.release)
            && s.id != inst.id
            && let Some(found) = live.iter().find(|i| i.id == s.id)
        {
            inst = found;
            m = read(inst.id.clone()).await?;
        }
        in_place_settings(&mut m, &now);
    }
    if m.name.as_deref() != Some(name) {
        return Err(format!(
            "instance {} belongs to app {:?}, not {name:?}",
            inst.id,
            m.name.as_deref().unwrap_or_default()
        ));
    }
    m.id = Attr::Known(format!("{region}/{name}"));
    m.region = Attr::Known(region.clone());
    m.release = Attr::Known(Number::from(i64::try_from(inst.release).unwrap_or(0)));
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

/// What apply changes in place, as the cloud has it now (an instance's
/// state line is from its launch): the rule's conditions and priority and
/// the deregistration delay. Refresh uses it too, so a change made outside
/// Terraform shows in the plan.
pub(super) fn in_place_settings(m: &mut AppModel, now: &berth_aws::lb_fleet::LbSettings) {
    if let Attr::Known(lb) = &mut m.load_balancer {
        if let Some(r) = &now.rule {
            lb.hosts = strings_as_declared(&lb.hosts, &r.hosts);
            lb.paths = strings_as_declared(&lb.paths, &r.paths);
            lb.priority = Attr::Known(Number::from(i64::from(r.priority)));
        }
        if let Some(d) = now.deregistration_delay {
            lb.deregistration_delay = Attr::Known(Number::from(i64::from(d)));
        }
    }
}

#[cfg(test)]
mod tests {
    use berth_testbed::fake_cloud::FakeAws;
    use tfplugin::model::{Attr, ToValue};
    use tfplugin::provider::ImportRequest;

    use super::super::model::AppModel;
    use super::super::state::trailer;
    use super::import;
    use crate::provider_data::testing::on_fake;

    fn error_of(resp: &tfplugin::provider::ImportResponse) -> String {
        resp.diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect()
    }

    #[tokio::test]
    async fn an_app_without_instances_is_an_error_naming_its_tag_and_region() {
        let fake = FakeAws::new();
        let data = on_fake(&fake).await;
        let resp = import(&data, ImportRequest { id: "web".into() }).await;
        let err = error_of(&resp);
        assert!(
            err.contains("no running instances tagged berth:app=web in us-east-1"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_instance_carrying_another_apps_configuration_is_refused() {
        let fake = FakeAws::new();
        let other = AppModel {
            name: Attr::Known("other".into()),
            image: Attr::Known("shop:1".into()),
            ..AppModel::default()
        };
        let script = format!(
            "#!/bin/bash\n{}",
            trailer(&other.to_value(), "ami-0123abcd", "2026-12-04T00:00:00Z").unwrap()
        );
        let id = fake.account().add_instance("web", 2, "shop:1", &script).id;
        let data = on_fake(&fake).await;
        let resp = import(
            &data,
            ImportRequest {
                id: "us-east-1/web".into(),
            },
        )
        .await;
        let err = error_of(&resp);
        assert!(
            err.contains(&format!(
                "instance {id} belongs to app \"other\", not \"web\""
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_newest_release_gives_the_arguments_and_the_release() {
        let fake = FakeAws::new();
        let web = |image: &str| AppModel {
            name: Attr::Known("web".into()),
            image: Attr::Known(image.into()),
            ..AppModel::default()
        };
        let script = |m: &AppModel| {
            format!(
                "#!/bin/bash\n{}",
                trailer(&m.to_value(), "ami-0123abcd", "2026-12-04T00:00:00Z").unwrap()
            )
        };
        {
            let mut a = fake.account();
            a.add_instance("web", 3, "shop:3", &script(&web("shop:3")));
            a.add_instance("web", 4, "shop:4", &script(&web("shop:4")));
        }
        let data = on_fake(&fake).await;
        let resp = import(&data, ImportRequest { id: "web".into() }).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let m: AppModel = resp.state.get().unwrap();
        assert_eq!(m.image.as_deref(), Some("shop:4"));
        assert_eq!(m.release.known().and_then(|n| n.as_i64()), Some(4));
        assert_eq!(m.fingerprint.as_deref(), Some("fp4"));
        assert_eq!(m.id.as_deref(), Some("us-east-1/web"));
        assert_eq!(m.ami.as_deref(), Some("ami-0123abcd"));
        assert_eq!(m.instance_role.as_deref(), Some("berth-web-us-east-1"));
    }
}
