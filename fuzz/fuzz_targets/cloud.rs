//! Fuzz target `cloud`: see `berth_fuzz::outside::check_cloud`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_fuzz::outside::check_cloud(data));
