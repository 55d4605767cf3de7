//! The PROXY-protocol listener over real TCP on loopback: headers from
//! trusted senders name the client, anyone else is refused (or served
//! plain in mixed mode), a silent client stalls nobody (not even when the
//! handshake pool is full: its oldest makes room), split headers are
//! reassembled, health checks keep the socket peer, and the resolver and
//! its explanation see the PROXY hop.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::process::{self, Stdio};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::response::Json;
use axum::routing::get;
use axum::{Extension, Router};
use realip::proxy_protocol::{Command, Mode, ProxyConnInfo, ProxyProtocolListener};
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{Peer, ProxySet, Resolution, Resolver, SharedProxySet};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use common::{RunningExample, example_binary};

/// Far beyond anything a loopback test needs: only a hang reaches it.
const GUARD: Duration = Duration::from_secs(20);

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A v2 PROXY TCP4 header 198.51.100.22:40000 -> 10.0.0.5:443 with ALPN
/// `h2` and AUTHORITY `example.com` (reference vector).
fn v2_with_tlvs() -> Vec<u8> {
    hex(
        "0d0a0d0a000d0a515549540a2111001fc63364160a0000059c4001bb010002683202000b6578616d706c652e636f6d",
    )
}

/// A v2 PROXY TCP4 header from `src` (IPv4) to 10.0.0.5:443.
fn v2_tcp4(src: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(src) = src else {
        panic!("IPv4 only")
    };
    let mut h = hex("0d0a0d0a000d0a515549540a2111000c");
    h.extend(src.ip().octets());
    h.extend([10, 0, 0, 5]);
    h.extend(src.port().to_be_bytes());
    h.extend(443u16.to_be_bytes());
    h
}

fn get_request(path: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra_headers}Connection: close\r\n\r\n")
        .into_bytes()
}

/// `GET /whoami`: the resolution and the connection info, as JSON.
async fn whoami(
    ConnectInfo(info): ConnectInfo<ProxyConnInfo>,
    resolution: Resolution,
) -> Json<Value> {
    let tlvs = info.tlvs();
    Json(json!({
        "client": resolution.client().to_string(),
        "origin": resolution.origin().to_string(),
        "peer": resolution.peer().to_string(),
        "socket_peer": info.socket_peer().to_string(),
        "source": info.source().map(|a| a.to_string()),
        "destination": info.destination().map(|a| a.to_string()),
        "version": info.version().map(|v| format!("v{v}")),
        "command": info.command().map(|c| c.to_string()),
        "alpn": tlvs.alpn().map(|v| String::from_utf8_lossy(v).into_owned()),
        "authority": tlvs.authority(),
    }))
}

async fn explain(Extension(resolver): Extension<Resolver>, request: Request) -> Json<Value> {
    let peer = peer_from_extensions(request.extensions());
    Json(serde_json::to_value(resolver.explain(peer, request.headers())).unwrap())
}

/// Serves the test app on a fresh loopback port.
async fn serve(listener: ProxyProtocolListener, resolver: &str) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    let resolver: Resolver = resolver.parse().unwrap();
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/ip/explain", get(explain))
        .layer(ClientIpLayer::new(resolver.clone()))
        .layer(Extension(resolver));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ProxyConnInfo>(),
        )
        .await
        .unwrap();
    });
    addr
}

fn senders(s: &str) -> ProxySet {
    s.parse().unwrap()
}

async fn listener(senders_text: &str) -> ProxyProtocolListener {
    ProxyProtocolListener::bind("127.0.0.1:0", senders(senders_text))
        .await
        .unwrap()
}

