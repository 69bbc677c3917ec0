//! A counting HTTP proxy on 127.0.0.1 in front of moto: forwards every
//! HTTP/1.1 request unchanged (on a fresh upstream connection with
//! `Connection: close`), relays the answer, and counts requests by AWS API
//! action, so a benchmark can say how many calls a Terraform run made and
//! a test can check that every call is in the documented IAM permissions.
//!
//! Actions are recognised the way AWS routes them:
//! - Query protocol (EC2, STS, …): `Action=` in the form body (or the
//!   query string);
//! - JSON protocol (SSM, Secrets Manager, …): the `X-Amz-Target` header;
//! - Route53 (REST): method + path shape, e.g. `GET
//!   /2013-04-01/hostedzone/{id}/rrset` is `ListResourceRecordSets`.
//!
//! Each count is keyed `service:Action`, the service taken from the SigV4
//! credential scope (`route53` for its REST paths). The client side keeps
//! its connection across requests (keep-alive) when the answer's framing
//! allows it; the upstream side never does, as moto's server wants.
//!
//! Started with [`CountingProxy::start_with_faults`], it also injects the
//! faults a [`Faults`] injector decides: an AWS error instead of the
//! answer, or, for a lost answer, the error after the call reached moto.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::faults::{FaultCounts, Faults};

/// Largest request or response head accepted.
const MAX_HEAD: usize = 256 * 1024;
/// How long one upstream exchange may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Requests counted by `service:Action`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calls(pub BTreeMap<String, u64>);

impl Calls {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Requests whose action starts with `prefix` (e.g. `Describe`).
    pub fn with_prefix(&self, prefix: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| action_of(k).starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Reads: `Describe*`, `List*` and `Get*` actions.
    pub fn reads(&self) -> u64 {
        ["Describe", "List", "Get"]
            .iter()
            .map(|p| self.with_prefix(p))
            .sum()
    }

    /// `service:Action=n` pairs, largest first.
    pub fn by_count(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.0.iter().map(|(k, n)| (k.clone(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// The counts as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, n)| (k.clone(), serde_json::Value::from(*n)))
                .collect(),
        )
    }
}

/// The action part of a `service:Action` key.
fn action_of(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, a)| a)
}

#[derive(Default)]
struct Counters {
    calls: Mutex<BTreeMap<String, u64>>,
    errors: AtomicU64,
    /// Requests answered so far (numbers fault request ids).
    requests: AtomicU64,
    faults: Option<Arc<Faults>>,
}

impl Counters {
    fn calls(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running proxy; stops (with every connection) when dropped.
pub struct CountingProxy {
    port: u16,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl CountingProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: SocketAddr) -> Result<CountingProxy> {
        Self::listen(upstream, None).await
    }

    /// Like [`CountingProxy::start`], injecting the faults `faults`
    /// decides (it keeps their counts).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_with_faults(
        upstream: SocketAddr,
        faults: Arc<Faults>,
    ) -> Result<CountingProxy> {
        Self::listen(upstream, Some(faults)).await
    }

