//! Rule 15: caller identity is trust too.
//!
//! A trusted sidecar vouches for its mTLS caller in the rightmost element
//! of `x-forwarded-client-cert` (one line, one `URI`). When that caller is
//! a configured identity it is a trusted proxy whatever its address:
//! without `sidecar-appends` it has no hop of its own (the walk goes on at
//! hop 0 under the trusted set, and `trusted_proxies` counts it); with
//! `sidecar-appends` hop 0 is the caller's, trusted exactly when its
//! identity is. Anything else (an unknown caller, no caller, an identity
//! that cannot be read) stops the walk at the sidecar, or at the caller's
//! hop, and is never an error.
//!
//! Each table row is a request as the application sees it and everything
//! the rule decides about it: the answer, the verdict of every step, and
//! the caller `Resolver::caller` reports. Every row also checks that
//! `resolve` and `explain` agree, and that `Resolver::caller` and the
//! explanation name the same caller. The property test at the end checks
//! the crate's reading of the header against a reference reader written
//! here from Envoy's format.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::sample::select;
use realip::config::{Deployment, ResolverConfig};
use realip::explain::Verdict;
use realip::resolver::ConfigError;
use realip::{
    Caller, Error, HopError, Identity, Origin, Peer, Preset, ProxySet, Resolution, Resolver,
    ResolverBuilder, Source,
};

/// Istio's default ingress gateway.
const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
/// A workload of the mesh that calls the application directly.
const SLEEP_ID: &str = "spiffe://cluster.local/ns/default/sa/sleep";
/// The application's own sidecar in REDIRECT mode, as its socket sees it.
const SIDECAR: &str = "127.0.0.6:40000";
const XFCC: &str = "x-forwarded-client-cert";
const XFF: &str = "x-forwarded-for";

fn name(s: &str) -> HeaderName {
    HeaderName::from_bytes(s.as_bytes()).unwrap()
}

fn peer(s: &str) -> Peer {
    s.parse().unwrap()
}

fn identity(s: &str) -> Identity {
    s.parse().unwrap()
}

