//! `berth_container_app`: one app on EC2 instances in one region, with
//! health-gated, zero-downtime rollouts inside `terraform apply`.
//!
//! Plan: [`ModifyPlan`] computes the release number, the fingerprint and
//! the rollout steps from the refreshed state, so the plan shows what apply
//! will do. Apply: [`apply`] finds the live fleet by tags, plans again
//! against it (finishing an interrupted apply instead of duplicating it)
//! and runs the rollout engine. Read: one shared inventory for all apps.

pub mod apply;
pub mod schema;
pub mod secret_values;
pub mod spec;
pub mod state;

use async_trait::async_trait;
use berth_rollout::{Desired, Fleet, Release};
use tfplugin::configured::ConfiguredResource;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::{
    ApplyResponse, CreateRequest, Ctx, DeleteRequest, DeleteResponse, ImportRequest,
    ImportResponse, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse,
    UpdateRequest, ValidateRequest,
};
use tfplugin::schema::Schema;
use tfplugin::value::Value;

use crate::provider_data::ProviderData;
use spec::{AppConfig, fingerprint};

/// The resource type.
#[derive(Debug, Default)]
pub struct ContainerApp;

/// The IAM permissions `berth_container_app` needs, rendered into its docs
/// page; `acceptance-tests/tests/iam.rs` runs its lifecycle through a
/// recording proxy and fails on any AWS call not listed here.
pub const IAM: crate::permissions::Permissions = crate::permissions::Permissions {
    actions: &[
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteTags",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RunInstances",
        "ec2:TerminateInstances",
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
        "route53:GetHostedZone",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
    ],
    conditional: &[
        crate::permissions::Grant {
            when: "`instance_profile` is not set",
            why: "berth manages the instances' IAM role and instance profile, both `berth-<name>-<region>` under the path `/berth/`, with the instance role's permissions below narrowed to the app's own instances and secrets, and passes that role to EC2",
            actions: &[
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:CreateRole",
                "iam:DeleteInstanceProfile",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetInstanceProfile",
                "iam:GetRole",
                "iam:PassRole",
                "iam:PutRolePolicy",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:TagRole",
            ],
            resource: "arn:aws:iam::*:*/berth/berth-*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "`instance_profile` is set",
            why: "to launch the instances with the profile's role; narrow `Resource` to that role's ARN",
            actions: &["iam:PassRole"],
            resource: "*",
            condition: Some(("StringEquals", "iam:PassedToService", "ec2.amazonaws.com")),
        },
        crate::permissions::Grant {
            when: "`secret_values_wo` is set",
            why: "to store the write-only values as SecureString parameters under `/berth/<app>/`, tag them and delete them with the app",
            actions: &[
                "ssm:AddTagsToResource",
                "ssm:DeleteParameter",
                "ssm:PutParameter",
            ],
            resource: "arn:aws:ssm:*:*:parameter/berth/*",
            condition: None,
        },
    ],
    instance_role: &[
        crate::permissions::Grant {
            when: "",
            why: "each instance reports its health by tagging itself `berth:health` (the health gate reads that tag); the condition allows no other tag key",
            actions: &["ec2:CreateTags"],
            resource: "arn:aws:ec2:*:*:instance/*",
            condition: Some(("ForAllValues:StringEquals", "aws:TagKeys", "berth:health")),
        },
        crate::permissions::Grant {
            when: "`secrets` has `ssm:` references, or `secret_values_wo` is set",
            why: "fetched at boot with decryption; narrow `Resource` to the app's parameters (a SecureString under a customer-managed KMS key also needs `kms:Decrypt` on that key)",
            actions: &["ssm:GetParameter"],
            resource: "arn:aws:ssm:*:*:parameter/*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "`secrets` has `secretsmanager:` references or ARNs",
            why: "fetched at boot; narrow `Resource` to the app's secrets (a customer-managed KMS key also needs `kms:Decrypt` on that key)",
            actions: &["secretsmanager:GetSecretValue"],
            resource: "arn:aws:secretsmanager:*:*:secret:*",
            condition: None,
        },
    ],
};

/// Attributes computed by a rollout (unknown in a plan that rolls out).
const ROLLOUT_COMPUTED: [&str; 3] = ["instances", "release_history", "origin_addresses"];

#[async_trait]
impl ConfiguredResource for ContainerApp {
    type Data = ProviderData;

