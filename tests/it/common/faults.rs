//! A fault-injecting HTTP proxy for tests, between cdnpub and a real S3 server on loopback.
//! Each request's fate comes from a seeded hash of its sequence number, so a run is
//! reproducible: answered with an S3 error (500 InternalError / 503 SlowDown) without reaching
//! the server, the connection dropped after part of the request body, delayed, or forwarded
//! untouched (the Host header is kept, so SigV4 still verifies upstream). `set_down(true)`
//! makes the store "go down": every request is answered 503 until `set_down(false)`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::serve::{serve, Served};

/// What to inject, in percent of requests.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Answer 500 InternalError or 503 SlowDown (alternately) without forwarding.
    pub error_pct: u64,
    /// Drop the connection after reading part of the request body.
    pub reset_pct: u64,
    /// Forward after `delay`.
    pub delay_pct: u64,
    /// The delay.
    pub delay: Duration,
    /// Seed of the fates.
    pub seed: u64,
    /// Go down (as `set_down(true)`) once this many requests were forwarded.
    pub down_after: Option<usize>,
    /// Answer 503 to every PUT whose path ends with this (one object's writes fail).
    pub fail_put: Option<&'static str>,
    /// Hold every PUT whose path ends with this, unanswered, and raise `Stats::held` (a test
    /// kills the client in exactly that window).
    pub hold_put: Option<&'static str>,
    /// Hold the Nth PUT (from 1), and every one after it, the same way.
    pub hold_nth_put: Option<usize>,
}

impl Faults {
    /// No faults: a transparent proxy.
    pub fn none() -> Self {
        Faults {
            error_pct: 0,
            reset_pct: 0,
            delay_pct: 0,
            delay: Duration::ZERO,
            seed: 0,
            down_after: None,
            fail_put: None,
            hold_put: None,
            hold_nth_put: None,
        }
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests answered with an injected error.
    pub errors: AtomicUsize,
    /// Connections dropped mid-body.
    pub resets: AtomicUsize,
    /// Requests delayed.
    pub delays: AtomicUsize,
    /// Requests forwarded to the server.
    pub forwarded: AtomicUsize,
    /// Requests refused while down.
    pub refused: AtomicUsize,
    /// Requests being handled now.
    pub in_flight: AtomicUsize,
    /// The most requests handled at once.
    pub peak: AtomicUsize,
    /// A PUT matching `Faults::hold_put` arrived and is being held.
    pub held: (std::sync::Mutex<bool>, std::sync::Condvar),
    /// PUTs that arrived.
    pub puts_seen: AtomicUsize,
    /// Per PUT path: attempts seen, and whether the last one was forwarded (not failed here).
    pub puts: std::sync::Mutex<std::collections::BTreeMap<String, (usize, bool)>>,
}

/// A running proxy; stopped when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// What it did.
    pub stats: Arc<Stats>,
    down: Arc<AtomicBool>,
    _served: Served,
}

/// splitmix64: a well-mixed hash of (seed, n).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn s3_error(status: u16, code: &str) -> hyper::Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>"
    );
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