/// What the server answered: `Some((status, body))`, or `None` when it
/// closed the connection without a response.
async fn exchange(server: SocketAddr, chunks: &[&[u8]], pause: Duration) -> Option<(u16, String)> {
    tokio::time::timeout(GUARD, async {
        let mut conn = TcpStream::connect(server).await.unwrap();
        conn.set_nodelay(true).unwrap();
        for chunk in chunks {
            if conn.write_all(chunk).await.is_err() {
                return None;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        let mut response = Vec::new();
        // A refused connection ends in EOF or a reset.
        let _ = conn.read_to_end(&mut response).await;
        parse_response(&response)
    })
    .await
    .expect("the exchange finished in time")
}

fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    if response.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(response);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

async fn json_of(server: SocketAddr, request: &[u8]) -> Value {
    let (status, body) = exchange(server, &[request], Duration::ZERO)
        .await
        .expect("a response");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[tokio::test]
async fn v1_header_from_a_trusted_sender_names_the_client() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/whoami", ""),
    ]);
    let v = json_of(server, &request).await;
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["origin"], "proxy-protocol");
    assert_eq!(v["version"], "v1");
    assert_eq!(v["source"], "203.0.113.7:51000");
    assert_eq!(v["destination"], "10.0.0.5:443");
    assert!(v["socket_peer"].as_str().unwrap().starts_with("127.0.0.1:"));
}

#[tokio::test]
async fn v2_header_with_tlvs_from_a_trusted_sender_names_the_client() {
    let server = serve(listener("127.0.0.1/32").await, "peer").await;
    let request = concat(&[&v2_with_tlvs(), &get_request("/whoami", "")]);
    let v = json_of(server, &request).await;
    assert_eq!(v["client"], "198.51.100.22");
    assert_eq!(v["version"], "v2");
    assert_eq!(v["command"], "PROXY");
    assert_eq!(v["alpn"], "h2");
    assert_eq!(v["authority"], "example.com");
    let peer = v["peer"].as_str().unwrap();
    assert!(
        peer.starts_with("198.51.100.22:40000 (PROXY protocol from 127.0.0.1:"),
        "{peer}"
    );
}

#[tokio::test]
async fn a_sender_outside_the_cidrs_is_refused() {
    let server = serve(listener("10.0.0.0/8").await, "peer").await;
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/whoami", ""),
    ]);
    assert_eq!(exchange(server, &[&request], Duration::ZERO).await, None);
    // Without a header too: required mode serves nobody else.
    let plain = get_request("/whoami", "");
    assert_eq!(exchange(server, &[&plain], Duration::ZERO).await, None);
}

#[tokio::test]
async fn mixed_mode_serves_other_peers_plain_and_never_reads_their_header() {
    let listener = ProxyProtocolListener::builder(senders("10.0.0.0/8"))
        .mode(Mode::Mixed)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(listener.mode(), Mode::Mixed);
    let server = serve(listener, "peer").await;

    let v = json_of(server, &get_request("/whoami", "")).await;
    assert_eq!(v["client"], "127.0.0.1");
    assert_eq!(v["origin"], "peer");
    assert_eq!(v["version"], Value::Null);

    // A header from an untrusted peer is application data: here, a
    // malformed HTTP request, never a client address.
    let spoof = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/whoami", ""),
    ]);
    if let Some((status, body)) = exchange(server, &[&spoof], Duration::ZERO).await {
        assert_ne!(status, 200, "{body}");
        assert!(!body.contains("203.0.113.7"), "{body}");
    }
}

#[tokio::test]
async fn a_trusted_sender_without_a_header_is_dropped_never_guessed() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;
    assert_eq!(
        exchange(server, &[&get_request("/whoami", "")], Duration::ZERO).await,
        None
    );
    // Mixed mode does not relax this for trusted senders.
    let mixed = ProxyProtocolListener::builder(senders("127.0.0.0/8"))
        .mode(Mode::Mixed)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let server = serve(mixed, "peer").await;
    assert_eq!(
        exchange(server, &[&get_request("/whoami", "")], Duration::ZERO).await,
        None
    );
}

#[tokio::test]
async fn invalid_headers_are_dropped_and_others_still_served() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;
    for bad in [
        hex("0d0a0d0a000d0a515549540a1111000c010203040506070800010002"),
        hex("0d0a0d0a000d0a515549540a211100110102030405060708000100020100056832"),
        b"PROXY TCP4 192.168.000.001 192.168.0.11 56324 443\r\n".to_vec(),
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n".to_vec(),
        hex("0d0a0d0a000d0a515549540a21110013c0000201c000020204d20050030004875d0ba8"),
    ] {
        let request = concat(&[&bad, &get_request("/whoami", "")]);
        assert_eq!(exchange(server, &[&request], Duration::ZERO).await, None);
    }
    let good = concat(&[&v2_with_tlvs(), &get_request("/whoami", "")]);
    assert_eq!(json_of(server, &good).await["client"], "198.51.100.22");
}

