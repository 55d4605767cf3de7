//! realip in a real actix-web server (feature `actix`): servers on
//! 127.0.0.1 and on Unix sockets, requests written byte by byte.
//!
//! As in `tests/web.rs` (axum), the test client's address is
//! `127.0.0.1:<ephemeral port>`: a configuration that trusts `loopback`
//! believes its headers, one that trusts `10.0.0.0/8` treats it as an
//! untrusted client. Each rule is checked with the middleware, with the
//! middleware that rejects, and with a `Resolver` in the app data only.
//!
//! The last test runs the `actix` example binary (`cargo test
//! --all-features` builds it; `cargo test --features actix --test actix`
//! alone does not: build it with `cargo build --features actix --example
//! actix` first).

mod common;
use common::RunningExample;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use http::{HeaderMap, HeaderName, HeaderValue};
use realip::actix::{ClientIpMiddleware, ClientIpRejection, record_unix_peer};
use realip::{Caller, ClientIp, OriginalUrl, Resolution, Resolver};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The server side: routes, and the ways of serving them.

/// `ClientIp` as text.
async fn client_ip(client: ClientIp) -> String {
    client.to_string()
}

/// `Option<ClientIp>`: actix-web's `Option` extractor, `none` for any
/// failure.
async fn optional_client_ip(client: Option<ClientIp>) -> String {
    client.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

/// `Result<ClientIp, ClientIpRejection>`: the rejection's status as text.
async fn client_ip_or_rejection(client: Result<ClientIp, ClientIpRejection>) -> String {
    match client {
        Ok(client) => client.to_string(),
        Err(rejection) => format!("rejected {}", rejection.status_code().as_u16()),
    }
}

/// Everything a `Resolution` says.
async fn resolution(r: Resolution) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "client": r.client().to_string(),
        "port": r.port(),
        "origin": r.origin().to_string(),
        "trusted_proxies": r.trusted_proxies(),
        "peer": r.peer().to_string(),
    }))
}

/// What the middleware stored beside the resolution.
async fn stored(request: HttpRequest) -> HttpResponse {
    let extensions = request.extensions();
    HttpResponse::Ok().json(json!({
        "client": extensions.get::<Resolution>().map(|r| r.client().to_string()),
        "error": extensions.get::<realip::Error>().map(|e| e.kind()),
        "url": extensions.get::<OriginalUrl>().and_then(OriginalUrl::base),
        "caller": extensions.get::<Caller<'static>>().map(|c| c.uri().to_owned()),
    }))
}

/// A handler that extracts nothing: reached unless the middleware answers.
async fn reached() -> String {
    "reached".to_owned()
}

/// actix-web's own answer.
async fn actix_realip(request: HttpRequest) -> String {
    let info = request.connection_info();
    info.realip_remote_addr().unwrap_or("none").to_owned()
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/ip", web::get().to(client_ip))
        .route("/optional", web::get().to(optional_client_ip))
        .route("/result", web::get().to(client_ip_or_rejection))
        .route("/resolution", web::get().to(resolution))
        .route("/stored", web::get().to(stored))
        .route("/reached", web::get().to(reached))
        .route("/actix-realip", web::get().to(actix_realip));
}

fn resolver(config: &str) -> Resolver {
    config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid configuration: {e}"))
}

/// The ways of giving the extractors a resolver.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setup {
    /// `ClientIpMiddleware`: resolved once, before the handler.
    Middleware,
    /// `ClientIpMiddleware::reject_unresolvable()`.
    Rejecting,
    /// `.app_data(web::Data::new(resolver))` only: the extractor resolves.
    AppData,
    /// Nothing: a server that is not set up.
    Nothing,
}

const SETUPS: [Setup; 3] = [Setup::Middleware, Setup::Rejecting, Setup::AppData];

/// Where a test server listens.
enum Listen {
    Tcp(TcpListener),
    /// `bind_uds`, which runs no `on_connect` callback.
    UnixBound(PathBuf),
    /// `on_connect(record_unix_peer)`, then `listen_uds`.
    UnixRecorded(UnixListener),
}