impl FaultProxy {
    /// Proxy to `upstream` (`http://127.0.0.1:PORT`) with `faults`.
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let stats = Arc::new(Stats::default());
        let down = Arc::new(AtomicBool::new(false));
        let (st, dn, up) = (stats.clone(), down.clone(), upstream.to_string());
        let served = serve(0, move || {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let seq = Arc::new(AtomicUsize::new(0));
            move |req: hyper::Request<hyper::body::Incoming>| {
                let n = seq.fetch_add(1, Ordering::Relaxed) as u64;
                let (client, st, dn, up) = (client.clone(), st.clone(), dn.clone(), up.clone());
                async move {
                    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    st.peak.fetch_max(now, Ordering::SeqCst);
                    let reply = handle(req, n, faults, client, st.clone(), dn, up).await;
                    st.in_flight.fetch_sub(1, Ordering::SeqCst);
                    reply
                }
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{}", served.port),
            stats,
            down,
            _served: served,
        }
    }

    /// Take the store down (every request answered 503) or bring it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Wait until a PUT matching `Faults::hold_put` is held (at most `limit`); true when one is.
    pub fn wait_held(&self, limit: Duration) -> bool {
        let (flag, raised) = &self.stats.held;
        let held = flag.lock().unwrap();
        let (held, _) = raised.wait_timeout_while(held, limit, |h| !*h).unwrap();
        *held
    }

    /// Injected faults so far (errors + resets + delays).
    pub fn injected(&self) -> usize {
        self.stats.errors.load(Ordering::Relaxed)
            + self.stats.resets.load(Ordering::Relaxed)
            + self.stats.delays.load(Ordering::Relaxed)
    }
}

type Reply = Result<hyper::Response<Full<Bytes>>, std::io::Error>;

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    n: u64,
    f: Faults,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    st: Arc<Stats>,
    down: Arc<AtomicBool>,
    upstream: String,
) -> Reply {
    let (parts, mut body) = req.into_parts();
    let roll = mix(f.seed, n) % 100;
    let put = (parts.method == hyper::Method::PUT).then(|| parts.uri.path().to_string());
    let reply = answer(parts, &mut body, roll, n, f, client, &st, down, upstream).await;
    if let (Some(path), Ok(mut puts)) = (put, st.puts.lock()) {
        let forwarded = reply.as_ref().is_ok_and(|r| r.status().is_success());
        let e = puts.entry(path).or_default();
        e.0 += 1;
        e.1 = forwarded;
    }
    reply
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    parts: hyper::http::request::Parts,
    body: &mut hyper::body::Incoming,
    roll: u64,
    n: u64,
    f: Faults,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    st: &Arc<Stats>,
    down: Arc<AtomicBool>,
    upstream: String,
) -> Reply {
    if f.down_after
        .is_some_and(|k| st.forwarded.load(Ordering::SeqCst) >= k)
    {
        down.store(true, Ordering::SeqCst);
    }
    let is_put = parts.method == hyper::Method::PUT;
    let nth = if is_put {
        st.puts_seen.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    if f.hold_put
        .is_some_and(|tail| is_put && parts.uri.path().ends_with(tail))
        || f.hold_nth_put.is_some_and(|n| is_put && nth >= n)
    {
        let (flag, raised) = &st.held;
        if let Ok(mut held) = flag.lock() {
            *held = true;
            raised.notify_all();
        }
        // Never answered: the client is killed while it waits.
        std::future::pending::<()>().await;
    }
    let targeted = f
        .fail_put
        .is_some_and(|tail| parts.method == hyper::Method::PUT && parts.uri.path().ends_with(tail));
    if down.load(Ordering::SeqCst) || targeted {
        let _ = body.collect().await;
        st.refused.fetch_add(1, Ordering::Relaxed);
        return Ok(s3_error(503, "ServiceUnavailable"));
    }
    if roll < f.reset_pct {
        // Read a little of the body, then drop the connection.
        let _ = body.frame().await;
        st.resets.fetch_add(1, Ordering::Relaxed);
        return Err(io("connection dropped by the fault proxy"));
    }
    let bytes = body.collect().await.map_err(io)?.to_bytes();
    if roll < f.reset_pct + f.error_pct {
        st.errors.fetch_add(1, Ordering::Relaxed);
        return Ok(if n.is_multiple_of(2) {
            s3_error(503, "SlowDown")
        } else {
            s3_error(500, "InternalError")
        });
    }
    if roll < f.reset_pct + f.error_pct + f.delay_pct {
        st.delays.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(f.delay).await;
    }
    let uri = format!(
        "{upstream}{}",
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut fwd = hyper::Request::builder().method(parts.method).uri(uri);
    for (k, v) in &parts.headers {
        fwd = fwd.header(k, v);
    }
    let resp = client
        .request(fwd.body(Full::new(bytes)).map_err(io)?)
        .await
        .map_err(io)?;
    st.forwarded.fetch_add(1, Ordering::Relaxed);
    let (rp, rb) = resp.into_parts();
    let data = rb.collect().await.map_err(io)?.to_bytes();
    Ok(hyper::Response::from_parts(rp, Full::new(data)))
}