#[tokio::test]
async fn a_silent_client_does_not_delay_a_second_clients_request() {
    let timeout = Duration::from_secs(5);
    let listener = ProxyProtocolListener::builder(senders("127.0.0.0/8"))
        .header_timeout(timeout)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let server = serve(listener, "peer").await;

    // Connects, then says nothing.
    let silent = TcpStream::connect(server).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let started = Instant::now();
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/whoami", ""),
    ]);
    let v = json_of(server, &request).await;
    let elapsed = started.elapsed();
    assert_eq!(v["client"], "203.0.113.7");
    assert!(
        elapsed < timeout / 2,
        "the second request took {elapsed:?}, the header timeout is {timeout:?}"
    );
    drop(silent);
}

#[tokio::test]
async fn the_header_timeout_closes_a_silent_connection() {
    let timeout = Duration::from_millis(300);
    let listener = ProxyProtocolListener::builder(senders("127.0.0.0/8"))
        .header_timeout(timeout)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let server = serve(listener, "peer").await;

    let started = Instant::now();
    let mut silent = TcpStream::connect(server).await.unwrap();
    // Half a header, then nothing.
    silent.write_all(b"PROXY TCP4 203.0.").await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(GUARD, silent.read(&mut buf))
        .await
        .expect("closed before the guard");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        started.elapsed() >= timeout,
        "closed after {:?}",
        started.elapsed()
    );
}

// Rule 12: a full handshake pool never stops the listener. The pool is
// filled with silent trusted senders and the header timeout is long, so a
// connection answered before `ANSWERED` was served at once, and one that
// waited for a slot to time out would take `LONG_HEADER_TIMEOUT`.

/// Far longer than any test here runs.
const LONG_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// "At once", generously: a loaded machine answers in milliseconds, and a
/// listener that waits for a slot takes `LONG_HEADER_TIMEOUT`.
const ANSWERED: Duration = Duration::from_secs(3);

/// A listener whose pool of `max` handshakes silent senders fill for
/// `LONG_HEADER_TIMEOUT`.
async fn small_pool(senders_text: &str, mode: Mode, max: usize) -> ProxyProtocolListener {
    ProxyProtocolListener::builder(senders(senders_text))
        .mode(mode)
        .header_timeout(LONG_HEADER_TIMEOUT)
        .max_handshakes(max)
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

/// `count` connections that never send a byte. The kernel hands them to
/// the listener in order, before any connection opened after them.
async fn silent_connections(server: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut silent = Vec::new();
    for _ in 0..count {
        silent.push(TcpStream::connect(server).await.unwrap());
    }
    silent
}

/// A connection from `local`, a loopback address other than 127.0.0.1.
async fn connect_from(local: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(local.parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Sends `request` on `conn` and reads the answer, which must come (or the
/// connection close) within `ANSWERED`.
async fn answered_at_once(
    mut conn: TcpStream,
    request: &[u8],
    what: &str,
) -> Option<(u16, String)> {
    let started = Instant::now();
    let exchange = async {
        conn.write_all(request).await.unwrap();
        let mut response = Vec::new();
        // A refused connection ends in EOF or a reset.
        let _ = conn.read_to_end(&mut response).await;
        parse_response(&response)
    };
    tokio::time::timeout(ANSWERED, exchange)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what}: no answer and no close after {:?}: the full pool held it back",
                started.elapsed()
            )
        })
}

fn valid_request() -> Vec<u8> {
    concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/whoami", ""),
    ])
}

/// Whether `conn` was closed by the server (EOF or a reset) within
/// `ANSWERED`, while `listener` accepts (it must hand over no connection).
async fn closed_while_accepting(
    listener: &mut ProxyProtocolListener,
    conn: &mut TcpStream,
) -> bool {
    let mut byte = [0u8; 1];
    tokio::select! {
        read = tokio::time::timeout(ANSWERED, conn.read(&mut byte)) => {
            matches!(read, Ok(Ok(0) | Err(_)))
        }
        accepted = listener.accept() => {
            panic!("no connection was ready, yet accept returned {:?}", accepted.map(|(_, info)| info))
        }
    }
}

