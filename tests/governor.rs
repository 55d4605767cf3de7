//! Rate limits keyed by the resolved client (feature `governor`): axum on
//! 127.0.0.1 behind tower_governor's `GovernorLayer` with realip's
//! `ClientIpKeyExtractor`, requests written by hand over TCP.
//!
//! The test client's address is `127.0.0.1`, so a configuration that trusts
//! `loopback` makes it a proxy whose `X-Forwarded-For` names the client,
//! and one that trusts `10.0.0.0/8` makes it a client forging headers. Each
//! limit allows a burst of `BURST` and one more request an hour: no test
//! depends on timing. Each test serves its own limiter, so buckets start
//! full.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use http::Request as HttpRequest;
use ipnet::IpNet;
use realip::governor::{ClientIpKeyExtractor, NO_RESOLUTION_BODY};
use realip::tower::{ClientIpLayer, NO_PEER_BODY};
use realip::{Peer, PrefixError, RateLimitPrefixes, Resolution, Resolver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, SmartIpKeyExtractor};

/// Requests a client may send before it is limited.
const BURST: u32 = 3;

/// One request back per hour: far longer than any test.
const PERIOD_SECONDS: u64 = 3600;

// ---------------------------------------------------------------------------
// The server: one counted route behind the limiter.

/// How the limiter learns the client.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// `ClientIpLayer` outside the limiter; `ClientIpKeyExtractor::from_layer()`
    /// reads what it stored.
    Layer,
    /// No layer: `ClientIpKeyExtractor::new(resolver)` resolves itself.
    Alone,
}

const SETUPS: [Setup; 2] = [Setup::Layer, Setup::Alone];

fn resolver(config: &str) -> Resolver {
    config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid configuration: {e}"))
}

/// A router limited by `extractor`, whose one handler counts its calls and
/// answers the client the layer resolved (or `-` without the layer).
fn limited<K>(extractor: K) -> (Router, Arc<AtomicUsize>)
where
    K: KeyExtractor + Send + Sync + 'static,
    K::Key: Send + Sync + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let handler = move |request: Request| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            request
                .extensions()
                .get::<Resolution>()
                .map_or_else(|| "-".to_owned(), |r| r.client().to_string())
        }
    };
    let limit = GovernorConfigBuilder::default()
        .key_extractor(extractor)
        .per_second(PERIOD_SECONDS)
        .burst_size(BURST)
        .finish()
        .expect("a period and a burst above zero");
    let app = Router::new()
        .route("/ip", get(handler))
        .layer(GovernorLayer::new(limit));
    (app, hits)
}

/// The limited router for `setup`, resolving with `config`.
fn app(setup: Setup, config: &str) -> (Router, Arc<AtomicUsize>) {
    match setup {
        Setup::Layer => {
            let (app, hits) = limited(ClientIpKeyExtractor::from_layer());
            (app.layer(ClientIpLayer::new(resolver(config))), hits)
        }
        Setup::Alone => limited(ClientIpKeyExtractor::new(resolver(config))),
    }
}

/// Serves `app` on a fresh port with `ConnectInfo<SocketAddr>`.
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
// The client: raw HTTP/1.1 over TCP.

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: String,
}

/// `GET /ip` with these header lines, in this order, answered and closed.
async fn get_ip(addr: SocketAddr, header_lines: &[String]) -> Reply {
    let mut head = "GET /ip HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".to_owned();
    for line in header_lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    // A guard against a hung test, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes the connection")
        .expect("read the answer");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("a response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line with a code");
    let mut content_type = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.trim().to_owned()),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = &raw[split + 4..];
    let mut dechunked = Vec::new();
    if chunked {
        loop {
            let end = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a chunk-size line");
            let size = std::str::from_utf8(&body[..end]).expect("an ASCII chunk size");
            let size = usize::from_str_radix(size.trim(), 16).expect("a hexadecimal size");
            body = &body[end + 2..];
            if size == 0 {
                break;
            }
            dechunked.extend_from_slice(&body[..size]);
            body = &body[size + 2..];
        }
        body = &dechunked;
    }
    Reply {
        status,
        content_type,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

/// Sends `count` requests from a client named by `header_lines(i)` and
/// returns their statuses.
async fn statuses(
    addr: SocketAddr,
    count: usize,
    header_lines: impl Fn(usize) -> Vec<String>,
) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..count {
        out.push(get_ip(addr, &header_lines(i)).await.status);
    }
    out
}

