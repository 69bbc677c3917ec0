//! Fuzz target `type_json`: see `berth_fuzz::check_type_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_fuzz::check_type_json(data));
