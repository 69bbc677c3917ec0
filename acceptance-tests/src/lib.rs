//! The acceptance suite lives in `tests/`; what it runs on (Terraform and
//! moto runners, the fleet simulator, the real-instance bed, the load
//! generator, the proxies) is the `berth-testbed` crate, re-exported here
//! so the suite's files read `berth_acceptance_tests::…` as before.

pub use berth_testbed::*;
