//! Telemetry: the resolved client where traces, logs and dashboards look
//! (features `tracing` and `metrics`, recorded by the `tower` layer).
//!
//! Behind proxies, whatever reads the socket shows the proxy: a trace, an
//! access log or a dashboard of the application says `127.0.0.6` (the
//! sidecar), the gateway or the balancer, never the client. With these
//! features, [`ClientIpLayer`](crate::tower::ClientIpLayer) (and so
//! `GrpcClientIpLayer`, which runs it) records what it resolved for each
//! request, under OpenTelemetry's names, so that any `tracing` subscriber,
//! OpenTelemetry exporter or metrics exporter gets the right address
//! without application code.
//!
//! # Spans (feature `tracing`)
//!
//! For each request the layer opens a span named `realip`, at level
//! `INFO` with target [`SPAN_TARGET`] (`realip::span`), and runs the inner
//! service inside it: its `call` and every poll of its response future.
//! Whatever the application logs while handling the request is inside that
//! span, so a formatting subscriber prints the client beside each line,
//! and an OpenTelemetry exporter (`tracing-opentelemetry`) exports a span
//! `realip` with the fields below as attributes, a child of the request's
//! span.
//!
//! The layer also records the same fields into the **current span** when
//! it is called (the application's request span, such as tower-http's
//! `TraceLayer` span around the layer), each field only if that span
//! declares it: tracing records nothing into a field a span did not
//! declare, so the application opts in by declaring, with
//! `tracing::field::Empty`, the fields it wants on its own span. That is
//! where OpenTelemetry's conventions want `client.address`: on the HTTP
//! server span. To keep only the application's span, turn realip's off
//! with a filter (`realip::span=off` in tracing-subscriber's `EnvFilter`);
//! the recording into the current span does not depend on it.
//!
//! | field | value | recorded when |
//! |---|---|---|
//! | `client.address` | the resolved client, e.g. `203.0.113.7` | resolved |
//! | `client.port` | the client's port | the source carried one |
//! | `network.peer.address` | the other end of the application's socket: the proxy, sidecar or balancer that connected | the server gave an IP peer |
//! | `network.peer.port` | its port | known |
//! | `realip.proxy_protocol.source.address` | the source address a PROXY-protocol header named | a PROXY connection with a source |
//! | `realip.proxy_protocol.source.port` | the source port it named | the same |
//! | `realip.origin` | where the client was read: `peer`, `proxy_protocol` or `header` | resolved |
//! | `realip.header` | the header's name, e.g. `x-forwarded-for` | read from a header |
//! | `realip.trusted_proxies` | how many proxies were trusted (the peer included) | resolved |
//! | `realip.diagnostics` | the request's diagnostic codes, comma-separated, in the order [`Resolver::explain`](crate::Resolver::explain) lists them (see [`Diagnostic::code`](crate::explain::Diagnostic::code)) | it shows any |
//! | `realip.error` | the [`Error::kind`](crate::Error::kind), e.g. `malformed_hop` | not resolved |
//!
//! **PROXY protocol.** `network.peer.*` is what OpenTelemetry defines it
//! to be, the other end of the network connection: for a connection that
//! came through a PROXY-protocol sender, the balancer, which is also what
//! the application's socket, `ss` and the balancer's own logs show. The
//! source the header named (where realip's walk starts, DESIGN rule 12) is
//! `realip.proxy_protocol.source.*`; when no proxy behind the balancer was
//! trusted, it is also `client.address`. A balancer's health check (a
//! `LOCAL` header) records the balancer as `network.peer.*` and no source.
//!
//! **Cost.** No allocation (`tests/alloc.rs`): addresses are recorded as
//! `Display` values that a subscriber formats only if it records them,
//! codes and names are `&'static str`. When no subscriber listens at all
//! (tracing's `LevelFilter::current()` is `OFF`), nothing is done; when
//! none enables the span it is `Span::none()`, and diagnostics are not
//! looked for on its account; when one does, they are found by the
//! explanation's own function without being worded (BENCHMARKS.md,
//! "Telemetry", has the counts).
//!
//! ```
//! use http::{Request, Response};
//! use realip::Peer;
//! use realip::tower::ClientIpLayer;
//! use std::convert::Infallible;
//! use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
//! use tracing::Instrument;
//! use tracing::field::Empty;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
//! let mut service = ServiceBuilder::new()
//!     .layer(ClientIpLayer::new(resolver))
//!     .service(service_fn(|_: Request<String>| async {
//!         // Inside the span `realip{client.address=203.0.113.7 …}`.
//!         tracing::info!("handling the request");
//!         Ok::<_, Infallible>(Response::new(String::new()))
//!     }));
//!
//! let mut request = Request::new(String::new());
//! request.headers_mut().insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
//! request.extensions_mut().insert(Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>().unwrap()));
//!
//! // The application's request span, with the fields it wants the layer
//! // to fill in (what tower-http's `TraceLayer::make_span_with` would
//! // build around the layer).
//! let span = tracing::info_span!(
//!     "request",
//!     client.address = Empty,
//!     network.peer.address = Empty,
//!     realip.diagnostics = Empty,
//! );
//! let ready = service.ready().await.unwrap();
//! let response = span.in_scope(|| ready.call(request)).instrument(span).await.unwrap();
//! # let _ = response;
//! # }
//! ```
//!
//! # Metrics (feature `metrics`)
//!
//! Counters through the [`metrics`](https://docs.rs/metrics) facade, which
//! the application connects to its exporter (Prometheus, StatsD,
//! OpenTelemetry, …) by installing a recorder; realip installs none, and
//! without one a count costs a thread-local read. Each request the layer
//! resolves adds one to exactly one of the first two, and one to the third
//! for each diagnostic it shows:
//!
//! | metric | labels | counts |
//! |---|---|---|
//! | [`realip_resolutions_total`](RESOLUTIONS_TOTAL) | `origin`: `peer`, `proxy_protocol` or `header`; with `header`, `header`: its name | requests whose client was resolved, by where it was read |
//! | [`realip_errors_total`](ERRORS_TOTAL) | `kind`: the [`Error::kind`](crate::Error::kind) | requests whose client could not be told |
//! | [`realip_diagnostics_total`](DIAGNOSTICS_TOTAL) | `code`: the [`Diagnostic::code`](crate::explain::Diagnostic::code) | diagnostics shown, each code once per diagnostic (`value_absent` twice when both scheme and host are missing) |
//!
//! Worth an alert: `realip_diagnostics_total{code="forwarding_headers_from_untrusted_peer"}`
//! rising (clients that send forwarding headers straight to the
//! application: spoofing attempts, or a proxy missing from the trusted
//! set), `trusted_peer_sent_no_header` and `sidecar_hides_client` (the
//! deployment lost the client), `realip_errors_total` against
//! `realip_resolutions_total` (chains that cannot be read). In PromQL:
//!
//! ```text
//! sum(rate(realip_diagnostics_total{code="forwarding_headers_from_untrusted_peer"}[5m])) > 0
//! ```
//!
//! Label values are a fixed set (the kinds, the codes, the one header
//! the resolver reads): nothing a client sends becomes a label, so a
//! client cannot grow the number of series. Keys are built once (per
//! layer for the header's), so a count allocates nothing; diagnostics are
//! found by the explanation's own function, as bits, never worded.
//!
//! ```
//! // At start-up, after installing the exporter's recorder: the help text
//! // and unit of each counter.
//! realip::telemetry::describe_metrics();
//! ```

