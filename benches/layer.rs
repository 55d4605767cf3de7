//! What `ClientIpLayer` adds to a request: the same in-process tower call
//! with and without the layer, on the same request.
//!
//! The request carries an `X-Forwarded-For` of three hops behind a trusted
//! gateway (`10.0.0.3`, inserted as a `realip::Peer` the way a server
//! records its connection), so the layer walks the peer and all three hops.
//! The inner service answers at once, and each call is driven by polling
//! its future once with a no-op waker: no runtime, no I/O, no allocation
//! but the request's own and what the layer does.
//!
//! Two pairs of numbers:
//! - `layer/*`: the call alone; each request is built before timing
//!   (`iter_batched`), so the difference is the layer's cost. The peer is
//!   a `realip::Peer` extension, or axum's `ConnectInfo<SocketAddr>` (found
//!   after the lookups for a `Peer` and for PROXY-protocol connection info).
//! - `layer_with_request/*`: building the request (cloning its headers,
//!   inserting the peer) is timed too, as a server pays it.
//!
//! The benches build with every feature of the crate (dev-dependencies), so
//! `tracing` and `metrics` are on, with no subscriber and no recorder
//! installed, except in two rows: `with_layer_xff_3_hops_subscriber` (a
//! subscriber that enables every span and event and keeps nothing: the
//! layer's span is opened and its values handed over, not formatted) and
//! `with_layer_xff_3_hops_recorder` (a metrics recorder that hands out one
//! atomic counter). Results are in `BENCHMARKS.md` ("Layer overhead",
//! "Telemetry").
//!
//! ```text
//! cargo bench --bench layer
//! ```

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::ConnectInfo;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Request, Response};
use realip::tower::ClientIpLayer;
use realip::{Peer, Resolution, Resolver};
use tower::{Layer, Service, service_fn};
use tracing::span::{Attributes, Id, Record};

/// Three hops: the client, then two proxies in 10.0.0.0/8.
const XFF: &str = "203.0.113.7, 10.0.0.2, 10.0.0.1";

/// The gateway the application's socket sees.
const GATEWAY: &str = "10.0.0.3:41000";

const CONFIG: &str = "x-forwarded-for; trust=10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16";

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("app.example"));
    headers.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
    headers.insert("accept", HeaderValue::from_static("*/*"));
    headers.insert("x-forwarded-for", HeaderValue::from_static(XFF));
    headers
}

/// How the server recorded the connection's peer.
#[derive(Clone, Copy)]
enum Recorded {
    /// A `realip::Peer`: the layer's first lookup.
    Peer(Peer),
    /// axum's `ConnectInfo<SocketAddr>`: the layer's last lookup.
    ConnectInfo(SocketAddr),
}

fn gateway() -> SocketAddr {
    GATEWAY.parse().expect("the gateway parses")
}

/// A request as a server hands it to the middleware stack.
fn request(headers: &HeaderMap, peer: Recorded) -> Request<()> {
    let mut request = Request::new(());
    *request.headers_mut() = headers.clone();
    match peer {
        Recorded::Peer(peer) => {
            request.extensions_mut().insert(peer);
        }
        Recorded::ConnectInfo(addr) => {
            request.extensions_mut().insert(ConnectInfo(addr));
        }
    }
    request
}

/// The application: an answer that is ready at once.
fn handler(request: Request<()>) -> Ready<Result<Response<&'static str>, Infallible>> {
    black_box(&request);
    ready(Ok(Response::new("")))
}

/// Drives one call; every future here is ready when first polled.
fn call<S>(service: &mut S, request: Request<()>) -> S::Response
where
    S: Service<Request<()>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))),
        "the service is ready"
    );
    let future = pin!(service.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("the response is ready at once"),
    }
}

/// A subscriber interested in everything, that keeps nothing.
struct Interested;

impl tracing::Subscriber for Interested {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A metrics recorder with one counter for every key.
#[derive(Default)]
struct OneCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl metrics::Recorder for OneCounter {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.0.clone())
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn layer(c: &mut Criterion) {
    let resolver: Resolver = CONFIG.parse().expect("a valid configuration");
    let headers = headers();
    let gateway = gateway();
    let peer = Recorded::Peer(Peer::from(gateway));
    let connect_info = Recorded::ConnectInfo(gateway);

    // The layer takes the path this bench is named for: three trusted
    // proxies (the gateway and two hops), then the client.
    let mut checked =
        ClientIpLayer::new(resolver.clone()).layer(service_fn(|request: Request<()>| {
            let resolution = request
                .extensions()
                .get::<Resolution>()
                .expect("the layer stored a resolution");
            assert_eq!(resolution.client().to_string(), "203.0.113.7");
            assert_eq!(resolution.trusted_proxies(), 3);
            handler(request)
        }));
    call(&mut checked, request(&headers, peer));
    call(&mut checked, request(&headers, connect_info));

    let mut without = service_fn(handler);
    let mut with = ClientIpLayer::new(resolver.clone()).layer(service_fn(handler));

    let mut group = c.benchmark_group("layer");
    // The resolution the layer makes, alone, for reference: the layer's
    // cost is this plus storing the result in the request's extensions.
    group.bench_function("resolve_alone", |b| {
        b.iter(|| resolver.resolve(black_box(gateway), black_box(&headers)))
    });
    group.bench_function("without_layer", |b| {
        b.iter_batched(
            || request(&headers, peer),
            |request| call(&mut without, black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("with_layer_xff_3_hops", |b| {
        b.iter_batched(
            || request(&headers, peer),
            |request| call(&mut with, black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("with_layer_xff_3_hops_connect_info", |b| {
        b.iter_batched(
            || request(&headers, connect_info),
            |request| call(&mut with, black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("with_layer_xff_3_hops_subscriber", |b| {
        let _subscriber = tracing::subscriber::set_default(Interested);
        b.iter_batched(
            || request(&headers, peer),
            |request| call(&mut with, black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("with_layer_xff_3_hops_recorder", |b| {
        let recorder = OneCounter::default();
        let _recorder = metrics::set_default_local_recorder(&recorder);
        b.iter_batched(
            || request(&headers, peer),
            |request| call(&mut with, black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("layer_with_request");
    group.bench_function("without_layer", |b| {
        b.iter(|| call(&mut without, request(black_box(&headers), peer)))
    });
    group.bench_function("with_layer_xff_3_hops", |b| {
        b.iter(|| call(&mut with, request(black_box(&headers), peer)))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = layer
}
criterion_main!(benches);
