//! realip in a real web server: axum listening on 127.0.0.1, requests
//! written byte by byte over TCP.
//!
//! The test client's socket address is `127.0.0.1:<ephemeral port>`, so a
//! configuration that trusts `loopback` believes its headers and one that
//! trusts `10.0.0.0/8` treats it as an untrusted client. Writing requests by
//! hand lets a test repeat header lines and send bytes no HTTP client would.
//!
//! The last tests run the `httpbin` example binary that `cargo test` builds
//! next to them (`target/<profile>/examples/httpbin`). `cargo test --test web`
//! alone does not build examples: run `cargo test` or
//! `cargo build --example httpbin` first.

mod common;
use common::RunningExample;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::get;
use axum::{Extension, Router};
use realip::tower::{ClientIpLayer, DEFAULT_REJECTION_BODY, NO_PEER_BODY};
use realip::{Caller, ClientIp, Peer, Resolution, Resolver};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------
// The server side: routes, and the two ways of serving them.

/// `ClientIp` as text.
async fn client_ip(client: ClientIp) -> String {
    client.to_string()
}

/// `Option<ClientIp>` as text: the address, or `none`.
async fn optional_client_ip(client: Option<ClientIp>) -> String {
    client.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

/// Everything a `Resolution` says.
async fn resolution(r: Resolution) -> Json<Value> {
    Json(json!({
        "client": r.client().to_string(),
        "port": r.port(),
        "origin": r.origin().to_string(),
        "trusted_proxies": r.trusted_proxies(),
        "peer": r.peer().to_string(),
    }))
}

/// `Option<Resolution>`: the client, or `none`.
async fn optional_resolution(r: Option<Resolution>) -> String {
    r.map_or_else(|| "none".to_owned(), |r| r.client().to_string())
}

/// A caller as text: its identity and whether it is trusted.
fn caller_text(caller: Option<&Caller<'_>>) -> String {
    match caller {
        Some(c) if c.is_trusted() => format!("{c} trusted"),
        Some(c) => format!("{c} untrusted"),
        None => "none".to_owned(),
    }
}

/// `Option<Caller<'static>>`: who called the trusted sidecar (rule 15).
async fn caller(caller: Option<Caller<'static>>) -> String {
    caller_text(caller.as_ref())
}

/// The `Caller<'static>` in the request's extensions, as the layer stored
/// it.
async fn stored_caller(request: Request) -> String {
    caller_text(request.extensions().get::<Caller<'static>>())
}

/// The routes every test server offers, with no realip set-up.
fn routes() -> Router {
    Router::new()
        .route("/ip", get(client_ip))
        .route("/optional", get(optional_client_ip))
        .route("/resolution", get(resolution))
        .route("/optional-resolution", get(optional_resolution))
        .route("/caller", get(caller))
        .route("/stored-caller", get(stored_caller))
}

fn resolver(config: &str) -> Resolver {
    config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid configuration: {e}"))
}

/// The two ways of giving the extractors a resolver.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// `ClientIpLayer`: resolved once, before the handler.
    Layer,
    /// `Extension(resolver)` only: the extractor resolves.
    Extension,
}

const SETUPS: [Setup; 2] = [Setup::Layer, Setup::Extension];

fn app(setup: Setup, config: &str) -> Router {
    let resolver = resolver(config);
    match setup {
        Setup::Layer => routes().layer(ClientIpLayer::new(resolver)),
        Setup::Extension => routes().layer(Extension(resolver)),
    }
}

/// Serves `app` on a fresh port, recording each connection's peer as
/// axum's `ConnectInfo<SocketAddr>` (the documented set-up).
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("server");
    });
    addr
}

/// Serves `app` without `ConnectInfo`: a server misconfiguration.
async fn serve_without_connect_info(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service())
            .await
            .expect("server");
    });
    addr
}

// ---------------------------------------------------------------------------
// The client side: raw HTTP/1.1 over TCP.

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: String,
    /// The client's own address: the peer the server saw.
    client: SocketAddr,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("a JSON body, got {:?}: {e}", self.body))
    }
}

/// A GET request for `path` with these header lines, in this order, and
/// `Connection: close` so that the answer ends with the connection.
fn request(path: &str, header_lines: &[&str]) -> Vec<u8> {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for line in header_lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Sends `raw` as is and reads the whole answer.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let client = stream.local_addr().expect("a local address");
    stream.write_all(raw).await.expect("send the request");
    let mut answer = Vec::new();
    // A guard against a hung test, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection (Connection: close)")
        .expect("read the answer");
    parse_reply(&answer, client)
}

async fn get_path(addr: SocketAddr, path: &str, header_lines: &[&str]) -> Reply {
    exchange(addr, &request(path, header_lines)).await
}

