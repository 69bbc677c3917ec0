//! A tiny HTTP recorder for what instances report from inside their
//! containers (the release command of the real-instance tests calls it):
//! every request's path and when it arrived. It listens on an address of
//! the bed's own (the Docker bridge's gateway), answers `200 ok` and
//! stops when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// One recorded request: when it arrived and its path (with the query).
pub type Hit = (Instant, String);

/// A running recorder.
pub struct Recorder {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Listens on `ip` (a port of its own).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start(ip: &str) -> Result<Recorder> {
        let listener = TcpListener::bind((ip, 0)).with_context(|| format!("binding {ip}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let at = Instant::now();
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut buf = [0u8; 4096];
                        let n = conn.read(&mut buf).unwrap_or(0);
                        let head = String::from_utf8_lossy(&buf[..n]).to_string();
                        let path = head
                            .lines()
                            .next()
                            .and_then(|l| l.split_whitespace().nth(1))
                            .unwrap_or_default()
                            .to_string();
                        if let Ok(mut hits) = h.lock() {
                            hits.push((at, path));
                        }
                        let _ = conn.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Recorder {
            addr,
            hits,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The value of `key` in the query of `path` (`/run?release=2&…`).
pub fn query<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    path.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_records_each_request_and_answers_ok() {
        let r = Recorder::start("127.0.0.1").expect("bind");
        let mut c = std::net::TcpStream::connect(r.addr).expect("connect");
        c.write_all(b"POST /run?instance=i-1&release=2 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut answer = String::new();
        c.read_to_string(&mut answer).expect("answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let hits = r.hits();
        assert_eq!(hits.len(), 1);
        assert_eq!(query(&hits[0].1, "release"), Some("2"));
        assert_eq!(query(&hits[0].1, "instance"), Some("i-1"));
        assert_eq!(query(&hits[0].1, "other"), None);
    }
}
