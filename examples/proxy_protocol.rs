//! httpbin's `/ip` behind a PROXY-protocol load balancer (HAProxy
//! `send-proxy-v2`, AWS NLB, …): the client's address survives source NAT.
//!
//! ```text
//! cargo run --example proxy_protocol                # 127.0.0.1:8000, headers accepted from 127.0.0.0/8
//! printf 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 8000\r\nGET /ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
//!   | nc 127.0.0.1 8000                             # {"origin":"203.0.113.7"}
//! curl -s localhost:8000/ip                         # no header from a trusted sender: connection closed
//!
//! # A balancer subnet in front of gateways that append X-Forwarded-For:
//! cargo run --example proxy_protocol -- --listen 0.0.0.0:8000 --senders 10.0.0.0/24 \
//!   --config 'x-forwarded-for; trust=10.1.0.0/16'
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:8000`), `--senders CIDRS`
//! (the PROXY senders, default `127.0.0.0/8`), `--mixed` (serve other
//! peers plain instead of closing their connections), `--header-timeout
//! SECONDS` (default 5), `--max-handshakes N` (how many PROXY headers are
//! read at once, at least 1, default
//! `realip::proxy_protocol::DEFAULT_MAX_HANDSHAKES`, 1024; when that many
//! senders are silent, a new one takes the oldest one's place),
//! `--config TEXT` (or `REALIP`; the text form of `realip::config`, default
//! `peer`: the PROXY source is the client).
//!
//! `GET /ip` answers `{"origin": "<client>"}`; `GET /ip/explain` the
//! explanation (its `peer` shows the PROXY hop); `GET /connection` what the
//! PROXY header said.

use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use realip::proxy_protocol::{DEFAULT_MAX_HANDSHAKES, Mode, ProxyConnInfo, ProxyProtocolListener};
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, ProxySet, Resolver};
use serde_json::{Value, json};

const USAGE: &str = "usage: proxy_protocol [--listen ADDR] [--senders CIDRS] [--mixed] \
[--header-timeout SECONDS] [--max-handshakes N] [--config 'REALIP TEXT']";

struct Options {
    listen: String,
    senders: ProxySet,
    mode: Mode,
    header_timeout: Duration,
    max_handshakes: usize,
    config: String,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        listen: "127.0.0.1:8000".to_owned(),
        senders: "127.0.0.0/8".parse().expect("a valid range"),
        mode: Mode::Required,
        header_timeout: Duration::from_secs(5),
        max_handshakes: DEFAULT_MAX_HANDSHAKES,
        config: std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--listen" => opts.listen = value("--listen")?,
            "--senders" => {
                let v = value("--senders")?;
                opts.senders = v.parse().map_err(|e| format!("--senders {v:?}: {e}"))?;
            }
            "--mixed" => opts.mode = Mode::Mixed,
            "--header-timeout" => {
                let v = value("--header-timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--header-timeout {v:?}: expected seconds"))?;
                opts.header_timeout = Duration::from_secs_f64(secs);
            }
            "--max-handshakes" => {
                let v = value("--max-handshakes")?;
                opts.max_handshakes = Some(v.as_str())
                    // Digits only: `parse` would also take a leading `+`.
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse().ok())
                    .filter(|n: &usize| *n >= 1)
                    .ok_or_else(|| {
                        format!("--max-handshakes {v:?}: expected a whole number, at least 1")
                    })?;
            }
            "--config" => opts.config = value("--config")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

/// `GET /ip`: httpbin's answer.
async fn ip(client: ClientIp) -> Json<Value> {
    Json(json!({ "origin": client.to_string() }))
}

/// `GET /ip/explain`: the whole reasoning, the PROXY hop included.
async fn explain(Extension(resolver): Extension<Resolver>, request: Request) -> Response {
    let explanation = resolver.explain(
        peer_from_extensions(request.extensions()),
        request.headers(),
    );
    let status = if explanation.result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, Json(explanation)).into_response()
}

/// `GET /connection`: the socket peer and what the PROXY header said.
async fn connection(ConnectInfo(info): ConnectInfo<ProxyConnInfo>) -> Json<Value> {
    let tlvs = info.tlvs();
    let text = |v: Option<&[u8]>| v.map(|v| String::from_utf8_lossy(v).into_owned());
    Json(json!({
        "socket_peer": info.socket_peer().to_string(),
        "header": info.version().map(|v| format!("v{v}")),
        "command": info.command().map(|c| c.to_string()),
        "source": info.source().map(|a| a.to_string()),
        "destination": info.destination().map(|a| a.to_string()),
        "peer": info.peer().to_string(),
        "alpn": text(tlvs.alpn()),
        "authority": tlvs.authority(),
        "unique_id": text(tlvs.unique_id()),
        "crc32c": tlvs.crc32c().map(|c| format!("{c:#010x}")),
        "aws_vpce_id": tlvs.aws_vpce_id(),
        "azure_link_id": tlvs.azure_link_id(),
        "tls_version": tlvs.ssl().and_then(|s| s.version()),
    }))
}

fn app(resolver: Resolver) -> Router {
    Router::new()
        .route("/ip", get(ip))
        .route("/ip/explain", get(explain))
        .route("/connection", get(connection))
        .layer(ClientIpLayer::new(resolver.clone()))
        .layer(Extension(resolver))
}

#[tokio::main]
async fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("proxy_protocol: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let resolver: Resolver = opts.config.parse().unwrap_or_else(|e| {
        eprintln!(
            "proxy_protocol: invalid configuration {:?}: {e}",
            opts.config
        );
        std::process::exit(2);
    });
    let listener = ProxyProtocolListener::builder(opts.senders.clone())
        .mode(opts.mode)
        .header_timeout(opts.header_timeout)
        .max_handshakes(opts.max_handshakes)
        .bind(&opts.listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("proxy_protocol: cannot listen on {}: {e}", opts.listen);
            std::process::exit(1);
        });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Scripts read this line to learn the port when asked for port 0.
    println!(
        "proxy_protocol listening on http://{local}; PROXY headers from {} ({:?} mode); realip configuration: {resolver}",
        opts.senders, opts.mode
    );
    axum::serve(
        listener,
        app(resolver).into_make_service_with_connect_info::<ProxyConnInfo>(),
    )
    .await
    .expect("server error");
}