fn parse_reply(raw: &[u8], client: SocketAddr) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("a response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line:?}");
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status code in {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = raw[split + 4..].to_vec();
    if header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().expect("a numeric Content-Length");
        assert_eq!(body.len(), length, "the body has its announced length");
    }
    Reply {
        status,
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        client,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk-size line");
        let size = std::str::from_utf8(&data[..end]).expect("an ASCII chunk size");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .expect("a hexadecimal chunk size");
        data = &data[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------------------
// Rule 1: an untrusted peer is the client, whatever it writes.

#[tokio::test]
async fn headers_from_an_untrusted_peer_are_ignored() {
    // The test client (127.0.0.1) is not in 10.0.0.0/8.
    let table: &[(&str, &[&str])] = &[
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            &["X-Forwarded-For: 203.0.113.7"],
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            &["X-Forwarded-For: 203.0.113.7, 10.0.0.2"],
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            &["X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 10.0.0.9"],
        ),
        (
            "forwarded; trust=10.0.0.0/8",
            &["Forwarded: for=203.0.113.7"],
        ),
        ("x-real-ip; trust=10.0.0.0/8", &["X-Real-IP: 203.0.113.7"]),
        (
            "x-forwarded-for; hops=1; trust=10.0.0.0/8",
            &["X-Forwarded-For: 203.0.113.7"],
        ),
        // Unreadable text from an untrusted peer is not even looked at.
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            &["X-Forwarded-For: unknown, not-an-address"],
        ),
        // The default reads the peer alone.
        ("peer", &["X-Forwarded-For: 203.0.113.7"]),
    ];
    for setup in SETUPS {
        for (config, lines) in table {
            let addr = serve(app(setup, config)).await;
            let reply = get_path(addr, "/ip", lines).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, "127.0.0.1"),
                "{setup:?} {config:?} {lines:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Trusted chains resolve; rules 2, 3, 6 over a real connection.

#[tokio::test]
async fn trusted_chains_resolve() {
    let table: &[(&str, &[&str], &str)] = &[
        (
            "x-forwarded-for; trust=loopback",
            &["X-Forwarded-For: 1.1.1.1, 203.0.113.7"],
            "203.0.113.7",
        ),
        // Rule 3: every line, first line first. Reading only the last line
        // gives 10.0.0.2 (all trusted), only the first 198.51.100.9, and the
        // lines in reverse order 198.51.100.9.
        (
            "x-forwarded-for; trust=loopback, 10.0.0.0/8",
            &[
                "X-Forwarded-For: 198.51.100.9",
                "X-Forwarded-For: 203.0.113.7",
                "X-Forwarded-For: 10.0.0.2",
            ],
            "203.0.113.7",
        ),
        // Empty list elements are not hops.
        (
            "x-forwarded-for; trust=loopback, 10.0.0.0/8",
            &["X-Forwarded-For: 203.0.113.7,, 10.0.0.2,"],
            "203.0.113.7",
        ),
        // Header names are case-insensitive on the wire.
        (
            "x-forwarded-for; trust=loopback",
            &["x-FORWARDED-for: 203.0.113.7"],
            "203.0.113.7",
        ),
        (
            "x-forwarded-for; trust=loopback",
            &["X-Forwarded-For: [2001:db8::7]:4711"],
            "2001:db8::7",
        ),
        (
            "forwarded; trust=loopback",
            &["Forwarded: for=192.0.2.60;proto=http, for=\"[2001:db8::7]:4711\""],
            "2001:db8::7",
        ),
        (
            "forwarded; trust=loopback, 10.0.0.0/8",
            &[
                "Forwarded: for=198.51.100.9",
                "Forwarded: for=203.0.113.7;by=10.0.0.1, FOR=10.0.0.2",
            ],
            "203.0.113.7",
        ),
        (
            "x-real-ip; trust=loopback",
            &["X-Real-IP: 203.0.113.9"],
            "203.0.113.9",
        ),
        // A single-address header on several lines: the last line.
        (
            "x-real-ip; trust=loopback",
            &["X-Real-IP: 198.51.100.9", "X-Real-IP: 203.0.113.9"],
            "203.0.113.9",
        ),
        (
            "list:x-custom-chain; trust=loopback",
            &["X-Custom-Chain: 203.0.113.7"],
            "203.0.113.7",
        ),
        // Rule 6: the two nearest proxies are the peer and the rightmost hop.
        (
            "x-forwarded-for; hops=2; trust=loopback",
            &["X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.9.9.9"],
            "203.0.113.7",
        ),
        // Rule 2: no fallback. The configured header is absent, so the
        // trusted peer is the only hop there is.
        (
            "x-forwarded-for; trust=loopback",
            &["X-Real-IP: 203.0.113.9", "Forwarded: for=203.0.113.9"],
            "127.0.0.1",
        ),
        (
            "x-real-ip; trust=loopback",
            &["X-Forwarded-For: 203.0.113.9"],
            "127.0.0.1",
        ),
    ];
    for setup in SETUPS {
        for (config, lines, expected) in table {
            let addr = serve(app(setup, config)).await;
            let reply = get_path(addr, "/ip", lines).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, *expected),
                "{setup:?} {config:?} {lines:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_peer_extension_takes_precedence_over_connect_info() {
    // What a PROXY-protocol listener does: record the original source as a
    // realip::Peer. Here it claims a gateway in 10.0.0.0/8, which the
    // configuration trusts, while the socket (127.0.0.1) is not trusted.
    let gateway: SocketAddr = "10.0.0.3:41000".parse().unwrap();
    let insert_peer = tower::util::MapRequestLayer::new(move |mut request: Request| {
        request.extensions_mut().insert(Peer::from(gateway));
        request
    });
    let config = "x-forwarded-for; trust=10.0.0.0/8";
    let lines = ["X-Forwarded-For: 203.0.113.7"];
    for setup in SETUPS {
        let addr = serve(app(setup, config).layer(insert_peer.clone())).await;
        let reply = get_path(addr, "/resolution", &lines).await;
        assert_eq!(reply.status, 200, "{setup:?}: {}", reply.body);
        let v = reply.json();
        assert_eq!(v["client"], "203.0.113.7", "{setup:?}");
        assert_eq!(v["peer"], "10.0.0.3:41000", "{setup:?}");

        // Without the extension, the same request comes from an untrusted
        // peer.
        let addr = serve(app(setup, config)).await;
        let reply = get_path(addr, "/ip", &lines).await;
        assert_eq!(reply.body, "127.0.0.1", "{setup:?}");
    }
}

#[tokio::test]
async fn a_proxy_protocol_peer_is_the_client_when_untrusted() {
    // A PROXY-protocol listener records the balancer's header as
    // Peer::Proxied: its source is the peer for rule 1.
    let sender: SocketAddr = "10.1.0.9:5000".parse().unwrap();
    let insert_peer = tower::util::MapRequestLayer::new(move |mut request: Request| {
        request.extensions_mut().insert(Peer::Proxied {
            ip: "198.51.100.20".parse().unwrap(),
            port: Some(61000),
            sender,
        });
        request
    });
    for setup in SETUPS {
        for config in ["peer", "x-forwarded-for; trust=10.0.0.0/8"] {
            let app = app(setup, config).layer(insert_peer.clone());
            let addr = serve(app).await;
            let reply = get_path(addr, "/resolution", &["X-Forwarded-For: 203.0.113.7"]).await;
            assert_eq!(reply.status, 200, "{setup:?} {config:?}: {}", reply.body);
            let v = reply.json();
            assert_eq!(v["client"], "198.51.100.20", "{setup:?} {config:?}");
            assert_eq!(v["port"], 61000, "{setup:?} {config:?}");
            assert_eq!(v["origin"], "proxy-protocol", "{setup:?} {config:?}");
            assert_eq!(v["trusted_proxies"], 0, "{setup:?} {config:?}");
        }
    }
}

#[tokio::test]
async fn the_layer_answer_wins_over_an_extension_resolver() {
    // Both installed, configured differently: the extractor uses what the
    // layer resolved rather than resolving again.
    let app = routes()
        .layer(ClientIpLayer::new(resolver(
            "x-forwarded-for; trust=loopback",
        )))
        .layer(Extension(Resolver::default()));
    let addr = serve(app).await;
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "203.0.113.7"));
}

// ---------------------------------------------------------------------------
// Server misconfiguration: 500, with a message that says what to add.

#[tokio::test]
async fn no_resolver_is_a_500_that_names_the_layer() {
    let addr = serve(routes()).await;
    for path in ["/ip", "/optional", "/resolution", "/optional-resolution"] {
        let reply = get_path(addr, path, &["X-Forwarded-For: 203.0.113.7"]).await;
        assert_eq!(reply.status, 500, "{path}: {}", reply.body);
        assert!(
            reply.body.contains("ClientIpLayer") && reply.body.contains("Extension(resolver)"),
            "{path}: {:?}",
            reply.body
        );
        assert!(!reply.body.contains("203.0.113.7"), "{path}");
    }
}

#[tokio::test]
async fn no_connect_info_is_a_500_that_names_the_fix() {
    for setup in SETUPS {
        let addr = serve_without_connect_info(app(setup, "x-forwarded-for; trust=loopback")).await;
        for path in ["/ip", "/optional", "/resolution", "/optional-resolution"] {
            let reply = get_path(addr, path, &["X-Forwarded-For: 203.0.113.7"]).await;
            assert_eq!(reply.status, 500, "{setup:?} {path}: {}", reply.body);
            assert!(
                reply
                    .body
                    .contains("into_make_service_with_connect_info::<SocketAddr>()"),
                "{setup:?} {path}: {:?}",
                reply.body
            );
        }
    }
    // The default resolver reads nothing but the peer, and still needs it.
    let addr = serve_without_connect_info(app(Setup::Layer, "peer")).await;
    let reply = get_path(addr, "/ip", &[]).await;
    assert_eq!(reply.status, 500, "{}", reply.body);
}

// ---------------------------------------------------------------------------
// Unresolvable chains: 400, with a short message that echoes nothing.

/// Values that cannot be resolved, each carrying the marker `EVIL` where it
/// could be echoed.
const HOSTILE_XFF: &[&str] = &[
    "X-Forwarded-For: unknown",
    "X-Forwarded-For: 203.0.113.7, unknown",
    "X-Forwarded-For: EVIL<script>alert(1)</script>",
    "X-Forwarded-For: 203.0.113.7, EVIL-not-an-address",
    "X-Forwarded-For: _EVIL",
    "X-Forwarded-For: 999.1.1.1, EVIL",
    "X-Forwarded-For: 010.0.0.1",
    "X-Forwarded-For: [2001:db8::1]:99999",
    "X-Forwarded-For: [fe80::1%EVIL]",
    "X-Forwarded-For: 0.0.0.0",
    "X-Forwarded-For: ,,,",
];

#[tokio::test]
async fn unresolvable_chains_are_a_400_that_echoes_nothing() {
    let cases: Vec<(&str, Vec<u8>)> = HOSTILE_XFF
        .iter()
        .map(|line| ("x-forwarded-for; trust=loopback", request("/ip", &[line])))
        .chain(
            [
                "Forwarded: for=EVIL",
                "Forwarded: for=\"EVIL",
                "Forwarded: for=_EVIL",
                "Forwarded: for=unknown",
                "Forwarded: for=203.0.113.7;for=EVIL",
                "Forwarded: proto=EVIL",
            ]
            .into_iter()
            .map(|line| ("forwarded; trust=loopback", request("/ip", &[line]))),
        )
        .chain([
            (
                "x-real-ip; trust=loopback",
                request("/ip", &["X-Real-IP: 203.0.113.7, EVIL"]),
            ),
            // A long hostile header costs a short answer.
            (
                "x-forwarded-for; trust=loopback",
                request(
                    "/ip",
                    &[&format!("X-Forwarded-For: {}", "EVIL".repeat(2000))],
                ),
            ),
            // Bytes beyond ASCII (obs-text), which HTTP/1.1 lets through.
            ("x-forwarded-for; trust=loopback", {
                let mut raw = request("/ip", &[]);
                raw.truncate(raw.len() - 2);
                raw.extend_from_slice(b"X-Forwarded-For: EVIL\xff\xfe203.0.113.7\r\n\r\n");
                raw
            }),
            // Rule 6: a chain shorter than the count.
            (
                "x-forwarded-for; hops=3; trust=loopback",
                request("/ip", &["X-Forwarded-For: 203.0.113.7"]),
            ),
            // Rule 7: too many hops.
            (
                "x-forwarded-for; trust=loopback, 10.0.0.0/8; max-hops=2",
                request("/ip", &["X-Forwarded-For: 203.0.113.7, 10.0.0.1, 10.0.0.2"]),
            ),
            (
                "x-forwarded-for; trust=loopback, 10.0.0.0/8; all-trusted=error",
                request("/ip", &["X-Forwarded-For: 10.0.0.1"]),
            ),
        ])
        .collect();
    for setup in SETUPS {
        for (config, raw) in &cases {
            let addr = serve(app(setup, config)).await;
            let shown = String::from_utf8_lossy(raw);
            let reply = exchange(addr, raw).await;
            assert_eq!(
                reply.status, 400,
                "{setup:?} {config:?} {shown:?}: {}",
                reply.body
            );
            assert!(
                reply
                    .body
                    .starts_with("could not determine the client address"),
                "{setup:?} {shown:?}: {:?}",
                reply.body
            );
            assert!(
                reply.body.len() <= 120,
                "{setup:?} {shown:?}: a short message, got {} bytes",
                reply.body.len()
            );
            for echoed in [
                "EVIL",
                "script",
                "203.0.113.7",
                "010.0.0.1",
                "99999",
                "\u{fffd}",
            ] {
                assert!(
                    !reply.body.contains(echoed),
                    "{setup:?} {shown:?}: the answer echoes {echoed:?}: {:?}",
                    reply.body
                );
            }
        }
    }
}

#[tokio::test]
async fn the_rejection_names_the_kind_of_problem() {
    let table = [
        ("X-Forwarded-For: unknown", "unknown_hop"),
        ("X-Forwarded-For: 203.0.113.7, nonsense", "malformed_hop"),
        ("X-Forwarded-For: _hidden", "obfuscated_hop"),
        ("X-Forwarded-For: ,", "empty_header"),
    ];
    for setup in SETUPS {
        let addr = serve(app(setup, "x-forwarded-for; trust=loopback")).await;
        for (line, kind) in table {
            let reply = get_path(addr, "/ip", &[line]).await;
            assert_eq!(reply.status, 400, "{setup:?} {line:?}");
            assert!(
                reply.body.contains(kind),
                "{setup:?} {line:?}: {:?} does not name {kind}",
                reply.body
            );
            assert_eq!(
                reply.content_type.as_deref(),
                Some("text/plain; charset=utf-8"),
                "{setup:?} {line:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Optional extractors: None for the request's fault, 500 for the server's.

#[tokio::test]
async fn option_is_none_only_for_unresolvable_requests() {
    for setup in SETUPS {
        let addr = serve(app(setup, "x-forwarded-for; trust=loopback")).await;
        for path in ["/optional", "/optional-resolution"] {
            for line in HOSTILE_XFF {
                let reply = get_path(addr, path, &[line]).await;
                assert_eq!(
                    (reply.status, reply.body.as_str()),
                    (200, "none"),
                    "{setup:?} {path} {line:?}"
                );
            }
            let reply = get_path(addr, path, &["X-Forwarded-For: 203.0.113.7"]).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, "203.0.113.7"),
                "{setup:?} {path}"
            );
        }
    }
    // Misconfiguration is never None (see also the two 500 tests above).
    let addr = serve(routes()).await;
    assert_eq!(get_path(addr, "/optional", &[]).await.status, 500);
    let addr = serve_without_connect_info(app(Setup::Layer, "peer")).await;
    assert_eq!(get_path(addr, "/optional", &[]).await.status, 500);
}

// ---------------------------------------------------------------------------
// The Resolution extractor.

#[tokio::test]
async fn resolution_exposes_port_origin_and_trusted_proxies() {
    for setup in SETUPS {
        // The peer itself: its port is the test client's own.
        let addr = serve(app(setup, "peer")).await;
        let reply = get_path(addr, "/resolution", &["X-Forwarded-For: 203.0.113.7"]).await;
        assert_eq!(reply.status, 200, "{setup:?}: {}", reply.body);
        assert_eq!(
            reply.json(),
            json!({
                "client": "127.0.0.1",
                "port": reply.client.port(),
                "origin": "peer",
                "trusted_proxies": 0,
                "peer": reply.client.to_string(),
            }),
            "{setup:?}"
        );

        let addr = serve(app(setup, "x-forwarded-for; trust=loopback, 10.0.0.0/8")).await;
        let reply = get_path(
            addr,
            "/resolution",
            &["X-Forwarded-For: 1.1.1.1, 203.0.113.7:4711, 10.0.0.2"],
        )
        .await;
        assert_eq!(reply.status, 200, "{setup:?}: {}", reply.body);
        assert_eq!(
            reply.json(),
            json!({
                "client": "203.0.113.7",
                "port": 4711,
                "origin": "x-forwarded-for[1 from the right]",
                "trusted_proxies": 2,
                "peer": reply.client.to_string(),
            }),
            "{setup:?}"
        );

        let addr = serve(app(setup, "forwarded; trust=loopback")).await;
        let reply = get_path(
            addr,
            "/resolution",
            &["Forwarded: for=\"[2001:db8::7]:8443\";proto=https"],
        )
        .await;
        let v = reply.json();
        assert_eq!(v["client"], "2001:db8::7", "{setup:?}");
        assert_eq!(v["port"], 8443, "{setup:?}");
        assert_eq!(v["origin"], "forwarded[0 from the right]", "{setup:?}");
        assert_eq!(v["trusted_proxies"], 1, "{setup:?}");
    }
}

// ---------------------------------------------------------------------------
// The layer's own rejection: the handler is never reached.

/// A router whose one handler counts its calls.
fn counted(layer: ClientIpLayer) -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let handler = move |client: Option<ClientIp>| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            client.map_or_else(|| "none".to_owned(), |c| c.to_string())
        }
    };
    (Router::new().route("/ip", get(handler)).layer(layer), hits)
}

