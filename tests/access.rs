//! Access control by the resolved client (`realip::access`): allow and deny
//! lists applied to the client the resolver found, never to a header.
//!
//! Most tests run axum on 127.0.0.1 and write requests byte by byte over
//! TCP, as `tests/web.rs` does. With `x-forwarded-for; trust=loopback` the
//! test client is a trusted proxy, so the `X-Forwarded-For` it writes
//! chooses the resolved client; with `trust=10.0.0.0/8` it is an untrusted
//! client, judged by its own address (127.0.0.1) whatever it writes.
//!
//! The rules pinned here:
//! - the lists judge the resolved client: allowed and denied clients, and
//!   a forged allowed address from an untrusted peer judged by the peer;
//! - deny wins over allow; no allow list allows every client not denied;
//! - a request whose client cannot be resolved keeps the resolver's
//!   rejection; a request no `ClientIpLayer` resolved is a `500`;
//! - a refusal echoes nothing, and its status and body are configurable;
//! - an IPv4-mapped client is judged as IPv4; NAT64 stays IPv6;
//! - the text form refuses meaningless ranges (`check()`'s refusals) and
//!   names the list; text and serde round-trip;
//! - a shared list reloaded under load: every decision is the old list's
//!   or the new list's, and the next request after a store sees the new;
//! - with `tracing`, a refusal is a debug event naming client and rule;
//! - the `httpbin` example's `--allow` and `--deny` (run `cargo test` or
//!   `cargo build --example httpbin` first: a single `--test access` does
//!   not build examples).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, Response, StatusCode};
use ipnet::IpNet;
use realip::access::{
    AccessControlLayer, AccessDecision, AccessPolicy, AccessPolicyError, NO_RESOLUTION_BODY,
    REFUSED_BODY,
};
use realip::tower::{ClientIpLayer, DEFAULT_REJECTION_BODY, NO_PEER_BODY};
use realip::trust::TrustParseError;
use realip::{ClientIp, Peer, ProxySet, Resolver, SharedProxySet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

// ---------------------------------------------------------------------------
// The server side.

/// The test client trusted as a proxy: its `X-Forwarded-For` names the
/// client.
const TRUSTING: &str = "x-forwarded-for; trust=loopback";

/// The test client untrusted: it is the client (127.0.0.1).
const UNTRUSTING: &str = "x-forwarded-for; trust=10.0.0.0/8";

fn policy(text: &str) -> AccessPolicy {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is a policy: {e}"))
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// `/ip` answers the client the handler sees; counts the requests that
/// reached it.
fn app(config: &str, access: AccessControlLayer, hits: Arc<AtomicUsize>) -> Router {
    let resolver: Resolver = config.parse().unwrap();
    Router::new()
        .route(
            "/ip",
            get(move |client: ClientIp| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                client.to_string()
            }),
        )
        .layer(access)
        .layer(ClientIpLayer::new(resolver))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Serves without `ConnectInfo`: the resolver has no peer address.
async fn serve_without_connect_info(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service())
            .await
            .unwrap();
    });
    addr
}

/// A server applying `access` to the clients `config` resolves, and the
/// count of requests that reached the handler.
async fn server(config: &str, access: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let layer = AccessControlLayer::new(policy(access));
    (serve(app(config, layer, hits.clone())).await, hits)
}

// ---------------------------------------------------------------------------
// The client side: raw HTTP/1.1 over TCP.

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    body: String,
}

/// GET `path` with these header lines and `Connection: close`.
async fn fetch(addr: SocketAddr, path: &str, header_lines: &[&str]) -> Reply {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for line in header_lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A guard against a hung test, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes the connection")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let content_type = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    });
    Reply {
        status,
        content_type,
        body: body.to_owned(),
    }
}

/// GET `/ip` as a trusted proxy that saw `client`.
async fn as_client(addr: SocketAddr, client: &str) -> Reply {
    fetch(addr, "/ip", &[&format!("X-Forwarded-For: {client}")]).await
}

/// A refusal: `403`, the short body, plain text, nothing from the request.
fn assert_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {reply:?}");
    assert_eq!(reply.body, REFUSED_BODY, "{what}");
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
}

// ---------------------------------------------------------------------------
// The lists judge the resolved client.