/// Whether `conn` is still open: nothing to read, no close, for a moment.
async fn still_open(conn: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_millis(100), conn.read(&mut byte))
        .await
        .is_err()
}

/// Accepts (cancelling each `accept` after a moment, as a `select!` loop
/// does) until `in_flight` headers are being read.
async fn accept_until_in_flight(
    listener: &mut ProxyProtocolListener,
    in_flight: usize,
    max: usize,
) {
    let started = Instant::now();
    while listener.handshakes_in_flight() != in_flight {
        assert!(
            started.elapsed() < ANSWERED,
            "{} handshakes in flight after {:?}, expected {in_flight}",
            listener.handshakes_in_flight(),
            started.elapsed()
        );
        if let Ok(accepted) =
            tokio::time::timeout(Duration::from_millis(10), listener.accept()).await
        {
            panic!(
                "no connection was ready, yet accept returned {:?}",
                accepted.map(|(_, info)| info)
            );
        }
        assert!(listener.handshakes_in_flight() <= max);
    }
}

#[tokio::test]
async fn a_full_handshake_pool_still_serves_a_valid_header_at_once() {
    let server = serve(small_pool("127.0.0.0/8", Mode::Required, 4).await, "peer").await;
    // Twice the pool: the pool stays full, and keeps turning over.
    let mut silent = silent_connections(server, 8).await;

    for round in 1..=3 {
        let conn = TcpStream::connect(server).await.unwrap();
        let (status, body) = answered_at_once(conn, &valid_request(), "a valid header")
            .await
            .unwrap_or_else(|| panic!("round {round}: closed without an answer"));
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["client"], "203.0.113.7");
        // Refill the slot the valid connection took from a silent one.
        silent.extend(silent_connections(server, 1).await);
    }
    drop(silent);
}