#[tokio::test]
async fn reject_unresolvable_answers_without_the_handler() {
    let layer =
        ClientIpLayer::new(resolver("x-forwarded-for; trust=loopback")).reject_unresolvable();
    let (app, hits) = counted(layer);
    let addr = serve(app).await;
    for line in HOSTILE_XFF {
        let reply = get_path(addr, "/ip", &[line]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, DEFAULT_REJECTION_BODY),
            "{line:?}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler was reached");
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "203.0.113.7"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reject_with_answers_with_its_status_and_body() {
    let layer = ClientIpLayer::new(resolver("x-forwarded-for; trust=loopback"))
        .reject_with(StatusCode::FORBIDDEN, "nope");
    let (app, hits) = counted(layer);
    let addr = serve(app).await;
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 10.0.0.1, EVIL"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "nope"));
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: unknown"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "nope"));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler was reached");
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "203.0.113.7"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_a_reject_policy_the_handler_decides() {
    let (app, hits) = counted(ClientIpLayer::new(resolver(
        "x-forwarded-for; trust=loopback",
    )));
    let addr = serve(app).await;
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: unknown"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "none"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_reject_policy_answers_a_missing_peer_with_500() {
    for layer in [
        ClientIpLayer::new(resolver("x-forwarded-for; trust=loopback")).reject_unresolvable(),
        ClientIpLayer::new(resolver("peer")).reject_with(StatusCode::FORBIDDEN, "nope"),
    ] {
        let (app, hits) = counted(layer);
        let addr = serve_without_connect_info(app).await;
        let reply = get_path(addr, "/ip", &["X-Forwarded-For: 203.0.113.7"]).await;
        assert_eq!((reply.status, reply.body.as_str()), (500, NO_PEER_BODY));
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler was reached");
    }
}

// ---------------------------------------------------------------------------
// The httpbin example, end to end.

/// The `httpbin` example with `REALIP` set to `config` (or unset).
fn httpbin(config: Option<&str>) -> RunningExample {
    RunningExample::start("httpbin", &[], config)
}

#[tokio::test]
async fn httpbin_ip_answers_like_httpbin() {
    let server = httpbin(None);
    assert!(server.addr.ip().is_loopback());
    // A forged header changes nothing under the default configuration.
    for lines in [&[][..], &["X-Forwarded-For: 203.0.113.7"][..]] {
        let reply = get_path(server.addr, "/ip", lines).await;
        assert_eq!(reply.status, 200, "{lines:?}");
        assert_eq!(reply.body, r#"{"origin":"127.0.0.1"}"#, "{lines:?}");
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    }
}

#[tokio::test]
async fn httpbin_explain_and_headers() {
    let server = httpbin(None);
    let reply = get_path(server.addr, "/ip/explain", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["client"], "127.0.0.1");
    assert_eq!(v["source"], "peer");
    assert_eq!(v["configuration"], "peer");
    assert_eq!(v["peer"], reply.client.to_string());

    let reply = get_path(
        server.addr,
        "/headers",
        &[
            "X-Realip-Test: hello-42",
            "X-Repeated: one",
            "X-Repeated: two",
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["headers"]["x-realip-test"], "hello-42", "{v}");
    assert_eq!(v["headers"]["x-repeated"], "one, two", "{v}");
    assert_eq!(v["headers"]["host"], "127.0.0.1", "{v}");
}

#[tokio::test]
async fn httpbin_reads_its_configuration_from_realip() {
    let server = httpbin(Some("x-forwarded-for; trust=loopback"));
    let reply = get_path(
        server.addr,
        "/ip",
        &["X-Forwarded-For: 1.1.1.1, 203.0.113.7"],
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"origin":"203.0.113.7"}"#)
    );

    let reply = get_path(
        server.addr,
        "/ip/explain",
        &["X-Forwarded-For: 203.0.113.7"],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["source"], "x-forwarded-for");
    assert_eq!(v["trusted_proxies"], 1);
    assert_eq!(v["configuration"], "x-forwarded-for; trust=loopback");

    // An unresolvable chain: /ip refuses without echoing, /ip/explain says why.
    let reply = get_path(server.addr, "/ip", &["X-Forwarded-For: EVIL"]).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(!reply.body.contains("EVIL"), "{:?}", reply.body);
    let reply = get_path(server.addr, "/ip/explain", &["X-Forwarded-For: unknown"]).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["error"]["kind"], "unknown_hop", "{v}");
    assert!(v.get("client").is_none(), "{v}");
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm),
/// to check the access log's time by another road than the example's.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An access-log time (`2025-12-02T10:15:30.123Z`) as seconds since the
/// epoch; panics unless it has that exact form.
fn rfc3339_seconds(time: &str) -> i64 {
    let b = time.as_bytes();
    assert_eq!(time.len(), 24, "{time:?}");
    for (i, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        assert_eq!(b[i], c, "{time:?}");
    }
    let n = |range: std::ops::Range<usize>| -> i64 { time[range].parse().expect("digits") };
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    days * 86_400 + n(11..13) * 3_600 + n(14..16) * 60 + n(17..19)
}

/// The httpbin example's next access-log line, as JSON, with its fields
/// in the documented order.
fn access_log_line(server: &mut RunningExample) -> Value {
    let line = server.stdout_line().expect("an access-log line");
    assert!(line.starts_with(r#"{"time":""#), "{line}");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let order = [
        "time",
        "method",
        "path",
        "status",
        "client.address",
        "client.port",
        "network.peer.address",
        "network.peer.port",
        "realip.error",
        "diagnostics",
        "forwarding_headers",
    ];
    assert_eq!(v.as_object().unwrap().len(), order.len(), "{line}");
    let at: Vec<usize> = order
        .iter()
        .map(|k| {
            line.find(&format!("\"{k}\":"))
                .expect("the key in the line")
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "keys in order in {line}"
    );
    v
}

#[tokio::test]
async fn httpbin_access_log_is_a_json_line_per_request() {
    let mut server = RunningExample::start(
        "httpbin",
        &["--access-log"],
        Some("x-forwarded-for; trust=loopback"),
    );
    let lines = ["X-Forwarded-For: 1.1.1.1", "X-Forwarded-For: 203.0.113.7"];
    let reply = get_path(server.addr, "/ip?token=secret", &lines).await;
    assert_eq!(reply.body, r#"{"origin":"203.0.113.7"}"#);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let v = access_log_line(&mut server);
    let time = rfc3339_seconds(v["time"].as_str().unwrap());
    assert!((now - 5..=now + 1).contains(&time), "{v}");
    assert_eq!(
        v,
        json!({
            "time": v["time"],
            "method": "GET",
            // The query is left out.
            "path": "/ip",
            "status": 200,
            "client.address": "203.0.113.7",
            "client.port": null,
            "network.peer.address": "127.0.0.1",
            "network.peer.port": reply.client.port(),
            "realip.error": null,
            "diagnostics": [],
            // Both lines, in order, as received.
            "forwarding_headers": { "x-forwarded-for": "1.1.1.1, 203.0.113.7" },
        })
    );

    // A chain that cannot be read: no client, the error's kind.
    let reply = get_path(server.addr, "/ip", &["X-Forwarded-For: unknown"]).await;
    assert_eq!(reply.status, 400);
    let v = access_log_line(&mut server);
    assert_eq!(v["status"], 400, "{v}");
    assert_eq!(v["client.address"], Value::Null, "{v}");
    assert_eq!(v["realip.error"], "unknown_hop", "{v}");
    assert_eq!(v["network.peer.address"], "127.0.0.1", "{v}");

    // A long header is cut: its first 256 bytes and how many were left
    // out. A quote and a backslash stay inside the JSON string.
    let long = format!("\"\\{}", "9".repeat(1000));
    let reply = get_path(
        server.addr,
        "/headers",
        &[&format!("X-Real-IP: {long}"), "X-Real-IP: 2.2.2.2"],
    )
    .await;
    assert_eq!(reply.status, 200);
    let v = access_log_line(&mut server);
    let kept = v["forwarding_headers"]["x-real-ip"].as_str().unwrap();
    let full = format!("{long}, 2.2.2.2");
    assert_eq!(
        kept,
        format!("{}…[+{} bytes]", &full[..256], full.len() - 256),
        "{v}"
    );
    assert_eq!(v["path"], "/headers");

    // Each request's diagnostics: a peer that is not trusted.
    let mut stranger = RunningExample::start(
        "httpbin",
        &["--access-log"],
        Some("x-forwarded-for; trust=10.0.0.0/8"),
    );
    let reply = get_path(stranger.addr, "/ip", &["X-Forwarded-For: 1.1.1.1"]).await;
    assert_eq!(reply.body, r#"{"origin":"127.0.0.1"}"#);
    let v = access_log_line(&mut stranger);
    assert_eq!(v["client.address"], "127.0.0.1", "{v}");
    assert_eq!(v["client.port"], reply.client.port(), "{v}");
    assert_eq!(
        v["diagnostics"],
        json!(["forwarding_headers_from_untrusted_peer"]),
        "{v}"
    );
}

/// The README's lighter set-up: the layer wrapped once around the whole
/// `Router` (no per-route `Router::layer`), served with `ConnectInfo`. The
/// extractors read the same stored resolution.
#[tokio::test]
async fn a_layer_around_the_whole_router_serves_the_extractors() {
    use axum::ServiceExt;
    use tower::Layer;

    let app = ClientIpLayer::new(resolver("x-forwarded-for; trust=loopback")).layer(routes());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(
                app,
            ),
        )
        .await
        .expect("server");
    });
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 1.1.1.1, 203.0.113.7"]).await;
    assert_eq!((reply.status, reply.body.trim()), (200, "203.0.113.7"));
    let reply = get_path(addr, "/resolution", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert_eq!(reply.json()["trusted_proxies"], 1, "{:?}", reply.body);
    // An unresolvable chain: the extractor's 400, as with Router::layer.
    let reply = get_path(addr, "/ip", &["X-Forwarded-For: 203.0.113.7, garbage"]).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
}

/// A trusted proxy on a Unix socket that sends no header leaves nothing to
/// name the client: the request is at fault (400, and `Option<ClientIp>`
/// is `None`), not the server's set-up (500).
#[tokio::test]
async fn a_trusted_unix_proxy_without_the_header_is_a_bad_request() {
    use tower::ServiceExt;

    let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8; unix-peer"
        .parse()
        .unwrap();
    let app = Router::new()
        .route("/ip", get(client_ip))
        .route(
            "/maybe",
            get(|client: Option<ClientIp>| async move { format!("{client:?}") }),
        )
        .layer(ClientIpLayer::new(resolver));
    let request = |path: &str, xff: Option<&str>| {
        let mut request = http::Request::get(path);
        if let Some(xff) = xff {
            request = request.header("x-forwarded-for", xff);
        }
        let mut request = request.body(axum::body::Body::empty()).unwrap();
        request.extensions_mut().insert(Peer::Unix);
        request
    };
    let body = |response: axum::response::Response| async move {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };

    let response = app.clone().oneshot(request("/ip", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = body(response).await;
    assert!(text.contains("unix_peer_sent_no_header"), "{text}");
    assert!(!text.contains("trust Unix-socket peers"), "{text}");

    let response = app.clone().oneshot(request("/maybe", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "None");

    let response = app
        .oneshot(request("/ip", Some("203.0.113.7")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "203.0.113.7");
}

// ---------------------------------------------------------------------------
// Rule 14: the scheme and host the client used, through the layer and the
// extractors.

/// What the scheme-and-host extractors say.
async fn url_parts(
    url: realip::OriginalUrl,
    scheme: Option<realip::Scheme>,
    host: Option<realip::Host>,
    base: realip::axum::BaseUrl,
    uri: axum::http::Uri,
) -> Json<Value> {
    Json(json!({
        "scheme": scheme.map(|s| s.to_string()),
        "host": host.map(|h| h.to_string()),
        "same": url.scheme() == scheme.as_ref() && url.host() == host.as_ref(),
        "base": base.to_string(),
        "uri": uri.to_string(),
    }))
}

const URL_CONFIG: &str = "x-forwarded-for; trust=loopback; proto=x-forwarded-proto; \
                          host=x-forwarded-host; align=single";

#[tokio::test]
async fn rule14_the_scheme_and_host_reach_the_handler() {
    let forwarded = [
        "X-Forwarded-For: 203.0.113.7",
        "X-Forwarded-Proto: https",
        "X-Forwarded-Host: shop.example.com",
    ];
    for setup in SETUPS {
        let app = Router::new().route("/u", get(url_parts));
        let app = match setup {
            Setup::Layer => app.layer(ClientIpLayer::new(resolver(URL_CONFIG))),
            Setup::Extension => app.layer(Extension(resolver(URL_CONFIG))),
        };
        let addr = serve(app).await;
        let reply = get_path(addr, "/u?x=1", &forwarded).await;
        assert_eq!(reply.status, 200, "{setup:?}: {}", reply.body);
        let v = reply.json();
        assert_eq!(v["scheme"], "https", "{setup:?}");
        assert_eq!(v["host"], "shop.example.com", "{setup:?}");
        assert_eq!(v["same"], true, "{setup:?}");
        assert_eq!(v["base"], "https://shop.example.com", "{setup:?}");
        // Without the rewrite, the URI is the request's own.
        assert_eq!(v["uri"], "/u?x=1", "{setup:?}");

        // Nothing read: the request's own scheme and Host.
        let reply = get_path(addr, "/u", &["X-Forwarded-For: 203.0.113.7"]).await;
        let v = reply.json();
        assert_eq!(
            (v["scheme"].clone(), v["host"].clone()),
            (Value::Null, Value::Null)
        );
        assert_eq!(v["base"], "http://127.0.0.1", "{setup:?}");
    }

    // An untrusted peer's forgeries are not read.
    let app = Router::new()
        .route("/u", get(url_parts))
        .layer(ClientIpLayer::new(resolver(
            "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; host=x-forwarded-host; align=single",
        )));
    let addr = serve(app).await;
    let v = get_path(addr, "/u", &forwarded).await.json();
    assert_eq!(v["scheme"], Value::Null);
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["base"], "http://127.0.0.1");
}

#[tokio::test]
async fn rule14_the_layer_rewrites_the_uri_on_request() {
    let app = Router::new()
        .route("/u", get(url_parts))
        .layer(ClientIpLayer::new(resolver(URL_CONFIG)).rewrite_uri());
    let addr = serve(app).await;
    let reply = get_path(
        addr,
        "/u?x=1",
        &[
            "X-Forwarded-For: 203.0.113.7",
            "X-Forwarded-Proto: https",
            "X-Forwarded-Host: shop.example.com:8443",
        ],
    )
    .await;
    assert_eq!(reply.json()["uri"], "https://shop.example.com:8443/u?x=1");
    // Only the scheme: the Host header stands in for the authority.
    let reply = get_path(
        addr,
        "/u",
        &["X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"],
    )
    .await;
    assert_eq!(reply.json()["uri"], "https://127.0.0.1/u");
    // Nothing read: the URI is left alone.
    let reply = get_path(addr, "/u", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert_eq!(reply.json()["uri"], "/u");
}

#[tokio::test]
async fn httpbin_url_answers_the_url_the_client_used() {
    let server = httpbin(Some(
        "x-forwarded-for; trust=loopback; proto=x-forwarded-proto; host=x-forwarded-host; align=single",
    ));
    let reply = get_path(
        server.addr,
        "/url?a=b",
        &[
            "X-Forwarded-For: 203.0.113.7",
            "X-Forwarded-Proto: https",
            "X-Forwarded-Host: shop.example.com",
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({"url": "https://shop.example.com/url?a=b"})
    );
    // The default configuration reads neither: the request's own.
    let server = httpbin(None);
    let reply = get_path(server.addr, "/url", &["X-Forwarded-Proto: https"]).await;
    assert_eq!(reply.json(), json!({"url": "http://127.0.0.1/url"}));
}

// ---------------------------------------------------------------------------
// Rule 15: the caller a trusted sidecar vouched for.

const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
const SLEEP_ID: &str = "spiffe://cluster.local/ns/default/sa/sleep";

fn xfcc_line(uri: &str) -> String {
    format!(
        "X-Forwarded-Client-Cert: By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab12;\
         Subject=\"\";URI={uri}"
    )
}

/// (configuration, header lines, /ip's status and body, the caller).
type CallerRow<'a> = (&'a str, Vec<&'a str>, (u16, &'a str), &'a str);

/// The layer stores a `Caller<'static>` only when the resolver trusts
/// identities and the peer is a trusted proxy, whatever the walk then
/// answers; the extractor gives it, from the layer or from a `Resolver`
/// extension alone. (The test client, 127.0.0.1, is the sidecar when
/// `loopback` is trusted.)
#[tokio::test]
async fn rule15_the_caller_reaches_the_handler() {
    let identities = format!("x-forwarded-for; trust=loopback; identity={GATEWAY_ID}");
    let stranger = format!("x-forwarded-for; trust=10.0.0.0/8; identity={GATEWAY_ID}");
    let no_identities = "x-forwarded-for; trust=loopback".to_owned();
    let gateway = xfcc_line(GATEWAY_ID);
    let sleep = xfcc_line(SLEEP_ID);
    let xff = "X-Forwarded-For: 6.6.6.6, 203.0.113.7";
    let trusted = format!("{GATEWAY_ID} trusted");
    let untrusted = format!("{SLEEP_ID} untrusted");
    let table: Vec<CallerRow> = vec![
        (
            &identities,
            vec![xff, &gateway],
            (200, "203.0.113.7"),
            &trusted,
        ),
        (
            &identities,
            vec![xff, &sleep],
            (200, "127.0.0.1"),
            &untrusted,
        ),
        (&identities, vec![xff], (200, "127.0.0.1"), "none"),
        (
            &identities,
            vec![xff, &gateway, &gateway],
            (200, "127.0.0.1"),
            "none",
        ),
        // The caller is who called the sidecar, whatever the walk answers.
        (
            &identities,
            vec!["X-Forwarded-For: 203.0.113.7, garbage", &gateway],
            (400, ""),
            &trusted,
        ),
        // An untrusted peer: nothing it says about callers is read.
        (&stranger, vec![xff, &gateway], (200, "127.0.0.1"), "none"),
        // No identities: the header means nothing.
        (
            &no_identities,
            vec![xff, &gateway],
            (200, "203.0.113.7"),
            "none",
        ),
    ];
    for setup in SETUPS {
        for (config, lines, (status, ip), expected) in &table {
            let addr = serve(app(setup, config)).await;
            let reply = get_path(addr, "/ip", lines).await;
            assert_eq!(reply.status, *status, "{setup:?} {config:?} {lines:?}");
            if *status == 200 {
                assert_eq!(reply.body, *ip, "{setup:?} {config:?} {lines:?}");
            }
            let reply = get_path(addr, "/caller", lines).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, *expected),
                "{setup:?} {config:?} {lines:?}"
            );
            // What the layer stored; without the layer, nothing.
            let stored = match setup {
                Setup::Layer => *expected,
                Setup::Extension => "none",
            };
            let reply = get_path(addr, "/stored-caller", lines).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, stored),
                "{setup:?} {config:?} {lines:?}"
            );
        }
    }
}

/// Where the layer ran, its answer stands: a `Resolver` extension that
/// trusts identities is not asked again. Without either, the extractor is
/// a 500 that names the layer.
#[tokio::test]
async fn rule15_the_layer_decides_the_caller_when_it_ran() {
    let app = routes()
        .layer(ClientIpLayer::new(resolver(
            "x-forwarded-for; trust=loopback",
        )))
        .layer(Extension(resolver(&format!(
            "x-forwarded-for; trust=loopback; identity={GATEWAY_ID}"
        ))));
    let addr = serve(app).await;
    let lines = ["X-Forwarded-For: 203.0.113.7", &xfcc_line(GATEWAY_ID)];
    let reply = get_path(addr, "/caller", &lines).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "none"));

    let addr = serve(routes()).await;
    let reply = get_path(addr, "/caller", &lines).await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(reply.body.contains("ClientIpLayer"), "{:?}", reply.body);
}
