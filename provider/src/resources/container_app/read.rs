//! Reading `berth_container_app` back: what berth computes (instances,
//! origin addresses) re-read from the shared inventory; arguments never
//! change, so drift shows as a rollout in the next plan.

use berth_rollout::Instance;
use tfplugin::model::{Attr, ToValue};
use tfplugin::value::{Number, Value};

use super::model::AppModel;
use super::spec::AppConfig;
use super::state::{instances_model, served_without_origin, strings_attr};
use crate::provider_data::ProviderData;

/// Re-reads what berth computes for `state` from the shared inventory.
///
/// # Errors
/// A message when the state does not fit the schema or an AWS call fails.
pub(super) async fn refresh(data: &ProviderData, state: &Value) -> Result<Value, String> {
    let mut m: AppModel = state.get().map_err(|d| d.to_string())?;
    let (cfg, _) = AppConfig::from_model(&m);
    let kind = cfg.origin.as_ref().map(|o| o.address).unwrap_or_default();
    let cloud = data
        .app_cloud(m.region.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let cloud = cloud.as_ref();
    let apps = data
        .inventory
        .instances(cloud)
        .await
        .map_err(|e| e.to_string())?;
    let mut live: Vec<Instance> = apps
        .get(&cfg.name)
        .map(|v| v.iter().cloned().map(|i| kind.apply(i)).collect())
        .unwrap_or_default();
    let serving = if let Some(lb) = &cfg.lb {
        // The rule's forward: target group names, one per serving release.
        live = berth_aws::lb_fleet::address_by_group(&cfg.name, live);
        let now = cloud
            .lb_settings(&lb.listener_arn, &cfg.name)
            .await
            .map_err(|e| format!("the app's rule on {}: {e}", lb.listener_arn))?;
        super::import::in_place_settings(&mut m, &now);
        m.origin_addresses = strings_attr(&now.serving);
        now.serving
    } else if let Some(o) = &cfg.origin {
        let zone = data
            .inventory
            .zone(cloud, &o.zone)
            .await
            .map_err(|e| format!("origin zone {:?}: {e}", o.zone))?;
        let fqdn = berth_aws::dns::record_name(&zone, &o.name);
        let records = data
            .inventory
            .records(cloud, &zone.id)
            .await
            .map_err(|e| e.to_string())?;
        let origin = records
            .a_record(&fqdn)
            .map(|r| r.values.clone())
            .unwrap_or_default();
        m.origin_fqdn = Attr::Known(fqdn);
        m.origin_addresses = strings_attr(&origin);
        origin
    } else {
        m.origin_addresses = strings_attr(&[]);
        served_without_origin(&m, &live)
    };
    m.instances = Attr::Known(instances_model(&live, &serving));
    // The log group's retention, as CloudWatch Logs keeps it: a group that
    // is gone or was changed shows as a change back in the next plan.
    if let (Some(l), Attr::Known(block)) = (&cfg.logs, &mut m.logs) {
        let group = cloud
            .log_group(&l.group)
            .await
            .map_err(|e| format!("log group {}: {e}", l.group))?;
        block.retention_days = match group.and_then(|g| g.retention_days) {
            Some(days) => Attr::Known(Number::Int(i64::from(days))),
            None => Attr::Null,
        };
    }
    read_alarms(cloud, &cfg, &mut m).await?;
    Ok(m.to_value())
}

/// The declared alarms as CloudWatch holds them: one deleted outside
/// Terraform leaves the state (the plan adds it again), a changed
/// threshold, period or evaluation count shows as a change back.
async fn read_alarms(
    cloud: &dyn berth_aws::ports::AppCloud,
    cfg: &AppConfig,
    m: &mut AppModel,
) -> Result<(), String> {
    let Attr::Known(declared) = &m.alarm else {
        return Ok(());
    };
    if declared.is_empty() {
        return Ok(());
    }
    let live = cloud
        .app_alarms(&cfg.name)
        .await
        .map_err(|e| format!("alarms: {e}"))?;
    let mut kept = Vec::new();
    for (model, want) in declared.iter().zip(&cfg.alarms) {
        let name = super::alarms::full_name(&cfg.name, &want.name);
        let Some(have) = live.iter().find(|a| a.name == name) else {
            continue;
        };
        let mut model = model.clone();
        if have.threshold != want.threshold {
            model.threshold = Attr::Known(Number::Float(have.threshold));
        }
        if have.period != want.period {
            model.period = Attr::Known(Number::Int(i64::from(have.period)));
        }
        if have.evaluation_periods != want.evaluation_periods {
            model.evaluation_periods = Attr::Known(Number::Int(i64::from(have.evaluation_periods)));
        }
        kept.push(model);
    }
    m.alarm = Attr::Known(kept);
    Ok(())
}

#[cfg(test)]
mod tests {
    use berth_testbed::fake_cloud::FakeAws;
    use tfplugin::model::{Attr, ToValue};
    use tfplugin::value::Number;

    use super::super::model::{AppModel, OriginModel, known_strings};
    use super::refresh;
    use crate::provider_data::testing::on_fake;

    fn web_with_origin() -> AppModel {
        AppModel {
            name: Attr::Known("web".into()),
            image: Attr::Known("shop:1".into()),
            region: Attr::Known("us-east-1".into()),
            origin: Attr::Known(OriginModel {
                zone: Attr::Known("example.com".into()),
                name: Attr::Known("web".into()),
                ttl: Attr::Known(Number::from(60)),
                address: Attr::Known("public".into()),
            }),
            ..AppModel::default()
        }
    }

    #[tokio::test]
    async fn live_instances_and_the_origin_record_are_read_back() {
        let fake = FakeAws::new();
        let (serving, idle) = {
            let mut a = fake.account();
            let one = a.add_instance("web", 1, "shop:1", "");
            let two = a.add_instance("web", 1, "shop:1", "");
            a.add_instance("api", 4, "api:4", "");
            (one.public_ip.unwrap(), two.public_ip.unwrap())
        };
        fake.account()
            .records
            .insert("web.example.com.".into(), (60, vec![serving.clone()]));
        let data = on_fake(&fake).await;
        let out: AppModel = refresh(&data, &web_with_origin().to_value())
            .await
            .unwrap()
            .get()
            .unwrap();
        assert_eq!(out.origin_fqdn.as_deref(), Some("web.example.com."));
        assert_eq!(known_strings(&out.origin_addresses), vec![serving.clone()]);
        let instances = out.instances.known().unwrap();
        assert_eq!(instances.len(), 2, "only web's instances: {instances:?}");
        for i in instances {
            let ip = i.public_ip.as_deref().unwrap();
            assert_eq!(i.serving.known(), Some(&(ip == serving)), "{ip}");
            assert!(ip == serving || ip == idle);
        }
    }

    #[tokio::test]
    async fn a_log_groups_changed_or_lost_retention_is_read_back_as_drift() {
        use super::super::model::LogsModel;
        use tfplugin::model::ToValue as _;
        let fake = FakeAws::new();
        let mut web = web_with_origin();
        web.logs = Attr::Known(LogsModel {
            group: Attr::Known("/berth/web".into()),
            retention_days: Attr::Known(Number::from(30)),
            delete_on_destroy: Attr::Known(false),
        });
        let data = on_fake(&fake).await;
        let read = |v: tfplugin::value::Value| {
            let data = &data;
            async move {
                let m: AppModel = refresh(data, &v).await.unwrap().get().unwrap();
                m.logs.known().unwrap().retention_days.clone()
            }
        };
        // Gone: no retention, so the next plan sets it (and makes the group).
        assert_eq!(read(web.to_value()).await, Attr::Null);
        use berth_aws::ports::AppCloud as _;
        fake.ensure_log_group("/berth/web", 7, &Default::default())
            .await
            .unwrap();
        assert_eq!(read(web.to_value()).await, Attr::Known(Number::from(7)));
    }

    #[tokio::test]
    async fn an_instance_gone_from_the_account_leaves_the_state() {
        let fake = FakeAws::new();
        let id = fake.account().add_instance("web", 1, "shop:1", "").id;
        let data = on_fake(&fake).await;
        let state = web_with_origin().to_value();
        let before: AppModel = refresh(&data, &state).await.unwrap().get().unwrap();
        assert_eq!(before.instances.known().map(Vec::len), Some(1));
        fake.account().instances.remove(&id);
        data.inventory.invalidate().await;
        let after: AppModel = refresh(&data, &state).await.unwrap().get().unwrap();
        assert_eq!(after.instances.known().map(Vec::len), Some(0));
    }
}
