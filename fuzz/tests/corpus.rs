//! Replays the checked-in seed corpora and regression inputs through the
//! fuzz targets' checks without libFuzzer (plain `cargo test`), so a known
//! crash stays visible even where the fuzzers are not built.

use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// As libFuzzer's `-timeout` in scripts/fuzz: one input taking longer is a
/// failure (a hang, or work exponential in the input).
const TIMEOUT: Duration = Duration::from_secs(10);

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut paths: Vec<_> = entries.map(|e| e.expect("dir entry").path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.is_file()) {
            let data = fs::read(&p).expect("read input");
            let (tx, rx) = mpsc::channel();
            // A hung check thread is left behind; the test still fails.
            thread::spawn(move || {
                let r = std::panic::catch_unwind(|| check(&data));
                let _ = tx.send(r.is_ok());
            });
            match rx.recv_timeout(TIMEOUT) {
                Ok(true) => {}
                Ok(false) => panic!("{target}: {} fails the check", p.display()),
                Err(_) => panic!("{target}: {} takes more than {TIMEOUT:?}", p.display()),
            }
            n += 1;
        }
    }
    assert!(n > 0, "{target}: no inputs found");
}

#[test]
fn msgpack_decode_inputs() {
    replay("msgpack_decode", berth_fuzz::check_msgpack);
}

#[test]
fn json_decode_inputs() {
    replay("json_decode", berth_fuzz::check_json);
}

#[test]
fn type_json_inputs() {
    replay("type_json", berth_fuzz::check_type_json);
}

#[test]
fn state_upgrade_inputs() {
    replay("state_upgrade", berth_fuzz::outside::check_state_upgrade);
}

#[test]
fn import_id_inputs() {
    replay("import_id", berth_fuzz::outside::check_import_id);
}

#[test]
fn cloud_inputs() {
    replay("cloud", berth_fuzz::outside::check_cloud);
}