/// Senders in a file that is reloaded: a sender the file gains is trusted
/// from the next connection on, one it loses is refused, and a broken file
/// changes nothing.
#[tokio::test]
async fn a_sender_added_by_a_reload_is_then_trusted() {
    let dir = std::env::temp_dir().join(format!("realip-listener-reload-{}", process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("senders.txt");
    std::fs::write(&path, "# the balancers\n127.0.0.2\n").unwrap();
    let senders = SharedProxySet::from_file(&path).unwrap();
    let listener = ProxyProtocolListener::builder(senders.clone())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(listener.trusted_senders().to_string(), "127.0.0.2");
    let server = serve(listener, "peer").await;
    let from = |local: &'static str| async move {
        let conn = connect_from(local, server).await;
        answered_at_once(conn, &valid_request(), local).await
    };
    let served_by = |answer: Option<(u16, String)>| {
        let (status, body) = answer.expect("served, not closed");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["client"], "203.0.113.7");
        v["socket_peer"].as_str().unwrap().to_owned()
    };

    assert!(served_by(from("127.0.0.2:0").await).starts_with("127.0.0.2:"));
    assert_eq!(from("127.0.0.3:0").await, None, "not a sender yet");

    std::fs::write(&path, "127.0.0.2\n127.0.0.3  # the new balancer\n").unwrap();
    assert!(senders.reload_from_file(&path).unwrap());
    assert!(served_by(from("127.0.0.3:0").await).starts_with("127.0.0.3:"));

    std::fs::write(&path, "127.0.0.3\n").unwrap();
    assert!(senders.reload_from_file(&path).unwrap());
    assert_eq!(from("127.0.0.2:0").await, None, "no longer a sender");

    std::fs::write(&path, "127.0.0.3\n127.0.0.2/33\n").unwrap();
    assert_eq!(senders.reload_from_file(&path).unwrap_err().line(), Some(2));
    assert!(served_by(from("127.0.0.3:0").await).starts_with("127.0.0.3:"));
    assert_eq!(from("127.0.0.2:0").await, None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_full_handshake_pool_closes_an_untrusted_peer_at_once_in_required_mode() {
    // 127.0.0.1 is the only sender; the peer connects from 127.0.0.2.
    let server = serve(small_pool("127.0.0.1/32", Mode::Required, 4).await, "peer").await;
    let silent = silent_connections(server, 4).await;

    let untrusted = connect_from("127.0.0.2:0", server).await;
    let answer =
        answered_at_once(untrusted, &get_request("/whoami", ""), "an untrusted peer").await;
    assert_eq!(answer, None);
    drop(silent);
}

#[tokio::test]
async fn a_full_handshake_pool_serves_an_untrusted_peer_plain_at_once_in_mixed_mode() {
    let server = serve(small_pool("127.0.0.1/32", Mode::Mixed, 4).await, "peer").await;
    let silent = silent_connections(server, 4).await;

    let untrusted = connect_from("127.0.0.2:0", server).await;
    let (status, body) =
        answered_at_once(untrusted, &get_request("/whoami", ""), "an untrusted peer")
            .await
            .expect("served plain, not closed");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["client"], "127.0.0.2");
    assert_eq!(v["origin"], "peer");
    drop(silent);
}

#[tokio::test]
async fn a_full_handshake_pool_closes_its_oldest_pending_handshake_and_never_grows() {
    const MAX: usize = 4;
    let mut listener = small_pool("127.0.0.0/8", Mode::Required, MAX).await;
    let addr = listener.local_addr().unwrap();
    let mut silent = Vec::new();
    for n in 1..=MAX {
        silent.push(TcpStream::connect(addr).await.unwrap());
        accept_until_in_flight(&mut listener, n, MAX).await;
    }

    // One more silent sender: the oldest pending handshake makes room.
    silent.push(TcpStream::connect(addr).await.unwrap());
    assert!(
        closed_while_accepting(&mut listener, &mut silent[0]).await,
        "the oldest pending handshake is closed to make room"
    );
    accept_until_in_flight(&mut listener, MAX, MAX).await;
    for (n, conn) in silent.iter_mut().enumerate().skip(1) {
        assert!(
            still_open(conn).await,
            "silent connection {n} is still pending"
        );
    }

    // A valid header: the next oldest makes room, and the header is read.
    let mut valid = TcpStream::connect(addr).await.unwrap();
    valid
        .write_all(b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\nhello")
        .await
        .unwrap();
    let (mut stream, info) = tokio::time::timeout(ANSWERED, listener.accept())
        .await
        .expect("the valid header is accepted at once")
        .unwrap();
    assert_eq!(info.source(), Some("203.0.113.7:51000".parse().unwrap()));
    let mut hello = [0u8; 5];
    stream.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"hello");
    let mut byte = [0u8; 1];
    let evicted = tokio::time::timeout(ANSWERED, silent[1].read(&mut byte)).await;
    assert!(
        matches!(evicted, Ok(Ok(0) | Err(_))),
        "the second oldest was closed for the valid one: {evicted:?}"
    );
    // The three silent connections left; the valid one is done.
    assert_eq!(listener.handshakes_in_flight(), MAX - 1);
    for (n, conn) in silent.iter_mut().enumerate().skip(2) {
        assert!(
            still_open(conn).await,
            "silent connection {n} is still pending"
        );
    }
}

// The example, with its pool set from the command line.

/// The `proxy_protocol` example with `args`.
fn example(args: &[&str]) -> RunningExample {
    RunningExample::start("proxy_protocol", args, None)
}

#[tokio::test]
async fn the_example_with_max_handshakes_2_serves_a_valid_header_past_silent_ones() {
    let example = example(&["--max-handshakes", "2", "--header-timeout", "30"]);
    let silent = silent_connections(example.addr, 4).await;
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/ip", ""),
    ]);
    let conn = TcpStream::connect(example.addr).await.unwrap();
    let (status, body) = answered_at_once(conn, &request, "a valid header")
        .await
        .expect("an answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"origin":"203.0.113.7"}"#);
    drop(silent);
}