/// Where a test client connects.
#[derive(Clone, Debug)]
enum Addr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A server on its own thread and actix system; stopped and joined when
/// dropped, its socket file removed.
struct Running {
    addr: Addr,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Sends the command now; the thread's system ends with the server.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Addr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An HttpServer with one worker, listening as `listen` says, running.
macro_rules! run {
    ($factory:expr, $listen:expr) => {{
        let server = HttpServer::new($factory).workers(1);
        match $listen {
            // The hook leaves TCP connections alone.
            Listen::Tcp(l) => server.on_connect(record_unix_peer).listen(l),
            Listen::UnixBound(path) => server.bind_uds(path),
            Listen::UnixRecorded(l) => server.on_connect(record_unix_peer).listen_uds(l),
        }
        .expect("listen")
        .run()
    }};
}

fn socket_path() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("realip-actix-{}-{n}.sock", std::process::id()))
}

fn start_on(setup: Setup, config: &str, listen: Listen) -> Running {
    let addr = match &listen {
        Listen::Tcp(l) => Addr::Tcp(l.local_addr().expect("a bound address")),
        Listen::UnixBound(path) => Addr::Unix(path.clone()),
        Listen::UnixRecorded(l) => Addr::Unix(
            l.local_addr()
                .expect("a bound address")
                .as_pathname()
                .expect("a path")
                .to_owned(),
        ),
    };
    let resolver = resolver(config);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = match setup {
                Setup::Middleware => run!(
                    move || App::new()
                        .wrap(ClientIpMiddleware::new(resolver.clone()))
                        .configure(routes),
                    listen
                ),
                Setup::Rejecting => run!(
                    move || App::new()
                        .wrap(ClientIpMiddleware::new(resolver.clone()).reject_unresolvable())
                        .configure(routes),
                    listen
                ),
                Setup::AppData => run!(
                    move || App::new()
                        .app_data(web::Data::new(resolver.clone()))
                        .configure(routes),
                    listen
                ),
                Setup::Nothing => run!(|| App::new().configure(routes), listen),
            };
            tx.send(server.handle()).expect("the test waits");
            server.await.expect("the server runs");
        });
    });
    let handle = rx.recv().expect("the server starts");
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}

/// A server on a fresh loopback port.
fn start(setup: Setup, config: &str) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    start_on(setup, config, Listen::Tcp(listener))
}

// ---------------------------------------------------------------------------
// The client side: raw HTTP/1.1.

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: String,
    /// The client's own address, over TCP: the peer the server saw.
    client: Option<SocketAddr>,
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
fn exchange(addr: &Addr, raw: &[u8]) -> Reply {
    // A guard against a hung test, not a timing assertion.
    let timeout = Some(Duration::from_secs(60));
    let mut answer = Vec::new();
    let client = match addr {
        Addr::Tcp(addr) => {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_read_timeout(timeout).expect("a timeout");
            stream.write_all(raw).expect("send the request");
            stream.read_to_end(&mut answer).expect("read the answer");
            Some(stream.local_addr().expect("a local address"))
        }
        Addr::Unix(path) => {
            let mut stream = UnixStream::connect(path).expect("connect");
            stream.set_read_timeout(timeout).expect("a timeout");
            stream.write_all(raw).expect("send the request");
            stream.read_to_end(&mut answer).expect("read the answer");
            None
        }
    };
    parse_reply(&answer, client)
}

fn get(server: &Running, path: &str, header_lines: &[&str]) -> Reply {
    exchange(&server.addr, &request(path, header_lines))
}

fn parse_reply(raw: &[u8], client: Option<SocketAddr>) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("a response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
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
    assert_eq!(header("transfer-encoding"), None, "a sized body");
    let body = &raw[split + 4..];
    if let Some(length) = header("content-length") {
        let length: usize = length.parse().expect("a numeric Content-Length");
        assert_eq!(body.len(), length, "the body has its announced length");
    }
    Reply {
        status,
        content_type: header("content-type"),
        body: String::from_utf8_lossy(body).into_owned(),
        client,
    }
}