/// `BURST` times 200, then `extra` times 429.
fn burst_then_limited(extra: usize) -> Vec<u16> {
    let mut want = vec![200; BURST as usize];
    want.extend(std::iter::repeat_n(429, extra));
    want
}

/// Headers naming `client` through a trusted proxy: `X-Forwarded-For` as
/// the proxy appended it.
fn via_proxy(client: &str) -> Vec<String> {
    vec![format!("X-Forwarded-For: {client}")]
}

// ---------------------------------------------------------------------------
// One client, one bucket, whatever it writes.

/// Every forwarding header a client can forge, with values new on each
/// request: a limiter keyed by any of them would give each request a fresh
/// bucket.
fn forged(i: usize) -> Vec<String> {
    vec![
        format!("X-Forwarded-For: 198.51.100.{i}"),
        format!("X-Forwarded-For: 2001:db8:{i}::1"),
        format!("X-Real-IP: 192.0.2.{i}"),
        format!("Forwarded: for=203.0.113.{i}"),
        format!("Forwarded: for=\"[2001:db8:{i}::2]\""),
        format!("True-Client-IP: 192.0.2.{}", i + 100),
    ]
}

#[tokio::test]
async fn the_request_after_the_burst_is_429_whatever_the_client_forges() {
    // The peer 127.0.0.1 is not a trusted proxy: it is the client, whichever
    // header the resolver would read from a proxy.
    let configs = [
        "peer",
        "x-forwarded-for; trust=10.0.0.0/8",
        "x-real-ip; trust=10.0.0.0/8",
        "forwarded; trust=10.0.0.0/8",
        "true-client-ip; trust=10.0.0.0/8",
    ];
    for setup in SETUPS {
        for config in configs {
            let (app, hits) = app(setup, config);
            let addr = serve(app).await;
            let got = statuses(addr, BURST as usize + 3, forged).await;
            assert_eq!(got, burst_then_limited(3), "{setup:?} {config:?}");
            assert_eq!(
                hits.load(Ordering::SeqCst),
                BURST as usize,
                "{setup:?} {config:?}: a limited request reached the handler"
            );
        }
    }
}

#[tokio::test]
async fn a_client_behind_the_proxy_cannot_escape_by_prepending() {
    // The proxy (127.0.0.1, trusted) appends the client it saw, 203.0.113.7;
    // the client writes whatever it likes to the left, and in every other
    // header.
    for setup in SETUPS {
        let (app, hits) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        let got = statuses(addr, BURST as usize + 3, |i| {
            let mut lines = vec![format!(
                "X-Forwarded-For: 198.51.100.{i}, 2001:db8:{i}::1, 203.0.113.7"
            )];
            lines.extend(forged(i).into_iter().skip(2));
            lines
        })
        .await;
        assert_eq!(got, burst_then_limited(3), "{setup:?}");
        assert_eq!(hits.load(Ordering::SeqCst), BURST as usize, "{setup:?}");
    }
}

#[tokio::test]
async fn the_handler_sees_the_client_the_limiter_keyed() {
    let (app, _) = app(Setup::Layer, "x-forwarded-for; trust=loopback");
    let addr = serve(app).await;
    let reply = get_ip(
        addr,
        &lines(&["X-Forwarded-For: 198.51.100.1, 203.0.113.7"]),
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "203.0.113.7"));
}

// ---------------------------------------------------------------------------
// Different clients, different buckets; one network, one bucket.

