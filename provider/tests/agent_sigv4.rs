//! The instance agent (`provider/src/userdata/agent.py`) signs its own AWS
//! calls; these tests check its Signature Version 4 against the AWS SDK for
//! Rust's signer (`aws-sigv4`) on the requests the agent makes: EC2
//! CreateTags (a form), SSM GetParameter and Secrets Manager
//! GetSecretValue (JSON), with and without a session token.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// One request as the agent signs it.
struct Case {
    service: &'static str,
    region: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
    token: Option<&'static str>,
}

/// The Authorization header the agent computes for `case` at `secs`.
fn agent_authorization(case: &Case, secs: u64) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("agent.py"),
        terraform_provider_berth::userdata::shipped_agent(),
    )
    .expect("write agent");
    let headers: serde_json::Map<String, serde_json::Value> = case
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
        .collect();
    let input = serde_json::json!({
        "service": case.service, "region": case.region,
        "headers": headers, "body": case.body, "token": case.token, "secs": secs,
    });
    let script = r#"
import datetime, json, sys
sys.path.insert(0, sys.argv[1])
import agent
c = json.load(sys.stdin)
class Creds: pass
creds = Creds()
creds.access_key, creds.secret_key, creds.token = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", c["token"]
now = datetime.datetime.fromtimestamp(c["secs"], datetime.timezone.utc)
host = agent.endpoint_host(c["service"], c["region"])
out = agent.sign("POST", host, "/", c["body"].encode(), c["headers"], c["service"], c["region"], creds, now)
print(out["Authorization"])
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &dir.path().to_string_lossy()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Authorization header `aws-sigv4` computes for the same request.
fn sdk_authorization(case: &Case, secs: u64) -> String {
    let creds = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        case.token.map(str::to_string),
        None,
        "test",
    );
    let identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(UNIX_EPOCH + Duration::from_secs(secs))
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let host = format!("{}.{}.amazonaws.com", case.service, case.region);
    let mut headers = vec![("host", host.as_str())];
    headers.extend(case.headers.iter().copied());
    let req = SignableRequest::new(
        "POST",
        format!("https://{host}/"),
        headers.into_iter(),
        SignableBody::Bytes(case.body.as_bytes()),
    )
    .expect("request");
    let (instructions, _) = sign(req, &params).expect("sign").into_parts();
    instructions
        .headers()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_string())
        .expect("an Authorization header")
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            service: "ec2",
            region: "us-east-1",
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body: "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-0abc&Tag.1.Key=berth%3Ahealth&Tag.1.Value=unhealthy%3A+bootstrap%3A+pull+denied",
            token: Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN//+=="),
        },
        Case {
            service: "ssm",
            region: "eu-west-1",
            headers: vec![
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "AmazonSSM.GetParameter"),
            ],
            body: r#"{"Name": "/shop/secret_key_base", "WithDecryption": true}"#,
            token: None,
        },
        Case {
            service: "secretsmanager",
            region: "ap-southeast-2",
            headers: vec![
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "secretsmanager.GetSecretValue"),
            ],
            body: r#"{"SecretId": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:redis-AbCdEf"}"#,
            token: Some("FwoGZXIvYXdzEXAMPLE"),
        },
    ]
}

#[test]
fn the_agent_signs_every_call_it_makes_as_the_sdk_does() {
    // 2026-12-03T14:31:51Z and a date across a day boundary.
    for secs in [1_796_394_711_u64, 1_796_428_799] {
        for case in cases() {
            let agent = agent_authorization(&case, secs);
            let sdk = sdk_authorization(&case, secs);
            assert_eq!(agent, sdk, "{} in {} at {secs}", case.service, case.region);
        }
    }
}

#[test]
fn a_changed_body_changes_the_signature() {
    let mut case = cases().remove(1);
    let a = agent_authorization(&case, 1_796_394_711);
    case.body = r#"{"Name": "/shop/other", "WithDecryption": true}"#;
    assert_ne!(a, agent_authorization(&case, 1_796_394_711));
}