/// What the `http` 1 path answers for the same header lines: the answer
/// through actix's map must be the same walk's.
fn core_answer(
    config: &str,
    peer: SocketAddr,
    header_lines: &[&[u8]],
) -> Result<String, realip::Error> {
    let mut headers = HeaderMap::new();
    for line in header_lines {
        let colon = line.iter().position(|&b| b == b':').expect("a header line");
        let name = HeaderName::from_bytes(&line[..colon]).expect("a header name");
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).expect("a value");
        headers.append(name, value);
    }
    resolver(config)
        .resolve(peer, &headers)
        .map(|r| r.client().to_string())
}

// ---------------------------------------------------------------------------
// Rule 1: an untrusted peer is the client, whatever it writes.

/// Every forwarding header realip reads, forged.
const FORGED: &[&str] = &[
    "X-Forwarded-For: 198.51.100.66",
    "Forwarded: for=198.51.100.66",
    "X-Real-IP: 198.51.100.66",
];

#[test]
fn an_untrusted_peer_forging_headers_gets_its_own_address() {
    for setup in SETUPS {
        for config in [
            "x-forwarded-for; trust=10.0.0.0/8",
            "forwarded; trust=10.0.0.0/8",
            "x-real-ip; trust=10.0.0.0/8",
            "peer",
        ] {
            let server = start(setup, config);
            for path in ["/ip", "/result", "/optional"] {
                let reply = get(&server, path, FORGED);
                assert_eq!(
                    (reply.status, reply.body.as_str()),
                    (200, "127.0.0.1"),
                    "{setup:?} {config:?} {path}"
                );
            }
        }
    }
}

/// actix-web's `ConnectionInfo::realip_remote_addr` takes the first `for=`
/// of `Forwarded`, else the first element of `X-Forwarded-For`, from
/// anyone: the README's comparison, pinned.
#[test]
fn actix_realip_remote_addr_believes_the_forged_first_element() {
    let server = start(Setup::Middleware, "x-forwarded-for; trust=loopback");
    let table: &[(&[&str], &str, &str)] = &[
        // A client that connects directly and forges.
        (
            &["X-Forwarded-For: 198.51.100.66"],
            "198.51.100.66",
            "198.51.100.66",
        ),
        // Behind a trusted proxy that appended the real client: the forged
        // first element still wins for actix-web.
        (
            &["X-Forwarded-For: 198.51.100.66, 203.0.113.7"],
            "198.51.100.66",
            "203.0.113.7",
        ),
        // Not even an address.
        (
            &["X-Forwarded-For: not-an-ip, 203.0.113.7"],
            "not-an-ip",
            "203.0.113.7",
        ),
        // Forwarded wins over X-Forwarded-For, whoever wrote it.
        (
            &[
                "Forwarded: for=198.51.100.66",
                "X-Forwarded-For: 203.0.113.7",
            ],
            "198.51.100.66",
            "203.0.113.7",
        ),
    ];
    for &(lines, actix, realip) in table {
        let reply = get(&server, "/actix-realip", lines);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, actix),
            "{lines:?}"
        );
        let reply = get(&server, "/ip", lines);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, realip),
            "{lines:?}"
        );
    }
    // And from a peer realip does not trust, realip answers the peer.
    let untrusted = start(Setup::Middleware, "x-forwarded-for; trust=10.0.0.0/8");
    let lines = &["X-Forwarded-For: 198.51.100.66"];
    assert_eq!(
        get(&untrusted, "/actix-realip", lines).body,
        "198.51.100.66"
    );
    assert_eq!(get(&untrusted, "/ip", lines).body, "127.0.0.1");
}

// ---------------------------------------------------------------------------
// A trusted peer's headers, read through actix's header map.

