//! `berth-test-app`: the tiny HTTP app the real-instance test bed deploys
//! (`registry.berth.test/berth/app:*`, built and pushed by
//! `scripts/instance-bed`). It answers which image, release and instance
//! served a request and fingerprints its secret-looking environment, so a test
//! can tell exactly what berth deployed where without the secrets leaving the
//! instance.
//!
//! Usage: `berth-test-app` (no arguments) serves. As a release command:
//! `berth-test-app release-record URL [SECONDS]` POSTs
//! `/run?instance=…&release=…` (from `BERTH_INSTANCE_ID`, `BERTH_RELEASE`)
//! to the bed's recorder at `URL` (`http://host:port`, no TLS), then works
//! on for `SECONDS` (default 0: a slow migration), and exits 0 when the
//! recorder answered 2xx;
//! `berth-test-app release-fail` prints three lines and exits 3. Std only.
//!
//! Env: `PORT` (default 3000; listens on `0.0.0.0`), `BERTH_TEST_IMAGE`,
//! `BERTH_RELEASE`, `BERTH_INSTANCE_ID`, `BERTH_APP` (reported; missing → `""`),
//! `BERTH_TEST_APP_MODE`: `exit` (print a line on stderr and exit 3 at start)
//! or `fail-health` (`/up` answers 500).
//!
//! HTTP/1.1, one thread per connection, every answer `Connection: close`:
//! - `GET /` → 200 JSON `{"image", "release", "instance", "app",
//!   "env_sha256": {NAME: hex sha256 of the value}, "env_names": [...]}`,
//!   where `env_sha256` covers every variable named `SECRET_*`, `*_KEY`,
//!   `*_TOKEN`, `*_PASSWORD` or `*_URL` and `env_names` lists all names, sorted.
//! - `GET /up` → 200 `ok` (500 in mode `fail-health`).
//! - `GET /crash` → 200, then the process exits with code 7.
//! - `HEAD` works like `GET` without the body; other paths 404, other
//!   methods 405.
//!
//! One line per request on stdout. SIGTERM or SIGINT: stop accepting, let
//! requests in flight finish (at most 5 s), exit 0 — as PID 1 of a container
//! the app must handle SIGTERM itself or `docker stop` waits for its timeout.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Exit code of `GET /crash`.
const CRASH_CODE: i32 = 7;
/// Exit code of mode `exit`.
const EXIT_MODE_CODE: i32 = 3;
/// Longest request head read before answering 400.
const MAX_HEAD: usize = 16 * 1024;

/// Requests being answered right now (for the graceful stop).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Exit code of `release-fail`.
const RELEASE_FAIL_CODE: i32 = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("release-record") => std::process::exit(release_record(args.get(1), args.get(2))),
        Some("release-fail") => {
            println!("migrating: step 1");
            println!("migrating: step 2");
            println!("ERROR: relation \"users\" does not exist");
            std::process::exit(RELEASE_FAIL_CODE);
        }
        Some(other) => {
            eprintln!("berth-test-app: unknown command {other:?}");
            std::process::exit(2);
        }
        None => {}
    }
    let mode = std::env::var("BERTH_TEST_APP_MODE").unwrap_or_default();
    if mode == "exit" {
        eprintln!("berth-test-app: exiting at start (mode exit)");
        std::process::exit(EXIT_MODE_CODE);
    }
    let port = match std::env::var("PORT") {
        Ok(p) if !p.is_empty() => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("berth-test-app: PORT={p:?} is not a port number");
                std::process::exit(2);
            }
        },
        _ => 3000,
    };
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("berth-test-app: cannot listen on 0.0.0.0:{port}: {e}");
            std::process::exit(1);
        }
    };
    signals::install();
    std::thread::spawn(stop_on_signal);
    println!(
        "berth-test-app: listening on 0.0.0.0:{port} (image {:?}, mode {mode:?})",
        var("BERTH_TEST_IMAGE")
    );
    let fail_health = mode == "fail-health";
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    serve(stream, fail_health);
                    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Err(e) => eprintln!("berth-test-app: accept: {e}"),
        }
    }
}

/// `release-record URL [SECONDS]`: one POST to the recorder, then
/// `SECONDS` of work; the exit code.
fn release_record(url: Option<&String>, seconds: Option<&String>) -> i32 {
    let Some(host) = url.and_then(|u| u.strip_prefix("http://")) else {
        eprintln!("berth-test-app: release-record needs http://host:port");
        return 2;
    };
    let Ok(seconds) = seconds.map_or(Ok(0), |s| s.parse::<u64>()) else {
        eprintln!("berth-test-app: release-record: SECONDS must be a whole number");
        return 2;
    };
    let host = host.trim_end_matches('/');
    let path = format!(
        "/run?instance={}&release={}",
        var("BERTH_INSTANCE_ID"),
        var("BERTH_RELEASE")
    );
    let answer = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect(host)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    })();
    match answer {
        Ok(text) if text.starts_with("HTTP/1.1 2") || text.starts_with("HTTP/1.0 2") => {
            println!("berth-test-app: recorded {path} at {host}");
            if seconds > 0 {
                std::thread::sleep(Duration::from_secs(seconds));
                println!("berth-test-app: worked {seconds} s more");
            }
            0
        }
        Ok(text) => {
            eprintln!(
                "berth-test-app: the recorder answered {:?}",
                text.lines().next().unwrap_or_default()
            );
            1
        }
        Err(e) => {
            eprintln!("berth-test-app: cannot reach the recorder at {host}: {e}");
            1
        }
    }
}