#[tokio::test]
async fn allowed_clients_pass_and_others_are_refused() {
    let (addr, hits) = server(TRUSTING, "allow=203.0.113.0/24, 2001:db8::/32").await;
    for client in [
        "203.0.113.7",
        "203.0.113.255",
        "[2001:db8::7]",
        "2001:db8:ffff::1",
    ] {
        let reply = as_client(addr, client).await;
        assert_eq!(reply.status, 200, "{client}: {reply:?}");
        assert_eq!(reply.body, client.trim_matches(['[', ']']), "{client}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    for client in ["198.51.100.7", "203.0.114.1", "2001:db9::1", "127.0.0.1"] {
        let reply = as_client(addr, client).await;
        assert_refused(&reply, client);
        // The body echoes nothing: not the client, not the header.
        assert!(!reply.body.contains(client), "{client}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        4,
        "a refused request reached the handler"
    );
}

/// The allow list is applied to the client the resolver found: a client
/// that writes an allowed address straight to the server (an untrusted
/// peer) is judged by its own address, and so is one that writes a denied
/// address.
#[tokio::test]
async fn a_forged_header_from_an_untrusted_peer_is_judged_by_the_peer() {
    let (addr, hits) = server(UNTRUSTING, "allow=203.0.113.0/24").await;
    for forged in [
        "X-Forwarded-For: 203.0.113.7",
        "X-Forwarded-For: 203.0.113.7, 203.0.113.8",
        "X-Real-IP: 203.0.113.7",
        "Forwarded: for=203.0.113.7",
    ] {
        assert_refused(&fetch(addr, "/ip", &[forged]).await, forged);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Allowed by its own address, whatever denied address it writes.
    let (addr, _) = server(UNTRUSTING, "allow=loopback; deny=198.51.100.0/24").await;
    let reply = fetch(addr, "/ip", &["X-Forwarded-For: 198.51.100.7"]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "127.0.0.1"));

    // Behind a trusted proxy, what the client wrote left of the proxy's
    // own hop is not the client either.
    let (addr, _) = server(TRUSTING, "allow=203.0.113.0/24").await;
    let reply = as_client(addr, "203.0.113.7, 198.51.100.66").await;
    assert_refused(&reply, "forged left of the proxy's hop");
}

#[tokio::test]
async fn deny_wins_over_allow() {
    let (addr, _) = server(TRUSTING, "allow=203.0.113.0/24; deny=203.0.113.128/25").await;
    let table = [
        ("203.0.113.7", true),
        ("203.0.113.127", true),
        ("203.0.113.128", false),
        ("203.0.113.200", false),
        ("198.51.100.7", false),
    ];
    for (client, allowed) in table {
        let reply = as_client(addr, client).await;
        if allowed {
            assert_eq!((reply.status, reply.body.as_str()), (200, client));
        } else {
            assert_refused(&reply, client);
        }
    }
    // The same ranges in both lists: denied.
    let same = policy("allow=203.0.113.0/24; deny=203.0.113.0/24");
    assert_eq!(same.decide(ip("203.0.113.7")), AccessDecision::Denied);
}

#[tokio::test]
async fn no_allow_list_allows_every_client_not_denied() {
    let (addr, _) = server(TRUSTING, "deny=198.51.100.0/24, 2001:db8:bad::/48").await;
    for client in ["203.0.113.7", "10.1.2.3", "[2001:db8::1]", "127.0.0.1"] {
        assert_eq!(as_client(addr, client).await.status, 200, "{client}");
    }
    for client in ["198.51.100.7", "[2001:db8:bad::1]"] {
        assert_refused(&as_client(addr, client).await, client);
    }
    // No list at all: every client.
    let (addr, _) = server(TRUSTING, "").await;
    for client in ["203.0.113.7", "198.51.100.7", "[2001:db8::1]"] {
        assert_eq!(as_client(addr, client).await.status, 200, "{client}");
    }
    let open = AccessPolicy::new();
    assert_eq!(open.decide(ip("198.51.100.7")), AccessDecision::Allowed);
    assert_eq!(open, policy(""));
    assert_eq!(open, policy(" ; ;"));
}

// ---------------------------------------------------------------------------
// What the layer answers when it cannot judge.

/// A chain the resolver cannot read is refused as `ClientIpLayer` would
/// refuse it, never let in; so is a server that passes no peer address.
#[tokio::test]
async fn an_unresolvable_request_keeps_the_resolvers_rejection() {
    let (addr, hits) = server(TRUSTING, "deny=198.51.100.0/24").await;
    for chain in [
        "unknown",
        "203.0.113.7, _hidden",
        "not-an-address",
        "203.0.113.7:99999",
    ] {
        let reply = as_client(addr, chain).await;
        assert_eq!(reply.status, 400, "{chain}: {reply:?}");
        assert_eq!(reply.body, DEFAULT_REJECTION_BODY, "{chain}");
        assert!(!reply.body.contains(chain));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // No peer address: the server's mistake.
    let hits = Arc::new(AtomicUsize::new(0));
    let layer = AccessControlLayer::new(policy("deny=198.51.100.0/24"));
    let addr = serve_without_connect_info(app(TRUSTING, layer, hits.clone())).await;
    let reply = fetch(addr, "/ip", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (500, NO_PEER_BODY));

    // A ClientIpLayer that rejects answers first, in its own words.
    let resolver: Resolver = TRUSTING.parse().unwrap();
    let app = Router::new()
        .route("/ip", get(|| async { "reached" }))
        .layer(AccessControlLayer::new(policy("allow=private")))
        .layer(ClientIpLayer::new(resolver).reject_with(StatusCode::IM_A_TEAPOT, "teapot\n"));
    let addr = serve(app).await;
    let reply = as_client(addr, "unknown").await;
    assert_eq!((reply.status, reply.body.as_str()), (418, "teapot\n"));
}

/// The layer reads what `ClientIpLayer` stored; without it (or with the
/// layers in the wrong order), every request is a `500` that says so.
#[tokio::test]
async fn without_a_client_ip_layer_every_request_is_a_server_error() {
    let resolver: Resolver = TRUSTING.parse().unwrap();
    let wrong_order = Router::new()
        .route("/ip", get(|| async { "reached" }))
        .layer(ClientIpLayer::new(resolver))
        .layer(AccessControlLayer::new(policy("deny=198.51.100.0/24")));
    let missing = Router::new()
        .route("/ip", get(|| async { "reached" }))
        .layer(AccessControlLayer::new(AccessPolicy::new()));
    for app in [wrong_order, missing] {
        let addr = serve(app).await;
        let reply = as_client(addr, "203.0.113.7").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (500, NO_RESOLUTION_BODY)
        );
        assert_eq!(
            reply.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn the_refusal_is_configurable() {
    let hits = Arc::new(AtomicUsize::new(0));
    let layer = AccessControlLayer::new(policy("allow=203.0.113.0/24"))
        .refuse_with(StatusCode::NOT_FOUND, "not found\n");
    let addr = serve(app(TRUSTING, layer, hits)).await;
    let reply = as_client(addr, "198.51.100.7").await;
    assert_eq!((reply.status, reply.body.as_str()), (404, "not found\n"));
    assert_eq!(as_client(addr, "203.0.113.7").await.status, 200);
    // The resolver's rejection is not the refusal: it stays a 400.
    assert_eq!(as_client(addr, "unknown").await.status, 400);
}

// ---------------------------------------------------------------------------
// Addresses are numbers.

/// A resolved client is canonical: an IPv4-mapped hop is the IPv4 client,
/// matched by IPv4 ranges and by ranges written in the mapped form; NAT64
/// and IPv4-compatible addresses stay IPv6.
#[tokio::test]
async fn an_ipv4_mapped_client_is_judged_as_ipv4() {
    let (addr, _) = server(TRUSTING, "allow=::ffff:203.0.113.0/120").await;
    let reply = as_client(addr, "[::ffff:203.0.113.7]").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "203.0.113.7"));
    assert_eq!(as_client(addr, "203.0.113.8").await.status, 200);
    assert_refused(&as_client(addr, "[64:ff9b::203.0.113.7]").await, "NAT64");

    let policy = policy("allow=10.0.0.0/8; deny=2001:db8::/32");
    assert_eq!(policy.to_string(), "allow=10.0.0.0/8; deny=2001:db8::/32");
    let table = [
        ("10.1.2.3", AccessDecision::Allowed),
        ("::ffff:10.1.2.3", AccessDecision::Allowed),
        ("::ffff:11.1.2.3", AccessDecision::NotAllowed),
        ("::10.1.2.3", AccessDecision::NotAllowed),
        ("64:ff9b::10.1.2.3", AccessDecision::NotAllowed),
        ("2001:db8::10.1.2.3", AccessDecision::Denied),
    ];
    for (client, decision) in table {
        assert_eq!(policy.decide(ip(client)), decision, "{client}");
    }
    // A mapped range is shown as the IPv4 range it is.
    assert_eq!(
        self::policy("deny=::ffff:10.0.0.0/104").to_string(),
        "deny=10.0.0.0/8"
    );
}

// ---------------------------------------------------------------------------
// Configuration.

/// The ranges `trust=` refuses, refused in either list and named by it:
/// the whole address space, IPv6 ranges that cover the IPv4-mapped
/// addresses, entries that are not ranges, and no entry at all.
#[test]
fn meaningless_ranges_are_refused_in_the_text_form() {
    type Refusal = fn(String) -> TrustParseError;
    let table: &[(&str, Refusal)] = &[
        ("0.0.0.0/0", TrustParseError::WholeAddressSpace),
        ("::/0", TrustParseError::WholeAddressSpace),
        ("::ffff:0:0/96", TrustParseError::WholeAddressSpace),
        ("::/80", TrustParseError::CoversMappedIpv4),
        ("::/1", TrustParseError::CoversMappedIpv4),
        ("::fffe:0:0/95", TrustParseError::CoversMappedIpv4),
        ("10.0.0.0/33", TrustParseError::InvalidPrefix),
        ("010.0.0.0/8", TrustParseError::NotAnAddress),
        ("localhost", TrustParseError::NotAnAddress),
        ("fe80::1%eth0", TrustParseError::ZoneId),
    ];
    for list in ["allow", "deny"] {
        for (entry, refusal) in table {
            let other = if list == "allow" { "deny" } else { "allow" };
            for text in [
                format!("{list}={entry}"),
                format!("{list}=10.0.0.0/8, {entry}"),
                format!("{other}=192.0.2.0/24; {list}={entry}"),
            ] {
                let err = text.parse::<AccessPolicy>().unwrap_err();
                let expected = AccessPolicyError::Ranges {
                    list: static_list(list),
                    reason: refusal(entry.to_string()),
                };
                assert_eq!(err, expected, "{text}");
                let message = err.to_string();
                assert!(
                    message.starts_with(&format!("invalid {list}= entry {entry:?}: ")),
                    "{text}: {message}"
                );
                // Words for a list of clients, not of proxies.
                assert!(!message.contains("trusted proxy"), "{message}");
            }
        }
    }
    let err = "deny=10.0.0.1/8".parse::<AccessPolicy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid deny= entry "10.0.0.1/8": host bits are set after the prefix; did you mean 10.0.0.0/8?"#
    );
    let err = "allow=::/80".parse::<AccessPolicy>().unwrap_err();
    assert!(
        err.to_string()
            .contains("an IPv6 range matches no IPv4 client"),
        "{err}"
    );
    let err = "allow=0.0.0.0/0".parse::<AccessPolicy>().unwrap_err();
    assert!(err.to_string().contains("leave allow= out"), "{err}");
    // A list with no range.
    for (text, list) in [("allow=", "allow"), ("deny= , ", "deny")] {
        let err = text.parse::<AccessPolicy>().unwrap_err();
        assert_eq!(
            err,
            AccessPolicyError::Ranges {
                list: static_list(list),
                reason: TrustParseError::Empty
            }
        );
        assert!(
            err.to_string().contains(&format!("leave {list}= out")),
            "{err}"
        );
    }
}

/// `allow` or `deny`, as the error names it.
fn static_list(list: &str) -> &'static str {
    if list == "allow" { "allow" } else { "deny" }
}

#[test]
fn the_text_form_refuses_what_is_not_a_part() {
    let table: &[(&str, AccessPolicyError)] = &[
        (
            "trust=10.0.0.0/8",
            AccessPolicyError::UnknownPart("trust=10.0.0.0/8".into()),
        ),
        (
            "allow=10.0.0.0/8; colour=blue",
            AccessPolicyError::UnknownPart("colour=blue".into()),
        ),
        (
            "10.0.0.0/8",
            AccessPolicyError::UnknownPart("10.0.0.0/8".into()),
        ),
        ("allow", AccessPolicyError::MissingRanges("allow")),
        ("deny; allow=::1", AccessPolicyError::MissingRanges("deny")),
        (
            "allow=10.0.0.0/8; Allow=::1",
            AccessPolicyError::Duplicate("allow"),
        ),
        (
            "deny=10.0.0.0/8; allow=::1; DENY=::2",
            AccessPolicyError::Duplicate("deny"),
        ),
    ];
    for (text, expected) in table {
        assert_eq!(
            text.parse::<AccessPolicy>().as_ref(),
            Err(expected),
            "{text}"
        );
    }
    let message = "allow=private; colour=blue"
        .parse::<AccessPolicy>()
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        r#"unknown part "colour=blue" of an access policy: expected allow=RANGES and/or deny=RANGES, separated by ;"#
    );
}