#[test]
fn a_trusted_peers_headers_are_walked_from_the_right() {
    let table: &[(&str, &[&str], &str)] = &[
        (
            "x-forwarded-for; trust=loopback",
            &["X-Forwarded-For: 198.51.100.66, 203.0.113.7"],
            "203.0.113.7",
        ),
        // Rule 3: every line, first line first (HAProxy adds a line per hop).
        (
            "x-forwarded-for; trust=loopback, 10.0.0.0/8",
            &[
                "X-Forwarded-For: 198.51.100.66",
                "X-Forwarded-For: 203.0.113.7, 10.0.0.2",
                "x-forwarded-for: 10.0.0.1",
            ],
            "203.0.113.7",
        ),
        (
            "forwarded; trust=loopback",
            &["Forwarded: for=198.51.100.66, for=\"[2001:db8::7]:4711\""],
            "2001:db8::7",
        ),
        // A single-address header uses its last line.
        (
            "x-real-ip; trust=loopback",
            &["X-Real-IP: 198.51.100.66", "X-Real-IP: 203.0.113.7"],
            "203.0.113.7",
        ),
        (
            "header:x-my-ip; trust=loopback",
            &["X-My-IP: 203.0.113.7"],
            "203.0.113.7",
        ),
        // Rule 1 still: the peer without a header.
        ("x-forwarded-for; trust=loopback", &[], "127.0.0.1"),
    ];
    for setup in SETUPS {
        for &(config, lines, expected) in table {
            let server = start(setup, config);
            let reply = get(&server, "/ip", lines);
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, expected),
                "{setup:?} {config:?} {lines:?}"
            );
            let raw: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
            let peer = reply.client.expect("a TCP client");
            assert_eq!(
                core_answer(config, peer, &raw).as_deref(),
                Ok(expected),
                "the http 1 path agrees"
            );
        }
    }
}

#[test]
fn resolution_exposes_port_origin_and_trusted_proxies() {
    for setup in SETUPS {
        let server = start(setup, "x-forwarded-for; trust=loopback, 10.0.0.0/8");
        let reply = get(
            &server,
            "/resolution",
            &["X-Forwarded-For: 198.51.100.66, [2001:db8::7]:4711, 10.0.0.2"],
        );
        assert_eq!(reply.status, 200, "{setup:?}: {}", reply.body);
        let client = reply.client.expect("a TCP client");
        assert_eq!(
            reply.json(),
            json!({
                "client": "2001:db8::7",
                "port": 4711,
                "origin": "x-forwarded-for[1 from the right]",
                "trusted_proxies": 2,
                "peer": client.to_string(),
            }),
            "{setup:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Unresolvable chains: 400, with axum's body, which echoes nothing.

#[test]
fn an_unresolvable_chain_is_a_400_with_axums_body() {
    let table: &[(&str, &[u8])] = &[
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: unknown",
        ),
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: 203.0.113.7, EVIL-not-an-address",
        ),
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: EVIL<script>alert(1)</script>",
        ),
        ("x-forwarded-for; trust=loopback", b"X-Forwarded-For: _EVIL"),
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: 010.0.0.1",
        ),
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: [fe80::1%EVIL]",
        ),
        ("x-forwarded-for; trust=loopback", b"X-Forwarded-For: ,,,"),
        // Bytes beyond ASCII (obs-text), which HTTP/1.1 lets through.
        (
            "x-forwarded-for; trust=loopback",
            b"X-Forwarded-For: EVIL\xff\xfe203.0.113.7",
        ),
        ("forwarded; trust=loopback", b"Forwarded: for=\"EVIL"),
        (
            "forwarded; trust=loopback",
            b"Forwarded: for=203.0.113.7;for=EVIL",
        ),
        ("forwarded; trust=loopback", b"Forwarded: proto=EVIL"),
        ("x-real-ip; trust=loopback", b"X-Real-IP: 203.0.113.7, EVIL"),
        (
            "x-forwarded-for; hops=3; trust=loopback",
            b"X-Forwarded-For: 203.0.113.7",
        ),
        (
            "x-forwarded-for; trust=loopback, 10.0.0.0/8; max-hops=2",
            b"X-Forwarded-For: 203.0.113.7, 10.0.0.1, 10.0.0.2",
        ),
        (
            "x-forwarded-for; trust=loopback, 10.0.0.0/8; all-trusted=error",
            b"X-Forwarded-For: 10.0.0.1",
        ),
    ];
    for setup in SETUPS {
        for &(config, line) in table {
            let server = start(setup, config);
            let shown = String::from_utf8_lossy(line);
            let mut raw = request("/ip", &[]);
            raw.truncate(raw.len() - 2);
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n\r\n");
            let reply = exchange(&server.addr, &raw);
            let error = core_answer(config, reply.client.expect("a TCP client"), &[line])
                .expect_err("the http 1 path cannot resolve it either");
            let axum = realip::axum::ClientIpRejection::Unresolvable(error);
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (400, format!("{axum}\n").as_str()),
                "{setup:?} {config:?} {shown:?}"
            );
            assert_eq!(
                reply.content_type.as_deref(),
                Some("text/plain; charset=utf-8"),
                "{setup:?} {shown:?}"
            );
            assert!(!reply.body.contains("EVIL"), "{setup:?} {shown:?}");
            // The middleware that rejects answers before any handler.
            let reply = exchange(&server.addr, &{
                let mut raw = request("/reached", &[]);
                raw.truncate(raw.len() - 2);
                raw.extend_from_slice(line);
                raw.extend_from_slice(b"\r\n\r\n");
                raw
            });
            let expected = match setup {
                Setup::Rejecting => (400, format!("{axum}\n")),
                _ => (200, "reached".to_owned()),
            };
            assert_eq!((reply.status, reply.body), expected, "{setup:?} {shown:?}");
        }
    }
}

