//! One loopback HTTP server loop for the tests' servers (the S3 server, the Alibaba Cloud CDN
//! stand-in, the fault proxy): a thread with its own runtime, 127.0.0.1 and the given port (0: a
//! free one), each connection served by `handler`; stopped and joined when the guard drops.
#![allow(dead_code)]

use std::future::Future;
use std::thread::JoinHandle;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A running server; stopped when dropped.
pub struct Served {
    /// The port it listens on.
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serve on 127.0.0.1:`port`; `setup` runs on the server's runtime and returns the handler.
pub fn serve<S, F, Fut, B, E>(port: u16, setup: S) -> Served
where
    S: FnOnce() -> F + Send + 'static,
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<hyper::Response<B>, E>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let handler = setup();
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let (socket, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
                    _ = &mut stop_rx => break,
                };
                let h = handler.clone();
                let svc = hyper::service::service_fn(h);
                let conn = http
                    .serve_connection(TokioIo::new(socket), svc)
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
    });
    Served {
        port: port_rx.recv().unwrap(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}