/// Sets built from `IpNet`s are not checked when built; a policy checks
/// them, and the handle of a shared list by the set it holds.
#[test]
fn built_lists_are_checked_when_given() {
    let built = |text: &str| -> ProxySet { [text.parse::<IpNet>().unwrap()].into_iter().collect() };
    let everything = built("0.0.0.0/0");
    let err = AccessPolicy::new().allow(everything.clone()).unwrap_err();
    assert_eq!(
        err,
        AccessPolicyError::Ranges {
            list: "allow",
            reason: TrustParseError::WholeAddressSpace("0.0.0.0/0".into())
        }
    );
    assert!(AccessPolicy::new().deny(built("::/80")).is_err());
    assert!(AccessPolicy::new().deny(ProxySet::new()).is_err());
    assert!(
        AccessPolicy::new()
            .deny_shared(SharedProxySet::new(everything))
            .is_err()
    );
    assert!(
        AccessPolicy::new()
            .allow_shared(SharedProxySet::new(ProxySet::new()))
            .is_err()
    );
    // Sound sets pass, and a later list replaces an earlier one.
    let policy = AccessPolicy::new()
        .allow(built("10.0.0.0/8"))
        .unwrap()
        .allow(built("192.0.2.0/24"))
        .unwrap();
    assert_eq!(policy.to_string(), "allow=192.0.2.0/24");
}

