//! httpbin's `/ip` behind realip and a rate limit per client: tower_governor
//! keyed by the client realip resolved, never by a header the client
//! writes.
//!
//! ```text
//! cargo run --example governor                      # 127.0.0.1:8000, reads the peer
//! for i in 1 2 3 4 5 6; do curl -s -H "X-Forwarded-For: 198.51.100.$i" localhost:8000/ip; echo; done
//! # five times {"origin":"127.0.0.1"}, then 429 Too Many Requests: the forged header changes nothing
//!
//! REALIP="x-forwarded-for; trust=10.0.0.0/8" cargo run --example governor -- --burst 20 --per-second 3
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:8000`), `--burst N` (the
//! requests a client may send at once, default 5), `--per-second N` (one
//! request comes back every N seconds, tower_governor's `per_second`;
//! default 1), `--ipv4-prefix N` and `--ipv6-prefix N` (the networks that
//! share a limit, default 32 and 64). The realip configuration is the
//! `REALIP` variable (the text form of `realip::config`, default `peer`).
//!
//! `GET /ip` answers `{"origin": "<client>"}` like httpbin, `429` once the
//! client's network has spent its burst, and `400` with a short reason when
//! the client cannot be told.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use realip::governor::ClientIpKeyExtractor;
use realip::tower::ClientIpLayer;
use realip::{ClientIp, RateLimitPrefixes, Resolver};
use serde_json::{Value, json};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;

const USAGE: &str = "usage: governor [--listen ADDR] [--burst N] [--per-second N] \
[--ipv4-prefix N] [--ipv6-prefix N]\n  \
ADDR defaults to 127.0.0.1:8000; a client may send --burst requests (5) at once, then one \
every --per-second seconds (1);\n  \
clients share a limit per IPv4 /32 and IPv6 /64 unless told otherwise; the realip \
configuration is $REALIP, or 'peer'.";

struct Options {
    listen: SocketAddr,
    burst: u32,
    per_second: u64,
    prefixes: RateLimitPrefixes,
    config: String,
}

fn options() -> Result<Options, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8000));
    let (mut burst, mut per_second) = (5u32, 1u64);
    let (mut v4, mut v6) = (
        RateLimitPrefixes::DEFAULT.v4(),
        RateLimitPrefixes::DEFAULT.v6(),
    );
    let config = std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned());
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
            "--burst" => burst = number("--burst", &value("--burst")?)?,
            "--per-second" => per_second = number("--per-second", &value("--per-second")?)?,
            "--ipv4-prefix" => v4 = number("--ipv4-prefix", &value("--ipv4-prefix")?)?,
            "--ipv6-prefix" => v6 = number("--ipv6-prefix", &value("--ipv6-prefix")?)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if burst == 0 || per_second == 0 {
        return Err("--burst and --per-second must be at least 1".to_owned());
    }
    let prefixes = RateLimitPrefixes::new(v4, v6).map_err(|e| e.to_string())?;
    Ok(Options {
        listen,
        burst,
        per_second,
        prefixes,
        config,
    })
}

/// A plain decimal number for `flag`.
fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    // `u32::from_str` also takes "+5"; a flag takes digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{flag} {text:?}: expected a decimal number"));
    }
    text.parse()
        .map_err(|_| format!("{flag} {text:?}: the number is too large"))
}

/// `GET /ip`: exactly httpbin's answer.
async fn ip(client: ClientIp) -> Json<Value> {
    Json(json!({ "origin": client.to_string() }))
}

#[tokio::main]
async fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("governor: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let resolver: Resolver = opts.config.parse().unwrap_or_else(|e| {
        eprintln!("governor: invalid configuration {:?}: {e}", opts.config);
        std::process::exit(2);
    });
    let limit = GovernorConfigBuilder::default()
        .key_extractor(ClientIpKeyExtractor::from_layer().prefixes(opts.prefixes))
        .per_second(opts.per_second)
        .burst_size(opts.burst)
        .finish()
        .expect("a burst and a period of at least 1, checked above");
    // The limiter keeps a bucket per key it has seen: forget the full ones
    // now and then, so that memory follows the active clients.
    let limiter = limit.limiter().clone();
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            limiter.retain_recent();
        }
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("governor: cannot listen on {}: {e}", opts.listen);
            std::process::exit(1);
        });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Tests and scripts read this line to learn the port when asked for port 0.
    println!(
        "governor listening on http://{local} with realip configuration: {resolver}; \
         burst {}, one more every {}s, per {}",
        opts.burst, opts.per_second, opts.prefixes
    );
    // The layer resolves first (the later `.layer`), the limiter reads its
    // answer, and the handler's `ClientIp` is the same client.
    let app = Router::new()
        .route("/ip", get(ip))
        .layer(GovernorLayer::new(limit))
        .layer(ClientIpLayer::new(resolver));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