#[tokio::test]
async fn clients_behind_one_trusted_proxy_are_limited_apart() {
    for setup in SETUPS {
        let (app, _) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        let a = |_| via_proxy("203.0.113.7");
        let b = |_| via_proxy("203.0.113.8");
        assert_eq!(
            statuses(addr, BURST as usize + 1, a).await,
            burst_then_limited(1),
            "{setup:?}: client A"
        );
        assert_eq!(
            statuses(addr, BURST as usize + 1, b).await,
            burst_then_limited(1),
            "{setup:?}: client B has a bucket of its own"
        );
        assert_eq!(
            statuses(addr, 1, a).await,
            [429],
            "{setup:?}: A still limited"
        );
    }
}

#[tokio::test]
async fn ipv6_clients_share_their_64_and_no_more() {
    for setup in SETUPS {
        let (app, _) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        // One subscriber's /64, a new address per request: one bucket.
        let got = statuses(addr, BURST as usize + 2, |i| {
            via_proxy(&format!("2001:db8:1:2::{:x}", i + 1))
        })
        .await;
        assert_eq!(got, burst_then_limited(2), "{setup:?}: one /64");
        // The neighbouring /64 is another subscriber.
        let got = statuses(addr, 1, |_| via_proxy("2001:db8:1:3::1")).await;
        assert_eq!(got, [200], "{setup:?}: the next /64");
    }
}

#[tokio::test]
async fn a_nat64_client_is_keyed_by_its_ipv4() {
    for setup in SETUPS {
        let (app, _) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        // The same client over IPv4 and through NAT64 and 6to4: one bucket.
        let seen_as = [
            "198.51.100.9",
            "64:ff9b::198.51.100.9",
            "2002:c633:6409::1",
            "64:ff9b::c633:6409",
        ];
        let got = statuses(addr, seen_as.len(), |i| via_proxy(seen_as[i])).await;
        assert_eq!(got, burst_then_limited(1), "{setup:?}: one IPv4 client");
        // Its neighbour behind the same translator is another client, not
        // the translator's /64.
        let got = statuses(addr, 1, |_| via_proxy("64:ff9b::198.51.100.10")).await;
        assert_eq!(got, [200], "{setup:?}: another client behind the NAT64");
    }
}

#[tokio::test]
async fn wider_prefixes_group_wider_networks() {
    let prefixes = RateLimitPrefixes::new(24, 48).expect("valid lengths");
    let extractor =
        ClientIpKeyExtractor::new(resolver("x-forwarded-for; trust=loopback")).prefixes(prefixes);
    let (app, _) = limited(extractor);
    let addr = serve(app).await;
    let v4 = [
        "203.0.113.1",
        "203.0.113.200",
        "64:ff9b::203.0.113.99",
        "203.0.113.7",
    ];
    let got = statuses(addr, v4.len(), |i| via_proxy(v4[i])).await;
    assert_eq!(got, burst_then_limited(1), "one IPv4 /24");
    let v6 = [
        "2001:db8:1:1::1",
        "2001:db8:1:ff00::1",
        "2001:db8:1:ffff::1",
        "2001:db8:1::9",
    ];
    let got = statuses(addr, v6.len(), |i| via_proxy(v6[i])).await;
    assert_eq!(got, burst_then_limited(1), "one IPv6 /48");
    let got = statuses(addr, 2, |i| via_proxy(["203.0.114.1", "2001:db8:2::1"][i])).await;
    assert_eq!(got, [200, 200], "the next /24 and /48");
}

// ---------------------------------------------------------------------------
// The key, without a server.

/// The extractor's key for a request from `peer` carrying `xff`.
fn key_of(extractor: &ClientIpKeyExtractor, peer: &str, xff: Option<&str>) -> IpNet {
    let peer: SocketAddr = peer.parse().expect("a socket address");
    let mut request = HttpRequest::get("/").extension(Peer::from(peer));
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    let request = request.body(()).expect("a request");
    extractor
        .extract(&request)
        .unwrap_or_else(|e| panic!("a key for {peer} {xff:?}: {e}"))
}