/// Waits for SIGTERM/SIGINT, then for the requests in flight (at most 5 s),
/// and exits 0. (The accept loop cannot see the signal: glibc restarts
/// `accept` after the handler.)
fn stop_on_signal() {
    while !signals::requested() {
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("berth-test-app: stop signal, exiting");
    let deadline = Instant::now() + Duration::from_secs(5);
    while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::process::exit(0);
}

/// Answers one connection.
fn serve(mut stream: TcpStream, fail_health: bool) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let (method, path) = match read_head(&mut stream) {
        Some(head) => head,
        None => {
            respond(&mut stream, false, 400, "text/plain", "bad request\n");
            println!("berth-test-app: {peer} - - 400");
            return;
        }
    };
    let head_only = method == "HEAD";
    let route = path.split('?').next().unwrap_or_default();
    let (status, ctype, body) = if method != "GET" && !head_only {
        (405, "text/plain", "method not allowed\n".to_string())
    } else {
        match route {
            "/" => (
                200,
                "application/json",
                info_json(&std::env::vars_os().collect::<Vec<_>>()),
            ),
            "/up" if fail_health => (
                500,
                "text/plain",
                "unhealthy (mode fail-health)\n".to_string(),
            ),
            "/up" => (200, "text/plain", "ok".to_string()),
            "/crash" => (200, "text/plain", "crashing\n".to_string()),
            _ => (404, "text/plain", "not found\n".to_string()),
        }
    };
    respond(&mut stream, head_only, status, ctype, &body);
    println!("berth-test-app: {peer} {method} {path} {status}");
    if route == "/crash" && status == 200 {
        let _ = stream.shutdown(Shutdown::Both);
        eprintln!("berth-test-app: crashing on request (exit {CRASH_CODE})");
        std::process::exit(CRASH_CODE);
    }
}

/// Reads the request head; returns its method and target.
fn read_head(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next()?.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    Some((method.to_string(), target.to_string()))
}

/// Writes a complete response (headers only for HEAD).
fn respond(stream: &mut TcpStream, head_only: bool, status: u16, ctype: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        out.push_str(body);
    }
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

/// An env var as a string; missing or not UTF-8 → "".
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Whether a variable's value is fingerprinted in `env_sha256`.
fn is_secret_name(name: &str) -> bool {
    name.starts_with("SECRET_")
        || ["_KEY", "_TOKEN", "_PASSWORD", "_URL"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// The JSON body of `GET /` for this environment.
fn info_json(env: &[(std::ffi::OsString, std::ffi::OsString)]) -> String {
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k.as_bytes() == name.as_bytes())
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut hashes = BTreeMap::new();
    let mut names = Vec::new();
    for (k, v) in env {
        let name = k.to_string_lossy().into_owned();
        if is_secret_name(&name) {
            hashes.insert(name.clone(), hex(&sha256(v.as_bytes())));
        }
        names.push(name);
    }
    names.sort();
    let hashes = hashes
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
        .collect::<Vec<_>>()
        .join(",");
    let names = names
        .iter()
        .map(|n| json_str(n))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{{\"image\":{},\"release\":{},\"instance\":{},\"app\":{},\"env_sha256\":{{{hashes}}},\"env_names\":[{names}]}}\n",
        json_str(&get("BERTH_TEST_IMAGE")),
        json_str(&get("BERTH_RELEASE")),
        json_str(&get("BERTH_INSTANCE_ID")),
        json_str(&get("BERTH_APP")),
    )
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let t2 = s0.wrapping_add((a & b) ^ (a & c) ^ (b & c));
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(h) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// SIGTERM/SIGINT → a flag. Std has no signal API and the workspace adds no
/// crate for one, so this declares glibc's `signal(2)` itself.
#[allow(unsafe_code)]
mod signals {
    use std::sync::atomic::{AtomicBool, Ordering};

    static REQUESTED: AtomicBool = AtomicBool::new(false);
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    unsafe extern "C" {
        /// glibc `signal(2)` (BSD semantics: the handler stays installed).
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    extern "C" fn on_signal(_: i32) {
        REQUESTED.store(true, Ordering::SeqCst);
    }

    /// Installs the handler for SIGTERM and SIGINT.
    pub fn install() {
        for sig in [SIGTERM, SIGINT] {
            // SAFETY: `signal` is called with a valid signal number and a
            // handler that only stores to an atomic (async-signal-safe).
            unsafe {
                signal(sig, on_signal);
            }
        }
    }

    /// Whether SIGTERM or SIGINT arrived.
    pub fn requested() -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn sha256_matches_the_fips_180_4_vectors() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Two blocks (448-bit message).
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn info_lists_names_and_fingerprints_only_secret_looking_vars() {
        let env: Vec<(OsString, OsString)> = [
            ("PATH", "/bin"),
            ("BERTH_TEST_IMAGE", "registry.berth.test/berth/app:v1"),
            ("SECRET_DB", "abc"),
            ("API_KEY", ""),
            ("DATABASE_URL", "abc"),
            ("KEYRING", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            info_json(&env),
            format!(
                "{{\"image\":\"registry.berth.test/berth/app:v1\",\"release\":\"\",\"instance\":\"\",\"app\":\"\",\
                 \"env_sha256\":{{\"API_KEY\":\"{empty}\",\"DATABASE_URL\":\"{abc}\",\"SECRET_DB\":\"{abc}\"}},\
                 \"env_names\":[\"API_KEY\",\"BERTH_TEST_IMAGE\",\"DATABASE_URL\",\"KEYRING\",\"PATH\",\"SECRET_DB\"]}}\n"
            )
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
