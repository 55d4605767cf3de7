//! httpbin's `/ip` behind Cloudflare, trusting Cloudflare's published
//! ranges and refreshing them while it serves: a refresher to copy.
//!
//! ```text
//! cargo run --example cloudflare                      # 127.0.0.1:8000, lists fetched every 6 hours
//! cargo run --example cloudflare -- --listen 0.0.0.0:8000 --refresh 3600
//! curl -s -H 'CF-Connecting-IP: 203.0.113.7' localhost:8000/ip
//!                                                     # {"origin":"127.0.0.1"}: not from Cloudflare
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:8000`), `--refresh SECONDS`
//! (default 21600, at least 1), `--ranges-url URL` (repeatable; default
//! Cloudflare's two lists, <https://www.cloudflare.com/ips-v4> and
//! <https://www.cloudflare.com/ips-v6>).
//!
//! The resolver reads `CF-Connecting-IP` (the source of
//! `deployment:cloudflare`) from peers in a [`SharedProxySet`] that starts
//! as the built-in, dated `Preset::Cloudflare` list. A thread of its own
//! fetches every URL at start and then every `--refresh` seconds, and
//! stores the union of the lists when every fetch succeeded. A fetch that
//! fails, answers an error status, an empty body, or anything that is not
//! a list of ranges (a preset name such as `private` included: a provider
//! publishes ranges) keeps the last good set, and the reason is written to
//! stderr. A refresh that changes the ranges prints one line on stdout:
//! `cloudflare: trusted ranges changed: +ADDED -REMOVED (N ranges)`.
//!
//! `GET /ip` answers `{"origin": "<client>"}` like httpbin, `400` with a
//! short reason when the client cannot be told; `GET /ip/explain` answers
//! the explanation, which shows the set in force.
//!
//! The HTTP client is `ureq`, blocking, on the refresher's own thread: a
//! refresh every few hours needs no async client, and the server's runtime
//! never waits on a fetch. realip itself fetches nothing.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use http::HeaderName;
use ipnet::IpNet;
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, Preset, ProxySet, Resolver, SharedProxySet};
use serde_json::{Value, json};

const USAGE: &str = "usage: cloudflare [--listen ADDR] [--refresh SECONDS] [--ranges-url URL]...\n\
  ADDR defaults to 127.0.0.1:8000, SECONDS to 21600; the URLs to \
  https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6.";

const DEFAULT_URLS: [&str; 2] = [
    "https://www.cloudflare.com/ips-v4",
    "https://www.cloudflare.com/ips-v6",
];

/// How long one fetch may take, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    listen: SocketAddr,
    refresh: Duration,
    urls: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8000));
    let mut refresh = Duration::from_secs(6 * 3600);
    let mut urls = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                listen = v.parse().map_err(|_| {
                    format!("--listen {v:?}: expected an address such as 127.0.0.1:8000")
                })?;
            }
            "--refresh" => {
                let v = value("--refresh")?;
                let seconds = v
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s >= 1 && v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        format!("--refresh {v:?}: expected whole seconds, at least 1")
                    })?;
                refresh = Duration::from_secs(seconds);
            }
            "--ranges-url" => urls.push(value("--ranges-url")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if urls.is_empty() {
        urls = DEFAULT_URLS.map(str::to_owned).to_vec();
    }
    Ok(Options {
        listen,
        refresh,
        urls,
    })
}

/// The ranges the list at `url` names, or why it names none.
fn fetch(agent: &ureq::Agent, url: &str) -> Result<ProxySet, String> {
    let body = agent
        .get(url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|e| format!("{url}: {e}"))?;
    // An empty body, a line that is not a range, or no range at all.
    let list = ProxySet::from_lines(&body).map_err(|e| format!("{url}: {e}"))?;
    // A preset name is realip's word, not a provider's: `private` in a
    // fetched list would trust every RFC 1918 address.
    if let Some(preset) = list.presets().next() {
        return Err(format!(
            "{url}: names the preset {preset:?}, not a range; a published list holds ranges"
        ));
    }
    Ok(list)
}

/// Every range `set` trusts, its presets' included.
fn ranges(set: &ProxySet) -> BTreeSet<IpNet> {
    set.nets()
        .chain(set.presets().flat_map(|p| p.networks().iter().copied()))
        .collect()
}

/// Fetches every list and stores their union, or keeps the last good set.
fn refresh(agent: &ureq::Agent, urls: &[String], trusted: &SharedProxySet) -> Result<(), String> {
    let mut fresh = ProxySet::new();
    for url in urls {
        fresh.extend(fetch(agent, url)?.nets());
    }
    let before = trusted.current();
    trusted.store(fresh).map_err(|e| e.to_string())?;
    let (old, new) = (ranges(&before), ranges(&trusted.current()));
    if old != new {
        let added = new.difference(&old).map(|n| format!("+{n}"));
        let removed = old.difference(&new).map(|n| format!("-{n}"));
        let changes: Vec<String> = added.chain(removed).collect();
        println!(
            "cloudflare: trusted ranges changed: {} ({} ranges)",
            changes.join(" "),
            new.len()
        );
    }
    Ok(())
}

/// Refreshes now, then every `every`, for as long as the process runs.
fn refresher(urls: Vec<String>, every: Duration, trusted: SharedProxySet) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .build()
        .into();
    loop {
        if let Err(why) = refresh(&agent, &urls, &trusted) {
            eprintln!("cloudflare: refresh failed, keeping the last good set: {why}");
        }
        std::thread::sleep(every);
    }
}

/// `GET /ip`: exactly httpbin's answer.
async fn ip(client: ClientIp) -> Json<Value> {
    Json(json!({ "origin": client.to_string() }))
}

/// `GET /ip/explain`: the whole reasoning, with the set in force.
async fn explain(Extension(resolver): Extension<Resolver>, request: Request) -> Response {
    let peer = peer_from_extensions(request.extensions());
    let explanation = resolver.explain(peer, request.headers());
    let status = if explanation.result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, Json(explanation)).into_response()
}

#[tokio::main]
async fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("cloudflare: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let trusted = SharedProxySet::new(ProxySet::preset(Preset::Cloudflare));
    let resolver = Resolver::builder()
        .single_header(HeaderName::from_static("cf-connecting-ip"))
        .trusted_shared_proxies(trusted.clone())
        .build()
        .expect("the built-in Cloudflare list is a sound set");
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cloudflare: cannot listen on {}: {e}", opts.listen);
            std::process::exit(1);
        });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Tests and scripts read this line to learn the port when asked for port 0.
    println!(
        "cloudflare listening on http://{local}; trusting the built-in Cloudflare ranges (as of {}), \
         refreshed every {} s from {}",
        Preset::Cloudflare.as_of().unwrap_or("?"),
        opts.refresh.as_secs(),
        opts.urls.join(", ")
    );
    let refresher_set = trusted.clone();
    std::thread::spawn(move || refresher(opts.urls, opts.refresh, refresher_set));

    let app = Router::new()
        .route("/ip", get(ip))
        .route("/ip/explain", get(explain))
        .layer(ClientIpLayer::new(resolver.clone()))
        .layer(Extension(resolver));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
