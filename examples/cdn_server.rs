//! The CDN API stand-ins of the tests (tests/it/common/clouds.rs: signature, limits, quota and
//! rate checks) as a program, for bench/purge.sh. Prints the endpoint and the
//! account's (test) variables, then appends `OP API ok|ERROR` for every request to LOG, OP one
//! of quota, purge-url, purge-dir, prefetch, status. Runs until killed.
//!
//! cargo run --release --example cdn_server -- PROVIDER PORT LOG
//! (PROVIDER: aliyun, tencent, cloudflare, qiniu or huawei; quotas are raised to 10^9 so
//! repeated runs fit.)

#[path = "../tests/it/common/clouds.rs"]
mod clouds;
#[path = "../tests/it/common/serve.rs"]
mod serve;

use std::io::Write;

/// One logged request.
struct Line {
    op: String,
    api: String,
    error: Option<String>,
}

/// `ENDPOINT VAR=value…`: what bench/purge.sh reads to reach the stand-in.
fn announce(endpoint: &str, vars: &[(&'static str, String)]) {
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{endpoint} {}", vars.join(" "));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, provider, port, log] = args.as_slice() else {
        eprintln!("usage: cdn_server PROVIDER PORT LOG");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("port");
    let big = 1_000_000_000;
    let dialect = match provider.as_str() {
        "aliyun" => clouds::Dialect::Aliyun,
        "tencent" => clouds::Dialect::Tencent,
        "cloudflare" => clouds::Dialect::Cloudflare,
        "qiniu" => clouds::Dialect::Qiniu,
        "huawei" => clouds::Dialect::Huawei,
        other => {
            eprintln!("cdn_server: unknown provider {other}");
            std::process::exit(2);
        }
    };
    let mut cfg = clouds::CloudConfig::new(dialect);
    (cfg.url_quota, cfg.dir_quota, cfg.prefetch_quota) = (big, big, big);
    let server = clouds::CloudServer::start_on(port, cfg);
    announce(&server.endpoint, &server.env());
    let received = move || -> Vec<Line> {
        server
            .received()
            .into_iter()
            .map(|r| Line {
                op: r.op,
                api: r.api.replace(' ', "_"),
                error: r.error,
            })
            .collect()
    };
    let mut file = std::fs::File::create(log).expect("create the log file");
    let mut written = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let got = received();
        for r in &got[written..] {
            let _ = writeln!(
                file,
                "{} {} {}",
                r.op,
                r.api,
                r.error.as_deref().unwrap_or("ok")
            );
        }
        written = got.len();
    }
}