#[test]
fn optional_and_result_extractors() {
    for setup in [Setup::Middleware, Setup::AppData] {
        let server = start(setup, "x-forwarded-for; trust=loopback");
        let bad = &["X-Forwarded-For: unknown"];
        assert_eq!(get(&server, "/optional", bad).body, "none", "{setup:?}");
        assert_eq!(
            get(&server, "/result", bad).body,
            "rejected 400",
            "{setup:?}"
        );
        let good = &["X-Forwarded-For: 203.0.113.7"];
        assert_eq!(get(&server, "/optional", good).body, "203.0.113.7");
        assert_eq!(get(&server, "/result", good).body, "203.0.113.7");
    }
    // actix-web's Option turns a server that is not set up into None too
    // (axum's keeps it a 500); Result tells the two apart.
    let server = start(Setup::Nothing, "peer");
    assert_eq!(get(&server, "/optional", &[]).body, "none");
    assert_eq!(get(&server, "/result", &[]).body, "rejected 500");
}

// ---------------------------------------------------------------------------
// A server that is not set up: 500, and what to add.

#[test]
fn no_resolver_is_a_500_that_says_what_to_add() {
    let server = start(Setup::Nothing, "peer");
    for path in ["/ip", "/resolution"] {
        let reply = get(&server, path, &["X-Forwarded-For: 203.0.113.7"]);
        assert_eq!(reply.status, 500, "{path}: {}", reply.body);
        assert!(
            reply.body.contains("ClientIpMiddleware") && reply.body.contains("app_data"),
            "{path}: {:?}",
            reply.body
        );
    }
}

/// actix-web gives no peer address for a Unix-socket connection; its
/// `bind_uds` runs no `on_connect` callback, so nothing records one.
#[test]
fn no_peer_is_a_500() {
    for setup in SETUPS {
        let server = start_on(
            setup,
            "x-forwarded-for; trust=loopback; unix-peer",
            Listen::UnixBound(socket_path()),
        );
        let reply = get(&server, "/ip", &["X-Forwarded-For: 203.0.113.7"]);
        assert_eq!(reply.status, 500, "{setup:?}: {}", reply.body);
        assert!(
            reply.body.contains("record_unix_peer"),
            "{setup:?}: {:?}",
            reply.body
        );
        assert!(!reply.body.contains("203.0.113.7"), "{setup:?}");
        let reply = get(&server, "/reached", &[]);
        let expected = match setup {
            Setup::Rejecting => 500,
            _ => 200,
        };
        assert_eq!(reply.status, expected, "{setup:?}: {}", reply.body);
    }
}

