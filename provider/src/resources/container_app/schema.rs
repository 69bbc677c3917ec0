//! The `berth_container_app` schema: what users write and what berth
//! computes, with descriptions that become the generated docs.

use tfplugin::schema::validators::{check, one_of};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use crate::validation::valid_app_name;

/// Object type of one entry of `instances`.
pub fn instance_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("zone", Type::String),
        ("private_ip", Type::String),
        ("public_ip", Type::String),
        ("release", Type::Number),
        ("fingerprint", Type::String),
        ("serving", Type::Bool),
    ])
}

/// Object type of one entry of `release_history`.
pub fn history_type() -> Type {
    Type::object([
        ("release", Type::Number),
        ("image", Type::String),
        ("fingerprint", Type::String),
        ("deployed_at", Type::String),
    ])
}

fn name_validator() -> impl tfplugin::schema::Validator {
    check(
        "1–40 lowercase letters, digits and hyphens, starting with a letter",
        |v| match v.as_str() {
            Some(n) if !valid_app_name(n) => Err(format!(
                "{n:?} must be 1–40 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
            )),
            _ => Ok(()),
        },
    )
}

fn region_validator() -> impl tfplugin::schema::Validator {
    check("an AWS region name such as eu-west-1", |v| {
        match v.as_str() {
            Some(r) if !crate::validation::valid_region(r) => Err(format!(
                "{r:?} is not an AWS region name (expected something like \"eu-west-1\")."
            )),
            _ => Ok(()),
        }
    })
}

fn secs(name: &str, default: i64, what: &str) -> Attribute {
    Attribute::number(name)
        .optional()
        .computed()
        .default(Value::int(default))
        .description(format!("{what} Default {default}."))
}