#[cfg(all(feature = "metrics", feature = "tower"))]
mod counters;
#[cfg(all(any(feature = "tracing", feature = "metrics"), feature = "tower"))]
mod found;
// Reports resolutions made by the tower layer: a debug event each, and
// deployment warnings once each.
#[cfg(all(feature = "tracing", feature = "tower"))]
mod report;
#[cfg(all(feature = "tracing", feature = "tower"))]
mod span;

#[cfg(all(any(feature = "tracing", feature = "metrics"), feature = "tower"))]
pub(crate) use found::Found;

#[cfg(feature = "tower")]
pub(crate) use observer::*;

/// The target of the layer's span: filter it out (`realip::span=off`) to
/// keep only the application's span, or in at `info` to see it.
#[cfg(feature = "tracing")]
pub const SPAN_TARGET: &str = "realip::span";

/// Requests whose client was resolved; labels `origin` (`peer`,
/// `proxy_protocol`, `header`) and, with `header`, `header` (its name).
#[cfg(feature = "metrics")]
pub const RESOLUTIONS_TOTAL: &str = "realip_resolutions_total";

/// Requests whose client could not be told; label `kind`
/// ([`Error::kind`](crate::Error::kind)).
#[cfg(feature = "metrics")]
pub const ERRORS_TOTAL: &str = "realip_errors_total";

/// Diagnostics shown by requests; label `code`
/// ([`Diagnostic::code`](crate::explain::Diagnostic::code)).
#[cfg(feature = "metrics")]
pub const DIAGNOSTICS_TOTAL: &str = "realip_diagnostics_total";