#[test]
fn the_text_form_round_trips() {
    let table = [
        ("", ""),
        ("allow=10.0.0.0/8", "allow=10.0.0.0/8"),
        ("deny=198.51.100.0/24", "deny=198.51.100.0/24"),
        (
            " DENY = 198.51.100.0/24 ;Allow=private  loopback,192.0.2.7 ",
            "allow=private, loopback, 192.0.2.7; deny=198.51.100.0/24",
        ),
        (
            "allow=istio-sidecar, link-local, cloudflare, gcp-lb",
            "allow=istio-sidecar, link-local, cloudflare, gcp-lb",
        ),
        (
            "allow=2001:db8::/32, ::1; deny=::ffff:10.0.0.0/104",
            "allow=2001:db8::/32, ::1; deny=10.0.0.0/8",
        ),
        ("allow=10.0.0.0/8;", "allow=10.0.0.0/8"),
    ];
    for (text, shown) in table {
        let policy = policy(text);
        assert_eq!(policy.to_string(), shown, "{text:?}");
        assert_eq!(self::policy(shown), policy, "{shown:?} does not read back");
        assert_eq!(format!("{policy:?}"), format!("AccessPolicy({shown})"));
    }
    // Presets mean their ranges.
    let presets = self::policy("allow=private; deny=istio-sidecar");
    assert!(presets.allows(ip("10.1.2.3")) && presets.allows(ip("fd00::1")));
    assert_eq!(presets.decide(ip("127.0.0.6")), AccessDecision::Denied);
    assert_eq!(
        presets.decide(ip("203.0.113.7")),
        AccessDecision::NotAllowed
    );
}

