//! How the instance agent (`provider/src/userdata/agent.py`) treats AWS's
//! answers: throttling and server errors are retried a few times, IAM's
//! propagation refusals (a role made moments before the instance booted)
//! for a grace period, and anything else is final at once. Each case runs
//! the agent's own `call` against a local HTTP server that answers a
//! scripted sequence, with the clock and sleeps under the test's control.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Runs `agent.call` against a server answering `answers` (status, body)
/// in turn; returns (requests seen, result or `error: …`, seconds slept).
fn run(answers: &[(u16, &str)]) -> (u64, String, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("agent.py"),
        terraform_provider_berth::userdata::shipped_agent(),
    )
    .expect("write agent");
    let script = r#"
import http.server, json, sys, threading, urllib.request
sys.path.insert(0, sys.argv[1])
import agent
answers = json.load(sys.stdin)
seen = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, body = answers[min(len(seen), len(answers) - 1)]
        seen.append(status)
        data = body.encode()
        self.send_response(status)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]
# The agent's HTTPS URL goes to the local server over HTTP.
real_urlopen = urllib.request.urlopen
def urlopen(req, timeout=None):
    req.full_url = "http://127.0.0.1:%d/" % port
    return real_urlopen(req, timeout=timeout)
agent.urllib.request.urlopen = urlopen
# A clock that the sleeps advance.
clock = [1000.0]
slept = [0.0]
def sleep(s):
    slept[0] += s
    clock[0] += s
agent.time.sleep = sleep
agent.time.time = lambda: clock[0]
class Creds:
    access_key, secret_key, token = "AKIDEXAMPLE", "secret", None
agent.CREDENTIALS.get = lambda: Creds()
try:
    result = agent.call("ec2", "us-east-1", b"Action=CreateTags", {"content-type": "application/x-www-form-urlencoded"})
except agent.AgentError as e:
    result = "error: %s" % e
print(json.dumps({"requests": len(seen), "result": result, "slept": slept[0]}))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &dir.path().to_string_lossy()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let input = serde_json::to_string(answers).expect("json");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("agent output");
    (
        v["requests"].as_u64().unwrap_or(0),
        v["result"].as_str().unwrap_or_default().to_string(),
        v["slept"].as_f64().unwrap_or(0.0),
    )
}

const AUTH_FAILURE: &str = "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors></Response>";
const DENIED: &str = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors></Response>";
const THROTTLED: &str =
    "<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";

#[test]
fn a_role_not_yet_visible_is_waited_out_then_the_call_succeeds() {
    let (requests, result, slept) = run(&[
        (401, AUTH_FAILURE),
        (403, DENIED),
        (403, DENIED),
        (200, "<ok/>"),
    ]);
    assert_eq!(requests, 4);
    assert_eq!(result, "<ok/>");
    assert!(slept > 0.0 && slept < 90.0, "slept {slept} s");
}

#[test]
fn a_refusal_that_outlasts_the_grace_period_fails_with_awss_message() {
    let (requests, result, slept) = run(&[(403, DENIED)]);
    assert!(
        result.starts_with("error: ") && result.contains("UnauthorizedOperation"),
        "{result}"
    );
    assert!(
        (90.0..=100.0).contains(&slept),
        "refusals are retried for the 90 s grace period: slept {slept} s"
    );
    assert!(requests > 5, "{requests} requests");
}

#[test]
fn throttling_is_retried_five_times_and_other_errors_are_final_at_once() {
    let (requests, result, _) = run(&[(503, THROTTLED)]);
    assert_eq!(requests, 5);
    assert!(result.contains("RequestLimitExceeded"), "{result}");

    let (requests, result, slept) = run(&[(
        400,
        r#"{"__type":"ParameterNotFound","message":"Parameter /shop/db not found."}"#,
    )]);
    assert_eq!(requests, 1);
    assert_eq!(slept, 0.0);
    assert!(result.contains("ParameterNotFound"), "{result}");
}
