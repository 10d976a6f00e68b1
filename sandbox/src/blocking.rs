//! A sandbox for synchronous tests (e.g. `assert_cmd`): the server runs on its own thread
//! with its own Tokio runtime and stops when the handle is dropped. The admin helpers
//! speak plain HTTP/1.1 over a `std` TCP stream and panic with a clear message on any
//! failure, as test helpers should.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::{Options, Sandbox, Scenario};

/// A sandbox running on a background thread.
pub struct BlockingSandbox {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BlockingSandbox {
    /// Starts the server on `127.0.0.1:0` and waits until it listens.
    pub fn start(scenario: Scenario, options: Options) -> io::Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kodo-sandbox".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Sandbox::start(scenario, options).await {
                        Ok(sandbox) => {
                            let _ = ready_tx.send(Ok(sandbox.addr()));
                            let _ = stop_rx.await;
                            sandbox.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let addr = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the sandbox thread ended before it was ready"))??;
        Ok(BlockingSandbox {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET /__admin{path}`, e.g. `admin_get("/state")`. Panics unless the answer is 2xx JSON.
    pub fn admin_get(&self, path: &str) -> Value {
        self.admin_send("GET", path, Value::Null)
    }

    /// Sends `body` (unless null) to `/__admin{path}`. Panics unless the answer is 2xx JSON.
    pub fn admin_send(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, value) = self.admin_request(method, path, body);
        assert!(
            (200..300).contains(&status),
            "kodo-sandbox admin {method} {path} answered {status}: {value}"
        );
        value
    }

    /// Like [`admin_send`](Self::admin_send) but returns the status too and does not
    /// panic on error statuses (e.g. to check that an admin write was refused).
    pub fn admin_request(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let path = if path.starts_with("/__admin") {
            path.to_string()
        } else {
            format!("/__admin{path}")
        };
        match http_request(self.addr, method, &path, &body) {
            Ok(answer) => answer,
            Err(e) => panic!("kodo-sandbox admin {method} {path} failed: {e}"),
        }
    }
}

fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &Value,
) -> io::Result<(u16, Value)> {
    let payload = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut stream = TcpStream::connect(addr)?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line: {head}")))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            io::Error::other(format!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            ))
        })?
    };
    Ok((status, value))
}

fn dechunk(mut body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| io::Error::other("bad chunked body"))?;
        let size_text = String::from_utf8_lossy(&body[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| io::Error::other("bad chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err(io::Error::other("truncated chunk"));
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

impl Drop for BlockingSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