/// A table with `allow` and `deny` (a string or a list each), or the text
/// form as one string: what an environment variable or a file holds.
#[test]
fn serde_reads_tables_lists_and_text() {
    let json: &[(&str, &str)] = &[
        (
            r#"{"allow": "10.0.0.0/8, private"}"#,
            "allow=10.0.0.0/8, private",
        ),
        (
            r#"{"allow": ["10.0.0.0/8", "192.0.2.0/24, ::1"], "deny": ["10.66.0.0/16"]}"#,
            "allow=10.0.0.0/8, 192.0.2.0/24, ::1; deny=10.66.0.0/16",
        ),
        (r#"{"deny": "198.51.100.0/24"}"#, "deny=198.51.100.0/24"),
        ("{}", ""),
        (
            r#""allow=10.0.0.0/8; deny=10.66.0.0/16""#,
            "allow=10.0.0.0/8; deny=10.66.0.0/16",
        ),
    ];
    for (text, shown) in json {
        let policy: AccessPolicy =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(policy.to_string(), *shown, "{text}");
        // Written as the table, read back the same.
        let written = serde_json::to_string(&policy).unwrap();
        let again: AccessPolicy = serde_json::from_str(&written).unwrap();
        assert_eq!(again, policy, "{written}");
    }
    assert_eq!(
        serde_json::to_value(policy("deny=10.66.0.0/16; allow=10.0.0.0/8")).unwrap(),
        serde_json::json!({"allow": "10.0.0.0/8", "deny": "10.66.0.0/16"})
    );

    #[derive(serde::Deserialize, serde::Serialize, PartialEq, Debug)]
    struct Config {
        access: AccessPolicy,
    }
    let toml_text = r#"
        [access]
        allow = ["10.0.0.0/8", "istio-sidecar"]
        deny = "10.66.0.0/16"
    "#;
    let config: Config = toml::from_str(toml_text).unwrap();
    assert_eq!(
        config.access.to_string(),
        "allow=10.0.0.0/8, istio-sidecar; deny=10.66.0.0/16"
    );
    let written = toml::to_string(&config).unwrap();
    assert_eq!(toml::from_str::<Config>(&written).unwrap(), config);

    // Mistakes name the list and the entry, in the text form's words.
    let errors: &[(&str, &str)] = &[
        (
            r#"{"allow": "0.0.0.0/0"}"#,
            r#"invalid allow= entry "0.0.0.0/0""#,
        ),
        (
            r#"{"deny": ["10.0.0.0/8", "::/64"]}"#,
            r#"invalid deny= entry "::/64""#,
        ),
        (r#"{"allow": []}"#, "invalid allow=: no range given"),
        (
            r#"{"allow": "10.0.0.0/8", "trust": "::1"}"#,
            "unknown field `trust`",
        ),
        (r#"{"allow": 8}"#, "a string or a list of strings"),
        (r#""allow=10.0.0.0/8; deny""#, "deny needs ranges"),
        ("[]", "an access policy"),
    ];
    for (text, needle) in errors {
        let err = serde_json::from_str::<AccessPolicy>(text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(needle),
            "{text}: {err:?} does not say {needle:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Lists that reload.

/// The allow list is a shared set swapped between A and B while threads
/// decide. Each decision is A's or B's answer (a fixed deny list beside
/// it keeps its say), both answers are seen, and after the last store
/// every decision is the last set's.
#[test]
fn a_shared_list_swapped_under_load_gives_the_old_or_the_new_answer() {
    const SET_A: &str = "203.0.113.0/24";
    const SET_B: &str = "198.51.100.0/24";
    let shared = SharedProxySet::new(SET_A.parse().unwrap());
    let policy = Arc::new(
        AccessPolicy::new()
            .allow_shared(shared.clone())
            .unwrap()
            .deny("203.0.113.128/25".parse().unwrap())
            .unwrap(),
    );
    // Each client with its answer under A and under B.
    let clients: Vec<(IpAddr, AccessDecision, AccessDecision)> = vec![
        (
            ip("203.0.113.7"),
            AccessDecision::Allowed,
            AccessDecision::NotAllowed,
        ),
        (
            ip("198.51.100.7"),
            AccessDecision::NotAllowed,
            AccessDecision::Allowed,
        ),
        (
            ip("203.0.113.200"),
            AccessDecision::Denied,
            AccessDecision::Denied,
        ),
        (
            ip("192.0.2.1"),
            AccessDecision::NotAllowed,
            AccessDecision::NotAllowed,
        ),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let seen_a = Arc::new(AtomicUsize::new(0));
    let seen_b = Arc::new(AtomicUsize::new(0));
    let deciders: Vec<_> = (0..3)
        .map(|_| {
            let (policy, clients, stop) = (policy.clone(), clients.clone(), stop.clone());
            let (seen_a, seen_b) = (seen_a.clone(), seen_b.clone());
            std::thread::spawn(move || {
                let mut decisions = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    for &(client, by_a, by_b) in &clients {
                        let decision = policy.decide(client);
                        assert!(
                            decision == by_a || decision == by_b,
                            "{client}: {decision:?} is neither A's {by_a:?} nor B's {by_b:?}"
                        );
                        if client == ip("203.0.113.7") {
                            let seen = if decision == by_a { &seen_a } else { &seen_b };
                            seen.fetch_add(1, Ordering::Relaxed);
                        }
                        decisions += 1;
                    }
                }
                decisions
            })
        })
        .collect();
    let (a, b): (ProxySet, ProxySet) = (SET_A.parse().unwrap(), SET_B.parse().unwrap());
    let start = Instant::now();
    let mut swaps = 0;
    while swaps < 2_000
        || seen_a.load(Ordering::Relaxed) == 0
        || seen_b.load(Ordering::Relaxed) == 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "both sets were never seen"
        );
        shared
            .store(if swaps % 2 == 0 { b.clone() } else { a.clone() })
            .unwrap();
        swaps += 1;
    }
    shared.store(b).unwrap();
    stop.store(true, Ordering::Relaxed);
    let decisions: usize = deciders.into_iter().map(|d| d.join().unwrap()).sum();
    assert!(decisions > 0);
    for (client, _, by_b) in clients {
        assert_eq!(policy.decide(client), by_b, "{client} after the last store");
    }
}

/// Through a server: requests keep coming while the deny list is swapped;
/// every answer is the old list's or the new list's, and a request sent
/// after a store returns is judged by the new list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_list_reloads_under_requests() {
    let shared = SharedProxySet::new("203.0.113.0/24".parse().unwrap());
    let layer = AccessControlLayer::new(AccessPolicy::new().deny_shared(shared.clone()).unwrap());
    let addr = serve(app(TRUSTING, layer, Arc::new(AtomicUsize::new(0)))).await;

    // One at a time: the next request after a store sees it.
    for round in 0..10 {
        let (denied, allowed) = if round % 2 == 0 {
            ("198.51.100.7", "203.0.113.7")
        } else {
            ("203.0.113.7", "198.51.100.7")
        };
        let set: ProxySet = format!("{denied}/32").parse().unwrap();
        assert!(shared.store(set).unwrap());
        assert_refused(&as_client(addr, denied).await, denied);
        assert_eq!(as_client(addr, allowed).await.status, 200, "{allowed}");
    }

    // Under load: a thread swaps while tasks send requests.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            let sets: [ProxySet; 2] = [
                "203.0.113.0/24".parse().unwrap(),
                "198.51.100.0/24".parse().unwrap(),
            ];
            let mut swaps = 0usize;
            while !stop.load(Ordering::Relaxed) {
                shared.store(sets[swaps % 2].clone()).unwrap();
                swaps += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            swaps
        })
    };
    // Allowed and refused answers for the clients the swaps concern.
    let answers = Arc::new(Mutex::new([0usize; 2]));
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let answers = answers.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let client = ["203.0.113.7", "198.51.100.7", "192.0.2.1"][(task + i) % 3];
                    let reply = as_client(addr, client).await;
                    match (client, reply.status) {
                        ("192.0.2.1", 200) => {}
                        (_, 200) => answers.lock().unwrap()[0] += 1,
                        ("192.0.2.1", _) => panic!("192.0.2.1 is in neither list: {reply:?}"),
                        (_, _) => {
                            assert_refused(&reply, client);
                            answers.lock().unwrap()[1] += 1;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(swapper.join().unwrap() > 0);
    // Whichever set is held, one of the two clients is in it: both
    // answers are seen.
    let [allowed, refused] = *answers.lock().unwrap();
    assert!(
        allowed > 0 && refused > 0,
        "{allowed} allowed, {refused} refused"
    );
    // Settled: the last set decides.
    let last = shared.current();
    for client in ["203.0.113.7", "198.51.100.7"] {
        let denied = last.contains(ip(client));
        assert_eq!(
            as_client(addr, client).await.status == 403,
            denied,
            "{client}"
        );
    }
}

// ---------------------------------------------------------------------------
// Tracing.

/// Events as `level: fields`.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = event.metadata().level();
        self.0
            .lock()
            .unwrap()
            .push(format!("{level}: {}", fields.0.trim_end()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Each refusal is a debug event that names the client and the rule; an
/// allowed request says nothing of access.
#[test]
fn a_refusal_is_a_debug_event_naming_client_and_rule() {
    let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(AccessControlLayer::new(policy(
            "allow=203.0.113.0/24; deny=203.0.113.128/25",
        )))
        .layer(ClientIpLayer::new(resolver));
    let request = |xff: &str| {
        Request::get("/")
            .header("x-forwarded-for", xff)
            .extension(Peer::from("10.0.0.3:40000".parse::<SocketAddr>().unwrap()))
            .body(Body::empty())
            .unwrap()
    };
    let events = Events::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let statuses: Vec<StatusCode> = tracing::subscriber::with_default(events.clone(), || {
        runtime.block_on(async {
            let mut statuses = Vec::new();
            for xff in ["203.0.113.7", "203.0.113.200", "198.51.100.7", "unknown"] {
                let response: Response<Body> = app.clone().oneshot(request(xff)).await.unwrap();
                statuses.push(response.status());
            }
            statuses
        })
    });
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
            StatusCode::BAD_REQUEST
        ]
    );
    let events = events.0.lock().unwrap();
    let access: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("realip: access"))
        .collect();
    assert_eq!(access.len(), 3, "{events:#?}");
    assert_eq!(
        access[0].as_str(),
        "DEBUG: message=realip: access denied: in deny= client=203.0.113.200 peer=10.0.0.3:40000 rule=\"deny\""
    );
    assert_eq!(
        access[1].as_str(),
        "DEBUG: message=realip: access refused: not in allow= client=198.51.100.7 peer=10.0.0.3:40000 rule=\"allow\""
    );
    assert_eq!(
        access[2].as_str(),
        "DEBUG: message=realip: access refused: the client could not be resolved error=\"unknown_hop\""
    );
}

// ---------------------------------------------------------------------------
// The httpbin example.

/// `--allow` and `--deny` put every endpoint behind the layer.
#[tokio::test]
async fn httpbin_allows_and_denies_by_the_resolved_client() {
    let server = common::RunningExample::start(
        "httpbin",
        &[
            "--allow",
            "203.0.113.0/24,2001:db8::/32",
            "--deny",
            "203.0.113.128/25",
        ],
        Some(TRUSTING),
    );
    let table = [
        ("203.0.113.7", 200),
        ("[2001:db8::1]", 200),
        ("203.0.113.200", 403),
        ("198.51.100.7", 403),
    ];
    for (client, status) in table {
        for path in ["/ip", "/headers", "/ip/explain"] {
            let reply = fetch(server.addr, path, &[&format!("X-Forwarded-For: {client}")]).await;
            assert_eq!(reply.status, status, "{client} {path}: {reply:?}");
        }
    }
    let reply = as_client(server.addr, "203.0.113.7").await;
    assert_eq!(reply.body, r#"{"origin":"203.0.113.7"}"#);
    assert_eq!(as_client(server.addr, "unknown").await.status, 400);

    // The client forging an allowed address straight to the server.
    let server =
        common::RunningExample::start("httpbin", &["--allow", "203.0.113.0/24"], Some(UNTRUSTING));
    assert_eq!(as_client(server.addr, "203.0.113.7").await.status, 403);
}

/// `REALIP_ACCESS` when no flag is given; mistakes stop the example with
/// a message that names them.
#[test]
fn httpbin_reads_realip_access_and_refuses_mistakes() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let start = |args: &[&str], access: Option<&str>| {
        let mut command = Command::new(common::example_binary("httpbin"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("REALIP", TRUSTING)
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match access {
            Some(text) => command.env("REALIP_ACCESS", text),
            None => command.env_remove("REALIP_ACCESS"),
        };
        command.spawn().unwrap()
    };
    let mut child = start(&[], Some("deny=198.51.100.0/24"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.trim_end().ends_with("; access: deny=198.51.100.0/24"),
        "{line:?}"
    );

    let mistakes: &[(&[&str], Option<&str>, &str)] = &[
        (
            &["--allow", "0.0.0.0/0"],
            None,
            r#"invalid allow= entry "0.0.0.0/0""#,
        ),
        (&["--deny", "::/80"], None, r#"invalid deny= entry "::/80""#),
        (
            &["--allow", "10.0.0.0/8", "--allow", "::1"],
            None,
            "--allow is given twice",
        ),
        (
            &["--allow", "10.0.0.0/8; deny=::1"],
            None,
            "separate ranges with commas",
        ),
        (&["--deny"], None, "--deny needs a value"),
        (&[], Some("allow=10.0.0.1/8"), "did you mean 10.0.0.0/8?"),
    ];
    for (args, access, needle) in mistakes {
        let output = start(args, *access).wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} does not say {needle:?}"
        );
    }
}
