//! Fuzz target `state_upgrade`: see `berth_fuzz::outside::check_state_upgrade`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_fuzz::outside::check_state_upgrade(data));