    fn type_name(&self) -> &str {
        "berth_container_app"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        let mut d = AppConfig::from_value(&req.config).1;
        d.extend(secret_values::validate(&req.config));
        d.extend(crate::validation::read_only_set(
            &schema::schema().block,
            &req.config,
        ));
        d
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest) -> ApplyResponse {
        converge_with_secret_values(ctx, data, &req.config, None, &req.planned).await
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest) -> ApplyResponse {
        converge_with_secret_values(ctx, data, &req.config, Some(&req.prior), &req.planned).await
    }

    async fn read(&self, _ctx: &Ctx, data: &ProviderData, req: ReadRequest) -> ReadResponse {
        match state::refresh(data, &req.state).await {
            Ok(new_state) => ReadResponse {
                new_state,
                private: req.private,
                diagnostics: Diagnostics::new(),
            },
            Err(e) => req.unchanged(Diagnostic::error("Cannot read berth_container_app", e).into()),
        }
    }

    async fn delete(&self, ctx: &Ctx, data: &ProviderData, req: DeleteRequest) -> DeleteResponse {
        let mut diagnostics = apply::destroy(ctx, data, &req.prior).await;
        if !diagnostics.has_errors() {
            // Instances are gone: nothing fetches the values any more.
            let names: Vec<String> = secret_values::parameters(&req.prior)
                .into_values()
                .collect();
            diagnostics.extend(secret_values::remove(data, &req.prior, &names).await);
        }
        DeleteResponse { diagnostics }
    }

    fn imports(&self) -> bool {
        true
    }

    async fn import(&self, _ctx: &Ctx, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        self.import_by_id(data, req).await
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }
}

#[async_trait]
impl ModifyPlan for ContainerApp {
    async fn modify_plan(&self, ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        let mut resp = ModifyPlanResponse {
            planned: req.planned.clone(),
            ..Default::default()
        };
        if req.planned.is_null() {
            return resp;
        }
        // Names only: the write-only values stay in the configuration.
        resp.planned.set_attr(
            secret_values::PARAMETERS,
            secret_values::planned_parameters(&req.config),
        );
        let (cfg, diags) = AppConfig::from_value(&resp.planned);
        if diags.has_errors() {
            resp.diagnostics = diags;
            return resp;
        }
        let planned = &mut resp.planned;
        let prior = &req.prior;
        if let Ok(data) = ctx.data::<ProviderData>() {
            let region = req
                .config
                .attr("region")
                .as_str()
                .map_or_else(|| data.aws.region.clone(), str::to_string);
            planned.set_attr("region", Value::string(&region));
            if let Some(name) = planned.attr("name").as_str().map(str::to_string) {
                planned.set_attr("id", Value::string(format!("{region}/{name}")));
            }
        }
        planned.set_attr("instance_role", state::instance_role(planned));
        let origin_same = !prior.is_null() && prior.attr("origin") == planned.attr("origin");
        if origin_same {
            planned.set_attr("origin_fqdn", prior.attr("origin_fqdn").clone());
        } else if planned.attr("origin").is_null() {
            planned.set_attr("origin_fqdn", Value::Null);
        } else {
            planned.set_attr("origin_fqdn", planned_fqdn(planned.attr("origin")));
        }
        let Some(fp) = fingerprint(planned, req.config.attr("ami")) else {
            for a in ["release", "fingerprint", "rollout_plan"]
                .into_iter()
                .chain(ROLLOUT_COMPUTED)
            {
                planned.set_attr(a, Value::unknown());
            }
            return resp;
        };
        let prior_release = prior.attr("release").as_i64().unwrap_or(0);
        let release = if prior.is_null() {
            1
        } else if prior.attr("fingerprint").as_str() == Some(fp.as_str()) {
            prior_release.max(1)
        } else {
            prior_release + 1
        };
        planned.set_attr("fingerprint", Value::string(&fp));
        planned.set_attr("release", Value::int(release));
        // The script without its state line is a lower bound of what apply
        // sends: too large now is too large then, said before anything runs.
        if let Some(region) = planned.attr("region").as_str() {
            let script = crate::userdata::render(&cfg.app_spec(1, region));
            if let Err(e) = berth_aws::fleet::encode_user_data(&script) {
                let mut d = Diagnostic::error("User-data too large", apply::too_large(&e));
                if !cfg.sidecars.is_empty() {
                    d = d.at(tfplugin::path::AttributePath::attr("sidecar"));
                }
                resp.diagnostics.push(d);
                return resp;
            }
        }
        let instances = state::instances_of(prior, cfg.origin.as_ref().map(|o| o.address));
        let origin = if cfg.origin.is_some() {
            state::strings(prior.attr("origin_addresses"))
        } else {
            state::served_without_origin(prior, &instances)
        };
        let fleet = Fleet { instances, origin };
        let desired = Desired {
            release: Release {
                number: u64::try_from(release).unwrap_or(1),
                image: cfg.image.clone(),
                fingerprint: fp,
            },
            replicas: cfg.replicas,
        };
        let plan = berth_rollout::plan(&fleet, &desired, &cfg.strategy);
        if !prior.is_null() && plan.is_empty() {
            for a in ["rollout_plan"].into_iter().chain(ROLLOUT_COMPUTED) {
                planned.set_attr(a, prior.attr(a).clone());
            }
        } else {
            planned.set_attr(
                "rollout_plan",
                Value::List(plan.describe().into_iter().map(Value::String).collect()),
            );
            for a in ROLLOUT_COMPUTED {
                planned.set_attr(a, Value::unknown());
            }
        }
        resp
    }
}