/// Rule 11 through actix-web: `record_unix_peer` makes the peer
/// `Peer::Unix`, trusted only with `unix-peer`.
#[test]
fn a_unix_socket_peer_is_trusted_only_when_configured() {
    let table = [
        (
            "x-forwarded-for; trust=loopback; unix-peer",
            200,
            "203.0.113.7",
        ),
        // Not trusted: a Unix peer has no address to answer with.
        ("x-forwarded-for; trust=loopback", 500, ""),
    ];
    for setup in SETUPS {
        for (config, status, body) in table {
            let path = socket_path();
            let listener = UnixListener::bind(&path).expect("bind a Unix socket");
            let server = start_on(setup, config, Listen::UnixRecorded(listener));
            let reply = get(
                &server,
                "/ip",
                &["X-Forwarded-For: 198.51.100.66, 203.0.113.7"],
            );
            assert_eq!(reply.status, status, "{setup:?} {config:?}: {}", reply.body);
            if status == 200 {
                assert_eq!(reply.body, body, "{setup:?} {config:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// What the middleware stores beside the resolution.

#[test]
fn the_middleware_stores_the_url_and_the_caller() {
    let gateway = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
    let config = format!(
        "x-forwarded-for; trust=loopback; proto=x-forwarded-proto; host=x-forwarded-host; \
         align=single; identity={gateway}"
    );
    let server = start(Setup::Middleware, &config);
    let xfcc = format!(
        "X-Forwarded-Client-Cert: By=spiffe://cluster.local/ns/default/sa/app;URI={gateway}"
    );
    let reply = get(
        &server,
        "/stored",
        &[
            "X-Forwarded-For: 203.0.113.7",
            "X-Forwarded-Proto: https",
            "X-Forwarded-Host: shop.example.com",
            &xfcc,
        ],
    );
    assert_eq!(
        reply.json(),
        json!({
            "client": "203.0.113.7",
            "error": null,
            "url": "https://shop.example.com",
            "caller": gateway,
        })
    );
    // An unresolvable chain: the error is stored, the handler decides.
    let reply = get(&server, "/stored", &["X-Forwarded-For: unknown", &xfcc]);
    assert_eq!(
        reply.json(),
        json!({ "client": null, "error": "unknown_hop", "url": null, "caller": gateway })
    );
    // Without the gateway's identity the sidecar's caller is not trusted:
    // the walk stops at the sidecar (rule 15), and no caller is stored.
    let reply = get(&server, "/stored", &["X-Forwarded-For: 203.0.113.7"]);
    assert_eq!(reply.json()["client"], "127.0.0.1");
    assert_eq!(reply.json()["caller"], Value::Null);
}

// ---------------------------------------------------------------------------
// The example.

#[test]
fn the_actix_example_serves_the_httpbin_surface() {
    let example = RunningExample::start(
        "actix",
        &["--config", "x-forwarded-for; trust=loopback"],
        None,
    );
    let addr = Addr::Tcp(example.addr);
    let forged = ["X-Forwarded-For: 198.51.100.66, 203.0.113.7"];

    let reply = exchange(&addr, &request("/ip", &forged));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({ "origin": "203.0.113.7" }));

    let reply = exchange(&addr, &request("/ip/explain", &forged));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let explanation = reply.json();
    assert_eq!(explanation["client"], "203.0.113.7");
    assert_eq!(
        explanation["configuration"],
        "x-forwarded-for; trust=loopback"
    );
    let verdicts: Vec<&str> = explanation["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["verdict"].as_str().expect("a verdict"))
        .collect();
    assert_eq!(verdicts, ["trusted_proxy", "client"]);
    // The same explanation as the http 1 path's, the peer aside.
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_static("198.51.100.66, 203.0.113.7"),
    );
    let peer = reply.client.expect("a TCP client");
    let core =
        serde_json::to_value(resolver("x-forwarded-for; trust=loopback").explain(peer, &headers))
            .expect("JSON");
    assert_eq!(explanation, core);

    let reply = exchange(
        &addr,
        &request("/ip/explain", &["X-Forwarded-For: unknown"]),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["kind"], "unknown_hop");

    let reply = exchange(&addr, &request("/headers", &forged));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["headers"]["x-forwarded-for"],
        "198.51.100.66, 203.0.113.7"
    );

    let reply = exchange(&addr, &request("/ip", &["X-Forwarded-For: unknown"]));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply
            .body
            .starts_with("could not determine the client address")
    );
}
