//! `berth_availability_zones`: the zones of the provider's region, which
//! `berth_container_app` spreads instances over.

use async_trait::async_trait;
use tfplugin::configured::ConfiguredDataSource;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::{Ctx, ReadDataRequest, ReadDataResponse, ValidateRequest};
use tfplugin::schema::validators::one_of;
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use crate::provider_data::ProviderData;

/// Zone states a filter may name.
pub const STATES: [&str; 5] = [
    "available",
    "information",
    "impaired",
    "unavailable",
    "constrained",
];

/// The data source.
#[derive(Debug)]
pub struct AvailabilityZones;

/// The IAM permissions `berth_availability_zones` needs, rendered into its
/// docs page.
pub const IAM: crate::permissions::Permissions = crate::permissions::Permissions {
    actions: &["ec2:DescribeAvailabilityZones"],
    conditional: &[],
    instance_role: &[],
};

#[async_trait]
impl ConfiguredDataSource for AvailabilityZones {
    type Data = ProviderData;

    fn type_name(&self) -> &str {
        "berth_availability_zones"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("The availability zones of the provider's region, sorted by name.")
                .attribute(
                    Attribute::string("state")
                        .optional()
                        .description(
                            "Only zones in this state, e.g. `available`. All zones when unset.",
                        )
                        .validate(one_of(&STATES)),
                )
                .attribute(
                    Attribute::string("region")
                        .computed()
                        .description("The region the zones belong to."),
                )
                .attribute(
                    Attribute::new("names", Type::list(Type::String))
                        .computed()
                        .description("Zone names, e.g. `us-east-1a`."),
                )
                .attribute(
                    Attribute::new("zone_ids", Type::list(Type::String))
                        .computed()
                        .description("Zone ids, e.g. `use1-az1`, in the order of `names`."),
                ),
        )
    }

    async fn validate(&self, _ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        crate::validation::read_only_set(&self.schema().block, &req.config)
    }

    async fn read(&self, ctx: &Ctx, data: &ProviderData, req: ReadDataRequest) -> ReadDataResponse {
        let state = req.config.attr("state").as_str().map(str::to_string);
        let call = berth_aws::ec2::availability_zones(&data.aws, state.as_deref());
        let zones = tokio::select! {
            r = call => r,
            () = ctx.cancel.cancelled() => {
                return ReadDataResponse { diagnostics: Diagnostic::error("Cancelled", "Reading availability zones was interrupted.").into(), ..Default::default() };
            }
        };
        match zones {
            Ok(zones) => {
                let mut v = req.config.clone();
                v.set_attr("region", Value::string(&data.aws.region));
                v.set_attr(
                    "names",
                    Value::List(zones.iter().map(|z| Value::string(&z.name)).collect()),
                );
                v.set_attr(
                    "zone_ids",
                    Value::List(zones.iter().map(|z| Value::string(&z.zone_id)).collect()),
                );
                ReadDataResponse {
                    state: v,
                    diagnostics: Diagnostics::new(),
                }
            }
            Err(e) => {
                let d = Diagnostic::error(
                    "Cannot list availability zones",
                    format!("{e} (region {}).", data.aws.region),
                );
                ReadDataResponse {
                    diagnostics: d.into(),
                    ..Default::default()
                }
            }
        }
    }
}
