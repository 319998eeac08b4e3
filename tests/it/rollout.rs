//! A rollout through a real nginx with the router cdnpub generates: 1,000 visitors, each keeping
//! its cookies, through 10% → 50% → 100% and an abort.

use std::collections::HashMap;
use std::fs;

use cdnpub::release::rollout::{Rollout, Tag};
use cdnpub::release::router::{nginx as router, Origin};
use cdnpub::release::Release;
use serde_json::Value;

use crate::common::nginx::{self, Nginx};
use crate::common::{self, cdnpub, copy_tree, fixtures};

/// One visitor: its user agent and the cookies nginx gave it.
struct Visitor {
    agent: String,
    cookies: HashMap<String, String>,
}

impl Visitor {
    /// GET `/` as this visitor (with `extra` headers); true when it got the candidate's page.
    fn visit(
        &mut self,
        client: &reqwest::blocking::Client,
        web: &Nginx,
        extra: &[(&str, &str)],
    ) -> bool {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut req = client
            .get(web.url("/"))
            .header("User-Agent", &self.agent)
            .header("Cookie", cookie.join("; "));
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        for set in resp.headers().get_all("set-cookie") {
            let first = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = first.split_once('=') {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        resp.text().unwrap().contains("<title>staged ")
    }
}

/// nginx serving `site` with the router of `state`.
fn serve(bin: &str, site: &std::path::Path, state: &Rollout) -> Nginx {
    let (http, server) = router(state, &Origin::Root(site.display().to_string()));
    // The test server already sets the root.
    let server: String = server
        .lines()
        .filter(|l| !l.starts_with("root "))
        .map(|l| format!("{l}\n"))
        .collect();
    Nginx::start_with(bin, site, &http, &server)
}

#[test]
fn a_thousand_visitors_move_with_the_share_and_back_at_once_on_abort() {
    let Some(bin) = nginx::binary() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("dist");
    copy_tree(&fixtures().join("vite-vue/dist"), &src);
    let site = tmp.path().join("site");
    let publish = |extra: &[&str]| -> String {
        let a = cdnpub(tmp.path())
            .args(["--json", "publish"])
            .arg(&src)
            .arg("--to")
            .arg(&site)
            .args(["--server", "https://cdn.example.com"])
            .args(extra)
            .assert()
            .success();
        let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        v["release"].as_str().unwrap().to_string()
    };
    let stable = publish(&[]);
    common::retitle(&src.join("index.html"), "staged");
    let candidate_id = publish(&["--stage"]);
    let key = format!("_cdnpub/releases/{candidate_id}.json");
    let candidate = Release::parse(&key, &fs::read(site.join(&key)).unwrap()).unwrap();
    let tag = Tag::parse("header:x-gray=1").unwrap();
    let mut state = Rollout::start(&stable, &candidate, 10, vec![tag]).unwrap();

    let client = reqwest::blocking::Client::new();
    let mut visitors: Vec<Visitor> = (0..1000)
        .map(|i| Visitor {
            agent: format!("visitor-{i}"),
            cookies: HashMap::new(),
        })
        .collect();
    let mut on_candidate = vec![false; visitors.len()];
    for percent in [10u8, 50, 90, 100] {
        state.set(percent).unwrap();
        let web = serve(bin, &site, &state);
        let mut share = 0;
        for (i, v) in visitors.iter_mut().enumerate() {
            let now = v.visit(&client, &web, &[]);
            assert!(
                now || !on_candidate[i],
                "visitor {i} left the candidate while the share rose to {percent}%"
            );
            // Its navigations agree with its first page.
            assert_eq!(v.visit(&client, &web, &[]), now, "visitor {i} flipped");
            on_candidate[i] = now;
            share += usize::from(now);
        }
        let got = share as f64 / 10.0;
        eprintln!("{percent}%: {share} of 1000 visitors on the candidate");
        assert!(
            (got - f64::from(percent)).abs() <= 3.0,
            "{got}% on the candidate at {percent}%"
        );
        // A request the gateway marked gray sees the candidate, whatever its bucket.
        for v in visitors.iter_mut().take(50) {
            assert!(v.visit(&client, &web, &[("x-gray", "1")]));
        }
    }
    // Abort: every visitor back on the stable pages with its next request.
    state.abort().unwrap();
    let web = serve(bin, &site, &state);
    for (i, v) in visitors.iter_mut().enumerate() {
        assert!(
            !v.visit(&client, &web, &[]),
            "visitor {i} still on the candidate"
        );
        assert!(!v.visit(&client, &web, &[("x-gray", "1")]));
    }
    // A preview pins whoever asks to the staged release; a normal visit gets the stable page.
    let mut reviewer = Visitor {
        agent: "reviewer".into(),
        cookies: HashMap::new(),
    };
    let page = client
        .get(web.url(&format!("/?cdnpub-release={candidate_id}")))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("<title>staged "));
    reviewer
        .cookies
        .insert("cdnpub_release".into(), candidate_id.clone());
    assert!(
        reviewer.visit(&client, &web, &[]),
        "the preview cookie keeps it"
    );
    let mut someone = Visitor {
        agent: "someone".into(),
        cookies: HashMap::new(),
    };
    assert!(!someone.visit(&client, &web, &[]));
    assert_eq!(
        client
            .get(web.url("/_cdnpub/rollout.json"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        403
    );
}
