//! Diagnostics that tell the truth: the exact list each deployment problem
//! gives, and the tower layer's tracing warnings, which must be exactly the
//! explanation's warnings (they come from the same function; this pins it).
//!
//! Each row is a request as the application sees it (peer, headers) and a
//! configuration; the expected list is every diagnostic code the
//! explanation gives, in order.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use realip::explain::{Diagnostic, Verdict};
use realip::tower::ClientIpLayer;
use realip::{Error, Peer, Resolver};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

struct Row {
    what: &'static str,
    config: &'static str,
    peer: Peer,
    headers: &'static [(&'static str, &'static str)],
    codes: &'static [&'static str],
}

fn peer(text: &str) -> Peer {
    text.parse().unwrap()
}

fn headers(lines: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in lines {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn rows() -> Vec<Row> {
    let balancer = Peer::ProxiedWithoutSource {
        sender: "127.0.0.2:40000".parse().unwrap(),
    };
    vec![
        Row {
            what: "a trusted proxy that sent no header",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[],
            codes: &["trusted_peer_sent_no_header", "non_public_client"],
        },
        Row {
            what: "a trusted proxy that sent another header than the configured one",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[("x-real-ip", "203.0.113.7")],
            codes: &[
                "configured_header_absent",
                "trusted_peer_sent_no_header",
                "non_public_client",
            ],
        },
        Row {
            what: "a trusted sidecar that sent no header",
            config: "x-forwarded-for; trust=istio-sidecar",
            peer: peer("127.0.0.6:4000"),
            headers: &[],
            codes: &["sidecar_hides_client", "trusted_peer_sent_no_header"],
        },
        Row {
            what: "a trusted proxy without a header, all-trusted=error",
            config: "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error",
            peer: peer("10.0.0.3:4000"),
            headers: &[],
            codes: &["trusted_peer_sent_no_header"],
        },
        Row {
            what: "a trusted proxy without a header, by hop count",
            config: "x-forwarded-for; hops=1; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[],
            codes: &["trusted_peer_sent_no_header"],
        },
        Row {
            what: "a trusted Unix-socket proxy without a header",
            config: "x-forwarded-for; trust=10.0.0.0/8; unix-peer",
            peer: Peer::Unix,
            headers: &[],
            codes: &["trusted_peer_sent_no_header"],
        },
        Row {
            what: "a stranger that forges the header",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("198.51.100.66:4000"),
            headers: &[("x-forwarded-for", "1.1.1.1")],
            codes: &["forwarding_headers_from_untrusted_peer"],
        },
        Row {
            what: "a stranger that forges another header",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("198.51.100.66:4000"),
            headers: &[("x-real-ip", "1.1.1.1")],
            codes: &[
                "forwarding_headers_from_untrusted_peer",
                "configured_header_absent",
            ],
        },
        Row {
            what: "a stranger without headers",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("198.51.100.66:4000"),
            headers: &[],
            codes: &[],
        },
        Row {
            what: "the peer source, with forwarding headers",
            config: "peer",
            peer: peer("198.51.100.66:4000"),
            headers: &[("x-forwarded-for", "1.1.1.1")],
            codes: &["forwarding_headers_ignored"],
        },
        Row {
            what: "the sidecar in REDIRECT mode, the peer source",
            config: "peer",
            peer: peer("127.0.0.6:4000"),
            headers: &[],
            codes: &["sidecar_hides_client"],
        },
        Row {
            what: "every hop trusted",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[("x-forwarded-for", "10.0.0.1")],
            codes: &["all_hops_trusted", "non_public_client"],
        },
        Row {
            what: "every hop trusted, all-trusted=error",
            config: "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error",
            peer: peer("10.0.0.3:4000"),
            headers: &[("x-forwarded-for", "10.0.0.1")],
            codes: &["all_hops_trusted"],
        },
        Row {
            what: "a client behind a trusted proxy",
            config: "x-forwarded-for; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[("x-forwarded-for", "203.0.113.7, 10.0.0.1")],
            codes: &[],
        },
        Row {
            what: "a single-address header on two lines",
            config: "x-real-ip; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[("x-real-ip", "1.1.1.1"), ("x-real-ip", "203.0.113.7")],
            codes: &["duplicate_single_header"],
        },
        Row {
            what: "Forwarded and X-Forwarded-For together",
            config: "forwarded; trust=10.0.0.0/8",
            peer: peer("10.0.0.3:4000"),
            headers: &[
                ("forwarded", "for=203.0.113.7"),
                ("x-forwarded-for", "203.0.113.7"),
            ],
            codes: &["forwarded_and_x_forwarded_for"],
        },
        Row {
            what: "a PROXY health check (LOCAL): the balancer, a note",
            config: "x-forwarded-for; trust=127.0.0.0/8",
            peer: balancer,
            headers: &[],
            codes: &["balancer_gave_no_source"],
        },
        Row {
            what: "PROXY UNKNOWN with a forged header: the balancer, a warning",
            config: "x-forwarded-for; trust=127.0.0.0/8",
            peer: balancer,
            headers: &[("x-forwarded-for", "1.1.1.1")],
            codes: &["balancer_gave_no_source"],
        },
        Row {
            what: "value headers that do not line up with the source (rule 14)",
            config: "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
                     host=x-forwarded-host",
            peer: peer("10.0.0.3:4000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
                ("x-forwarded-proto", "https, https, http"),
                ("x-forwarded-host", "shop.example.com, internal"),
            ],
            codes: &["value_absent"],
        },
        Row {
            what: "a host outside the allowed hosts and no scheme sent (rule 14)",
            config: "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
                     host=x-forwarded-host; align=single; allowed-hosts=shop.example.com",
            peer: peer("10.0.0.3:4000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-host", "evil.example"),
            ],
            codes: &["value_absent", "value_absent"],
        },
        // Rule 15: caller identities.
        Row {
            what: "an in-mesh caller that skips the gateway: the sidecar is the answer",
            config: "deployment:istio-gateway",
            peer: peer("127.0.0.6:40000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7"),
                (
                    "x-forwarded-client-cert",
                    "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/default/sa/sleep",
                ),
            ],
            codes: &["sidecar_hides_client", "caller_not_trusted"],
        },
        Row {
            what: "a caller without mTLS (no x-forwarded-client-cert): the sidecar is the answer",
            config: "deployment:istio-gateway",
            peer: peer("127.0.0.6:40000"),
            headers: &[("x-forwarded-for", "203.0.113.7")],
            codes: &["sidecar_hides_client", "caller_not_trusted"],
        },
        Row {
            // The walk stopped at the sidecar without needing the header:
            // no advice about a header that was not read.
            what: "a caller without mTLS and no header at all",
            config: "deployment:istio-gateway",
            peer: peer("127.0.0.6:40000"),
            headers: &[],
            codes: &["sidecar_hides_client", "caller_not_trusted"],
        },
        Row {
            what: "the gateway, trusted by its identity",
            config: "deployment:istio-gateway",
            peer: peer("127.0.0.6:40000"),
            headers: &[
                ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
                (
                    "x-forwarded-client-cert",
                    "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
                ),
            ],
            codes: &[],
        },
        Row {
            what: "the gateway, trusted by its identity, sent no header",
            config: "deployment:istio-gateway",
            peer: peer("127.0.0.6:40000"),
            headers: &[(
                "x-forwarded-client-cert",
                "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
            )],
            codes: &["sidecar_hides_client", "trusted_peer_sent_no_header"],
        },
        Row {
            what: "sidecar-appends, an untrusted caller: its hop is the answer",
            config: "x-forwarded-for; trust=istio-sidecar; \
                     identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account; \
                     sidecar-appends",
            peer: peer("127.0.0.6:40000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7, 10.1.2.3"),
                (
                    "x-forwarded-client-cert",
                    "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/default/sa/sleep",
                ),
            ],
            codes: &["non_public_client", "caller_not_trusted"],
        },
        // Its hop is the client, not a trusted proxy, whatever the set says.
        Row {
            what: "sidecar-appends, an untrusted caller whose address is in the trusted set",
            config: "x-forwarded-for; trust=istio-sidecar, 10.0.0.0/8; \
                     identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account; \
                     sidecar-appends",
            peer: peer("127.0.0.6:40000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7, 10.1.2.3"),
                (
                    "x-forwarded-client-cert",
                    "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/default/sa/sleep",
                ),
            ],
            codes: &["non_public_client", "caller_not_trusted"],
        },
        // Every hop trusted, the caller's by its identity, not its address.
        Row {
            what: "sidecar-appends, the gateway whose hop is the leftmost",
            config: "x-forwarded-for; trust=istio-sidecar; \
                     identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account; \
                     sidecar-appends",
            peer: peer("127.0.0.6:40000"),
            headers: &[
                ("x-forwarded-for", "10.1.2.3"),
                (
                    "x-forwarded-client-cert",
                    "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
                     URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
                ),
            ],
            codes: &["all_hops_trusted", "non_public_client"],
        },
        // The sidecar is the answer, and has no address: an error.
        Row {
            what: "a trusted Unix-socket peer, an untrusted caller",
            config: "x-forwarded-for; unix-peer; \
                     identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
            peer: Peer::Unix,
            headers: &[
                ("x-forwarded-for", "203.0.113.7"),
                (
                    "x-forwarded-client-cert",
                    "URI=spiffe://cluster.local/ns/default/sa/sleep",
                ),
            ],
            codes: &["caller_not_trusted"],
        },
        Row {
            what: "a stranger that forges the gateway's identity",
            config: "deployment:istio-gateway",
            peer: peer("10.1.2.3:5000"),
            headers: &[
                ("x-forwarded-for", "203.0.113.7"),
                (
                    "x-forwarded-client-cert",
                    "URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
                ),
            ],
            codes: &[
                "forwarding_headers_from_untrusted_peer",
                "non_public_client",
            ],
        },
    ]
}

