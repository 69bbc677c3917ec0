//! The IAM role and instance profile berth manages for an app's instances
//! when the user names no `instance_profile`: exactly what the instance
//! agent calls, nothing more.
//!
//! Guarantees:
//! - One role and one profile per app and region, both named
//!   `berth-<app>-<region>` under the path `/berth/` (IAM is global; app
//!   names are unique per region only). App names (≤ 40 characters) and
//!   region names (≤ 14) keep the name within IAM's 64-character limit.
//! - Idempotent: an apply after a lost answer or an interrupted one adopts
//!   what is there (the role must carry `berth:app=<app>`; a role of the
//!   same name that is not berth's is an error, never taken over).
//! - The inline policy `berth-instance` allows: `ec2:CreateTags` of the key
//!   `berth:health` only, on instances tagged `berth:app=<app>` only;
//!   `ssm:GetParameter` on the app's parameters; and
//!   `secretsmanager:GetSecretValue` on the app's secrets, by their ARNs;
//!   for images on Amazon ECR, `ecr:GetAuthorizationToken` (which has no
//!   resource) and the three pull actions on those repositories only; with
//!   a log group, `logs:CreateLogStream` and `logs:PutLogEvents` in it.
//! - Delete removes the role from the profile, the profile, the inline
//!   policy and the role; what is already gone is fine; a role that has
//!   policies attached outside berth is named in the error.
//! - IAM is eventually consistent (a new profile may be refused by
//!   RunInstances for some seconds): [`is_propagation_error`] tells the
//!   launch which error to wait out.

use std::collections::BTreeMap;

use serde_json::json;

use crate::Clients;
use crate::error::AwsError;

/// The path of berth's roles and profiles.
pub const PATH: &str = "/berth/";
/// The name of the inline policy on berth's roles.
pub const POLICY_NAME: &str = "berth-instance";

/// The name of the role and profile of `app` in `region`.
pub fn role_name(app: &str, region: &str) -> String {
    format!("berth-{app}-{region}")
}

/// What an app's instances read, besides tagging themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// SSM parameters, by name (`/app/db-url`) or ARN.
    pub ssm_parameters: Vec<String>,
    /// Secrets Manager secrets, by name or ARN.
    pub secrets: Vec<String>,
    /// The instances elect the runner of the release command and record
    /// its verdict in SSM parameters under `/berth/<app>/release/`.
    pub release_markers: bool,
    /// Amazon ECR repositories the instances pull from with their own
    /// token, as `<region>:<account>:<repository>`.
    pub ecr_repositories: Vec<String>,
    /// The log group the instances write to, if any.
    pub log_groups: Vec<String>,
    /// The instances publish the app's metrics (namespace `berth`).
    pub metrics: bool,
}

impl Needs {
    /// Both sets of references together (sorted, no repeats).
    pub fn union(&self, other: &Needs) -> Needs {
        let join = |a: &[String], b: &[String]| {
            let mut v: Vec<String> = a.iter().chain(b).cloned().collect();
            v.sort();
            v.dedup();
            v
        };
        Needs {
            ssm_parameters: join(&self.ssm_parameters, &other.ssm_parameters),
            secrets: join(&self.secrets, &other.secrets),
            release_markers: self.release_markers || other.release_markers,
            ecr_repositories: join(&self.ecr_repositories, &other.ecr_repositories),
            log_groups: join(&self.log_groups, &other.log_groups),
            metrics: self.metrics || other.metrics,
        }
    }
}

/// The role berth made (or adopted) for an app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRole {
    /// Role and instance profile name.
    pub name: String,
    /// The role's ARN.
    pub arn: String,
}

/// The trust policy: EC2 instances may take the role.
fn trust_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ec2.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// The partition and account of an IAM ARN (`arn:aws:iam::123:role/x`).
fn partition_and_account(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.split(':').collect();
    let get = |i: usize, default: &str| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map_or_else(|| default.to_string(), |s| (*s).to_string())
    };
    (get(1, "aws"), get(4, "*"))
}

