//! Telemetry (features `tracing` and `metrics`): what `ClientIpLayer`
//! records for each request, read back by a subscriber and a recorder of
//! the test's own.
//!
//! The span rows: a client that connects directly (and one that forges
//! `X-Forwarded-For` doing so), a client behind a trusted proxy, a client
//! named by a PROXY-protocol header (and a balancer's health check), a
//! chain that cannot be read. Then the application's own span, filled in
//! field by field as it declares them; the span filtered out; and the
//! counters.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder};
use metrics::{SharedString, Unit};
use realip::Peer;
use realip::proxy_protocol::ProxyConnInfo;
use realip::telemetry::{DIAGNOSTICS_TOTAL, ERRORS_TOTAL, RESOLUTIONS_TOTAL, SPAN_TARGET};
use realip::tower::ClientIpLayer;
use tower::{Layer, Service, ServiceExt, service_fn};
use tracing::field::{Empty, Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata as SpanMetadata, Subscriber};
use tracing_core::span::Current;

// ---------------------------------------------------------------------------
// A subscriber that keeps every span's fields.

#[derive(Debug, Default)]
struct SpanData {
    name: &'static str,
    target: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    spans: HashMap<u64, (SpanData, &'static SpanMetadata<'static>)>,
    next: u64,
    /// Entered spans (one thread: the tests use a current-thread runtime).
    stack: Vec<u64>,
    /// Each event's message and the span it was logged in.
    events: Vec<(String, Option<u64>)>,
}