#[test]
fn the_example_refuses_a_bad_max_handshakes() {
    for value in [
        "0",
        "",
        "-1",
        "+2",
        " 2",
        "2 ",
        "2x",
        "0x10",
        "1e3",
        "２",
        "99999999999999999999999",
    ] {
        let mut child = process::Command::new(example_binary("proxy_protocol"))
            .args(["--listen", "127.0.0.1:0", "--max-handshakes", value])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the proxy_protocol example starts");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > GUARD {
                let _ = child.kill();
                let _ = child.wait();
                panic!("--max-handshakes {value:?} was accepted: the example kept running");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(
            status.code(),
            Some(2),
            "--max-handshakes {value:?}: {stderr}"
        );
        assert!(
            stderr.contains("--max-handshakes"),
            "--max-handshakes {value:?}: {stderr}"
        );
    }
    // A flag without its value.
    let output = process::Command::new(example_binary("proxy_protocol"))
        .args(["--listen", "127.0.0.1:0", "--max-handshakes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn a_header_split_across_writes_is_reassembled() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;

    // v2 in three writes, the last with the request.
    let header = v2_with_tlvs();
    let request = get_request("/whoami", "");
    let tail = concat(&[&header[20..], &request]);
    let (status, body) = exchange(
        server,
        &[&header[..5], &header[5..20], &tail],
        Duration::from_millis(30),
    )
    .await
    .expect("a response");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["client"], "198.51.100.22");
    assert_eq!(v["authority"], "example.com");

    // v1, one byte per write.
    let line = b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 443\r\n";
    let mut chunks: Vec<&[u8]> = line.chunks(1).collect();
    chunks.push(&request);
    let (status, body) = exchange(server, &chunks, Duration::from_millis(2))
        .await
        .expect("a response");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["client"], "2001:db8::1");
}

/// Headers that name no source: `LOCAL` (health checks), `UNKNOWN`,
/// `AF_UNSPEC`. Each with the header bytes, version and command.
fn sourceless_headers() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        (
            "v2 LOCAL",
            hex("0d0a0d0a000d0a515549540a20000000"),
            "v2",
            "LOCAL",
        ),
        (
            "v2 LOCAL with a block",
            hex("0d0a0d0a000d0a515549540a2011000c0a0000010a00000200010002"),
            "v2",
            "LOCAL",
        ),
        (
            "v2 PROXY UNSPEC",
            hex("0d0a0d0a000d0a515549540a21000000"),
            "v2",
            "PROXY",
        ),
        ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n".to_vec(), "v1", "PROXY"),
    ]
}

#[tokio::test]
async fn local_health_checks_and_unknown_answer_the_balancer() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;
    for (name, header, version, command) in sourceless_headers() {
        let v = json_of(server, &concat(&[&header, &get_request("/whoami", "")])).await;
        assert_eq!(v["client"], "127.0.0.1", "{name}");
        assert_eq!(v["origin"], "peer", "{name}");
        assert_eq!(v["source"], Value::Null, "{name}");
        assert_eq!(v["version"], version, "{name}");
        assert_eq!(v["command"], command, "{name}");
        assert_eq!(
            v["peer"],
            format!(
                "{} (PROXY protocol without a source)",
                v["socket_peer"].as_str().unwrap()
            ),
            "{name}"
        );
    }
}

