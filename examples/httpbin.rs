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
//! `realip::config`, default `peer`), `--access-log`, and access control by the resolved
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
//!
//! With `--access-log`, each request is one JSON line on standard output,
//! after the "listening on" line: the application's twin of a proxy's
//! access log, with the client the proxies' log cannot show.
//!
//! ```text
//! {"time":"2025-12-02T10:15:30.123Z","method":"GET","path":"/ip","status":200,
//!  "client.address":"203.0.113.7","client.port":null,"network.peer.address":"127.0.0.6",
//!  "network.peer.port":41234,"realip.error":null,"diagnostics":[],
//!  "forwarding_headers":{"x-forwarded-for":"1.1.1.1, 203.0.113.7"}}
//! ```
//!
//! (one line; broken here). `time` is when the response was ready, RFC 3339
//! in UTC to the millisecond; `path` leaves the query out (it may hold
//! secrets). `client.*` is the layer's resolution (null when the request
//! could not be resolved, and `realip.error` says why); `network.peer.*`
//! the socket's other end, as OpenTelemetry names them. `forwarding_headers`
//! holds the headers that carry a client address (`realip::explain::FORWARDING_HEADERS`,
//! the configured one, `x-forwarded-proto`, `x-forwarded-host` and
//! `x-forwarded-client-cert`) as received, each only when present: its lines
//! joined with `", "`, bytes that are not UTF-8 replaced, and cut at
//! [`MAX_LOGGED_VALUE`] bytes (at a character boundary) followed by
//! `…[+N bytes]`, so that a client cannot make a line longer than a few
//! kilobytes; JSON escaping keeps a forged newline from starting a line of
//! its own. `diagnostics` are the codes `/ip/explain` gives, from the same
//! function (the example explains every request for them, which allocates;
//! the library's `tracing` span and `metrics` counters find them without
//! allocating).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use realip::access::{AccessControlLayer, AccessPolicy};
use realip::axum::BaseUrl;
use realip::explain::FORWARDING_HEADERS;
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, Error, Peer, Resolution, Resolver};
use serde_json::{Map, Value, json};

const USAGE: &str = "usage: httpbin [--listen ADDR] [--config 'REALIP TEXT'] [--access-log] [--allow RANGES] [--deny RANGES]\n\
  ADDR defaults to 127.0.0.1:$PORT, or 127.0.0.1:8000; the configuration to $REALIP, or 'peer';\n\
  --access-log: one JSON line per request on standard output;\n\
  RANGES are comma-separated addresses, CIDR ranges or presets; without --allow and --deny,\n\
  the access policy is $REALIP_ACCESS ('allow=RANGES; deny=RANGES'), if set.";

struct Options {
    listen: SocketAddr,
    config: String,
    /// `--allow` and `--deny`, each at most once.
    allow: Option<String>,
    deny: Option<String>,
    access_log: bool,
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
    let mut access_log = false;
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
            "--access-log" => access_log = true,
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
        access_log,
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

/// The most bytes of a header's value an access-log line holds.
const MAX_LOGGED_VALUE: usize = 256;

/// Headers logged beside those that carry a client address.
const ALSO_LOGGED: [&str; 3] = [
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-client-cert",
];

/// The access-log middleware: inside `ClientIpLayer`, so the resolution
/// is in the request's extensions.
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let peer = peer_from_extensions(request.extensions());
    let resolved = match (
        request.extensions().get::<Resolution>(),
        request.extensions().get::<Error>(),
    ) {
        (Some(r), _) => Ok((r.ip(), r.port())),
        (None, Some(e)) => Err(e.kind()),
        (None, None) => Err("not resolved"),
    };
    let resolver = request.extensions().get::<Resolver>();
    let diagnostics: Vec<&str> = resolver
        .map(|r| r.explain(peer, request.headers()).diagnostics)
        .unwrap_or_default()
        .iter()
        .map(|d| d.code())
        .collect();
    let configured = resolver.and_then(|r| r.source().header_name().cloned());
    let mut forwarding = Map::new();
    let names = FORWARDING_HEADERS
        .iter()
        .copied()
        .chain(configured.as_ref().map(|h| h.as_str()))
        .chain(ALSO_LOGGED);
    for name in names {
        if !forwarding.contains_key(name) && request.headers().contains_key(name) {
            let value = bounded(request.headers().get_all(name).iter().map(|v| v.as_bytes()));
            forwarding.insert(name.to_owned(), Value::String(value));
        }
    }