/// Records everything, except spans of the targets it is told to filter
/// out.
#[derive(Clone, Default)]
struct Spans {
    state: Arc<Mutex<State>>,
    filtered_out: Option<&'static str>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Spans {
    /// Decided at each call, never cached: the tests run in parallel, each
    /// with a subscriber of its own, and a callsite's cached interest is
    /// shared by all of them (one that filters the span out must not turn
    /// it off for the others).
    fn register_callsite(&self, _: &'static SpanMetadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &SpanMetadata<'_>) -> bool {
        Some(metadata.target()) != self.filtered_out
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut state = self.state.lock().unwrap();
        state.next += 1;
        let id = state.next;
        let mut data = SpanData {
            name: attributes.metadata().name(),
            target: attributes.metadata().target().to_owned(),
            fields: BTreeMap::new(),
        };
        attributes.record(&mut Fields(&mut data.fields));
        state.spans.insert(id, (data, attributes.metadata()));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.state.lock().unwrap();
        let (data, _) = state.spans.get_mut(&span.into_u64()).expect("a known span");
        values.record(&mut Fields(&mut data.fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let mut state = self.state.lock().unwrap();
        let current = state.stack.last().copied();
        let message = fields.remove("message").unwrap_or_default();
        state.events.push((message, current));
    }
    fn enter(&self, span: &Id) {
        self.state.lock().unwrap().stack.push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut state = self.state.lock().unwrap();
        let top = state.stack.pop();
        assert_eq!(top, Some(span.into_u64()), "spans exit in order");
    }
    fn current_span(&self) -> Current {
        let state = self.state.lock().unwrap();
        match state.stack.last() {
            Some(&id) => Current::new(Id::from_u64(id), state.spans[&id].1),
            None => Current::none(),
        }
    }
}

/// Makes tracing ask every subscriber whether a callsite is enabled. It
/// caches the answer for all of them at once, and while at most one
/// subscriber exists it asks only the current thread's (tracing-core's
/// `Rebuilder::JustOne`): a test thread without one (the counters' tests)
/// would then cache "never" for the tests that run beside it. With two
/// subscribers that live as long as the process, each saying "sometimes",
/// the answer is never cached as "never". Every test calls this first.
fn subscribers_asked_each_time() {
    static KEEP: OnceLock<[tracing::Dispatch; 2]> = OnceLock::new();
    KEEP.get_or_init(|| {
        [
            tracing::Dispatch::new(Spans::default()),
            tracing::Dispatch::new(Spans::default()),
        ]
    });
}

impl Spans {
    /// The fields of every span named `name`, oldest first.
    fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let state = self.state.lock().unwrap();
        let mut ids: Vec<_> = state
            .spans
            .iter()
            .filter(|(_, (data, _))| data.name == name)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids.iter()
            .map(|id| state.spans[id].0.fields.clone())
            .collect()
    }

    /// The one `realip` span.
    fn realip(&self) -> BTreeMap<String, String> {
        let mut spans = self.named("realip");
        assert_eq!(spans.len(), 1, "one realip span: {spans:?}");
        spans.pop().unwrap()
    }
}

// ---------------------------------------------------------------------------
// Requests through the layer.

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

/// How the connection reached the layer.
#[derive(Clone)]
enum Conn {
    /// A `realip::Peer`, as any server can insert.
    Peer(Peer),
    /// A PROXY-protocol connection's info, as the PROXY listener gives it
    /// (tests/proxy_protocol_listener.rs serves it for real).
    Proxy(ProxyConnInfo),
}

fn peer(text: &str) -> Conn {
    Conn::Peer(text.parse().unwrap())
}

/// A PROXY connection from balancer `10.0.0.5:40001` whose header is `line`.
fn proxied(line: &str) -> Conn {
    let balancer: SocketAddr = "10.0.0.5:40001".parse().unwrap();
    let header = realip::proxy_protocol::decode(line.as_bytes()).expect("a PROXY header");
    Conn::Proxy(ProxyConnInfo::from_header(balancer, &header))
}

fn request(conn: &Conn, lines: &[(&str, &str)]) -> Request<String> {
    let mut request = Request::new(String::new());
    *request.headers_mut() = headers(lines);
    match conn.clone() {
        Conn::Peer(peer) => {
            request.extensions_mut().insert(peer);
        }
        Conn::Proxy(info) => {
            request.extensions_mut().insert(info);
        }
    }
    request
}

/// Sends one request through `layer` to a handler that logs an event, on
/// the current thread; the response's status.
fn send(layer: &ClientIpLayer, request: Request<String>) -> StatusCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let service = layer.layer(service_fn(|_: Request<String>| async {
        tracing::info!("in the handler");
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    runtime.block_on(service.oneshot(request)).unwrap().status()
}

/// The `realip` span of one request, captured by a subscriber of its own.
fn realip_span(config: &str, conn: &Conn, lines: &[(&str, &str)]) -> BTreeMap<String, String> {
    let spans = Spans::default();
    let layer = ClientIpLayer::new(config.parse().unwrap());
    tracing::subscriber::with_default(spans.clone(), || send(&layer, request(conn, lines)));
    spans.realip()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------
// The layer's span

#[test]
fn span_of_a_client_that_connects_directly() {
    subscribers_asked_each_time();
    let config = "x-forwarded-for; trust=10.0.0.0/8";
    let direct = peer("198.51.100.66:4000");
    assert_eq!(
        realip_span(config, &direct, &[]),
        expect(&[
            ("client.address", "198.51.100.66"),
            ("client.port", "4000"),
            ("network.peer.address", "198.51.100.66"),
            ("network.peer.port", "4000"),
            ("realip.origin", "peer"),
            ("realip.trusted_proxies", "0"),
        ])
    );
    // The same client forging a chain: the same answer, and the diagnostic
    // an operator alerts on.
    assert_eq!(
        realip_span(config, &direct, &[("x-forwarded-for", "1.1.1.1")]),
        expect(&[
            ("client.address", "198.51.100.66"),
            ("client.port", "4000"),
            ("network.peer.address", "198.51.100.66"),
            ("network.peer.port", "4000"),
            ("realip.origin", "peer"),
            ("realip.trusted_proxies", "0"),
            (
                "realip.diagnostics",
                "forwarding_headers_from_untrusted_peer"
            ),
        ])
    );
}

#[test]
fn span_of_a_client_behind_a_trusted_proxy() {
    subscribers_asked_each_time();
    let span = realip_span(
        "x-forwarded-for; trust=10.0.0.0/8",
        &peer("[::ffff:10.0.0.3]:41000"),
        &[("x-forwarded-for", "1.1.1.1, 203.0.113.7")],
    );
    assert_eq!(
        span,
        expect(&[
            ("client.address", "203.0.113.7"),
            // The socket's peer, as IPv4 (a mapped address is read as one).
            ("network.peer.address", "10.0.0.3"),
            ("network.peer.port", "41000"),
            ("realip.origin", "header"),
            ("realip.header", "x-forwarded-for"),
            ("realip.trusted_proxies", "1"),
        ])
    );
    // A port in the header is the client's.
    let span = realip_span(
        "x-forwarded-for; trust=10.0.0.0/8",
        &peer("10.0.0.3:41000"),
        &[("x-forwarded-for", "[2001:db8::7]:5555, 10.0.0.2")],
    );
    assert_eq!(span["client.address"], "2001:db8::7");
    assert_eq!(span["client.port"], "5555");
    assert_eq!(span["realip.trusted_proxies"], "2");
}

#[test]
fn span_of_a_proxy_protocol_connection() {
    subscribers_asked_each_time();
    let conn = proxied("PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n");
    // network.peer.* is the socket's other end, the balancer; the source
    // its header named has fields of its own.
    assert_eq!(
        realip_span("peer", &conn, &[]),
        expect(&[
            ("client.address", "203.0.113.7"),
            ("client.port", "51000"),
            ("network.peer.address", "10.0.0.5"),
            ("network.peer.port", "40001"),
            ("realip.proxy_protocol.source.address", "203.0.113.7"),
            ("realip.proxy_protocol.source.port", "51000"),
            ("realip.origin", "proxy_protocol"),
            ("realip.trusted_proxies", "0"),
        ])
    );
    // Behind the balancer, a gateway the PROXY header names and trusts:
    // the client is the gateway's header hop.
    let conn = proxied("PROXY TCP4 10.0.0.9 10.0.0.1 40000 80\r\n");
    let span = realip_span(
        "x-forwarded-for; trust=10.0.0.0/8",
        &conn,
        &[("x-forwarded-for", "203.0.113.7")],
    );
    assert_eq!(span["client.address"], "203.0.113.7");
    assert_eq!(span["network.peer.address"], "10.0.0.5");
    assert_eq!(span["realip.proxy_protocol.source.address"], "10.0.0.9");
    assert_eq!(span["realip.origin"], "header");

    // The balancer's health check: no source, the balancer is the answer.
    let local = Conn::Proxy(ProxyConnInfo::from_header(
        "10.0.0.5:40001".parse().unwrap(),
        &realip::proxy_protocol::decode(&[
            0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00,
            0x00, 0x00,
        ])
        .expect("a v2 LOCAL header"),
    ));
    let span = realip_span("peer", &local, &[]);
    assert_eq!(span["client.address"], "10.0.0.5");
    assert_eq!(span["network.peer.address"], "10.0.0.5");
    assert!(!span.contains_key("realip.proxy_protocol.source.address"));
    assert_eq!(span["realip.diagnostics"], "balancer_gave_no_source");
}

#[test]
fn span_of_a_chain_that_cannot_be_read() {
    subscribers_asked_each_time();
    let config = "x-forwarded-for; trust=10.0.0.0/8";
    let gateway = peer("10.0.0.3:41000");
    let lines = [("x-forwarded-for", "unknown")];
    let expected = expect(&[
        ("network.peer.address", "10.0.0.3"),
        ("network.peer.port", "41000"),
        ("realip.error", "unknown_hop"),
    ]);
    assert_eq!(realip_span(config, &gateway, &lines), expected);

    // Rejected by the layer itself: the same span.
    let spans = Spans::default();
    let layer = ClientIpLayer::new(config.parse().unwrap()).reject_unresolvable();
    let status = tracing::subscriber::with_default(spans.clone(), || {
        send(&layer, request(&gateway, &lines))
    });
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(spans.realip(), expected);
}

#[test]
fn the_handler_runs_inside_the_span() {
    subscribers_asked_each_time();
    let spans = Spans::default();
    let layer = ClientIpLayer::new("peer".parse().unwrap());
    tracing::subscriber::with_default(spans.clone(), || {
        send(&layer, request(&peer("198.51.100.66:4000"), &[]))
    });
    let state = spans.state.lock().unwrap();
    let (realip, _) = state
        .spans
        .iter()
        .find(|(_, (data, _))| data.name == "realip")
        .expect("a realip span");
    assert_eq!(state.spans[realip].0.target, SPAN_TARGET);
    let in_handler: Vec<_> = state
        .events
        .iter()
        .filter(|(message, _)| message == "in the handler")
        .collect();
    assert_eq!(in_handler.len(), 1, "{:?}", state.events);
    assert_eq!(
        in_handler[0].1,
        Some(*realip),
        "the handler's event is in the span"
    );
    // So is the layer's own debug event.
    assert!(
        state
            .events
            .iter()
            .any(|(message, span)| message == "realip: client resolved" && *span == Some(*realip)),
        "{:?}",
        state.events
    );
    assert!(state.stack.is_empty(), "every span was exited");
}

// ---------------------------------------------------------------------------
// The application's span

/// A request sent inside the application's span `request`, which declares
/// `client.address`, `network.peer.address`, `realip.diagnostics` and a
/// field of its own, but not the others.
fn in_application_span(spans: &Spans, conn: &Conn, lines: &[(&str, &str)]) {
    let layer = ClientIpLayer::new("x-forwarded-for; trust=10.0.0.0/8".parse().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(spans.clone(), || {
        let mut service = layer.layer(service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let span = tracing::info_span!(
            "request",
            http.request.method = "GET",
            client.address = Empty,
            network.peer.address = Empty,
            realip.diagnostics = Empty,
        );
        let request = request(conn, lines);
        let future = span.in_scope(|| service.call(request));
        runtime.block_on(future).unwrap();
    });
}

#[test]
fn the_application_span_gets_the_fields_it_declares() {
    subscribers_asked_each_time();
    let spans = Spans::default();
    in_application_span(
        &spans,
        &peer("10.0.0.3:41000"),
        &[("x-forwarded-for", "203.0.113.7")],
    );
    assert_eq!(
        spans.named("request"),
        [expect(&[
            ("http.request.method", "GET"),
            ("client.address", "203.0.113.7"),
            ("network.peer.address", "10.0.0.3"),
        ])]
    );

    // Diagnostics, when it declares them and the request shows any.
    let spans = Spans::default();
    in_application_span(
        &spans,
        &peer("198.51.100.66:4000"),
        &[("x-forwarded-for", "1.1.1.1"), ("x-real-ip", "2.2.2.2")],
    );
    assert_eq!(
        spans.named("request"),
        [expect(&[
            ("http.request.method", "GET"),
            ("client.address", "198.51.100.66"),
            ("network.peer.address", "198.51.100.66"),
            (
                "realip.diagnostics",
                "forwarding_headers_from_untrusted_peer"
            ),
        ])]
    );
}

#[test]
fn with_the_span_filtered_out_the_application_span_still_gets_its_fields() {
    subscribers_asked_each_time();
    let spans = Spans {
        filtered_out: Some(SPAN_TARGET),
        ..Spans::default()
    };
    in_application_span(
        &spans,
        &peer("10.0.0.3:41000"),
        &[("x-forwarded-for", "203.0.113.7")],
    );
    assert!(spans.named("realip").is_empty());
    assert_eq!(spans.named("request")[0]["client.address"], "203.0.113.7");
}

// ---------------------------------------------------------------------------
// Counters

/// A counter described: its name, unit and help text.
type Described = (String, Option<Unit>, String);

/// Counts by key, written `name{label=value,…}`.
#[derive(Clone, Default)]
struct Counts {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    described: Arc<Mutex<Vec<Described>>>,
}

struct Handle {
    key: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.counts.lock().unwrap().insert(self.key.clone(), value);
    }
}

fn written(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counts {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.described.lock().unwrap().push((
            key.as_str().to_owned(),
            unit,
            description.to_string(),
        ));
    }
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle {
            key: written(key),
            counts: self.counts.clone(),
        }))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn counters_by_origin_error_kind_and_diagnostic_code() {
    subscribers_asked_each_time();
    let counts = Counts::default();
    let xff = ClientIpLayer::new("x-forwarded-for; trust=10.0.0.0/8".parse().unwrap());
    let peer_only = ClientIpLayer::new("peer".parse().unwrap());
    let gateway = peer("10.0.0.3:41000");
    let stranger = peer("198.51.100.66:4000");
    metrics::with_local_recorder(&counts, || {
        for _ in 0..2 {
            send(
                &xff,
                request(&gateway, &[("x-forwarded-for", "203.0.113.7")]),
            );
        }
        send(&xff, request(&stranger, &[]));
        // Three spoofing attempts.
        for _ in 0..3 {
            send(&xff, request(&stranger, &[("x-forwarded-for", "1.1.1.1")]));
        }
        send(&xff, request(&gateway, &[("x-forwarded-for", "unknown")]));
        send(&xff, request(&gateway, &[("x-forwarded-for", "10.0.0.1")]));
        send(
            &peer_only,
            request(
                &proxied("PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n"),
                &[],
            ),
        );
    });
    let resolutions = |labels: &str| format!("{RESOLUTIONS_TOTAL}{{{labels}}}");
    let expected: BTreeMap<String, u64> = [
        (resolutions("origin=header,header=x-forwarded-for"), 3),
        (resolutions("origin=peer"), 4),
        (resolutions("origin=proxy_protocol"), 1),
        (format!("{ERRORS_TOTAL}{{kind=unknown_hop}}"), 1),
        (
            format!("{DIAGNOSTICS_TOTAL}{{code=forwarding_headers_from_untrusted_peer}}"),
            3,
        ),
        (format!("{DIAGNOSTICS_TOTAL}{{code=all_hops_trusted}}"), 1),
        (format!("{DIAGNOSTICS_TOTAL}{{code=non_public_client}}"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(*counts.counts.lock().unwrap(), expected);

    // The names the documentation's table gives.
    assert_eq!(RESOLUTIONS_TOTAL, "realip_resolutions_total");
    assert_eq!(ERRORS_TOTAL, "realip_errors_total");
    assert_eq!(DIAGNOSTICS_TOTAL, "realip_diagnostics_total");
}

#[test]
fn counters_count_the_explanations_diagnostics() {
    subscribers_asked_each_time();
    // Each code the explanation lists for a request is counted once per
    // listing: both values absent are two `value_absent`.
    let config = "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
                  host=x-forwarded-host; align=single";
    let resolver: realip::Resolver = config.parse().unwrap();
    let gateway: Peer = "10.0.0.3:41000".parse().unwrap();
    let lines = [
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-proto", "https, http"),
        ("x-forwarded-host", "a.example, b.example"),
        ("forwarded", "for=1.1.1.1"),
    ];
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for d in resolver.explain(gateway, &headers(&lines)).diagnostics {
        *expected
            .entry(format!("{DIAGNOSTICS_TOTAL}{{code={}}}", d.code()))
            .or_default() += 1;
    }
    assert_eq!(
        expected
            .get(&format!("{DIAGNOSTICS_TOTAL}{{code=value_absent}}"))
            .copied(),
        Some(2),
        "{expected:?}"
    );
    expected.insert(
        format!("{RESOLUTIONS_TOTAL}{{origin=header,header=x-forwarded-for}}"),
        1,
    );

    let counts = Counts::default();
    let layer = ClientIpLayer::new(resolver);
    metrics::with_local_recorder(&counts, || {
        send(&layer, request(&Conn::Peer(gateway), &lines));
    });
    assert_eq!(*counts.counts.lock().unwrap(), expected);
}

#[test]
fn describe_metrics_describes_the_three_counters() {
    subscribers_asked_each_time();
    let counts = Counts::default();
    metrics::with_local_recorder(&counts, realip::telemetry::describe_metrics);
    let described = counts.described.lock().unwrap();
    let names: Vec<&str> = described.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, [RESOLUTIONS_TOTAL, ERRORS_TOTAL, DIAGNOSTICS_TOTAL]);
    for (name, unit, description) in described.iter() {
        assert_eq!(*unit, Some(Unit::Count), "{name}");
        assert!(!description.is_empty(), "{name}");
    }
}