#[test]
fn each_deployment_problem_gives_exactly_its_diagnostics() {
    let mut failures = String::new();
    for row in rows() {
        let resolver: Resolver = row.config.parse().unwrap();
        let e = resolver.explain(row.peer, &headers(row.headers));
        let codes: Vec<&str> = e.diagnostics.iter().map(Diagnostic::code).collect();
        if codes != row.codes {
            let _ = writeln!(
                failures,
                "{}: {codes:?}, expected {:?}\n{e}",
                row.what, row.codes
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn a_trusted_peer_without_the_header_is_a_proxy_that_sent_no_header() {
    let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
    let e = resolver.explain(peer("10.0.0.3:4000"), &headers(&[("x-real-ip", "6.6.6.6")]));
    assert_eq!(e.steps.len(), 1);
    assert_eq!(e.steps[0].verdict, Verdict::TrustedWithoutHeader);
    assert_eq!(e.result.as_ref().unwrap().client().to_string(), "10.0.0.3");
    assert!(
        !e.diagnostics
            .iter()
            .any(|d| d.code() == "forwarding_headers_from_untrusted_peer"),
        "{:?}",
        e.diagnostics
    );
    let text = e.to_string();
    assert!(
        text.contains("trusted proxy, sent no configured header: the answer"),
        "{text}"
    );
}

#[test]
fn the_balancer_diagnostic_is_a_warning_only_with_forwarding_headers() {
    let resolver: Resolver = "x-forwarded-for; trust=127.0.0.0/8".parse().unwrap();
    let balancer = Peer::ProxiedWithoutSource {
        sender: "127.0.0.2:40000".parse().unwrap(),
    };
    let quiet = resolver.explain(balancer, &HeaderMap::new());
    assert!(!quiet.diagnostics[0].is_warning());
    let forged = resolver.explain(balancer, &headers(&[("x-forwarded-for", "1.1.1.1")]));
    assert!(forged.diagnostics[0].is_warning());
    assert!(
        forged.diagnostics[0]
            .to_string()
            .contains("x-forwarded-for")
    );
    let r = forged.result.unwrap();
    assert_eq!(r.client().to_string(), "127.0.0.2");
    assert_eq!(r.peer(), balancer);
}

// ---------------------------------------------------------------------------
// The tower layer's tracing warnings.

/// Collects the `code` field of every warning event.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct CodeField<'a>(&'a mut Option<String>);

impl Visit for CodeField<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "code" {
            *self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "code" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Warnings {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut code = None;
            event.record(&mut CodeField(&mut code));
            self.0
                .lock()
                .unwrap()
                .push(code.unwrap_or_else(|| "<no code>".to_owned()));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Sends `row`'s request `times` times through one layer; the warnings it
/// logged.
fn layer_warnings(row: &Row, times: usize) -> Vec<String> {
    let resolver: Resolver = row.config.parse().unwrap();
    let layer = ClientIpLayer::new(resolver);
    let warnings = Warnings::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(warnings.clone(), || {
        for _ in 0..times {
            let service = ServiceBuilder::new()
                .layer(layer.clone())
                .service(service_fn(|_: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(String::new()))
                }));
            let mut request = Request::new(String::new());
            *request.headers_mut() = headers(row.headers);
            request.extensions_mut().insert(row.peer);
            runtime.block_on(service.oneshot(request)).unwrap();
        }
    });
    warnings.0.lock().unwrap().to_vec()
}

#[test]
fn layer_warnings_are_the_explanations_warnings_once_each() {
    let mut failures = String::new();
    for row in rows() {
        let resolver: Resolver = row.config.parse().unwrap();
        let expected: Vec<String> = resolver
            .explain(row.peer, &headers(row.headers))
            .diagnostics
            .iter()
            .filter(|d| d.is_warning())
            .map(|d| d.code().to_owned())
            .collect();
        // Three identical requests: each warning once.
        let got = layer_warnings(&row, 3);
        if got != expected {
            let _ = writeln!(
                failures,
                "{}: warned {got:?}, explain {expected:?}",
                row.what
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn the_layer_never_blames_a_stranger_for_a_trusted_proxy() {
    let row = &rows()[1];
    assert_eq!(
        row.what,
        "a trusted proxy that sent another header than the configured one"
    );
    let got = layer_warnings(row, 1);
    assert_eq!(
        got,
        ["configured_header_absent", "trusted_peer_sent_no_header"]
    );
    // And the rejection the layer would answer for a trusted Unix peer
    // without a header is the request's fault (400), not the server's.
    assert!(!Error::UnixPeerSentNoHeader.is_configuration_error());
}
