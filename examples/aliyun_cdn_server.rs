//! The Alibaba Cloud CDN stand-in of the tests (tests/it/common/aliyun.rs: signature, limits,
//! quota and rate checks) as a program, for bench/purge.sh. Appends `ACTION [ERROR]` for every
//! request to LOG. Runs until killed.
//!
//! cargo run --release --example aliyun_cdn_server -- PORT LOG
//! (key id and secret: the stand-in's defaults, printed on start; quotas are raised to 10^9 so
//! repeated runs fit.)

#[path = "../tests/it/common/aliyun.rs"]
mod aliyun;
#[path = "../tests/it/common/serve.rs"]
mod serve;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, log] = args.as_slice() else {
        eprintln!("usage: aliyun_cdn_server PORT LOG");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("port");
    let server = aliyun::AliyunServer::start_on(
        port,
        aliyun::AliyunConfig {
            url_quota: 1_000_000_000,
            dir_quota: 1_000_000_000,
            preload_quota: 1_000_000_000,
            ..aliyun::AliyunConfig::default()
        },
    );
    println!(
        "{} ALIBABA_CLOUD_ACCESS_KEY_ID={} ALIBABA_CLOUD_ACCESS_KEY_SECRET={}",
        server.endpoint, server.config.key_id, server.config.secret
    );
    let mut file = std::fs::File::create(log).expect("create the log file");
    let mut written = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let got = server.received();
        for r in &got[written..] {
            let _ = writeln!(file, "{} {}", r.action, r.error.as_deref().unwrap_or("ok"));
        }
        written = got.len();
    }
}