/// The resource schema.
pub fn schema() -> Schema {
    let health = Block::new()
        .description("The health check each instance runs on itself; an instance joins the origin only after passing it.")
        .attribute(
            Attribute::string("path")
                .optional()
                .computed()
                .default(Value::string("/"))
                .description("HTTP path checked on the instance. Default `/`."),
        )
        .attribute(Attribute::number("port").optional().description(
            "Host port checked. Default: `host_port` (the app itself, not a sidecar).",
        ))
        .attribute(secs("interval", 5, "Seconds between checks."))
        .attribute(secs("timeout", 3, "Seconds before one check fails."))
        .attribute(secs(
            "healthy_threshold",
            2,
            "Consecutive passes that make an instance healthy.",
        ))
        .attribute(secs(
            "unhealthy_threshold",
            3,
            "Consecutive failures that fail an instance (and the rollout).",
        ))
        .attribute(secs(
            "deadline",
            600,
            "Longest time in seconds a batch may take to become healthy.",
        ));
    let origin = Block::new()
        .description("The app's own DNS record: a multi-value A record pointing at the serving instances.")
        .attribute(
            Attribute::string("zone")
                .required()
                .description("Route53 hosted zone id (`Z…`) or name (`example.com`)."),
        )
        .attribute(
            Attribute::string("name")
                .required()
                .description("Record name, relative to the zone (`web`) or fully qualified."),
        )
        .attribute(secs(
            "ttl",
            60,
            "Record TTL in seconds; old instances serve for TTL + drain after a cutover.",
        ))
        .attribute(
            Attribute::string("address")
                .optional()
                .computed()
                .default(Value::string("public"))
                .validate(one_of(&["public", "private"]))
                .description("Which instance address the record holds: `public` (default; falls back to private) or `private`."),
        );
    let rollout = Block::new()
        .description("How a change is rolled out.")
        .attribute(secs(
            "batch_size",
            0,
            "New instances launched and gated at a time; each healthy batch joins the origin beside the old release. 0: all at once.",
        ))
        .attribute(secs(
            "drain",
            30,
            "Seconds old instances keep serving after TTL has passed, for in-flight requests.",
        ))
        .attribute(
            Attribute::bool("keep_previous")
                .optional()
                .computed()
                .default(Value::Bool(false))
                .description("Keep the previous release running out of DNS, so a rollback (setting the old image) is a DNS flip with no boot."),
        )
        .attribute(
            Attribute::bool("auto_rollback")
                .optional()
                .computed()
                .default(Value::Bool(true))
                .description("When the health gate fails, terminate the new instances (default). With `false` they are left running out of DNS for inspection; the next apply adopts or replaces them."),
        );
    let sidecar = Block::new()
        .description("An extra container on every instance, e.g. an nginx front.")
        .attribute(Attribute::string("name").required().description("Compose service name."))
        .attribute(Attribute::string("image").required().description("Image reference."))
        .attribute(
            Attribute::new("command", Type::list(Type::String))
                .optional()
                .description("Command override."),
        )
        .attribute(
            Attribute::new("ports", Type::list(Type::String))
                .optional()
                .description("Published ports as `\"HOST:CONTAINER\"`."),
        )
        .attribute(
            Attribute::new("files", Type::map(Type::String))
                .optional()
                .description("Files mounted read-only into the container: absolute path → content (e.g. an nginx config)."),
        )
        .attribute(
            Attribute::new("env", Type::map(Type::String))
                .optional()
                .description("Plain environment variables of this container (the app's `env` is not shared with sidecars)."),
        )
        .attribute(Attribute::number("memory").optional().description("Memory limit in MiB."));
    let registry_credentials = Block::new()
        .description("A login for a private registry the app's or a sidecar's image is on. Instances log in before they pull, at every start of the app (boot, restart); the password is fetched like a `secrets` reference and never appears in user-data, plan, state or logs. Images on Amazon ECR need no block: instances log in with their instance profile (`ecr:GetAuthorizationToken`).")
        .attribute(
            Attribute::string("server")
                .required()
                .description("The registry's host name, with a port if it has one, as in the image reference: `registry.example.com`, `ghcr.io`, or `docker.io` for Docker Hub."),
        )
        .attribute(Attribute::string("username").required().description("The user to log in as."))
        .attribute(
            Attribute::string("password")
                .required()
                .description("The password (or access token) by reference: `ssm:/parameter/name`, `secretsmanager:name` or an ARN, like `secrets`. The instance role may read it (berth's role is allowed exactly these)."),
        );
    let logs = Block::new()
        .description("Sends every container's output (the app, its sidecars and the release command) and the bootstrap's own log to CloudWatch Logs, one stream per instance and container (`<instance id>/<container>`, `<instance id>/bootstrap`), through Docker's built-in `awslogs` driver. berth creates the group (tagged `berth:app`) or uses the one that exists, and sets its retention. `docker logs` keeps working on the instance.")
        .attribute(
            Attribute::string("group")
                .optional()
                .computed()
                .description("The log group. Default `/berth/<name>`. Changing it rolls out a release that writes to the new group; the old group stays."),
        )
        .attribute(
            Attribute::number("retention_days")
                .optional()
                .computed()
                .default(Value::int(30))
                .description("Days CloudWatch Logs keeps the events: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653. Default 30. Changes in place."),
        )
        .attribute(
            Attribute::bool("delete_on_destroy")
                .optional()
                .computed()
                .default(Value::Bool(false))
                .description("Delete the group and its events when the app is destroyed (only a group berth created for the app). Default false: logs outlive the app."),
        );
    let metrics = Block::new()
        .description("Each instance publishes the app's CPU and memory use (per container, from the Docker engine, as `docker stats` reports them) and whether it is unhealthy, as CloudWatch metrics in the namespace `berth`: `CPUUtilization` and `MemoryUtilization` (percent; dimensions `App`, `Container`) and `Unhealthy` (1 or 0; dimension `App`). The instance is not a dimension, so a metric (and an alarm) covers the app across releases. `alarm` blocks turn publishing on by themselves.")
        .attribute(
            Attribute::number("interval")
                .optional()
                .description("Seconds between two publications, 10–3600. Default 60."),
        );
    let alarm = Block::new()
        .description("A CloudWatch alarm on the app's metrics, named `berth.<app>.<name>`, created, updated in place and deleted with the app.")
        .attribute(Attribute::string("name").required().description("Lowercase letters, digits and hyphens; unique in the app."))
        .attribute(Attribute::string("metric").required().description("`cpu` (percent of one core, per container), `memory` (percent of the container's memory limit) or `unhealthy_instances` (instances reporting unhealthy)."))
        .attribute(Attribute::string("container").optional().description("For `cpu` and `memory`: the container (`app` or a sidecar's name). Default `app`."))
        .attribute(Attribute::string("statistic").optional().description("`Average`, `Maximum`, `Minimum`, `Sum` or `SampleCount`. Default `Average` (`Sum` for `unhealthy_instances`: with `period` equal to the metrics interval, the number of unhealthy instances)."))
        .attribute(Attribute::string("comparison").optional().description("`>=`, `>`, `<=` or `<`. Default `>=`."))
        .attribute(Attribute::number("threshold").required().description("The value compared with the statistic."))
        .attribute(Attribute::number("period").optional().description("Seconds per period: 10, 30 or a multiple of 60, at least the metrics interval. Default 60."))
        .attribute(Attribute::number("evaluation_periods").optional().description("Consecutive periods the condition must hold before the alarm fires, 1 or more (at most a day in all). Default 3."))
        .attribute(Attribute::new("alarm_actions", Type::list(Type::String)).optional().description("ARNs notified when the alarm fires, e.g. SNS topics."))
        .attribute(Attribute::new("ok_actions", Type::list(Type::String)).optional().description("ARNs notified when it recovers."));
    let load_balancer = super::load_balancer::load_balancer_block();
    let capacity = super::load_balancer::capacity_block();
    let timeouts = Block::new()
        .description("Time limits, as `30m`, `1h30m` or `90s` (at most `168h`). A rollout that runs out of time is rolled back like an interrupted one.")
        .attribute(Attribute::string("create").optional().description("Default `30m`."))
        .attribute(Attribute::string("update").optional().description("Default `30m`."))
        .attribute(Attribute::string("delete").optional().description("Default `20m`."));

    Schema::new(
        Block::new()
            .description("A containerised app on EC2 instances in one region, rolled out with zero downtime inside `terraform apply`: new instances launch beside the old, pass a health gate, take over the origin record, and the old ones retire after TTL + drain.")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("`<region>/<name>`."),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .validate(name_validator())
                    .description("App name; every cloud object of the app is tagged `berth:app = name`."),
            )
            .attribute(Attribute::string("image").required().description("Container image, e.g. `registry.example.com/shop:2026-11-23`. Changing it rolls out a new release."))
            .attribute(
                Attribute::new("command", Type::list(Type::String))
                    .optional()
                    .description("Command override for the app container."),
            )
            .attribute(
                Attribute::new("release_command", Type::list(Type::String))
                    .optional()
                    .description("Runs once per new release, before the release takes any traffic, like Heroku's release phase (database migrations): in a container of the new image with the app's `env` and `secrets`, on one of the new instances; the others start the app once it succeeded. A non-zero exit or the timeout stops the rollout: the new instances are terminated, the old release keeps serving, and the error quotes the exit code and the last lines of output. It runs again only for a release whose run failed. Part of the release: changing it rolls out a new one."),
            )
            .attribute(
                Attribute::number("release_command_timeout")
                    .optional()
                    .description("Seconds `release_command` may run before it counts as failed, 1–86400. Default 1800 (30 min)."),
            )
            .attribute(
                Attribute::number("port")
                    .optional()
                    .computed()
                    .default(Value::int(8080))
                    .description("Port the app listens on inside its container. Default 8080."),
            )
            .attribute(Attribute::number("host_port").optional().description("Port published on the instance. Default: `port`."))
            .attribute(
                Attribute::new("env", Type::map(Type::String))
                    .optional()
                    .description("Plain environment variables (visible in plan and state; put secrets in `secrets`)."),
            )
            .attribute(
                Attribute::new("secrets", Type::map(Type::String))
                    .optional()
                    .description("Secret environment variables by reference: `ssm:/param/name`, `secretsmanager:name` or an ARN. Instances fetch the values at boot into a root-only file; values never appear in user-data, plan, state or logs."),
            )
            .attribute(
                Attribute::new("secret_values_wo", Type::map(Type::String))
                    .optional()
                    .sensitive()
                    .write_only()
                    .description("Secret values berth stores for the app itself: variable name → value. **Write-only** (Terraform 1.11 or later; older versions get an error): the values never appear in plan, state, user-data or logs. Each goes to an SSM SecureString parameter `/berth/<name>/<NAME>` that berth owns (tagged `berth:app`, deleted with the app or when its name leaves this map); instances fetch it at boot like a `secrets` reference. Values are written at create, for new names, and whenever `secret_values_wo_version` changes: a changed value alone shows no change in a plan, so bump the version to store and roll it out."),
            )
            .attribute(
                Attribute::number("secret_values_wo_version")
                    .optional()
                    .description("Any number; changing it stores every `secret_values_wo` value again and rolls out a release that fetches them (write-only values never show as a change in a plan)."),
            )
            .attribute(
                Attribute::new("secret_value_parameters", Type::map(Type::String))
                    .computed()
                    .description("The SSM parameters berth manages for `secret_values_wo`: variable name → parameter name (names only, never values)."),
            )
            .attribute(Attribute::number("memory").optional().description("Memory limit of the app container in MiB."))
            .attribute(
                Attribute::number("replicas")
                    .optional()
                    .computed()
                    .default(Value::int(2))
                    .description("Number of instances. Default 2."),
            )
            .attribute(
                Attribute::string("instance_type")
                    .optional()
                    .computed()
                    .default(Value::string("t3.small"))
                    .description("EC2 instance type. Default `t3.small`."),
            )
            .attribute(
                Attribute::string("ami")
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .description("AMI id. Default: the newest Amazon Linux 2023 image for the instance type's architecture, looked up at create and kept."),
            )
            .attribute(
                Attribute::new("subnet_ids", Type::list(Type::String))
                    .optional()
                    .description("Subnets to spread instances over (round-robin, one per zone gives zone spread). Default: the default subnets of the default VPC, one per availability zone, so replicas spread over the zones."),
            )
            .attribute(
                Attribute::new("security_group_ids", Type::list(Type::String))
                    .optional()
                    .description("Security groups for the instances. Default: a managed group `berth-<name>` opening the published ports to `ingress_cidrs`."),
            )
            .attribute(
                Attribute::new("ingress_cidrs", Type::list(Type::String))
                    .optional()
                    .description("Who may reach the published ports through the managed group. Default `[\"0.0.0.0/0\"]`."),
            )
            .attribute(Attribute::string("key_name").optional().description("EC2 key pair name."))
            .attribute(Attribute::string("instance_profile").optional().description("IAM instance profile name; it must allow `ec2:CreateTags` on the instance and reading the app's secrets. Unset: berth manages a role and profile for the app with exactly that (`instance_role`)."))
            .attribute(
                Attribute::new("tags", Type::map(Type::String))
                    .optional()
                    .description("Tags for the instances and the managed security group (merged over the provider's `default_tags`)."),
            )
            .attribute(
                Attribute::string("region")
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .requires_replace()
                    .validate(region_validator())
                    .description("AWS region the app runs in. Default: the provider's region. One provider block can run apps in several regions (see `modules/global-app`)."),
            )
            .attribute(Attribute::number("release").computed().description("Current release number; increases with every change of what runs."))
            .attribute(Attribute::string("fingerprint").computed().description("Digest of everything that defines a release."))
            .attribute(Attribute::string("instance_role").computed().description("The IAM role (and instance profile) berth manages for the instances when `instance_profile` is not set: `berth-<name>-<region>`, allowed to tag its instances' health and read the app's secrets, nothing else. Attach your app's own policies to it (e.g. `aws_iam_role_policy_attachment` with `role = berth_container_app.<name>.instance_role`: Terraform removes the attachment before the app). Null with `instance_profile`."))
            .attribute(Attribute::string("security_group_id").computed().use_state_for_unknown().description("The managed security group, if berth manages one."))
            .attribute(Attribute::string("origin_fqdn").computed().description("Fully qualified name of the origin record (with the trailing dot). Known at plan when `origin.zone` is a zone name, so routes and outputs built on it show in the plan; a zone id leaves it to the apply."))
            .attribute(
                Attribute::new("origin_addresses", Type::list(Type::String))
                    .computed()
                    .description("Addresses the origin record answers with now."),
            )
            .attribute(
                Attribute::new("instances", Type::list(instance_type()))
                    .computed()
                    .description("Live instances of the app, with their release and whether they serve: in the origin record, or, without an `origin` block, gated and kept by the last apply."),
            )
            .attribute(
                Attribute::new("release_history", Type::list(history_type()))
                    .computed()
                    .description("The last 10 releases, newest first; set `image` back to roll back."),
            )
            .attribute(
                Attribute::new("rollout_plan", Type::list(Type::String))
                    .computed()
                    .description("The steps of the rollout this plan will run (or the last one that ran), known at plan time."),
            )
            .block(NestedBlock::new("health_check", Nesting::Single, health))
            .block(NestedBlock::new("origin", Nesting::Single, origin))
            .block(NestedBlock::new("rollout", Nesting::Single, rollout))
            .block(NestedBlock::new("sidecar", Nesting::List, sidecar))
            .block(NestedBlock::new("logs", Nesting::Single, logs))
            .block(NestedBlock::new("metrics", Nesting::Single, metrics))
            .block(NestedBlock::new("alarm", Nesting::List, alarm))
            .block(NestedBlock::new(
                "registry_credentials",
                Nesting::List,
                registry_credentials,
            ))
            .block(NestedBlock::new(
                "load_balancer",
                Nesting::Single,
                load_balancer,
            ))
            .block(NestedBlock::new("capacity", Nesting::Single, capacity))
            .block(NestedBlock::new("timeouts", Nesting::Single, timeouts)),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_passes_terraform_rules() {
        let d = super::schema().check();
        assert!(d.is_empty(), "{d:?}");
    }
}