#[test]
fn keys_are_networks_with_embedded_ipv4_as_ipv4() {
    let extractor = ClientIpKeyExtractor::new(resolver("x-forwarded-for; trust=loopback"));
    let wide = extractor
        .clone()
        .prefixes(RateLimitPrefixes::new(24, 56).expect("valid lengths"));
    let table = [
        // (client, default key, IPv4 /24 and IPv6 /56 key, why)
        ("203.0.113.7", "203.0.113.7/32", "203.0.113.0/24", "IPv4"),
        (
            "2001:db8:1:2:3:4:5:6",
            "2001:db8:1:2::/64",
            "2001:db8:1::/56",
            "IPv6",
        ),
        (
            "64:ff9b::203.0.113.7",
            "203.0.113.7/32",
            "203.0.113.0/24",
            "NAT64 (RFC 6052)",
        ),
        (
            "64:ff9b:1::203.0.113.7",
            "203.0.113.7/32",
            "203.0.113.0/24",
            "local-use NAT64, /96",
        ),
        (
            "2002:cb00:7107::1",
            "203.0.113.7/32",
            "203.0.113.0/24",
            "6to4",
        ),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdfe",
            "192.0.2.1/32",
            "192.0.2.0/24",
            "Teredo",
        ),
        (
            "::ffff:203.0.113.7",
            "203.0.113.7/32",
            "203.0.113.0/24",
            "IPv4-mapped is IPv4",
        ),
        (
            "64:ff9b:1:c000:2:100::",
            "64:ff9b:1:c000:2:100::/128",
            "64:ff9b:1:c000:2:100::/128",
            "local-use NAT64 elsewhere: the IPv4 is somewhere in the whole address",
        ),
    ];
    for (client, narrow_key, wide_key, why) in table {
        let xff = Some(client);
        let got = key_of(&extractor, "127.0.0.1:5000", xff);
        assert_eq!(got.to_string(), narrow_key, "{client} ({why})");
        let got = key_of(&wide, "127.0.0.1:5000", xff);
        assert_eq!(got.to_string(), wide_key, "{client} ({why}), wide");
    }
}

#[test]
fn ipv6_keys_are_one_per_64() {
    let extractor = ClientIpKeyExtractor::new(resolver("peer"));
    let key = |peer: &str| key_of(&extractor, peer, None);
    assert_eq!(key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:2:ffff::9]:2"));
    assert_ne!(key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:3::1]:1"));
    assert_eq!(key("[64:ff9b::192.0.2.1]:1"), key("192.0.2.1:1"));
    assert_ne!(key("[64:ff9b::192.0.2.1]:1"), key("[64:ff9b::192.0.2.2]:1"));
}

#[test]
fn a_forged_header_from_an_untrusted_peer_is_not_the_key() {
    let extractor = ClientIpKeyExtractor::new(resolver("x-forwarded-for; trust=10.0.0.0/8"));
    for forged in ["198.51.100.1", "198.51.100.2", "2001:db8::1"] {
        let key = key_of(&extractor, "203.0.113.7:5555", Some(forged));
        assert_eq!(key.to_string(), "203.0.113.7/32", "forged {forged}");
    }
}

#[test]
fn invalid_prefix_lengths_are_refused_at_construction() {
    let table = [
        (0, 64, PrefixError::Ipv4 { len: 0 }),
        (33, 64, PrefixError::Ipv4 { len: 33 }),
        (255, 64, PrefixError::Ipv4 { len: 255 }),
        (32, 0, PrefixError::Ipv6 { len: 0 }),
        (32, 129, PrefixError::Ipv6 { len: 129 }),
        (0, 0, PrefixError::Ipv4 { len: 0 }),
    ];
    for (v4, v6, want) in table {
        assert_eq!(RateLimitPrefixes::new(v4, v6), Err(want), "/{v4}, /{v6}");
    }
    let zero = RateLimitPrefixes::new(32, 0).unwrap_err().to_string();
    assert!(zero.contains("every client in one bucket"), "{zero}");
    for (v4, v6) in [(1, 1), (32, 128), (24, 48), (32, 64)] {
        let prefixes = RateLimitPrefixes::new(v4, v6).expect("in range");
        assert_eq!((prefixes.v4(), prefixes.v6()), (v4, v6));
    }
}

