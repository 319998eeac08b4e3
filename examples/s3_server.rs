//! A local S3 server for benchmarks: s3s-fs (a real S3 implementation that checks SigV4) on a
//! loopback port, appending `METHOD PATH?QUERY` of every request to a log file so a benchmark can
//! count the requests each tool made. Stops on SIGTERM / Ctrl-C.
//!
//! cargo run --release --example s3_server -- ROOT PORT ACCESS_KEY SECRET_KEY LOG

use std::io::Write;
use std::sync::{Arc, Mutex};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, root, port, ak, sk, log] = args.as_slice() else {
        eprintln!("usage: s3_server ROOT PORT ACCESS_KEY SECRET_KEY LOG");
        std::process::exit(2);
    };
    let fs = s3s_fs::FileSystem::new(root).expect("open the root directory");
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(ak.clone(), sk.clone()));
    let service = b.build();
    let log = Arc::new(Mutex::new(
        // Append mode: a benchmark empties the log with `: > LOG` between steps, and every
        // write must then land at the new end, not at the old offset behind a hole of NULs
        // (which hid the first request after each truncation from the counts).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|f| f.set_len(0).map(|()| f))
            .expect("create the log file"),
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().expect("port")))
        .await
        .expect("bind");
    let http = ConnBuilder::new(TokioExecutor::new());
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let (socket, _) = tokio::select! {
            r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
            _ = stop.as_mut() => break,
        };
        let (service, log) = (service.clone(), log.clone());
        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let line = format!(
                "{} {}\n",
                req.method(),
                req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("")
            );
            let _ = log.lock().map(|mut f| f.write_all(line.as_bytes()));
            hyper::service::Service::call(&service, req)
        });
        let conn = http
            .serve_connection(TokioIo::new(socket), svc)
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