/// The origin record's name as the plan can know it: from a zone given by
/// name it is the same name the apply stores; a zone given by id (or a
/// value not yet known) leaves it to the apply.
fn planned_fqdn(origin: &Value) -> Value {
    let zone = origin
        .attr("zone")
        .as_str()
        .and_then(berth_aws::dns::zone_name);
    match (zone, origin.attr("name").as_str()) {
        (Some(zone), Some(name)) => Value::string(berth_aws::dns::qualify(&zone, name)),
        _ => Value::unknown(),
    }
}

/// Stores the write-only secret values the change needs, runs the
/// rollout, then removes parameters no longer wanted (after success) or
/// the ones this apply added (after a failure: nothing references them).
async fn converge_with_secret_values(
    ctx: &Ctx,
    data: &ProviderData,
    config: &Value,
    prior: Option<&Value>,
    planned: &Value,
) -> ApplyResponse {
    let (stored, diags) = secret_values::store(data, config, prior, planned).await;
    let (cfg, _) = AppConfig::from_value(planned);
    if !cfg.secrets.is_empty() {
        // References only, for operators (and the secrets audit test).
        let refs: Vec<String> = cfg
            .secrets
            .iter()
            .map(|(k, src)| match src {
                crate::userdata::SecretSource::Ssm(p) => format!("{k} from SSM parameter {p}"),
                crate::userdata::SecretSource::SecretsManager(id) => {
                    format!("{k} from Secrets Manager secret {id}")
                }
            })
            .collect();
        tracing::debug!(app = %cfg.name, "{}: instances fetch at boot: {}", cfg.name, refs.join(", "));
    }
    let mut resp = if diags.has_errors() {
        ApplyResponse {
            new_state: prior.cloned().unwrap_or(Value::Null),
            diagnostics: diags,
            ..Default::default()
        }
    } else {
        apply::converge(ctx, data, prior, planned).await
    };
    let (state, names) = if resp.diagnostics.has_errors() {
        (planned, stored.added)
    } else {
        let dropped = prior.map_or_else(Vec::new, |p| secret_values::dropped(p, planned));
        (prior.unwrap_or(planned), dropped)
    };
    let cleanup = secret_values::remove(data, state, &names).await;
    resp.diagnostics.extend(cleanup);
    resp
}

impl ContainerApp {
    /// `terraform import` by the id `req.id`.
    async fn import_by_id(&self, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        match state::import(data, &req.id).await {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(zone: Value, name: &str) -> Value {
        Value::object([("zone", zone), ("name", Value::string(name))])
    }

    #[test]
    fn the_origin_name_is_known_at_plan_only_from_a_zone_name() {
        assert_eq!(
            planned_fqdn(&origin(Value::string("Example.com"), "web")),
            Value::string("web.example.com.")
        );
        assert!(planned_fqdn(&origin(Value::string("Z0123ABC"), "web")).is_unknown());
        assert!(planned_fqdn(&origin(Value::unknown(), "web")).is_unknown());
    }
}
