//! The emulator's own share of a benchmark run: the time moto takes to
//! answer the calls a run makes, measured straight against it. The moto
//! server itself is the tests' ([`berth_testbed::Moto`]).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use berth_testbed::Moto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Time for `n` sequential EC2 `DescribeAvailabilityZones` calls made
/// straight to moto (one connection each, as its HTTP/1.0 server wants):
/// the emulator's own share of a run that makes the same calls.
///
/// # Errors
/// When a call fails.
pub async fn describe_availability_zones(moto: &Moto, n: usize) -> Result<Duration> {
    let body = "Action=DescribeAvailabilityZones&Version=2016-11-15";
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ec2/aws4_request, \
         SignedHeaders=host, Signature=0\r\n\
         Content-Length: {len}\r\n\r\n{body}",
        port = moto.port,
        len = body.len()
    );
    let started = Instant::now();
    for _ in 0..n {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", moto.port)).await?;
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
