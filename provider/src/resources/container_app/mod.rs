//! `berth_container_app`: one app on EC2 instances in one region, with
//! health-gated, zero-downtime rollouts inside `terraform apply`.
//!
//! Plan: [`plan`] computes the release number, the fingerprint and the
//! rollout steps from the refreshed state, so the plan shows what apply
//! will do. Apply: [`apply`] finds the live fleet by tags, plans again
//! against it (finishing an interrupted apply instead of duplicating it)
//! and runs the rollout engine. Read: one shared inventory for all apps.
//!
//! Files: [`mod@schema`], [`model`] (typed configuration and state),
//! [`spec`] (the configuration checked, the fingerprint), [`plan`],
//! [`apply`], `read` (refresh), `import`, [`state`] (computed attributes
//! and the user-data trailer), [`secret_values`] (write-only values); this
//! module is the glue Terraform calls.

pub mod alarms;
pub mod apply;
mod import;
pub mod load_balancer;
pub mod model;
pub mod plan;
mod read;
pub mod registries;
pub mod schema;
pub mod secret_values;
pub mod spec;
pub mod state;

use async_trait::async_trait;
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
use spec::AppConfig;

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
            when: "`release_command` is set (or was, until the next apply)",
            why: "to read a release's marker (the instances record the release command's verdict in it), forget a failed run so the next rollout runs the command again, and delete the markers of older releases and of a destroyed app",
            actions: &[
                "ssm:DeleteParameter",
                "ssm:GetParameter",
                "ssm:GetParametersByPath",
            ],
            resource: "arn:aws:ssm:*:*:parameter/berth/*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "a `logs` block is set",
            why: "to create the app's log group with its tags (or find the one that exists), set its retention, and read both back on refresh",
            actions: &[
                "logs:CreateLogGroup",
                "logs:DescribeLogGroups",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            resource: "arn:aws:logs:*:*:log-group:*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "`alarm` blocks are set (or were, until the next apply)",
            why: "to create the app's alarms (`berth.<name>.<alarm>`, tagged), update them in place, read them back on refresh and delete those no longer declared and all of them with the app",
            actions: &[
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
            ],
            resource: "arn:aws:cloudwatch:*:*:alarm:berth.*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "a `load_balancer` block is set (or was, until the next apply)",
            why: "to make each release's target group, launch template and Auto Scaling group (all `berth-<name>-<release>`, tagged; creating tagged ones is also checked as `AddTags`, `CreateOrUpdateTags` and `ec2:CreateTags`), put the app's rule on your listener and move its weighted forward, read target health, set the groups' bounds, schedules and target-tracking policy and the deregistration delay, read them back on import, and delete all of it when a release retires or the app is destroyed; Auto Scaling launches with the launch template's instance profile, so `iam:PassRole` above applies too",
            actions: &[
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:DeletePolicy",
                "autoscaling:DeleteScheduledAction",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribePolicies",
                "autoscaling:DescribeScheduledActions",
                "autoscaling:PutScalingPolicy",
                "autoscaling:PutScheduledUpdateGroupAction",
                "autoscaling:UpdateAutoScalingGroup",
                "ec2:CreateLaunchTemplate",
                "ec2:DeleteLaunchTemplate",
                "ec2:DescribeLaunchTemplates",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:SetRulePriorities",
            ],
            resource: "*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "a `load_balancer` block is set and the account has no Auto Scaling service-linked role yet",
            why: "the first Auto Scaling group of an account creates the role `AWSServiceRoleForAutoScaling`",
            actions: &["iam:CreateServiceLinkedRole"],
            resource: "*",
            condition: Some((
                "StringEquals",
                "iam:AWSServiceName",
                "autoscaling.amazonaws.com",
            )),
        },
        crate::permissions::Grant {
            when: "`logs.delete_on_destroy` is true",
            why: "to delete the log group berth created for the app when the app is destroyed",
            actions: &["logs:DeleteLogGroup"],
            resource: "arn:aws:logs:*:*:log-group:*",
            condition: None,
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
            when: "`secrets` or a `registry_credentials` password has `ssm:` references, or `secret_values_wo` is set",
            why: "fetched at boot with decryption; narrow `Resource` to the app's parameters (a SecureString under a customer-managed KMS key also needs `kms:Decrypt` on that key)",
            actions: &["ssm:GetParameter"],
            resource: "arn:aws:ssm:*:*:parameter/*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "`release_command` is set",
            why: "the new instances race to create the release's marker (creating a parameter is atomic: one instance wins and runs the command) and record or await its verdict; berth's role allows exactly `/berth/<name>/release/*`",
            actions: &["ssm:GetParameter", "ssm:PutParameter"],
            resource: "arn:aws:ssm:*:*:parameter/berth/*/release/*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "`secrets` or a `registry_credentials` password has `secretsmanager:` references or ARNs",
            why: "fetched at boot; narrow `Resource` to the app's secrets (a customer-managed KMS key also needs `kms:Decrypt` on that key)",
            actions: &["secretsmanager:GetSecretValue"],
            resource: "arn:aws:secretsmanager:*:*:secret:*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "a `metrics` block or `alarm` blocks are set",
            why: "each instance publishes the app's CPU and memory use and its health as metrics; the condition allows only the namespace `berth` (PutMetricData has no resource)",
            actions: &["cloudwatch:PutMetricData"],
            resource: "*",
            condition: Some(("StringEquals", "cloudwatch:namespace", "berth")),
        },
        crate::permissions::Grant {
            when: "a `logs` block is set",
            why: "Docker's `awslogs` driver (through the instance's credentials) and the bootstrap create their streams and send events; berth's role allows exactly the app's log group",
            actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
            resource: "arn:aws:logs:*:*:log-group:*:*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "an image is on Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com/…`) with no `registry_credentials` block for its registry",
            why: "the instance logs in with a token for its own role (valid 12 h, fetched again at every start of the app) before it pulls; `ecr:GetAuthorizationToken` takes no resource",
            actions: &["ecr:GetAuthorizationToken"],
            resource: "*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "an image is on Amazon ECR with no `registry_credentials` block for its registry",
            why: "to pull the image; berth's role allows exactly the app's repositories",
            actions: &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resource: "arn:aws:ecr:*:*:repository/*",
            condition: None,
        },
    ],
};

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
        match read::refresh(data, &req.state).await {
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
        import::import(data, req).await
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }
}

#[async_trait]
impl ModifyPlan for ContainerApp {
    async fn modify_plan(&self, ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        plan::modify_plan(ctx, &req)
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
    let (cfg, diags) = AppConfig::from_value(planned);
    if diags.has_errors() {
        return ApplyResponse {
            new_state: prior.cloned().unwrap_or(Value::Null),
            diagnostics: diags,
            ..Default::default()
        };
    }
    let (stored, diags) = secret_values::store(data, config, prior, planned).await;
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
        apply::converge(ctx, data, &cfg, prior, planned).await
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
