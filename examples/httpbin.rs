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
//! `realip::config`, default `peer`), and access control by the resolved
//! client: `--allow RANGES` and `--deny RANGES` (comma-separated addresses,
//! CIDR ranges or presets, as `trust=`; each given once), or, when neither
//! is given, the `REALIP_ACCESS` variable (`allow=RANGES; deny=RANGES`).
//!
//! ```text
//! cargo run --example httpbin -- --config 'x-forwarded-for; trust=loopback' \
//!     --allow 10.0.0.0/8,192.0.2.0/24 --deny 10.66.0.0/16
//! ```
//!
//! `GET /ip` answers `{"origin": "<client>"}` like httpbin does, and a
//! request whose client cannot be told gets `400` with a short reason.
//! `GET /ip/explain` answers the explanation as JSON (the `explain`
//! example's shape) for any request, resolvable or not. `GET /url` answers
//! `{"url": "<scheme>://<host><path>"}` with the scheme and host the client
//! used, as the resolver read them beside the client's hop (`proto=`,
//! `host=` in the configuration), and the request's own (`http` and its
//! `Host`) where it read none.
//!
//! With an allow or deny list, every endpoint is behind
//! `realip::access::AccessControlLayer`: a refused client gets `403` and
//! `access denied`, and a request whose client cannot be told gets `400`
//! before any endpoint (`/ip/explain` included). Without one, nothing
//! changes.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use realip::access::{AccessControlLayer, AccessPolicy};
use realip::axum::BaseUrl;
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, Resolver};
use serde_json::{Map, Value, json};

const USAGE: &str = "usage: httpbin [--listen ADDR] [--config 'REALIP TEXT'] [--allow RANGES] [--deny RANGES]\n\
  ADDR defaults to 127.0.0.1:$PORT, or 127.0.0.1:8000; the configuration to $REALIP, or 'peer';\n\
  RANGES are comma-separated addresses, CIDR ranges or presets; without --allow and --deny,\n\
  the access policy is $REALIP_ACCESS ('allow=RANGES; deny=RANGES'), if set.";

struct Options {
    listen: SocketAddr,
    config: String,
    /// `--allow` and `--deny`, each at most once.
    allow: Option<String>,
    deny: Option<String>,
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
    let (mut allow, mut deny) = (None, None);
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
            // Each list once: a second --allow that replaced the first would
            // silently let in, or shut out, what the first said.
            "--allow" | "--deny" => {
                let slot = if arg == "--allow" {
                    &mut allow
                } else {
                    &mut deny
                };
                if slot.is_some() {
                    return Err(format!(
                        "{arg} is given twice; give its ranges once, separated by commas"
                    ));
                }
                *slot = Some(value(&arg)?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options {
        listen,
        config,
        allow,
        deny,
    })
}

/// The access policy of `--allow` and `--deny`, or else of `REALIP_ACCESS`;
/// `None` when neither names a list.
fn access_policy(opts: &Options) -> Result<Option<AccessPolicy>, String> {
    let flags = [("allow", &opts.allow), ("deny", &opts.deny)];
    let text = if flags.iter().any(|(_, value)| value.is_some()) {
        let mut parts = Vec::new();
        for (list, value) in flags {
            if let Some(ranges) = value {
                // The ranges of one list: a `;` would start another part.
                if ranges.contains(';') {
                    return Err(format!("--{list} {ranges:?}: separate ranges with commas"));
                }
                parts.push(format!("{list}={ranges}"));
            }
        }
        parts.join("; ")
    } else {
        std::env::var("REALIP_ACCESS").unwrap_or_default()
    };
    let policy: AccessPolicy = text
        .parse()
        .map_err(|e: realip::access::AccessPolicyError| e.to_string())?;
    Ok((policy != AccessPolicy::new()).then_some(policy))
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

/// The application, configured with `resolver` and, if any, `access`.
fn app(resolver: Resolver, access: Option<AccessPolicy>) -> Router {
    let routes = Router::new()
        .route("/ip", get(ip))
        .route("/ip/explain", get(explain))
        .route("/headers", get(headers))
        .route("/url", get(url));
    // Inside ClientIpLayer, which resolves first.
    let routes = match access {
        Some(policy) => routes.layer(AccessControlLayer::new(policy)),
        None => routes,
    };
    routes
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
    let access = access_policy(&opts).unwrap_or_else(|e| {
        eprintln!("httpbin: invalid access policy: {e}");
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
    match &access {
        Some(policy) => println!(
            "httpbin listening on http://{local} with realip configuration: {resolver}; access: {policy}"
        ),
        None => {
            println!("httpbin listening on http://{local} with realip configuration: {resolver}")
        }
    }
    axum::serve(
        listener,
        app(resolver, access).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