/// Gives the installed recorder the unit and help text of realip's
/// counters, as exporters show them (Prometheus's `# HELP`). Call it once,
/// after installing the recorder; counting works without it.
///
/// ```
/// realip::telemetry::describe_metrics();
/// ```
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    use ::metrics::{Unit, describe_counter};
    describe_counter!(
        RESOLUTIONS_TOTAL,
        Unit::Count,
        "Requests whose client realip resolved, by where it was read (origin, header)"
    );
    describe_counter!(
        ERRORS_TOTAL,
        Unit::Count,
        "Requests whose client realip could not tell, by error kind"
    );
    describe_counter!(
        DIAGNOSTICS_TOTAL,
        Unit::Count,
        "Diagnostics about the deployment shown by requests, by code \
         (forwarding_headers_from_untrusted_peer: spoofing attempts or a missing trusted proxy)"
    );
}

/// What the layer records for each request, and what it is recorded with.
#[cfg(feature = "tower")]
mod observer {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    use {
        super::Found, crate::error::Error, crate::peer::Peer, crate::resolution::Resolution,
        crate::resolver::Resolver, crate::scheme_host::OriginalUrl, http::HeaderMap,
    };

    /// The span a request's inner service runs in (feature `tracing`).
    #[cfg(feature = "tracing")]
    pub(crate) type RequestSpan = tracing::Span;
    /// Without `tracing`, nothing.
    #[cfg(not(feature = "tracing"))]
    pub(crate) type RequestSpan = NoSpan;

    /// No span (without feature `tracing`): a value of no size, so that
    /// the layer's code is the same in every build.
    #[cfg(not(feature = "tracing"))]
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct NoSpan;

    /// No span: for answers that are not the resolving layer's (the access
    /// control's), which run in whatever span is current.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn no_span() -> RequestSpan {
        tracing::Span::none()
    }

    /// Without `tracing`, no span either.
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn no_span() -> RequestSpan {
        NoSpan
    }

    /// Enters `span` until the guard is dropped.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn enter(span: &RequestSpan) -> tracing::span::Entered<'_> {
        span.enter()
    }

    /// Without `tracing`, there is nothing to enter.
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn enter(_: &RequestSpan) -> NoSpan {
        NoSpan
    }

    /// The layer's recorders, shared by its clones: the warnings given
    /// once, the counters' keys.
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    #[derive(Debug)]
    pub(crate) struct Observer {
        #[cfg(feature = "tracing")]
        reporter: super::report::Reporter,
        #[cfg(feature = "metrics")]
        counters: super::counters::Counters,
    }

    #[cfg(any(feature = "tracing", feature = "metrics"))]
    impl Observer {
        /// The observer of a layer that resolves with `resolver`.
        pub(crate) fn new(resolver: &Resolver) -> Observer {
            let _ = resolver; // read by the counters only
            Observer {
                #[cfg(feature = "tracing")]
                reporter: super::report::Reporter::default(),
                #[cfg(feature = "metrics")]
                counters: super::counters::Counters::new(resolver),
            }
        }

        /// Records one request's resolution: counts it, opens its span,
        /// fills in the application's span, reports it. Returns the span
        /// the inner service is to run in.
        pub(crate) fn observe(
            &self,
            resolver: &Resolver,
            peer: Peer,
            headers: &HeaderMap,
            result: &Result<Resolution, Error>,
            url: Option<&OriginalUrl>,
        ) -> RequestSpan {
            // The resolution holds the peer made canonical already.
            let peer = match result {
                Ok(r) => r.peer(),
                Err(_) => peer.canonical(),
            };
            let found = Found::new(crate::explain::Request {
                settings: &resolver.settings,
                peer: &peer,
                headers,
                result,
                url,
            });
            #[cfg(feature = "metrics")]
            self.counters.count(result, &found);
            self.trace(peer, result, &found)
        }

        /// The request's span, the fields of the application's, the
        /// reporter's events (inside the span).
        #[cfg(feature = "tracing")]
        fn trace(
            &self,
            peer: Peer,
            result: &Result<Resolution, Error>,
            found: &Found<'_>,
        ) -> RequestSpan {
            // No subscriber records anything (none was ever installed, or
            // every one is off): no span, no field, no event.
            if tracing::level_filters::LevelFilter::current()
                == tracing::level_filters::LevelFilter::OFF
            {
                return tracing::Span::none();
            }
            let span = super::span::open(peer, result, found);
            super::span::record_current(peer, result, found);
            span.in_scope(|| self.reporter.report(peer, result, found));
            span
        }

        /// Without `tracing`, no span.
        #[cfg(all(feature = "metrics", not(feature = "tracing")))]
        #[inline(always)]
        fn trace(&self, _: Peer, _: &Result<Resolution, Error>, _: &Found<'_>) -> RequestSpan {
            NoSpan
        }
    }
}