/// DESIGN rule 12: the sender of a header without a source is an L4
/// balancer, never an HTTP proxy. Even when its address is in the
/// resolver's trusted set, the client's forwarding headers on such a
/// connection are never read: the answer is the balancer, and the
/// explanation says why. Through the example server, as deployed.
#[tokio::test]
async fn headers_behind_a_sourceless_proxy_header_are_never_read_even_when_the_sender_is_trusted() {
    let example = example(&[
        "--senders",
        "127.0.0.0/8",
        "--config",
        "x-forwarded-for; trust=127.0.0.0/8",
    ]);
    let forged = "X-Forwarded-For: 1.1.1.1\r\nX-Real-IP: 1.1.1.1\r\n";
    for (name, header, ..) in sourceless_headers() {
        for (path, check) in [("/ip", "origin"), ("/ip/explain", "client")] {
            let conn = connect_from("127.0.0.2:0", example.addr).await;
            let request = concat(&[&header, &get_request(path, forged)]);
            let (status, body) = answered_at_once(conn, &request, name)
                .await
                .unwrap_or_else(|| panic!("{name} {path}: no answer"));
            assert_eq!(status, 200, "{name} {path}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v[check], "127.0.0.2", "{name} {path}: {body}");
            if path == "/ip/explain" {
                let codes: Vec<&str> = v["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["code"].as_str().unwrap())
                    .collect();
                assert_eq!(codes, ["balancer_gave_no_source"], "{name}: {body}");
                assert_eq!(v["diagnostics"][0]["level"], "warning", "{name}: {body}");
                assert_eq!(v["hops"].as_array().unwrap().len(), 1, "{name}: {body}");
            }
        }
    }
    // The same sender with a source: the source is the peer, and the
    // trusted set then applies to it as to any peer.
    let conn = connect_from("127.0.0.2:0", example.addr).await;
    let request = concat(&[
        b"PROXY TCP4 127.0.0.9 127.0.0.1 51000 443\r\n",
        &get_request("/ip", forged),
    ]);
    let (_, body) = answered_at_once(conn, &request, "TCP4").await.unwrap();
    assert_eq!(body, r#"{"origin":"1.1.1.1"}"#);
}

#[tokio::test]
async fn a_second_header_is_application_data() {
    let mut listener = listener("127.0.0.0/8").await;
    let addr = listener.local_addr().unwrap();
    let first = v2_tcp4("203.0.113.7:51000".parse().unwrap());
    let second: &[u8] = b"PROXY TCP4 6.6.6.6 7.7.7.7 1 2\r\nhello";
    let client = tokio::spawn({
        let sent = concat(&[&first, second]);
        async move {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(&sent).await.unwrap();
            conn.shutdown().await.unwrap();
            conn
        }
    });
    let (mut stream, info) = tokio::time::timeout(GUARD, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.source(), Some("203.0.113.7:51000".parse().unwrap()));
    let mut data = Vec::new();
    stream.read_to_end(&mut data).await.unwrap();
    assert_eq!(data, second);
    drop(client.await.unwrap());
}

#[tokio::test]
async fn the_stream_replays_bytes_read_past_the_header_then_reads_the_socket() {
    let mut listener = listener("127.0.0.0/8").await;
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\nearly ")
            .await
            .unwrap();
        // Surely after the handshake's read.
        tokio::time::sleep(Duration::from_millis(200)).await;
        conn.write_all(b"late").await.unwrap();
        let mut echo = Vec::new();
        conn.shutdown().await.unwrap();
        conn.read_to_end(&mut echo).await.unwrap();
        echo
    });
    let (mut stream, info) = tokio::time::timeout(GUARD, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.version(), Some(1));
    assert_eq!(info.command(), Some(Command::Proxy));
    // The handshake may have read "early " with the header.
    let mut early = [0u8; 6];
    stream.read_exact(&mut early).await.unwrap();
    assert_eq!(&early, b"early ");
    assert!(stream.buffered().is_empty());
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"late");
    stream.write_all(b"echo").await.unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(client.await.unwrap(), b"echo");
}

/// "PROXY from the balancer subnet, then X-Forwarded-For trusted from the
/// gateway" in one place: the PROXY source is the peer the resolver walks
/// from.
#[tokio::test]
async fn proxy_then_x_forwarded_for_in_one_place() {
    let server = serve(
        listener("127.0.0.0/8").await,
        "x-forwarded-for; trust=10.1.0.0/16",
    )
    .await;

    // Through the gateway 10.1.2.3: its XFF append is believed.
    let via_gateway = concat(&[
        &v2_tcp4("10.1.2.3:40000".parse().unwrap()),
        &get_request(
            "/whoami",
            "X-Forwarded-For: 198.51.100.66, 203.0.113.50\r\n",
        ),
    ]);
    let v = json_of(server, &via_gateway).await;
    assert_eq!(v["client"], "203.0.113.50");
    assert_eq!(v["origin"], "x-forwarded-for[0 from the right]");

    // A client the balancer relayed directly: its forged XFF is ignored.
    let direct = concat(&[
        &v2_tcp4("203.0.113.7:51000".parse().unwrap()),
        &get_request("/whoami", "X-Forwarded-For: 10.1.9.9\r\n"),
    ]);
    let v = json_of(server, &direct).await;
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["origin"], "proxy-protocol");

    // The explanation shows the PROXY hop, then the header hops.
    let explain = concat(&[
        &v2_tcp4("10.1.2.3:40000".parse().unwrap()),
        &get_request(
            "/ip/explain",
            "X-Forwarded-For: 198.51.100.66, 203.0.113.50\r\n",
        ),
    ]);
    let e = json_of(server, &explain).await;
    let peer = e["peer"].as_str().unwrap();
    assert!(
        peer.starts_with("10.1.2.3:40000 (PROXY protocol from 127.0.0.1:"),
        "{peer}"
    );
    assert_eq!(e["client"], "203.0.113.50");
    assert_eq!(e["hops"][0]["position"], "peer");
    assert_eq!(e["hops"][0]["address"], "10.1.2.3");
    assert_eq!(e["hops"][0]["verdict"], "trusted_proxy");
    assert_eq!(e["hops"][1]["verdict"], "client");
}

