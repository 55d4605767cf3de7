//! httpbin's `/ip`, in Rust, behind realip: the application of the
//! service-mesh guide this crate was built for.
//!
//! ```text
//! cargo run --example httpbin                       # listens on 127.0.0.1:8000, reads the peer
//! curl -s localhost:8000/ip                         # {"origin":"127.0.0.1"}
//! curl -s localhost:8000/ip/explain                 # every hop, its verdict, diagnostics
//! curl -s localhost:8000/headers                    # the request headers, as received
//! curl -s localhost:8000/url                        # {"url":"http://localhost:8000/url"}
//!
//! REALIP="x-forwarded-for; trust=istio-sidecar" cargo run --example httpbin -- --listen 0.0.0.0:8000
//! ```
//!
//! Options: `--listen ADDR` (or the `PORT` variable: `127.0.0.1:$PORT`),
//! `--config TEXT` (or the `REALIP` variable; the text form of
//! `realip::config`, default `peer`).
//!
//! `GET /ip` answers `{"origin": "<client>"}` like httpbin does, and a
//! request whose client cannot be told gets `400` with a short reason.
//! `GET /ip/explain` answers the explanation as JSON (the `explain`
//! example's shape) for any request, resolvable or not. `GET /url` answers
//! `{"url": "<scheme>://<host><path>"}` with the scheme and host the client
//! used, as the resolver read them beside the client's hop (`proto=`,
//! `host=` in the configuration), and the request's own (`http` and its
//! `Host`) where it read none.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use realip::axum::BaseUrl;
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, Resolver};
use serde_json::{Map, Value, json};

const USAGE: &str = "usage: httpbin [--listen ADDR] [--config 'REALIP TEXT']\n\
  ADDR defaults to 127.0.0.1:$PORT, or 127.0.0.1:8000; the configuration to $REALIP, or 'peer'.";

struct Options {
    listen: SocketAddr,
    config: String,
}

fn options() -> Result<Options, String> {
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .parse::<u16>()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 8000,
    };
    let mut listen = SocketAddr::from(([127, 0, 0, 1], port));
    let mut config = std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned());
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
            "--config" => config = value("--config")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options { listen, config })
}

/// `GET /ip`: exactly httpbin's answer.
async fn ip(client: ClientIp) -> Json<Value> {
    Json(json!({ "origin": client.to_string() }))
}

/// `GET /ip/explain`: the whole reasoning, for resolvable requests and
/// others alike.
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

/// `GET /url`: the URL the client asked for.
async fn url(base: BaseUrl, uri: axum::http::Uri) -> Json<Value> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Json(json!({ "url": format!("{base}{path}") }))
}

/// `GET /headers`: the request headers, like httpbin (repeated lines joined
/// with a comma).
async fn headers(headers: HeaderMap) -> Json<Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let value = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(name.to_string(), Value::String(value));
    }
    Json(json!({ "headers": out }))
}

/// The application, configured with `resolver`.
fn app(resolver: Resolver) -> Router {
    Router::new()
        .route("/ip", get(ip))
        .route("/ip/explain", get(explain))
        .route("/headers", get(headers))
        .route("/url", get(url))
        .layer(ClientIpLayer::new(resolver.clone()))
        .layer(Extension(resolver))
}

#[tokio::main]
async fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("httpbin: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let resolver: Resolver = opts.config.parse().unwrap_or_else(|e| {
        eprintln!("httpbin: invalid configuration {:?}: {e}", opts.config);
        std::process::exit(2);
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("httpbin: cannot listen on {}: {e}", opts.listen);
            std::process::exit(1);
        });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");
    // Tests and scripts read this line to learn the port when asked for port 0.
    println!("httpbin listening on http://{local} with realip configuration: {resolver}");
    axum::serve(
        listener,
        app(resolver).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
