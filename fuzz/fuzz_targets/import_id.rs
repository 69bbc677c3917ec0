//! Fuzz target `import_id`: see `berth_fuzz::outside::check_import_id`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_fuzz::outside::check_import_id(data));