// ---------------------------------------------------------------------------
// No client, no key: refused, never keyed by a header.

/// Chains that cannot be resolved, each with `EVIL` where it could be
/// echoed.
const HOSTILE_XFF: &[&str] = &[
    "X-Forwarded-For: unknown",
    "X-Forwarded-For: 203.0.113.7, unknown",
    "X-Forwarded-For: EVIL<script>alert(1)</script>",
    "X-Forwarded-For: 203.0.113.7, EVIL-not-an-address",
    "X-Forwarded-For: _EVIL",
    "X-Forwarded-For: 010.0.0.1",
    "X-Forwarded-For: 0.0.0.0",
    "X-Forwarded-For: ,,,",
];

#[tokio::test]
async fn an_unresolvable_request_is_a_400_that_never_reaches_the_handler() {
    for setup in SETUPS {
        let (app, hits) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        // More of them than the burst: refused requests take no one's turn.
        for line in HOSTILE_XFF.iter().chain(HOSTILE_XFF) {
            let reply = get_ip(addr, &lines(&[line])).await;
            assert_eq!(reply.status, 400, "{setup:?} {line:?}: {}", reply.body);
            assert!(
                reply
                    .body
                    .starts_with("could not determine the client address ("),
                "{setup:?} {line:?}: {:?}",
                reply.body
            );
            assert!(reply.body.len() <= 120, "{setup:?}: {:?}", reply.body);
            for echoed in ["EVIL", "script", "203.0.113.7", "010.0.0.1"] {
                assert!(
                    !reply.body.contains(echoed),
                    "{setup:?} {line:?}: the answer echoes {echoed:?}: {:?}",
                    reply.body
                );
            }
            assert_eq!(
                reply.content_type.as_deref(),
                Some("text/plain; charset=utf-8"),
                "{setup:?} {line:?}"
            );
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{setup:?}: the handler was reached"
        );
        let got = statuses(addr, BURST as usize + 1, |_| via_proxy("203.0.113.7")).await;
        assert_eq!(
            got,
            burst_then_limited(1),
            "{setup:?}: a good client after them"
        );
    }
}

#[tokio::test]
async fn the_refusal_names_the_kind_of_problem() {
    let table = [
        ("X-Forwarded-For: unknown", "(unknown_hop)"),
        ("X-Forwarded-For: 203.0.113.7, nonsense", "(malformed_hop)"),
        ("X-Forwarded-For: _hidden", "(obfuscated_hop)"),
    ];
    for setup in SETUPS {
        let (app, _) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve(app).await;
        for (line, kind) in table {
            let reply = get_ip(addr, &lines(&[line])).await;
            assert_eq!(reply.status, 400, "{setup:?} {line:?}");
            assert!(
                reply.body.contains(kind),
                "{setup:?} {line:?}: {:?}",
                reply.body
            );
        }
    }
}

#[tokio::test]
async fn a_server_without_a_peer_address_is_a_500() {
    for setup in SETUPS {
        let (app, hits) = app(setup, "x-forwarded-for; trust=loopback");
        let addr = serve_without_connect_info(app).await;
        let reply = get_ip(addr, &via_proxy("203.0.113.7")).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (500, NO_PEER_BODY),
            "{setup:?}"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{setup:?}: the handler was reached"
        );
    }
}