/// The inline policy of `app`'s role in `region`, for the partition and
/// account of `role_arn`.
pub fn policy_document(app: &str, region: &str, role_arn: &str, needs: &Needs) -> String {
    let (partition, account) = partition_and_account(role_arn);
    let mut statements = vec![json!({
        "Sid": "ReportHealth",
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": format!("arn:{partition}:ec2:{region}:{account}:instance/*"),
        "Condition": {
            "StringEquals": { "aws:ResourceTag/berth:app": app },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["berth:health"] }
        }
    })];
    let ssm: Vec<String> = needs
        .ssm_parameters
        .iter()
        .map(|p| {
            if p.starts_with("arn:") {
                p.clone()
            } else {
                format!(
                    "arn:{partition}:ssm:{region}:{account}:parameter/{}",
                    p.trim_start_matches('/')
                )
            }
        })
        .collect();
    if !ssm.is_empty() {
        statements.push(json!({
            "Sid": "ReadParameters",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": ssm
        }));
    }
    let secrets: Vec<String> = needs
        .secrets
        .iter()
        .map(|s| {
            if s.starts_with("arn:") {
                s.clone()
            } else {
                // Secrets Manager appends `-` and 6 random characters to
                // the name in a secret's ARN.
                format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{s}-??????")
            }
        })
        .collect();
    if !secrets.is_empty() {
        statements.push(json!({
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secrets
        }));
    }
    let repositories: Vec<String> = needs
        .ecr_repositories
        .iter()
        .filter_map(|r| {
            let mut p = r.splitn(3, ':');
            let (region, account, name) = (p.next()?, p.next()?, p.next()?);
            Some(format!(
                "arn:{partition}:ecr:{region}:{account}:repository/{name}"
            ))
        })
        .collect();
    if !repositories.is_empty() {
        statements.push(json!({
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*"
        }));
        statements.push(json!({
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer"
            ],
            "Resource": repositories
        }));
    }
    if !needs.log_groups.is_empty() {
        let groups: Vec<String> = needs
            .log_groups
            .iter()
            .map(|g| format!("arn:{partition}:logs:{region}:{account}:log-group:{g}:*"))
            .collect();
        statements.push(json!({
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": groups
        }));
    }
    if needs.metrics {
        statements.push(json!({
            "Sid": "PublishMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": { "StringEquals": { "cloudwatch:namespace": "berth" } }
        }));
    }
    if needs.release_markers {
        statements.push(json!({
            "Sid": "ReleaseCommandMarkers",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter"],
            "Resource": format!("arn:{partition}:ssm:{region}:{account}:parameter/berth/{app}/release/*")
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

fn is_code(e: &AwsError, code: &str) -> bool {
    e.code() == Some(code)
}

fn tags_of<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    tags.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Whether IAM accepts the text in a tag: letters, digits, spaces and
/// `_.:/=+-@` only (EC2 accepts more).
fn iam_tag_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// The tags berth's IAM objects carry: the user's that IAM accepts, then
/// berth's own.
fn wanted_tags(app: &str, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut t: BTreeMap<String, String> = tags
        .iter()
        .filter(|(k, v)| iam_tag_text(k) && iam_tag_text(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    t.insert(crate::fleet::tags::MANAGED_BY.into(), "berth".into());
    t.insert(crate::fleet::tags::APP.into(), app.into());
    t
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::Config(format!("tag {k}: {e}")))
        })
        .collect()
}

/// The tags missing from or different in `have`.
fn missing(
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    want.iter()
        .filter(|(k, v)| have.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The role `name` with its tags, if it exists.
async fn get_role(
    aws: &Clients,
    name: &str,
) -> Result<Option<(String, BTreeMap<String, String>)>, AwsError> {
    match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().map(|r| {
            (
                r.arn().to_string(),
                tags_of(r.tags().iter().map(|t| (t.key(), t.value()))),
            )
        })),
        Err(e) => {
            let e = AwsError::from_sdk("GetRole", e);
            if is_code(&e, "NoSuchEntity") {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The roles in the instance profile `name` and its tags, if it exists.
async fn get_profile(
    aws: &Clients,
    name: &str,
) -> Result<Option<(Vec<String>, BTreeMap<String, String>)>, AwsError> {
    match aws
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.instance_profile().map(|p| {
            (
                p.roles()
                    .iter()
                    .map(|r| r.role_name().to_string())
                    .collect(),
                tags_of(p.tags().iter().map(|t| (t.key(), t.value()))),
            )
        })),
        Err(e) => {
            let e = AwsError::from_sdk("GetInstanceProfile", e);
            if is_code(&e, "NoSuchEntity") {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// Whether an IAM object with `tags` is berth's for `app`.
fn is_apps(tags: &BTreeMap<String, String>, app: &str) -> bool {
    tags.get(crate::fleet::tags::APP).map(String::as_str) == Some(app)
}

fn not_berths(what: &str, name: &str, app: &str) -> AwsError {
    AwsError::Config(format!(
        "the IAM {what} {name} exists but is not berth's for app {app} (no tag {}={app}); \
         delete or rename it, or set `instance_profile` to a profile of your own",
        crate::fleet::tags::APP
    ))
}

/// Makes sure `app`'s role and instance profile exist in `aws.region` with
/// the policy for `needs` and at least `tags`; returns them.
///
/// # Errors
/// A failed IAM call, or a role or profile of that name that is not berth's.
pub async fn ensure_instance_role(
    aws: &Clients,
    app: &str,
    needs: &Needs,
    tags: &BTreeMap<String, String>,
) -> Result<InstanceRole, AwsError> {
    let name = role_name(app, &aws.region);
    let want = wanted_tags(app, tags);
    let owned = |t: &BTreeMap<String, String>| is_apps(t, app);

    // The role.
    let arn = match get_role(aws, &name).await? {
        Some((arn, have)) => {
            if !owned(&have) {
                return Err(not_berths("role", &name, app));
            }
            let add = missing(&want, &have);
            if !add.is_empty() {
                aws.iam
                    .tag_role()
                    .role_name(&name)
                    .set_tags(Some(iam_tags(&add)?))
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("TagRole", e))?;
            }
            arn
        }
        None => {
            tracing::info!(app, "{app}: creating IAM role {name} for its instances");
            let created = aws
                .iam
                .create_role()
                .role_name(&name)
                .path(PATH)
                .assume_role_policy_document(trust_policy())
                .description(format!(
                    "berth app {app} in {}: its instances report health and read its secrets",
                    aws.region
                ))
                .set_tags(Some(iam_tags(&want)?))
                .send()
                .await;
            match created {
                Ok(out) => out.role().map(|r| r.arn().to_string()).unwrap_or_default(),
                Err(e) => {
                    let e = AwsError::from_sdk("CreateRole", e);
                    // A retried call whose first answer was lost.
                    if !is_code(&e, "EntityAlreadyExists") {
                        return Err(e);
                    }
                    match get_role(aws, &name).await? {
                        Some((arn, have)) if owned(&have) => arn,
                        _ => return Err(not_berths("role", &name, app)),
                    }
                }
            }
        }
    };

    // What the instances may do.
    let role = InstanceRole { name, arn };
    put_policy(aws, &role, app, needs).await?;
    let name = &role.name;

    // The instance profile, holding the role.
    let roles = match get_profile(aws, name).await? {
        Some((roles, have)) => {
            if !owned(&have) {
                return Err(not_berths("instance profile", name, app));
            }
            let add = missing(&want, &have);
            if !add.is_empty() {
                aws.iam
                    .tag_instance_profile()
                    .instance_profile_name(name)
                    .set_tags(Some(iam_tags(&add)?))
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("TagInstanceProfile", e))?;
            }
            roles
        }
        None => {
            let created = aws
                .iam
                .create_instance_profile()
                .instance_profile_name(name)
                .path(PATH)
                .set_tags(Some(iam_tags(&want)?))
                .send()
                .await;
            match created {
                Ok(_) => vec![],
                Err(e) => {
                    let e = AwsError::from_sdk("CreateInstanceProfile", e);
                    if !is_code(&e, "EntityAlreadyExists") {
                        return Err(e);
                    }
                    match get_profile(aws, name).await? {
                        Some((roles, have)) if owned(&have) => roles,
                        _ => return Err(not_berths("instance profile", name, app)),
                    }
                }
            }
        }
    };
    if !roles.contains(name) {
        if let Some(other) = roles.first() {
            return Err(AwsError::Config(format!(
                "the IAM instance profile {name} holds the role {other}, not {name}; \
                 remove that role from it (aws iam remove-role-from-instance-profile)"
            )));
        }
        let added = aws
            .iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await;
        if let Err(e) = added {
            let e = AwsError::from_sdk("AddRoleToInstanceProfile", e);
            // A retried call whose first answer was lost: the profile is full.
            let done = is_code(&e, "LimitExceeded")
                && get_profile(aws, name)
                    .await?
                    .is_some_and(|(r, _)| r.contains(name));
            if !done {
                return Err(e);
            }
        }
    }
    Ok(role)
}

/// Sets the policy of `app`'s role to the one for `needs` (also after a
/// rollout, when the previous release's references are no longer read).
///
/// # Errors
/// A failed IAM call.
pub async fn put_policy(
    aws: &Clients,
    role: &InstanceRole,
    app: &str,
    needs: &Needs,
) -> Result<(), AwsError> {
    aws.iam
        .put_role_policy()
        .role_name(&role.name)
        .policy_name(POLICY_NAME)
        .policy_document(policy_document(app, &aws.region, &role.arn, needs))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutRolePolicy", e))?;
    Ok(())
}

/// Deletes `app`'s role and instance profile in `aws.region`; true when
/// anything was there. Objects of that name that are not berth's are left.
///
/// # Errors
/// A failed IAM call; a role with policies attached outside berth.
pub async fn delete_instance_role(aws: &Clients, app: &str) -> Result<bool, AwsError> {
    let name = role_name(app, &aws.region);
    let owned = |t: &BTreeMap<String, String>| is_apps(t, app);
    let gone = |r: Result<(), AwsError>| match r {
        Err(e) if is_code(&e, "NoSuchEntity") => Ok(()),
        other => other,
    };
    let mut found = false;
    if let Some((roles, tags)) = get_profile(aws, &name).await?
        && owned(&tags)
    {
        found = true;
        for role in roles {
            let removed = gone(
                aws.iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(&name)
                    .role_name(&role)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::from_sdk("RemoveRoleFromInstanceProfile", e)),
            );
            if let Err(e) = removed {
                // A repeat after a lost answer finds the role gone (moto
                // then answers an error of its own): what counts is that
                // the profile no longer holds it.
                let still = get_profile(aws, &name)
                    .await?
                    .is_some_and(|(r, _)| r.contains(&role));
                if still {
                    return Err(e);
                }
            }
        }
        gone(
            aws.iam
                .delete_instance_profile()
                .instance_profile_name(&name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| AwsError::from_sdk("DeleteInstanceProfile", e)),
        )?;
    }
    if let Some((_, tags)) = get_role(aws, &name).await?
        && owned(&tags)
    {
        found = true;
        gone(
            aws.iam
                .delete_role_policy()
                .role_name(&name)
                .policy_name(POLICY_NAME)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| AwsError::from_sdk("DeleteRolePolicy", e)),
        )?;
        let deleted = aws.iam.delete_role().role_name(&name).send().await;
        if let Err(e) = deleted {
            let e = AwsError::from_sdk("DeleteRole", e);
            if is_code(&e, "DeleteConflict") {
                return Err(AwsError::Config(format!(
                    "the IAM role {name} still has policies attached outside berth ({e}); \
                     detach them (aws iam list-attached-role-policies --role-name {name}, \
                     list-role-policies) and run destroy again"
                )));
            }
            gone(Err(e))?;
        }
    }
    Ok(found)
}

/// Whether a RunInstances error is IAM's propagation delay: a profile
/// created moments ago is not yet known to EC2 (AWS answers
/// `InvalidParameterValue … Invalid IAM Instance Profile name`; moto,
/// which checks at once, `NoSuchEntity`).
pub fn is_propagation_error(e: &AwsError) -> bool {
    match e {
        AwsError::Service { code, message, .. } => {
            let m = message.to_ascii_lowercase();
            (code == "InvalidParameterValue"
                && (m.contains("iaminstanceprofile") || m.contains("instance profile")))
                || (code == "NoSuchEntity" && m.contains("instance profile"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:role/berth/berth-web-us-east-1";

    fn doc(needs: &Needs) -> serde_json::Value {
        serde_json::from_str(&policy_document("web", "us-east-1", ARN, needs)).unwrap_or_default()
    }

    #[test]
    fn the_longest_app_and_region_names_fit_iams_64_characters() {
        let name = role_name(&"a".repeat(40), "ap-southeast-4");
        assert!(name.len() <= 64, "{} characters: {name}", name.len());
        assert_eq!(role_name("web", "eu-west-1"), "berth-web-eu-west-1");
    }

    #[test]
    fn without_secrets_the_role_may_only_set_the_health_tag_on_the_apps_instances() {
        let d = doc(&Needs::default());
        let st = d["Statement"].as_array().cloned().unwrap_or_default();
        assert_eq!(st.len(), 1, "{d}");
        assert_eq!(st[0]["Action"], "ec2:CreateTags");
        assert_eq!(
            st[0]["Resource"],
            "arn:aws:ec2:us-east-1:123456789012:instance/*"
        );
        assert_eq!(
            st[0]["Condition"]["StringEquals"]["aws:ResourceTag/berth:app"],
            "web"
        );
        assert_eq!(
            st[0]["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"],
            json!(["berth:health"])
        );
    }

    #[test]
    fn each_secret_reference_becomes_exactly_one_resource_arn() {
        let d = doc(&Needs {
            ssm_parameters: vec![
                "/shop/db-url".into(),
                "arn:aws:ssm:us-east-1:123456789012:parameter/other".into(),
            ],
            secrets: vec![
                "shop/redis".into(),
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf".into(),
            ],
            ..Needs::default()
        });
        let st = d["Statement"].as_array().cloned().unwrap_or_default();
        assert_eq!(st.len(), 3, "{d}");
        assert_eq!(st[1]["Action"], "ssm:GetParameter");
        assert_eq!(
            st[1]["Resource"],
            json!([
                "arn:aws:ssm:us-east-1:123456789012:parameter/shop/db-url",
                "arn:aws:ssm:us-east-1:123456789012:parameter/other"
            ])
        );
        assert_eq!(st[2]["Action"], "secretsmanager:GetSecretValue");
        assert_eq!(
            st[2]["Resource"],
            json!([
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/redis-??????",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-AbCdEf"
            ])
        );
    }

    #[test]
    fn the_partition_comes_from_the_roles_arn() {
        let d: serde_json::Value = serde_json::from_str(&policy_document(
            "web",
            "cn-north-1",
            "arn:aws-cn:iam::123456789012:role/berth/x",
            &Needs::default(),
        ))
        .unwrap_or_default();
        assert_eq!(
            d["Statement"][0]["Resource"],
            "arn:aws-cn:ec2:cn-north-1:123456789012:instance/*"
        );
    }

    #[test]
    fn only_iams_not_yet_known_profile_errors_are_waited_out() {
        let e = |code: &str, message: &str| AwsError::Service {
            operation: "RunInstances",
            code: code.into(),
            message: message.into(),
        };
        assert!(is_propagation_error(&e(
            "InvalidParameterValue",
            "Value (berth-web-us-east-1) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
        )));
        assert!(is_propagation_error(&e(
            "NoSuchEntity",
            "Instance profile berth-web-us-east-1 not found"
        )));
        assert!(!is_propagation_error(&e(
            "InvalidParameterValue",
            "Invalid value 'x' for instanceType"
        )));
        assert!(!is_propagation_error(&e("UnauthorizedOperation", "")));
    }

    #[test]
    fn tags_iam_refuses_are_left_off_its_objects_and_berths_are_always_there() {
        let user: BTreeMap<String, String> = [
            ("team", "shop"),
            ("cost-center", "a/b=c+d@e"),
            ("note", "50% (beta)!"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let t = wanted_tags("web", &user);
        assert_eq!(t.get("team").map(String::as_str), Some("shop"));
        assert!(t.contains_key("cost-center"));
        assert!(!t.contains_key("note"), "{t:?}");
        assert_eq!(t.get("berth:app").map(String::as_str), Some("web"));
        assert_eq!(t.get("berth:managed-by").map(String::as_str), Some("berth"));
    }

    #[test]
    fn a_release_command_may_write_only_its_apps_markers() {
        let d = doc(&Needs {
            release_markers: true,
            ..Needs::default()
        });
        let st = d["Statement"].as_array().cloned().unwrap_or_default();
        let m = st
            .iter()
            .find(|s| s["Sid"] == "ReleaseCommandMarkers")
            .unwrap_or_else(|| panic!("{d}"));
        assert_eq!(m["Action"], json!(["ssm:GetParameter", "ssm:PutParameter"]));
        let res = m["Resource"].as_str().unwrap_or_default();
        assert!(res.ends_with(":parameter/berth/web/release/*"), "{res}");
        let none = doc(&Needs::default());
        assert!(!none.to_string().contains("ReleaseCommandMarkers"));
    }

    #[test]
    fn ecr_images_allow_a_token_and_pulls_from_their_repositories_only() {
        let needs = Needs {
            ecr_repositories: vec![
                "us-east-1:123456789012:shop/web".into(),
                "eu-west-1:210987654321:tools".into(),
            ],
            ..Needs::default()
        };
        let d = doc(&needs);
        let st = d["Statement"].as_array().cloned().unwrap_or_default();
        let login = st.iter().find(|s| s["Sid"] == "EcrLogin").unwrap();
        assert_eq!(login["Action"], "ecr:GetAuthorizationToken");
        assert_eq!(login["Resource"], "*");
        let pull = st.iter().find(|s| s["Sid"] == "EcrPull").unwrap();
        assert_eq!(
            pull["Resource"],
            json!([
                "arn:aws:ecr:us-east-1:123456789012:repository/shop/web",
                "arn:aws:ecr:eu-west-1:210987654321:repository/tools"
            ])
        );
        let none = doc(&Needs::default());
        assert!(!none.to_string().contains("ecr:"), "{none}");
    }

    #[test]
    fn a_log_group_allows_writing_streams_in_that_group_only() {
        let d = doc(&Needs {
            log_groups: vec!["/berth/web".into()],
            ..Needs::default()
        });
        let st = d["Statement"].as_array().cloned().unwrap_or_default();
        let logs = st.iter().find(|s| s["Sid"] == "WriteLogs").unwrap();
        assert_eq!(
            logs["Action"],
            json!(["logs:CreateLogStream", "logs:PutLogEvents"])
        );
        assert_eq!(
            logs["Resource"],
            json!(["arn:aws:logs:us-east-1:123456789012:log-group:/berth/web:*"])
        );
    }

    #[test]
    fn needs_union_keeps_each_reference_once() {
        let a = Needs {
            ssm_parameters: vec!["/a".into(), "/b".into()],
            secrets: vec![],
            release_markers: false,
            ecr_repositories: vec!["us-east-1:1:a".into()],
            log_groups: vec!["/berth/a".into()],
            metrics: false,
        };
        let b = Needs {
            ssm_parameters: vec!["/b".into()],
            secrets: vec!["s".into()],
            release_markers: true,
            ecr_repositories: vec!["us-east-1:1:a".into()],
            log_groups: vec!["/berth/a".into()],
            metrics: true,
        };
        let u = a.union(&b);
        assert_eq!(u.ssm_parameters, ["/a", "/b"]);
        assert_eq!(u.secrets, ["s"]);
        assert!(u.release_markers);
        assert_eq!(u.ecr_repositories, ["us-east-1:1:a"]);
        assert_eq!(u.log_groups, ["/berth/a"]);
        assert!(u.metrics);
    }
}