#[tokio::test]
async fn the_explanation_names_the_proxy_protocol_as_the_source() {
    let server = serve(listener("127.0.0.0/8").await, "peer").await;
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/ip/explain", ""),
    ]);
    let e = json_of(server, &request).await;
    assert_eq!(e["source"], "proxy-protocol");
    assert_eq!(e["client"], "203.0.113.7");
    assert_eq!(e["port"], 51000);
    let peer = e["peer"].as_str().unwrap();
    assert!(
        peer.starts_with("203.0.113.7:51000 (PROXY protocol from 127.0.0.1:"),
        "{peer}"
    );
}

/// Without axum: hyper serves the stream; the connection info goes into
/// request extensions, where the layer finds it.
#[tokio::test]
async fn hyper_serves_the_listener_directly() {
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt;

    let mut listener = listener("127.0.0.0/8").await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, info) = listener.accept().await.unwrap();
            let resolver: Resolver = "peer".parse().unwrap();
            let service = tower::ServiceBuilder::new()
                .layer(ClientIpLayer::new(resolver))
                .service_fn(|req: http::Request<Incoming>| async move {
                    let client = req
                        .extensions()
                        .get::<Resolution>()
                        .map(|r| r.client().to_string())
                        .unwrap_or_default();
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        Full::<hyper::body::Bytes>::from(client),
                    ))
                });
            let hyper_service =
                hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    req.extensions_mut().insert(info.clone());
                    service.clone().oneshot(req)
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    let request = concat(&[
        b"PROXY TCP4 203.0.113.7 10.0.0.5 51000 443\r\n",
        &get_request("/", ""),
    ]);
    let (status, body) = exchange(addr, &[&request], Duration::ZERO)
        .await
        .expect("a response");
    assert_eq!(status, 200);
    assert_eq!(body, "203.0.113.7");
}

#[test]
fn peer_from_extensions_reads_proxy_conn_info() {
    let balancer: SocketAddr = "10.0.0.5:40001".parse().unwrap();
    let header_bytes = b"PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n";
    let header = realip::proxy_protocol::decode(header_bytes).unwrap();
    let info = ProxyConnInfo::from_header(balancer, &header);
    let proxied = Peer::Proxied {
        ip: "203.0.113.7".parse().unwrap(),
        port: Some(51000),
        sender: balancer,
    };

    let mut bare = http::Extensions::new();
    bare.insert(info.clone());
    assert_eq!(peer_from_extensions(&bare), proxied);

    let mut connect_info = http::Extensions::new();
    connect_info.insert(ConnectInfo(info.clone()));
    assert_eq!(peer_from_extensions(&connect_info), proxied);

    // An explicit Peer still comes first.
    bare.insert(Peer::Unix);
    assert_eq!(peer_from_extensions(&bare), Peer::Unix);

    let mut plain = http::Extensions::new();
    plain.insert(ProxyConnInfo::plain(balancer));
    assert_eq!(peer_from_extensions(&plain), Peer::from(balancer));
}

#[test]
fn the_text_explanation_shows_the_proxy_hop() {
    let header =
        realip::proxy_protocol::decode(b"PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n").unwrap();
    let info = ProxyConnInfo::from_header("10.0.0.5:40001".parse().unwrap(), &header);
    let resolver: Resolver = "peer".parse().unwrap();
    let text = resolver
        .explain(info.peer(), &http::HeaderMap::new())
        .to_string();
    assert!(
        text.contains("peer     203.0.113.7:51000 (PROXY protocol from 10.0.0.5:40001)  -> CLIENT"),
        "{text}"
    );
    assert!(
        text.contains("(from proxy-protocol, 0 trusted proxies)"),
        "{text}"
    );
}