#[tokio::test]
async fn from_layer_without_the_layer_in_front_is_a_500() {
    // No layer at all, and the layer inside the limiter (it runs after the
    // limiter has asked for the key).
    let (bare, bare_hits) = limited(ClientIpKeyExtractor::from_layer());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let inside = Router::new()
        .route(
            "/ip",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { "reached" }
            }),
        )
        .layer(ClientIpLayer::new(resolver("peer")))
        .layer(GovernorLayer::new(
            GovernorConfigBuilder::default()
                .key_extractor(ClientIpKeyExtractor::from_layer())
                .per_second(PERIOD_SECONDS)
                .burst_size(BURST)
                .finish()
                .expect("a valid limit"),
        ));
    for (app, hits, what) in [
        (bare, bare_hits, "no layer"),
        (inside, hits, "layer inside"),
    ] {
        let addr = serve(app).await;
        let reply = get_ip(addr, &[]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (500, NO_RESOLUTION_BODY),
            "{what}"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{what}: the handler was reached"
        );
    }
}

#[tokio::test]
async fn the_layer_answer_is_the_key() {
    // The extractor's own resolver reads the peer alone, and would put every
    // client of the proxy in one bucket; the layer's answer, stored first,
    // is what it keys by.
    let (app, _) = limited(ClientIpKeyExtractor::new(resolver("peer")));
    let app = app.layer(ClientIpLayer::new(resolver(
        "x-forwarded-for; trust=loopback",
    )));
    let addr = serve(app).await;
    let got = statuses(addr, BURST as usize + 1, |i| {
        via_proxy(&format!("203.0.113.{}", i + 1))
    })
    .await;
    assert_eq!(
        got,
        vec![200; BURST as usize + 1],
        "four clients, four buckets"
    );
}

// ---------------------------------------------------------------------------
// The comparison the README makes.

#[tokio::test]
async fn smart_ip_key_extractor_is_fooled_by_a_forged_x_forwarded_for() {
    // tower_governor's SmartIpKeyExtractor keys by the first address it can
    // parse in X-Forwarded-For. A client that writes a new one per request
    // is never limited: straight to the server, and behind a proxy that
    // appends the real client (203.0.113.7) after the forged element.
    let direct = |i: usize| vec![format!("X-Forwarded-For: 198.51.100.{i}")];
    let behind_proxy = |i: usize| vec![format!("X-Forwarded-For: 198.51.100.{i}, 203.0.113.7")];
    // A proxy that sets X-Real-IP: the forged X-Forwarded-For is read first.
    let behind_real_ip = |i: usize| {
        vec![
            "X-Real-IP: 203.0.113.7".to_owned(),
            format!("X-Forwarded-For: 198.51.100.{i}"),
        ]
    };
    let requests = BURST as usize * 3;
    for (what, header_lines) in [
        ("direct", &direct as &dyn Fn(usize) -> Vec<String>),
        ("behind a proxy", &behind_proxy),
        ("behind a proxy that sets X-Real-IP", &behind_real_ip),
    ] {
        let (app, hits) = limited(SmartIpKeyExtractor);
        let addr = serve(app).await;
        let got = statuses(addr, requests, header_lines).await;
        assert_eq!(got, vec![200; requests], "SmartIpKeyExtractor, {what}");
        assert_eq!(hits.load(Ordering::SeqCst), requests, "{what}");
    }
    // The same requests, keyed by realip: the direct client is the peer, the
    // one behind either proxy is 203.0.113.7.
    for (config, what, header_lines) in [
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "direct",
            &direct as &dyn Fn(usize) -> Vec<String>,
        ),
        (
            "x-forwarded-for; trust=loopback",
            "behind a proxy",
            &behind_proxy,
        ),
        (
            "x-real-ip; trust=loopback",
            "behind a proxy that sets X-Real-IP",
            &behind_real_ip,
        ),
    ] {
        let (app, _) = limited(ClientIpKeyExtractor::new(resolver(config)));
        let addr = serve(app).await;
        let got = statuses(addr, requests, header_lines).await;
        assert_eq!(
            got,
            burst_then_limited(requests - BURST as usize),
            "realip, {what}"
        );
    }
}