    let response = next.run(request).await;

    let (network_address, network_port) = match peer {
        Peer::Proxied { sender, .. } | Peer::ProxiedWithoutSource { sender } => {
            (Some(sender.ip()), Some(sender.port()))
        }
        peer => (peer.ip(), peer.port()),
    };
    let (client, error) = match resolved {
        Ok(client) => (Some(client), None),
        Err(kind) => (None, Some(kind)),
    };
    // Written field by field: in this order, whatever order a JSON map
    // keeps.
    let fields = [
        ("time", json!(rfc3339_utc(std::time::SystemTime::now()))),
        ("method", json!(method)),
        ("path", json!(path)),
        ("status", json!(response.status().as_u16())),
        (
            "client.address",
            json!(client.map(|(ip, _)| ip.to_string())),
        ),
        ("client.port", json!(client.and_then(|(_, port)| port))),
        (
            "network.peer.address",
            json!(network_address.map(|ip| ip.to_string())),
        ),
        ("network.peer.port", json!(network_port)),
        ("realip.error", json!(error)),
        ("diagnostics", json!(diagnostics)),
        ("forwarding_headers", Value::Object(forwarding)),
    ];
    let mut line = String::from("{");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&format!("{}:{value}", json!(name)));
    }
    line.push('}');
    println!("{line}");
    response
}

/// A header's lines, joined with `", "` and cut at [`MAX_LOGGED_VALUE`]
/// bytes: only what is kept is copied, however long the header.
fn bounded<'a>(lines: impl Iterator<Item = &'a [u8]>) -> String {
    // One byte past the bound, to see whether the cut splits a character.
    let mut kept: Vec<u8> = Vec::with_capacity(MAX_LOGGED_VALUE + 1);
    let mut total = 0;
    for (i, line) in lines.enumerate() {
        let separator: &[u8] = if i == 0 { b"" } else { b", " };
        for part in [separator, line] {
            let room = MAX_LOGGED_VALUE + 1 - kept.len();
            kept.extend_from_slice(&part[..part.len().min(room)]);
            total += part.len();
        }
    }
    if total <= MAX_LOGGED_VALUE {
        return String::from_utf8_lossy(&kept).into_owned();
    }
    // Back to the start of the character the bound falls in.
    let mut cut = MAX_LOGGED_VALUE;
    while cut > 0 && kept[cut] & 0b1100_0000 == 0b1000_0000 {
        cut -= 1;
    }
    let text = String::from_utf8_lossy(&kept[..cut]);
    format!("{text}…[+{} bytes]", total - cut)
}

/// `time` as RFC 3339 in UTC, to the millisecond.
fn rfc3339_utc(time: std::time::SystemTime) -> String {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The application, configured with `resolver`, if any `access`, and with
/// `access_log` a JSON line per request on standard output.
fn app(resolver: Resolver, access: Option<AccessPolicy>, access_log: bool) -> Router {
    let mut routes = Router::new()
        .route("/ip", get(ip))
        .route("/ip/explain", get(explain))
        .route("/headers", get(headers))
        .route("/url", get(url));
    // Inside ClientIpLayer, which resolves first; the access log outside
    // the access control, so that refusals are logged too.
    if let Some(policy) = access {
        routes = routes.layer(AccessControlLayer::new(policy));
    }
    if access_log {
        routes = routes.layer(middleware::from_fn(self::access_log));
    }
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
        app(resolver, access, opts.access_log).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
