//! Fuzz target `json_decode`: see `berth_fuzz::check_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_fuzz::check_json(data));
