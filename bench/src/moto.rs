//! A moto server (the AWS API emulator) on 127.0.0.1 for the benchmarks,
//! emptied on request (`reset`) and killed when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long moto may take to answer after starting.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads one HTTP response with a `Content-Length` body and returns it
/// without waiting for the server to close the connection (which werkzeug
/// does ~10 ms later), failing unless the status is 200.
async fn read_response(s: &mut tokio::net::TcpStream) -> Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-response");
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        if !head.starts_with("http/1.1 200") && !head.starts_with("http/1.0 200") {
            bail!("moto answered {}", head.lines().next().unwrap_or(""));
        }
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .context("no Content-Length in moto's answer")?;
        if buf.len() >= end + 4 + length {
            return Ok(String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned());
        }
    }
}

/// A running `moto_server`; SIGKILLed on drop.
pub struct Moto {
    child: tokio::process::Child,
    log: tempfile::NamedTempFile,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Moto {
    /// Starts `<tools>/venv/bin/moto_server` on a free port and waits until
    /// it answers HTTP.
    ///
    /// # Errors
    /// When it cannot be started or does not answer within a minute.
    pub async fn start(tools: &Path) -> Result<Moto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = tempfile::Builder::new()
            .prefix("berth-bench-moto-")
            .tempfile()?;
        let bin = tools.join("venv/bin/moto_server");
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen()?)
            .stderr(log.reopen()?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} (run ./scripts/setup)", bin.display()))?;
        let mut moto = Moto { child, log, port };
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if moto.request("GET", "/moto-api/").await.is_ok() {
                return Ok(moto);
            }
            if let Some(status) = moto.child.try_wait()? {
                bail!("moto_server exited ({status}): {}", moto.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "moto_server did not answer on port {port} within {START_TIMEOUT:?}: {}",
            moto.log_text()
        )
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Time for `n` sequential EC2 `DescribeAvailabilityZones` calls made
    /// straight to moto (one connection each, as its HTTP/1.0 server wants):
    /// the emulator's own share of a run that makes the same calls.
    ///
    /// # Errors
    /// When a call fails.
    pub async fn describe_availability_zones(&self, n: usize) -> Result<Duration> {
        let body = "Action=DescribeAvailabilityZones&Version=2016-11-15";
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=0\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            port = self.port,
            len = body.len()
        );
        let started = Instant::now();
        for _ in 0..n {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            s.write_all(request.as_bytes()).await?;
            let response =
                tokio::time::timeout(Duration::from_secs(10), read_response(&mut s)).await??;
            if !response.contains("availabilityZoneInfo") {
                bail!(
                    "moto DescribeAvailabilityZones: {}",
                    response.lines().next().unwrap_or("")
                );
            }
        }
        Ok(started.elapsed())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Its address.
    pub fn addr(&self) -> std::net::SocketAddr {
        (std::net::Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// Empties the emulator (`POST /moto-api/reset`).
    ///
    /// # Errors
    /// When the call fails.
    pub async fn reset(&self) -> Result<()> {
        self.request("POST", "/moto-api/reset").await
    }

    /// A minimal HTTP/1.0 request without a body; succeeds on a 200 answer.
    async fn request(&self, method: &str, path: &str) -> Result<()> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        s.write_all(
            format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut head = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head)).await??;
        if !head.ends_with(b" 200") {
            bail!("moto answered {}", String::from_utf8_lossy(&head));
        }
        Ok(())
    }
}