    async fn listen(upstream: SocketAddr, faults: Option<Arc<Faults>>) -> Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Counters {
            faults,
            ..Counters::default()
        });
        let task = tokio::spawn(accept_loop(listener, upstream, counters.clone()));
        Ok(CountingProxy {
            port,
            counters,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The counts so far, which start again from zero.
    pub fn take(&self) -> Calls {
        Calls(std::mem::take(&mut *self.counters.calls()))
    }

    /// Requests that could not be relayed (upstream unreachable, bad
    /// HTTP) since the start, which start again from zero.
    pub fn take_errors(&self) -> u64 {
        self.counters.errors.swap(0, Ordering::Relaxed)
    }

    /// The faults injected since the start (none without an injector).
    pub fn faults(&self) -> FaultCounts {
        self.counters
            .faults
            .as_ref()
            .map(|f| f.counts())
            .unwrap_or_default()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet: every connection ends.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, counters: Arc<Counters>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let counters = counters.clone();
                    conns.spawn(async move {
                        if connection(stream, upstream, &counters).await.is_err() {
                            counters.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// One parsed request or response head.
#[derive(Debug)]
struct Head {
    /// Request: method, target, version. Response: version, status, reason.
    start: [String; 3],
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(bytes: &[u8]) -> Result<Head> {
        let text = std::str::from_utf8(bytes).context("HTTP head is not UTF-8")?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let mut parts = first.splitn(3, ' ');
        let start = [
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        ];
        if start[1].is_empty() {
            bail!("bad HTTP start line {first:?}");
        }
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap_or((l, ""));
                (k.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        Ok(Head { start, headers })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn chunked(&self) -> bool {
        self.has_token("transfer-encoding", "chunked")
    }

    fn content_length(&self) -> Result<Option<usize>> {
        self.header("content-length")
            .map(|v| v.parse().context("bad Content-Length"))
            .transpose()
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Reads more bytes into `buf`; `false` at end of stream.
async fn fill(s: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

/// Reads until `buf` holds a whole head; its end (after the blank line),
/// or `None` at a clean end of stream before any byte.
async fn read_head(s: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> Result<Option<usize>> {
    loop {
        if let Some(p) = find(buf, b"\r\n\r\n", 0) {
            return Ok(Some(p + 4));
        }
        if buf.len() > MAX_HEAD {
            bail!("HTTP head larger than {MAX_HEAD} bytes");
        }
        if !fill(s, buf).await? {
            if buf.is_empty() {
                return Ok(None);
            }
            bail!("connection closed inside an HTTP head");
        }
    }
}

/// The length of the complete chunked body at the start of `b` (through
/// the trailers' blank line), or `None` if it is not all there yet.
fn chunked_len(b: &[u8]) -> Result<Option<usize>> {
    let mut pos = 0;
    loop {
        let Some(eol) = find(b, b"\r\n", pos) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&b[pos..eol]).context("bad chunk size line")?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16).context("bad chunk size")?;
        pos = eol + 2;
        if size == 0 {
            // Trailers, then a blank line.
            loop {
                let Some(eol) = find(b, b"\r\n", pos) else {
                    return Ok(None);
                };
                let empty = eol == pos;
                pos = eol + 2;
                if empty {
                    return Ok(Some(pos));
                }
            }
        }
        pos += size + 2;
        if pos > b.len() {
            return Ok(None);
        }
    }
}

/// Decodes a complete chunked body.
fn dechunk(b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let eol = find(b, b"\r\n", pos).context("truncated chunk")?;
        let line = std::str::from_utf8(&b[pos..eol]).context("bad chunk size line")?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
            .context("bad chunk size")?;
        pos = eol + 2;
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(pos..pos + size).context("truncated chunk")?);
        pos += size + 2;
    }
}

/// Reads a body of `len` bytes, or chunked, from `s` with `buf` holding
/// what was already read; returns the (decoded) body and leaves the bytes
/// after it in `buf`.
async fn read_body(
    s: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    chunked: bool,
    len: usize,
) -> Result<Vec<u8>> {
    if chunked {
        loop {
            if let Some(n) = chunked_len(buf)? {
                let body = dechunk(&buf[..n])?;
                buf.drain(..n);
                return Ok(body);
            }
            if !fill(s, buf).await? {
                bail!("connection closed inside a chunked body");
            }
        }
    }
    while buf.len() < len {
        if !fill(s, buf).await? {
            bail!("connection closed inside a body");
        }
    }
    Ok(buf.drain(..len).collect())
}

/// Serves one client connection: request after request until it closes.
async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    counters: &Counters,
) -> Result<()> {
    client.set_nodelay(true)?;
    let mut buf = Vec::new();
    loop {
        let Some(head_end) = read_head(&mut client, &mut buf).await? else {
            return Ok(());
        };
        let head = Head::parse(&buf[..head_end - 4])?;
        buf.drain(..head_end);
        if head.has_token("expect", "100-continue") {
            client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let len = head.content_length()?.unwrap_or(0);
        let body = read_body(&mut client, &mut buf, head.chunked(), len).await?;
        let key = classify(&head, &body);
        *counters.calls().entry(key.clone()).or_default() += 1;
        let n = counters.requests.fetch_add(1, Ordering::Relaxed);
        let client_keeps = head.start[2].eq_ignore_ascii_case("HTTP/1.1")
            && !head.has_token("connection", "close");

        let exchange = tokio::time::timeout(UPSTREAM_TIMEOUT, forward(upstream, &head, &body));
        if let Some((service, fault)) = counters.faults.as_ref().and_then(|f| f.decide(&key)) {
            if fault.lost {
                // The call takes effect; its answer never reaches the client.
                if !matches!(exchange.await, Ok(Ok(_))) {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            let id = format!("berth-fault-{n:08}");
            client.write_all(&fault.response(service, &id)).await?;
            if !client_keeps {
                let _ = client.shutdown().await;
                return Ok(());
            }
            continue;
        }
        let (response, keep_alive) = match exchange.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                let msg = format!("berth counting proxy: {e:#}");
                let resp = format!(
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                    msg.len()
                );
                client.write_all(resp.as_bytes()).await?;
                return Ok(());
            }
            Err(_) => bail!("upstream took longer than {UPSTREAM_TIMEOUT:?}"),
        };
        client.write_all(&response).await?;
        if !(keep_alive && client_keeps) {
            let _ = client.shutdown().await;
            return Ok(());
        }
    }
}

/// Headers not passed on: hop-by-hop ones and the framing we rewrite.
const DROPPED: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "content-length",
    "expect",
    "te",
];

/// Sends one request to `upstream` on a fresh connection; returns the
/// raw answer and whether its framing lets the client connection go on.
async fn forward(upstream: SocketAddr, head: &Head, body: &[u8]) -> Result<(Vec<u8>, bool)> {
    let mut up = TcpStream::connect(upstream)
        .await
        .with_context(|| format!("connecting to {upstream}"))?;
    up.set_nodelay(true)?;
    let mut req = format!("{} {} HTTP/1.1\r\n", head.start[0], head.start[1]);
    for (k, v) in &head.headers {
        if !DROPPED.iter().any(|d| k.eq_ignore_ascii_case(d)) {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !body.is_empty() || matches!(head.start[0].as_str(), "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    up.write_all(&out).await?;

    // Read the answer by its framing (moto closes a little after it).
    let mut buf = Vec::new();
    let end = read_head(&mut up, &mut buf)
        .await?
        .context("upstream closed without answering")?;
    let resp = Head::parse(&buf[..end - 4])?;
    let status: u16 = resp.start[1].parse().unwrap_or(0);
    let no_body = head.start[0] == "HEAD" || status == 204 || status == 304 || status < 200;
    let framed = if no_body {
        buf.truncate(end);
        true
    } else if resp.chunked() {
        loop {
            if let Some(n) = chunked_len(&buf[end..])? {
                buf.truncate(end + n);
                break;
            }
            if !fill(&mut up, &mut buf).await? {
                bail!("upstream closed inside a chunked body");
            }
        }
        true
    } else if let Some(len) = resp.content_length()? {
        while buf.len() < end + len {
            if !fill(&mut up, &mut buf).await? {
                bail!("upstream closed inside a body");
            }
        }
        buf.truncate(end + len);
        true
    } else {
        // Delimited by close: read it all; the client connection must close too.
        while fill(&mut up, &mut buf).await? {}
        false
    };
    let keep_alive = framed
        && resp.start[0].eq_ignore_ascii_case("HTTP/1.1")
        && !resp.has_token("connection", "close");
    Ok((buf, keep_alive))
}

/// The `service:Action` key of one request.
fn classify(head: &Head, body: &[u8]) -> String {
    let (method, target) = (head.start[0].as_str(), head.start[1].as_str());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let service = head
        .header("authorization")
        .and_then(service_of)
        .unwrap_or_else(|| "unsigned".into());
    if let Some(t) = head.header("x-amz-target") {
        let action = t.rsplit('.').next().unwrap_or(t);
        return format!("{service}:{action}");
    }
    let form = head
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let action = form_value(query, "Action").or_else(|| {
        form.then(|| form_value(&String::from_utf8_lossy(body), "Action"))
            .flatten()
    });
    if let Some(a) = action {
        return format!("{service}:{a}");
    }
    if let Some(rest) = path.strip_prefix("/2013-04-01/") {
        return format!("route53:{}", route53_action(method, rest));
    }
    format!("{service}:{method} {}", shape(path))
}

/// The IAM service prefix of a SigV4 `Authorization` header's credential
/// scope (`Credential=AKID/20250101/us-east-1/ec2/aws4_request`): the
/// signing name, but `cloudwatch` for CloudWatch's `monitoring`.
fn service_of(auth: &str) -> Option<String> {
    let cred = auth.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(|s| match s {
        "monitoring" => "cloudwatch".to_owned(),
        s => s.to_owned(),
    })
}

/// The value of `key` in an `a=b&c=d` string (action names need no
/// percent-decoding).
fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key && !v.is_empty()).then(|| v.to_owned())
    })
}

/// A path with id-like segments replaced by `{id}`.
fn shape(path: &str) -> String {
    let segs: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    segs.join("/")
}

/// Route53's REST operations by method and path (after `/2013-04-01/`).
fn route53_action(method: &str, rest: &str) -> String {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let name = match (method, segs.as_slice()) {
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("POST", ["hostedzone", _]) => "UpdateHostedZoneComment",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("POST", ["hostedzone", _, "associatevpc"]) => "AssociateVPCWithHostedZone",
        ("POST", ["hostedzone", _, "disassociatevpc"]) => "DisassociateVPCFromHostedZone",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzonesbyvpc"]) => "ListHostedZonesByVPC",
        ("GET", ["hostedzonecount"]) => "GetHostedZoneCount",
        ("GET", ["change", _]) => "GetChange",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("POST", ["tags", _]) => "ListTagsForResources",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        ("GET", ["delegationset"]) => "ListReusableDelegationSets",
        ("GET", ["delegationset", _]) => "GetReusableDelegationSet",
        ("GET", ["queryloggingconfig"]) => "ListQueryLoggingConfigs",
        ("GET", ["hostedzone", _, "dnssec"]) => "GetDNSSEC",
        _ => return format!("{method} /2013-04-01/{}", shape(rest)),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        Head::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn actions_are_classified_per_protocol() {
        let ec2 = head(
            "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        );
        assert_eq!(
            classify(
                &ec2,
                b"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag"
            ),
            "ec2:DescribeInstances"
        );
        let ssm = head(
            "POST / HTTP/1.1\r\nX-Amz-Target: AmazonSSM.GetParameter\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/ssm/aws4_request,SignedHeaders=host,Signature=0",
        );
        assert_eq!(classify(&ssm, b"{}"), "ssm:GetParameter");
        let list = head("GET /2013-04-01/hostedzone/Z123ABC/rrset?maxitems=300 HTTP/1.1");
        assert_eq!(classify(&list, b""), "route53:ListResourceRecordSets");
        let change = head("POST /2013-04-01/hostedzone/Z123ABC/rrset/ HTTP/1.1");
        assert_eq!(
            classify(&change, b"<x/>"),
            "route53:ChangeResourceRecordSets"
        );
        let get = head("GET /2013-04-01/change/C2682N5HXP0BZ4 HTTP/1.1");
        assert_eq!(classify(&get, b""), "route53:GetChange");
        let odd = head("GET /2013-04-01/trafficpolicy/abc1/2 HTTP/1.1");
        assert_eq!(
            classify(&odd, b""),
            "route53:GET /2013-04-01/trafficpolicy/{id}/{id}"
        );
        let sts = head("POST /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1");
        assert_eq!(classify(&sts, b""), "unsigned:GetCallerIdentity");
    }

    #[test]
    fn chunked_bodies_are_framed_and_decoded() {
        let body = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\nNEXT";
        assert_eq!(chunked_len(body).ok().flatten(), Some(body.len() - 4));
        assert_eq!(chunked_len(&body[..10]).ok().flatten(), None);
        assert_eq!(
            dechunk(body).unwrap_or_else(|e| panic!("{e}")),
            b"Wikipedia".to_vec()
        );
    }

    #[test]
    fn counts_by_prefix() {
        let calls = Calls(
            [
                ("ec2:DescribeInstances".to_owned(), 2),
                ("route53:ListResourceRecordSets".to_owned(), 1),
                ("route53:GetChange".to_owned(), 3),
                ("ec2:RunInstances".to_owned(), 1),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(calls.total(), 7);
        assert_eq!(calls.with_prefix("Describe"), 2);
        assert_eq!(calls.reads(), 6);
        assert_eq!(calls.by_count()[0], ("route53:GetChange".to_owned(), 3));
    }
}
