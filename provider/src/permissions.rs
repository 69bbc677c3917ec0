//! What IAM permissions a resource or data source declares (its `IAM`
//! constant): the actions Terraform's credentials need, always or in some
//! configurations, and those its instances need. The docs generator
//! renders them; `acceptance-tests/tests/iam.rs` checks them against the
//! calls each type makes.

use std::collections::BTreeSet;

/// One IAM statement: actions on a resource pattern, maybe under a
/// condition, maybe only for some configurations.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    /// When the actions are needed (markdown, e.g. "`instance_profile` is
    /// set"); empty: always.
    pub when: &'static str,
    /// Why (markdown, one phrase).
    pub why: &'static str,
    /// IAM actions, `service:Action`, sorted.
    pub actions: &'static [&'static str],
    /// The `Resource` of the policy statement, e.g. `*`.
    pub resource: &'static str,
    /// A condition as (operator, key, value), e.g. `("StringEquals",
    /// "iam:PassedToService", "ec2.amazonaws.com")`.
    pub condition: Option<(&'static str, &'static str, &'static str)>,
}

/// The IAM permissions a resource or data source needs.
#[derive(Clone, Copy, Debug)]
pub struct Permissions {
    /// Actions the credentials Terraform runs with always need: every AWS
    /// operation any of the type's operations (create, read, update,
    /// delete, import) may call, sorted. Granted on `*`.
    pub actions: &'static [&'static str],
    /// Further actions for Terraform's credentials in some configurations.
    pub conditional: &'static [Grant],
    /// Actions the type's EC2 instances need through their own instance
    /// profile, not Terraform's credentials.
    pub instance_role: &'static [Grant],
}

impl Permissions {
    /// Every action Terraform's credentials may need (always and
    /// conditional), sorted and de-duplicated.
    pub fn terraform_actions(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self
            .actions
            .iter()
            .chain(self.conditional.iter().flat_map(|g| g.actions.iter()))
            .copied()
            .collect();
        set.into_iter().collect()
    }

    /// Problems with the declaration: empty, unsorted or repeated lists,
    /// actions not shaped `service:Action`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        list_problems("actions", self.actions, &mut out);
        for g in self.conditional {
            list_problems(&format!("conditional ({})", g.when), g.actions, &mut out);
            if g.when.is_empty() {
                out.push(format!(
                    "conditional {:?}: say when (or move them to `actions`)",
                    g.actions
                ));
            }
        }
        for g in self.instance_role {
            list_problems(&format!("instance_role ({})", g.why), g.actions, &mut out);
        }
        for a in self.actions {
            if self.conditional.iter().any(|g| g.actions.contains(a)) {
                out.push(format!("{a} is both always and conditionally needed"));
            }
        }
        out
    }
}

/// Problems of one action list: empty, unsorted or repeated, actions not
/// shaped `service:Action`.
fn list_problems(what: &str, list: &[&str], out: &mut Vec<String>) {
    if list.is_empty() {
        out.push(format!("{what}: empty action list"));
    }
    if list.windows(2).any(|w| w[0] >= w[1]) {
        out.push(format!("{what}: actions not sorted or repeated: {list:?}"));
    }
    for a in list {
        let ok = a.split_once(':').is_some_and(|(s, n)| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && n.starts_with(|c: char| c.is_ascii_uppercase())
                && n.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !ok {
            out.push(format!(
                "{what}: {a:?} is not an IAM action (service:Action)"
            ));
        }
    }
}
