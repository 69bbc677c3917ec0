//! The acceptance tests' common bed: a moto server with the hosted zone
//! [`ZONE`], optionally the fleet simulator, SDK clients on one runtime, and
//! the reads of the emulator those tests share.
//!
//! The reads panic on an emulator error: in a test that is the failure to
//! report, and every caller would unwrap anyway.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Filter;

use crate::instances::{FleetOptions, RealFleet};
use crate::loadgen::{LoadGen, LoadOptions};
use crate::sim::{FleetSim, SimOptions};
use crate::{Moto, TfVersion, Workspace, clients};

/// The hosted zone every bed creates.
pub const ZONE: &str = "berth.test";

/// `name` in [`ZONE`], fully qualified with the trailing dot.
pub fn fqdn(name: &str) -> String {
    format!("{name}.{ZONE}.")
}

/// A live (pending or running) instance as the emulator reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Live {
    /// The instance id.
    pub id: String,
    /// Its `berth:release` tag.
    pub release: String,
    /// Its `berth:fingerprint` tag.
    pub fingerprint: String,
    /// Its public and private addresses, in that order, where it has them.
    pub ips: Vec<String>,
    /// Its availability zone.
    pub zone: String,
}

/// A moto server, the zone, the simulator and clients; all stopped on drop.
pub struct Bed {
    /// The emulator.
    pub moto: Moto,
    /// The fleet simulator, when the bed was started with one.
    sim: Option<FleetSim>,
    /// Real instances, when the bed was started with them.
    real: Option<RealFleet>,
    /// EC2 in `us-east-1`.
    pub ec2: aws_sdk_ec2::Client,
    /// Route53.
    pub r53: aws_sdk_route53::Client,
    /// The id of [`ZONE`], without the `/hostedzone/` prefix.
    pub zone_id: String,
    /// The runtime the reads run on.
    pub rt: tokio::runtime::Runtime,
}

impl Bed {
    /// Starts moto, creates [`ZONE`] and, given options, the simulator.
    ///
    /// # Errors
    /// When a process, the runtime or the zone cannot be made.
    pub fn start(sim: Option<SimOptions>) -> Result<Bed> {
        let moto = Moto::start()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the test runtime")?;
        let endpoint = moto.endpoint();
        let (ec2, r53, zone_id) = rt.block_on(async {
            anyhow::Ok((
                clients::ec2(&endpoint).await,
                clients::route53(&endpoint).await,
                clients::create_zone(&endpoint, ZONE).await?,
            ))
        })?;
        let sim = sim
            .map(|opts| FleetSim::start(&endpoint, opts))
            .transpose()?;
        Ok(Bed {
            moto,
            sim,
            real: None,
            ec2,
            r53,
            zone_id,
            rt,
        })
    }

    /// [`Bed::start`] with a simulator whose instances boot in `boot`.
    ///
    /// # Errors
    /// As [`Bed::start`].
    pub fn booting_in(boot: Duration) -> Result<Bed> {
        Bed::start(Some(SimOptions {
            boot_delay: boot,
            ..SimOptions::default()
        }))
    }

    /// Starts moto and [`ZONE`] with real instances instead of the
    /// simulator: every instance berth launches becomes a real machine
    /// (see [`crate::instances`]).
    ///
    /// # Errors
    /// When the bed cannot be prepared (no Docker here) or started.
    pub fn real(opts: FleetOptions) -> Result<Bed> {
        let mut bed = Bed::start(None)?;
        bed.real = Some(RealFleet::start(&bed.moto.endpoint(), opts)?);
        Ok(bed)
    }

    /// The real instances.
    ///
    /// # Panics
    /// When the bed was started without them.
    pub fn fleet(&self) -> &RealFleet {
        self.real
            .as_ref()
            .expect("this bed was started without real instances")
    }

    /// The fleet simulator.
    ///
    /// # Panics
    /// When the bed was started without one.
    pub fn sim(&self) -> &FleetSim {
        self.sim
            .as_ref()
            .expect("this bed was started without the fleet simulator")
    }

    /// Runs `f` on the bed's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A Terraform workspace of version `v` pointed at this bed's moto.
    ///
    /// # Panics
    /// When the workspace cannot be made.
    pub fn workspace(&self, v: TfVersion) -> Workspace {
        Workspace::new(v, Some(&self.moto)).expect("making a Terraform workspace")
    }