/// A header map from `(name, value)` lines, appended in order.
fn headers(lines: &[(&str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in lines {
        map.append(name(n), HeaderValue::from_str(v).unwrap());
    }
    map
}

/// The element an Istio sidecar appends for an mTLS caller: its own id in
/// `By`, the certificate hash, an empty subject, the caller's id in `URI`.
fn element(uri: &str) -> String {
    format!("By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab12cd;Subject=\"\";URI={uri}")
}

fn xff_origin(index: usize) -> Origin {
    Origin::header(&name(XFF), index).unwrap()
}

/// What a resolution says, or the error.
type Answer = Result<(IpAddr, Option<u16>, Origin, usize), Error>;

fn answer(client: &str, port: Option<u16>, origin: Origin, trusted_proxies: usize) -> Answer {
    Ok((client.parse().unwrap(), port, origin, trusted_proxies))
}

fn observed(result: &Result<Resolution, Error>) -> Answer {
    result
        .as_ref()
        .map(|r| (r.ip(), r.port(), r.origin().clone(), r.trusted_proxies()))
        .map_err(Clone::clone)
}

struct Row {
    what: &'static str,
    config: String,
    peer: Peer,
    headers: Vec<(&'static str, String)>,
    answer: Answer,
    /// Every step's verdict: the peer first, then hops from the newest.
    verdicts: &'static [Verdict],
    /// The caller `Resolver::caller` reports, and whether it is trusted.
    caller: Option<(&'static str, bool)>,
}

fn gateway_config() -> String {
    "deployment:istio-gateway".to_owned()
}

fn appends_config(trust: &str) -> String {
    format!("x-forwarded-for; trust={trust}; identity={GATEWAY_ID}; sidecar-appends")
}

fn rows() -> Vec<Row> {
    use Verdict::{CallerNotTrusted, Client, TrustedCaller, TrustedProxy, TrustedUnixPeer};
    let sidecar_answer = || answer("127.0.0.6", Some(40000), Origin::Peer, 0);
    let forged = || (XFF, "6.6.6.6, 203.0.113.7".to_owned());
    let proxied = Peer::Proxied {
        ip: "10.0.0.5".parse().unwrap(),
        port: Some(1234),
        sender: "192.0.2.50:4000".parse().unwrap(),
    };
    vec![
        // Without sidecar-appends: a trusted caller has no hop.
        Row {
            what: "the gateway, trusted: the walk goes on at hop 0, forged hops ignored",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "the gateway, trusted, behind a balancer in the trusted set",
            config: format!("x-forwarded-for; trust=istio-sidecar, 10.0.0.0/8; identity={GATEWAY_ID}"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "6.6.6.6, 203.0.113.7:5555, 10.0.0.9".to_owned()),
                (XFCC, element(GATEWAY_ID)),
            ],
            answer: answer("203.0.113.7", Some(5555), xff_origin(1), 3),
            verdicts: &[TrustedProxy, TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "the gateway, trusted, every hop trusted: the leftmost",
            config: format!("x-forwarded-for; trust=istio-sidecar, 10.0.0.0/8; identity={GATEWAY_ID}"),
            peer: peer(SIDECAR),
            headers: vec![(XFF, "10.0.0.9".to_owned()), (XFCC, element(GATEWAY_ID))],
            answer: answer("10.0.0.9", None, xff_origin(0), 2),
            // The leftmost is the answer (rule 5).
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "the gateway, trusted, quoted URI value",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![forged(), (XFCC, format!("Hash=ab;uri=\"{GATEWAY_ID}\""))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "an in-mesh caller that skips the gateway: the sidecar",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![forged(), (XFCC, element(SLEEP_ID))],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "no x-forwarded-client-cert (no mTLS): the sidecar",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![forged()],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: None,
        },
        Row {
            what: "x-forwarded-client-cert on two lines, each the gateway: the sidecar",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (XFCC, element(GATEWAY_ID)),
                (XFCC, element(GATEWAY_ID)),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: None,
        },
        Row {
            what: "two URI keys in the rightmost element, both the gateway: the sidecar",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![forged(), (XFCC, format!("URI={GATEWAY_ID};URI={GATEWAY_ID}"))],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: None,
        },
        Row {
            what: "the gateway forged in an element left of the rightmost: not believed",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (
                    XFCC,
                    format!("URI={GATEWAY_ID}, By=spiffe://cluster.local/ns/shop/sa/web;URI={SLEEP_ID}"),
                ),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "the gateway forged inside a quoted Subject of the rightmost element",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (
                    XFCC,
                    format!(
                        "By=spiffe://cluster.local/ns/shop/sa/web;\
                         Subject=\"CN=evil, URI={GATEWAY_ID}\";URI={SLEEP_ID}"
                    ),
                ),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "the gateway forged inside a quoted Subject, with an escaped quote, no URI of its own",
            config: gateway_config(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (XFCC, format!("Subject=\"a\\\", URI={GATEWAY_ID}\"")),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: None,
        },
        Row {
            what: "a namespace prefix admits a workload of that namespace",
            config: "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/istio-system/".to_owned(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (XFCC, element("spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway")),
            ],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some(("spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway", true)),
        },
        Row {
            what: "a namespace prefix does not admit another namespace that starts alike",
            config: "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/istio-system/".to_owned(),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (XFCC, element("spiffe://cluster.local/ns/istio-system2/sa/gw")),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some(("spiffe://cluster.local/ns/istio-system2/sa/gw", false)),
        },
        Row {
            what: "a namespace prefix does not admit another namespace",
            config: "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/istio-system/".to_owned(),
            peer: peer(SIDECAR),
            headers: vec![forged(), (XFCC, element(SLEEP_ID))],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        // With sidecar-appends: hop 0 is the caller's.
        Row {
            what: "sidecar-appends, the gateway: hop 0 is its, trusted; hop 1 the client",
            config: appends_config("istio-sidecar"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "6.6.6.6, 203.0.113.7, 10.1.2.3".to_owned()),
                (XFCC, element(GATEWAY_ID)),
            ],
            answer: answer("203.0.113.7", None, xff_origin(1), 2),
            verdicts: &[TrustedProxy, TrustedCaller, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "sidecar-appends, the gateway, behind a balancer in the trusted set",
            config: appends_config("istio-sidecar, 35.191.0.0/16"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "6.6.6.6, 203.0.113.7, 35.191.0.5, 10.1.2.3".to_owned()),
                (XFCC, element(GATEWAY_ID)),
            ],
            answer: answer("203.0.113.7", None, xff_origin(2), 3),
            verdicts: &[TrustedProxy, TrustedCaller, TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "sidecar-appends, an untrusted caller whose address is in the trusted set: hop 0",
            config: appends_config("istio-sidecar, 10.0.0.0/8"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "203.0.113.7, 10.1.2.3".to_owned()),
                (XFCC, element(SLEEP_ID)),
            ],
            answer: answer("10.1.2.3", None, xff_origin(0), 1),
            verdicts: &[TrustedProxy, Client],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "sidecar-appends, an untrusted caller at an IPv6 address in the trusted set",
            config: appends_config("istio-sidecar, fd00::/8"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "203.0.113.7, [fd00::3]:5555".to_owned()),
                (XFCC, element(SLEEP_ID)),
            ],
            answer: answer("fd00::3", Some(5555), xff_origin(0), 1),
            verdicts: &[TrustedProxy, Client],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "sidecar-appends, the gateway at an address with a port",
            config: appends_config("istio-sidecar"),
            peer: peer(SIDECAR),
            headers: vec![
                (XFF, "6.6.6.6, 2001:db8::7, 10.1.2.3:5555".to_owned()),
                (XFCC, element(GATEWAY_ID)),
            ],
            answer: answer("2001:db8::7", None, xff_origin(1), 2),
            verdicts: &[TrustedProxy, TrustedCaller, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "sidecar-appends, no caller named, hop 0 in the trusted set: hop 0",
            config: appends_config("istio-sidecar, 10.0.0.0/8"),
            peer: peer(SIDECAR),
            headers: vec![(XFF, "203.0.113.7, 10.1.2.3".to_owned())],
            answer: answer("10.1.2.3", None, xff_origin(0), 1),
            verdicts: &[TrustedProxy, Client],
            caller: None,
        },
        Row {
            what: "sidecar-appends, the gateway appended nothing else: its hop is the leftmost",
            config: appends_config("istio-sidecar"),
            peer: peer(SIDECAR),
            headers: vec![(XFF, "10.1.2.3".to_owned()), (XFCC, element(GATEWAY_ID))],
            answer: answer("10.1.2.3", None, xff_origin(0), 1),
            // The leftmost is the answer (rule 5).
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        // The peer decides whether the header is read at all.
        Row {
            what: "an untrusted peer: x-forwarded-client-cert is never read",
            config: gateway_config(),
            peer: peer("10.1.2.3:5000"),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("10.1.2.3", Some(5000), Origin::Peer, 0),
            verdicts: &[Client],
            caller: None,
        },
        Row {
            what: "an untrusted peer, sidecar-appends: never read either",
            config: appends_config("istio-sidecar"),
            peer: peer("10.1.2.3:5000"),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("10.1.2.3", Some(5000), Origin::Peer, 0),
            verdicts: &[Client],
            caller: None,
        },
        Row {
            what: "an unspecified peer in the trusted set: refused, no caller read",
            config: format!("x-forwarded-for; trust=0.0.0.0, istio-sidecar; identity={GATEWAY_ID}"),
            peer: peer("0.0.0.0:40000"),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: Err(Error::UnspecifiedPeer),
            verdicts: &[Verdict::Malformed(HopError::Unspecified)],
            caller: None,
        },
        Row {
            what: "an unspecified peer, IPv4-mapped, sidecar-appends: refused, no caller read",
            config: format!(
                "x-forwarded-for; trust=0.0.0.0, istio-sidecar; identity={GATEWAY_ID}; sidecar-appends"
            ),
            peer: peer("[::ffff:0.0.0.0]:40000"),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: Err(Error::UnspecifiedPeer),
            verdicts: &[Verdict::Malformed(HopError::Unspecified)],
            caller: None,
        },
        // Where the identity is read.
        Row {
            what: "identity-header: the gateway in the configured header",
            config: format!(
                "x-forwarded-for; trust=istio-sidecar; identity={GATEWAY_ID}; identity-header=x-client-cert"
            ),
            peer: peer(SIDECAR),
            headers: vec![forged(), ("x-client-cert", element(GATEWAY_ID))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "identity-header: the gateway in x-forwarded-client-cert only is not read",
            config: format!(
                "x-forwarded-for; trust=istio-sidecar; identity={GATEWAY_ID}; identity-header=x-client-cert"
            ),
            peer: peer(SIDECAR),
            headers: vec![
                forged(),
                (XFCC, element(GATEWAY_ID)),
                ("x-client-cert", element(SLEEP_ID)),
            ],
            answer: sidecar_answer(),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        // Other peers.
        Row {
            what: "the IPv6 sidecar ::6, the gateway",
            config: gateway_config(),
            peer: peer("[::6]:40000"),
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "the IPv6 sidecar ::6, an untrusted caller",
            config: gateway_config(),
            peer: peer("[::6]:40000"),
            headers: vec![forged(), (XFCC, element(SLEEP_ID))],
            answer: answer("::6", Some(40000), Origin::Peer, 0),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "a trusted PROXY-protocol source, the gateway",
            config: format!("x-forwarded-for; trust=10.0.0.0/8; identity={GATEWAY_ID}"),
            peer: proxied,
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedProxy, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "a trusted PROXY-protocol source, an untrusted caller: the PROXY source",
            config: format!("x-forwarded-for; trust=10.0.0.0/8; identity={GATEWAY_ID}"),
            peer: proxied,
            headers: vec![forged(), (XFCC, element(SLEEP_ID))],
            answer: answer("10.0.0.5", Some(1234), Origin::ProxyProtocol, 0),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "a trusted Unix-socket peer, the gateway",
            config: format!("x-forwarded-for; unix-peer; identity={GATEWAY_ID}"),
            peer: Peer::Unix,
            headers: vec![forged(), (XFCC, element(GATEWAY_ID))],
            answer: answer("203.0.113.7", None, xff_origin(0), 2),
            verdicts: &[TrustedUnixPeer, Client],
            caller: Some((GATEWAY_ID, true)),
        },
        Row {
            what: "a trusted Unix-socket peer, an untrusted caller: no address to answer",
            config: format!("x-forwarded-for; unix-peer; identity={GATEWAY_ID}"),
            peer: Peer::Unix,
            headers: vec![forged(), (XFCC, element(SLEEP_ID))],
            answer: Err(Error::UnixPeerCallerNotTrusted),
            verdicts: &[CallerNotTrusted],
            caller: Some((SLEEP_ID, false)),
        },
        Row {
            what: "a trusted Unix-socket peer, sidecar-appends, an untrusted caller: hop 0",
            config: format!("x-forwarded-for; unix-peer; identity={GATEWAY_ID}; sidecar-appends"),
            peer: Peer::Unix,
            headers: vec![
                (XFF, "203.0.113.7, 10.1.2.3".to_owned()),
                (XFCC, element(SLEEP_ID)),
            ],
            answer: answer("10.1.2.3", None, xff_origin(0), 1),
            verdicts: &[TrustedUnixPeer, Client],
            caller: Some((SLEEP_ID, false)),
        },
    ]
}

#[test]
fn rule15_a_trusted_sidecar_vouches_for_its_caller() {
    let mut failures = Vec::new();
    for row in rows() {
        let resolver: Resolver = row
            .config
            .parse()
            .unwrap_or_else(|e| panic!("{}: {:?} is valid: {e}", row.what, row.config));
        let headers = headers(&row.headers);
        let result = resolver.resolve(row.peer, &headers);
        let explanation = resolver.explain(row.peer, &headers);
        let verdicts: Vec<Verdict> = explanation.steps.iter().map(|s| s.verdict).collect();
        let caller = resolver.caller(row.peer, &headers);
        let named = caller.as_ref().map(|c| (c.uri(), c.is_trusted()));
        let checks = [
            (observed(&result) == row.answer, "the answer"),
            (explanation.result == result, "explain's result"),
            (verdicts == row.verdicts, "the verdicts"),
            (named == row.caller, "Resolver::caller"),
            (
                caller.clone().map(Caller::into_owned) == explanation.caller,
                "explain's caller",
            ),
        ];
        for (ok, what) in checks {
            if !ok {
                failures.push(format!(
                    "{}: {what}: got {:?}, verdicts {verdicts:?}, caller {named:?}, explain's \
                     caller {:?}; expected {:?}, {:?}, {:?}\n{explanation}",
                    row.what,
                    observed(&result),
                    explanation.caller,
                    row.answer,
                    row.verdicts,
                    row.caller,
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The caller is read from the request, borrowed, and outlives nothing:
/// `into_owned` keeps it.
#[test]
fn the_caller_is_borrowed_from_the_request() {
    let resolver: Resolver = gateway_config().parse().unwrap();
    let headers = headers(&[(XFCC, element(GATEWAY_ID))]);
    let caller = resolver.caller(peer(SIDECAR), &headers).unwrap();
    let value = headers.get(XFCC).unwrap().as_bytes();
    let range = value.as_ptr_range();
    assert!(
        range.contains(&caller.uri().as_ptr()),
        "borrowed, not copied"
    );
    assert_eq!(caller.to_string(), GATEWAY_ID);
    let owned: Caller<'static> = caller.clone().into_owned();
    drop(headers);
    assert_eq!(owned.uri(), GATEWAY_ID);
    assert!(owned.is_trusted());
    // A resolver that trusts no identity names no caller, whatever the
    // header says.
    let plain: Resolver = "deployment:istio-sidecar-xff".parse().unwrap();
    let headers = self::headers(&[(XFCC, element(GATEWAY_ID))]);
    assert_eq!(plain.caller(peer(SIDECAR), &headers), None);
    assert_eq!(plain.explain(peer(SIDECAR), &headers).caller, None);
}

/// Why a trusted sidecar named no caller is in the explanation, and what
/// the readable report prints on the step the identity decided.
#[test]
fn the_explanation_says_what_the_sidecar_vouched_for() {
    let resolver: Resolver = gateway_config().parse().unwrap();
    let forged = (XFF, "6.6.6.6, 203.0.113.7".to_owned());
    let e = resolver.explain(peer(SIDECAR), &headers(std::slice::from_ref(&forged)));
    assert_eq!(e.caller, None);
    let why = e.caller_missing.as_deref().unwrap();
    assert!(why.contains("absent"), "{why}");
    assert!(e.to_string().contains("caller: none (absent"), "{e}");

    let e = resolver.explain(
        peer(SIDECAR),
        &headers(&[
            forged.clone(),
            (XFCC, format!("URI={SLEEP_ID};URI={SLEEP_ID}")),
        ]),
    );
    assert!(e.caller_missing.unwrap().contains("several URIs"));

    let e = resolver.explain(
        peer(SIDECAR),
        &headers(&[forged.clone(), (XFCC, element(SLEEP_ID))]),
    );
    assert_eq!(e.caller_missing, None);
    let text = e.to_string();
    assert!(
        text.contains(&format!("caller {SLEEP_ID}: not a trusted identity")),
        "{text}"
    );

    let e = resolver.explain(
        peer(SIDECAR),
        &headers(&[forged, (XFCC, element(GATEWAY_ID))]),
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("caller {GATEWAY_ID}: a trusted identity")),
        "{text}"
    );

    // Nothing about callers when the peer is not trusted.
    let e = resolver.explain(
        peer("10.1.2.3:5000"),
        &headers(&[(XFCC, element(GATEWAY_ID))]),
    );
    assert_eq!((&e.caller, &e.caller_missing), (&None, &None));
    let text = e.to_string();
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("caller")),
        "{text}"
    );
}

/// With sidecar-appends, the explanation shows the caller on hop 0, the
/// hop its identity decided; without, on the peer.
#[test]
fn the_report_shows_the_caller_on_the_step_it_decided() {
    let caller_line_after = |config: &str, xff: &str, step: &str| {
        let resolver: Resolver = config.parse().unwrap();
        let e = resolver.explain(
            peer(SIDECAR),
            &headers(&[(XFF, xff.to_owned()), (XFCC, element(GATEWAY_ID))]),
        );
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("caller "))
            .unwrap_or_else(|| panic!("a caller line in {text}"));
        assert!(
            lines[at - 1].trim_start().starts_with(step),
            "{config}: the caller line follows {:?}, expected {step:?}\n{text}",
            lines[at - 1]
        );
    };
    caller_line_after(&gateway_config(), "203.0.113.7", "peer");
    caller_line_after(
        &appends_config("istio-sidecar"),
        "203.0.113.7, 10.1.2.3",
        "hop 0",
    );
}

// ---------------------------------------------------------------------------
// Configuration: what identities need, and the text form.

/// Each mistake is the same error built with the builder and written as
/// text.
#[test]
fn rule15_configuration_errors_are_the_same_in_the_builder_and_the_text_form() {
    let gw = || identity(GATEWAY_ID);
    let sidecar = || ProxySet::preset(Preset::IstioSidecar);
    let xff = || Resolver::builder().x_forwarded_for();
    let table: Vec<(ResolverBuilder, String, ConfigError)> = vec![
        (
            Resolver::builder().identity(gw()),
            format!("peer; identity={GATEWAY_ID}"),
            ConfigError::IdentityWithoutTrustedPeer {
                why: "the source is the peer alone",
            },
        ),
        (
            xff().trusted_hops(2, sidecar()).identity(gw()),
            format!("x-forwarded-for; hops=2; trust=istio-sidecar; identity={GATEWAY_ID}"),
            ConfigError::IdentityWithHops,
        ),
        (
            xff().trusted_hops_from_any_peer(1).identity(gw()),
            format!("x-forwarded-for; hops=1; any-peer; identity={GATEWAY_ID}"),
            ConfigError::IdentityWithHops,
        ),
        // No trusted peer to vouch for the caller: the source's own error
        // comes first.
        (
            xff().identity(gw()),
            format!("x-forwarded-for; identity={GATEWAY_ID}"),
            ConfigError::NoTrust {
                configured: "x-forwarded-for".into(),
            },
        ),
        (
            xff().trusted_proxies(ProxySet::new()).identity(gw()),
            format!("x-forwarded-for; identity={GATEWAY_ID}"),
            ConfigError::NoTrust {
                configured: "x-forwarded-for".into(),
            },
        ),
        (
            xff()
                .trusted_proxies(sidecar())
                .identity_header(name("x-client-cert")),
            "x-forwarded-for; trust=istio-sidecar; identity-header=x-client-cert".to_owned(),
            ConfigError::IdentityOptionWithoutIdentity {
                option: "identity-header=",
            },
        ),
        (
            xff().trusted_proxies(sidecar()).sidecar_appends(true),
            "x-forwarded-for; trust=istio-sidecar; sidecar-appends".to_owned(),
            ConfigError::IdentityOptionWithoutIdentity {
                option: "sidecar-appends",
            },
        ),
        (
            xff()
                .trusted_proxies(sidecar())
                .identity(gw())
                .identity_header(name("x-forwarded-for")),
            format!(
                "x-forwarded-for; trust=istio-sidecar; identity={GATEWAY_ID}; \
                 identity-header=x-forwarded-for"
            ),
            ConfigError::IdentityHeaderIsSource {
                header: "x-forwarded-for".into(),
            },
        ),
        (
            Resolver::builder()
                .list_header(name("x-forwarded-client-cert"))
                .trusted_proxies(sidecar())
                .identity(gw()),
            format!("list:x-forwarded-client-cert; trust=istio-sidecar; identity={GATEWAY_ID}"),
            ConfigError::IdentityHeaderIsSource {
                header: "x-forwarded-client-cert".into(),
            },
        ),
        (
            Resolver::builder()
                .source(Source::x_real_ip())
                .trusted_proxies(sidecar())
                .identity(gw())
                .sidecar_appends(true),
            format!("x-real-ip; trust=istio-sidecar; identity={GATEWAY_ID}; sidecar-appends"),
            ConfigError::SidecarAppendsToSingleHeader {
                header: "x-real-ip".into(),
            },
        ),
    ];
    for (builder, text, expected) in table {
        assert_eq!(builder.build().unwrap_err(), expected, "builder for {text}");
        assert_eq!(text.parse::<Resolver>().unwrap_err(), expected, "{text}");
        assert!(!expected.to_string().is_empty());
    }
}

#[test]
fn rule15_identities_are_spiffe_ids_or_one_namespace() {
    // (identity, a word its error must contain)
    let table: &[(&str, &str)] = &[
        ("https://cluster.local/ns/a/sa/b", "SPIFFE id"),
        ("cluster.local/ns/a/sa/b", "SPIFFE id"),
        ("spiffe://Cluster.local/ns/a/sa/b", "lowercase"),
        ("spiffe://cluster.local", "trust domain alone"),
        ("spiffe://cluster.local/", "trust domain alone"),
        ("spiffe://cluster.local/ns/a/sa/", "one namespace"),
        ("spiffe://cluster.local/ns/", "one namespace"),
        ("spiffe://cluster.local/ns/a b/sa/c", "path segment"),
    ];
    for (text, word) in table {
        let from_str = text.parse::<Identity>().unwrap_err();
        assert!(from_str.to_string().contains(word), "{text}: {from_str}");
        // The builder takes an `Identity`: the mistake is the parse's, and
        // the text form gives the same error.
        let expected = ConfigError::from(from_str);
        let config = format!("x-forwarded-for; trust=istio-sidecar; identity={text}");
        assert_eq!(
            config.parse::<Resolver>().unwrap_err(),
            expected,
            "{config}"
        );
        assert_eq!(
            config.parse::<ResolverConfig>().unwrap_err(),
            expected,
            "{config}: refused as read, before it is built"
        );
    }
    let empty = "x-forwarded-for; trust=istio-sidecar; identity=";
    assert!(matches!(
        empty.parse::<Resolver>(),
        Err(ConfigError::InvalidValue {
            option: "identity",
            ..
        })
    ));
    let commas = "x-forwarded-for; trust=istio-sidecar; identity=, ,";
    assert!(matches!(
        commas.parse::<Resolver>(),
        Err(ConfigError::InvalidValue {
            option: "identity",
            ..
        })
    ));
}

#[test]
fn rule15_the_text_form_round_trips() {
    let a = GATEWAY_ID;
    let b = "spiffe://cluster.local/ns/ingress/";
    let text = format!(
        "x-forwarded-for; trust=istio-sidecar; identity={a}, {b}; identity-header=x-client-cert; \
         sidecar-appends"
    );
    let resolver: Resolver = text.parse().unwrap();
    assert_eq!(resolver.to_string(), text);
    assert_eq!(resolver.to_string().parse::<Resolver>().unwrap(), resolver);
    assert_eq!(resolver.identities(), &[identity(a), identity(b)]);
    assert_eq!(resolver.identity_header(), Some(&name("x-client-cert")));
    assert!(resolver.sidecar_appends());

    let built = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(ProxySet::preset(Preset::IstioSidecar))
        .identity(identity(a))
        .identity(identity(b))
        .identity_header(name("X-Client-Cert"))
        .sidecar_appends(true)
        .build()
        .unwrap();
    assert_eq!(built, resolver);

    // identity= may be repeated; each adds to the list.
    let repeated: Resolver =
        format!("x-forwarded-for; trust=istio-sidecar; identity={a}; identity={b}")
            .parse()
            .unwrap();
    assert_eq!(repeated.identities(), &[identity(a), identity(b)]);
    assert_eq!(
        repeated.to_string(),
        format!("x-forwarded-for; trust=istio-sidecar; identity={a}, {b}")
    );
    // Other options may not.
    assert_eq!(
        format!(
            "x-forwarded-for; trust=istio-sidecar; identity={a}; sidecar-appends; sidecar-appends"
        )
        .parse::<Resolver>()
        .unwrap_err(),
        ConfigError::DuplicateOption("sidecar-appends".into())
    );
    assert!(matches!(
        format!("x-forwarded-for; trust=istio-sidecar; identity={a}; sidecar-appends=yes")
            .parse::<Resolver>()
            .unwrap_err(),
        ConfigError::InvalidValue {
            option: "sidecar-appends",
            ..
        }
    ));
    // Without identities the resolver reads no identity header.
    let plain: Resolver = "x-forwarded-for; trust=istio-sidecar".parse().unwrap();
    assert_eq!(plain.identities(), &[] as &[Identity]);
    assert_eq!(plain.identity_header(), None);
    assert!(!plain.sidecar_appends());
}

#[test]
fn rule15_istio_gateway_trusts_the_default_gateway_and_identity_replaces_it() {
    let default: Resolver = "deployment:istio-gateway".parse().unwrap();
    assert_eq!(
        default.identities(),
        &[identity(Deployment::ISTIO_GATEWAY_IDENTITY)]
    );
    assert_eq!(Deployment::ISTIO_GATEWAY_IDENTITY, GATEWAY_ID);
    assert_eq!(default.identity_header(), Some(&name(XFCC)));

    let own = "spiffe://example.org/ns/ingress/sa/gw";
    let replaced: Resolver = format!("deployment:istio-gateway; identity={own}")
        .parse()
        .unwrap();
    assert_eq!(replaced.identities(), &[identity(own)]);
    assert_eq!(
        replaced.to_string(),
        format!("x-forwarded-for; trust=istio-sidecar; identity={own}")
    );
    // The default gateway is no longer trusted: its requests stop at the
    // sidecar; the configured gateway's go on.
    let request = |uri: &str| {
        headers(&[
            (XFF, "6.6.6.6, 203.0.113.7".to_owned()),
            (XFCC, element(uri)),
        ])
    };
    let client = |r: &Resolver, uri: &str| r.resolve(peer(SIDECAR), &request(uri)).unwrap().ip();
    let sidecar: IpAddr = "127.0.0.6".parse().unwrap();
    let client_ip: IpAddr = "203.0.113.7".parse().unwrap();
    assert_eq!(client(&replaced, GATEWAY_ID), sidecar);
    assert_eq!(client(&replaced, own), client_ip);
    assert_eq!(client(&default, GATEWAY_ID), client_ip);
    assert_eq!(client(&default, own), sidecar);
}

// ---------------------------------------------------------------------------
// Properties: the crate's reading against a reference reader.

/// A reference reader of `x-forwarded-client-cert`, written from Envoy's
/// format: whether the caller is exactly `id`. The header must be one line;
/// its elements are split at commas outside double quotes (a backslash in
/// quotes escapes the next character); the rightmost element, trimmed of
/// spaces and tabs, is `;`-separated pairs, each `key=value` with a key of
/// RFC 9110 token characters and a value that is either a whole quoted
/// string or text without `"` or `=`. Exactly one key is `URI` (in any
/// case), and its value (without its quotes, escapes taken literally: a
/// URI holds no quote) is `id`.
fn reference_is(lines: &[String], id: &str) -> bool {
    let [line] = lines else {
        return false;
    };
    let Some(elements) = split_outside_quotes(line, ',') else {
        return false;
    };
    let rightmost = elements.last().expect("split yields at least one part");
    let mut uris = Vec::new();
    for pair in split_outside_quotes(rightmost.trim_matches([' ', '\t']), ';').unwrap() {
        let pair = pair.trim_matches([' ', '\t']);
        let Some((key, value)) = pair.split_once('=') else {
            return false;
        };
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if key.is_empty() || !key.chars().all(token) {
            return false;
        }
        let value = if let Some(inner) = value.strip_prefix('"') {
            // The closing quote must end the value.
            match closing_quote(inner) {
                Some(end) if end == inner.len() - 1 => &inner[..end],
                _ => return false,
            }
        } else if value.contains(['"', '=']) {
            return false;
        } else {
            value
        };
        if key.eq_ignore_ascii_case("uri") {
            uris.push(value);
        }
    }
    uris == [id]
}

/// `text` split at `sep` outside quotes; `None` when a quote is left open.
/// An empty part is a format error for elements (`None` for the caller),
/// and for pairs too.
fn split_outside_quotes(text: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices();
    let mut quoted = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// Where the quote closing a quoted string is, in what follows its opening
/// quote.
fn closing_quote(inner: &str) -> Option<usize> {
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// A quoted value: text with commas, semicolons, `=`, spaces and escaped
/// quotes, sometimes `URI=<gateway>` itself.
fn quoted_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(vec![
            ",", ";", "=", " ", "\\\"", "\\\\", "CN=x", "/C=US", "a", "O=Lyft",
        ])
        .prop_map(str::to_owned),
        Just(format!("URI={GATEWAY_ID}")),
        Just(format!(", URI={GATEWAY_ID}")),
        Just(format!("; URI={GATEWAY_ID}")),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

/// A value as written: unquoted or quoted, the gateway's id and others.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(GATEWAY_ID.to_owned()),
        1 => Just(format!("\"{GATEWAY_ID}\"")),
        // Near misses.
        1 => Just(format!("{GATEWAY_ID}/")),
        1 => Just(format!("\"{GATEWAY_ID}\\\"\"")),
        1 => Just(GATEWAY_ID.to_uppercase()),
        2 => Just(SLEEP_ID.to_owned()),
        1 => Just("http://frontend.lyft.com".to_owned()),
        1 => Just("468ed33be74eee6556d90c0149c1309e".to_owned()),
        1 => Just(String::new()),
        2 => quoted_value(),
        // Format errors.
        1 => Just(format!("a=b{GATEWAY_ID}")),
        1 => Just(format!("\"{GATEWAY_ID}")),
        1 => Just(format!("\"{GATEWAY_ID}\"x")),
    ]
}

fn key() -> impl Strategy<Value = String> {
    select(vec![
        "URI", "URI", "uri", "Uri", "By", "Hash", "Subject", "DNS", "Cert", "Chain", "X-Y_z", "",
        "U RI",
    ])
    .prop_map(str::to_owned)
}

/// One pair, with optional whitespace around it; sometimes broken.
fn pair() -> impl Strategy<Value = String> {
    let ws = select(vec!["", "", " ", "\t"]);
    prop_oneof![
        12 => (ws.clone(), key(), value(), ws).prop_map(|(a, k, v, b)| format!("{a}{k}={v}{b}")),
        1 => Just("Hash".to_owned()),
        1 => Just(String::new()),
    ]
}

fn element_text() -> impl Strategy<Value = String> {
    prop::collection::vec(pair(), 1..5).prop_map(|pairs| pairs.join(";"))
}

/// The element a sidecar appends: its own id, the hash, a subject that
/// may hold anything quoted, and one URI, the value random; sometimes a
/// pair more (a second URI among them).
fn caller_element() -> impl Strategy<Value = String> {
    (quoted_value(), value(), prop::option::weighted(0.2, pair())).prop_map(
        |(subject, uri, extra)| {
            let mut element = format!(
                "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab12;Subject={subject};URI={uri}"
            );
            if let Some(extra) = extra {
                element.push(';');
                element.push_str(&extra);
            }
            element
        },
    )
}

/// A header line: elements joined by commas with optional spaces, the
/// rightmost often a sidecar's, sometimes the gateway's whole element
/// placed left of it, sometimes a trailing comma (an empty rightmost).
fn xfcc_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(element_text(), 0..3),
        prop_oneof![caller_element(), element_text()],
        any::<bool>(),
        select(vec![",", ", ", " ,"]),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(mut elements, rightmost, forge_left, sep, trailing)| {
            if forge_left {
                elements.insert(0, element(GATEWAY_ID));
            }
            elements.push(rightmost);
            let mut line = elements.join(sep);
            if trailing {
                line.push(',');
            }
            line
        })
}

/// The header's lines: mostly one, as a sidecar writes it.
fn xfcc_lines() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        1 => Just(Vec::new()),
        8 => xfcc_line().prop_map(|line| vec![line]),
        1 => prop::collection::vec(xfcc_line(), 2..4),
    ]
}

/// `X-Forwarded-For` hops: clients, the sidecar addresses (trusted) and a
/// private address (not trusted under the gateway configuration).
fn xff_hop() -> impl Strategy<Value = &'static str> {
    select(vec![
        "203.0.113.7",
        "198.51.100.1",
        "6.6.6.6",
        "2001:db8::7",
        "10.1.2.3",
        "127.0.0.6",
        "::6",
    ])
}

/// The answer the gateway configuration must give: with the gateway as
/// caller, the first hop from the right outside the sidecar addresses (or
/// the leftmost; the sidecar when there is no hop); otherwise the sidecar.
fn reference_answer(trusted: bool, hops: &[&str], peer: SocketAddr) -> (IpAddr, Origin, usize) {
    let sidecars: [IpAddr; 2] = ["127.0.0.6".parse().unwrap(), "::6".parse().unwrap()];
    if !trusted || hops.is_empty() {
        return (peer.ip(), Origin::Peer, 0);
    }
    let from_right: Vec<IpAddr> = hops.iter().rev().map(|h| h.parse().unwrap()).collect();
    let index = from_right
        .iter()
        .position(|ip| !sidecars.contains(ip))
        .unwrap_or(from_right.len() - 1);
    // The peer, the gateway, and the trusted hops right of the answer.
    (from_right[index], xff_origin(index), index + 2)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        // Integration tests have no source file proptest can persist next to.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Under the gateway configuration, the answer goes past the sidecar
    /// exactly when the rightmost element's one URI is the gateway's, as
    /// the reference reads the header; `resolve` and `explain` agree, and
    /// so do `Resolver::caller` and the explanation.
    #[test]
    fn the_walk_goes_past_the_sidecar_only_for_the_gateway(
        lines in xfcc_lines(),
        hops in prop::collection::vec(xff_hop(), 0..5),
        v6 in any::<bool>(),
    ) {
        let resolver: Resolver = gateway_config().parse().unwrap();
        let peer: SocketAddr = if v6 { "[::6]:40000" } else { SIDECAR }.parse().unwrap();
        let mut map = HeaderMap::new();
        for line in &lines {
            map.append(XFCC, HeaderValue::from_str(line).unwrap());
        }
        if !hops.is_empty() {
            map.insert(XFF, HeaderValue::from_str(&hops.join(", ")).unwrap());
        }
        let trusted = reference_is(&lines, GATEWAY_ID);

        let result = resolver.resolve(peer, &map);
        let explanation = resolver.explain(peer, &map);
        prop_assert_eq!(&explanation.result, &result);
        let caller = resolver.caller(peer, &map);
        prop_assert_eq!(caller.clone().map(Caller::into_owned), explanation.caller.clone());
        prop_assert_eq!(caller.is_some_and(|c| c.is_trusted()), trusted, "xfcc {:?}", lines);

        let r = result.unwrap();
        let (client, origin, trusted_proxies) = reference_answer(trusted, &hops, peer);
        prop_assert_eq!(r.ip(), client, "xfcc {:?}, xff {:?}", lines, hops);
        prop_assert_eq!(r.origin(), &origin);
        prop_assert_eq!(r.trusted_proxies(), trusted_proxies);
        let verdict = match (trusted, hops.is_empty()) {
            (false, _) => Verdict::CallerNotTrusted,
            (true, false) => Verdict::TrustedProxy,
            // The gateway sent no header: the sidecar is the leftmost.
            (true, true) => Verdict::TrustedWithoutHeader,
        };
        prop_assert_eq!(explanation.steps[0].verdict, verdict);
        // An untrusted caller is a warning, never an error.
        prop_assert_eq!(
            explanation.diagnostics.iter().any(|d| d.code() == "caller_not_trusted"),
            !trusted
        );
    }

    /// With sidecar-appends, hop 0 is trusted exactly when the caller is
    /// the gateway, whatever the trusted set says of its address.
    #[test]
    fn with_sidecar_appends_hop_0_is_trusted_only_for_the_gateway(
        line in xfcc_line(),
        caller_hop in select(vec![
            ("10.1.2.3", "10.1.2.3"),
            ("127.0.0.6", "127.0.0.6"),
            ("198.51.100.1", "198.51.100.1"),
            ("10.1.2.3:5555", "10.1.2.3"),
            ("[fd00::3]:5555", "fd00::3"),
            ("2001:db8::9", "2001:db8::9"),
        ]),
    ) {
        // Lines of bare IPv4 addresses and the others are read by
        // different readers; the caller's hop is trusted the same way.
        let (caller_hop, caller_ip) = caller_hop;
        let resolver: Resolver =
            appends_config("istio-sidecar, 10.0.0.0/8, fd00::/8").parse().unwrap();
        let peer: SocketAddr = SIDECAR.parse().unwrap();
        let map = headers(&[
            (XFF, format!("6.6.6.6, 203.0.113.7, {caller_hop}")),
            (XFCC, line.clone()),
        ]);
        let trusted = reference_is(std::slice::from_ref(&line), GATEWAY_ID);
        let result = resolver.resolve(peer, &map);
        let explanation = resolver.explain(peer, &map);
        prop_assert_eq!(&explanation.result, &result);
        let r = result.unwrap();
        let (client, index) = match trusted {
            true => ("203.0.113.7", 1),
            false => (caller_ip, 0),
        };
        prop_assert_eq!(r.ip(), client.parse::<IpAddr>().unwrap(), "xfcc {:?}", line);
        prop_assert_eq!(r.origin(), &xff_origin(index));
        prop_assert_eq!(r.trusted_proxies(), index + 1);
        prop_assert_eq!(
            explanation.steps[1].verdict,
            if trusted { Verdict::TrustedCaller } else { Verdict::Client }
        );
        // A client hop was found: not every hop was trusted.
        prop_assert!(!explanation.diagnostics.iter().any(|d| d.code() == "all_hops_trusted"));
    }
}

/// The reference reader itself, on the rows whose answers are known.
#[test]
fn the_reference_reader_reads_envoys_examples() {
    let one = |s: &str| vec![s.to_owned()];
    let gw = GATEWAY_ID;
    assert!(reference_is(&one(&element(gw)), gw));
    assert!(reference_is(
        &one(&format!("a=1 ,  By=x ; uri=\"{gw}\" ")),
        gw
    ));
    assert!(reference_is(
        &one(&format!(
            "By=x;Subject=\"CN=x, URI=spiffe://evil\";URI={gw}"
        )),
        gw
    ));
    for header in [
        format!("URI={gw}, By=x;URI={SLEEP_ID}"),
        format!("By=x;Subject=\"x, URI={gw}\""),
        format!("URI={gw};URI={gw}"),
        format!("URI={gw},"),
        format!("URI={gw};Hash"),
        format!("URI=\"{gw}"),
        format!("URI=\"{gw}\\\"\""),
        format!("U RI={gw}"),
        String::new(),
    ] {
        assert!(!reference_is(&one(&header), gw), "{header:?}");
    }
    assert!(!reference_is(&[element(gw), element(gw)], gw));
    assert!(!reference_is(&[], gw));
}