    /// A load generator resolving `name` in [`ZONE`] like a client would,
    /// sending its requests to the real instances or the simulator.
    ///
    /// # Panics
    /// Without either, or when the generator cannot start.
    pub fn load(&self, name: &str) -> LoadGen {
        let (endpoint, record) = (self.moto.endpoint(), format!("{name}.{ZONE}"));
        let opts = LoadOptions::default();
        match &self.real {
            Some(real) => LoadGen::start(&endpoint, &self.zone_id, &record, real.resolver(), opts),
            None => LoadGen::start(
                &endpoint,
                &self.zone_id,
                &record,
                self.sim().resolver(),
                opts,
            ),
        }
        .expect("starting the load generator")
    }

    /// Live instances berth manages, of every app, sorted by id.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn live(&self) -> Vec<Live> {
        self.live_tagged("berth:managed-by", "berth")
    }

    /// Live instances of berth app `app`, sorted by id.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn live_of(&self, app: &str) -> Vec<Live> {
        self.live_tagged("berth:app", app)
    }

    fn live_tagged(&self, key: &str, value: &str) -> Vec<Live> {
        self.block_on(async {
            let out = self
                .ec2
                .describe_instances()
                .filters(tag_filter(key, value))
                .filters(clients::live_state())
                .send()
                .await
                .expect("DescribeInstances");
            let mut v: Vec<Live> = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .map(|i| {
                    let tag = |k: &str| clients::tag(i, k);
                    Live {
                        id: i.instance_id().unwrap_or_default().to_string(),
                        release: tag("berth:release"),
                        fingerprint: tag("berth:fingerprint"),
                        ips: [i.public_ip_address(), i.private_ip_address()]
                            .into_iter()
                            .flatten()
                            .map(str::to_string)
                            .collect(),
                        zone: i
                            .placement()
                            .and_then(|p| p.availability_zone())
                            .unwrap_or_default()
                            .to_string(),
                    }
                })
                .collect();
            v.sort();
            v
        })
    }

    /// Ids of the security groups berth manages, sorted.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn security_groups(&self) -> Vec<String> {
        self.security_groups_tagged("berth:managed-by", "berth")
    }

    /// Ids of the security groups of berth app `app`, sorted.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn security_groups_of(&self, app: &str) -> Vec<String> {
        self.security_groups_tagged("berth:app", app)
    }

    fn security_groups_tagged(&self, key: &str, value: &str) -> Vec<String> {
        self.block_on(async {
            let mut v: Vec<String> = self
                .ec2
                .describe_security_groups()
                .filters(tag_filter(key, value))
                .send()
                .await
                .expect("DescribeSecurityGroups")
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            v.sort();
            v
        })
    }

    /// Terminates instance `id` behind berth's back.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn terminate(&self, id: &str) {
        self.block_on(self.ec2.terminate_instances().instance_ids(id).send())
            .expect("TerminateInstances");
    }

    /// The values of the simple A record `name` in [`ZONE`], sorted (empty:
    /// no such record).
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn a_record(&self, name: &str) -> Vec<String> {
        let want = fqdn(name);
        let out = self
            .block_on(
                self.r53
                    .list_resource_record_sets()
                    .hosted_zone_id(&self.zone_id)
                    .send(),
            )
            .expect("ListResourceRecordSets");
        let mut v: Vec<String> = out
            .resource_record_sets()
            .iter()
            .filter(|r| {
                r.name() == want && r.r#type().as_str() == "A" && r.set_identifier().is_none()
            })
            .flat_map(|r| r.resource_records().iter().map(|x| x.value().to_string()))
            .collect();
        v.sort();
        v
    }

    /// The weighted sets of `name` in [`ZONE`] as set id → weight.
    ///
    /// # Panics
    /// When the emulator fails the call or a set has no weight.
    pub fn weights(&self, name: &str) -> BTreeMap<String, i64> {
        self.block_on(clients::weighted_sets(
            &self.moto.endpoint(),
            &self.zone_id,
            &fqdn(name),
        ))
        .expect("reading weighted sets")
    }

    /// How many Route53 health checks exist.
    ///
    /// # Panics
    /// When the emulator fails the call.
    pub fn health_checks(&self) -> usize {
        self.block_on(self.r53.list_health_checks().send())
            .expect("ListHealthChecks")
            .health_checks()
            .len()
    }
}

fn tag_filter(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}
