//! Rate limits keyed by the resolved client, for tower_governor (feature
//! `governor`).
//!
//! A per-client rate limit is only as good as its key. tower_governor's
//! `SmartIpKeyExtractor` keys by the first address it can parse in
//! `X-Forwarded-For` (then `X-Real-IP`, then `Forwarded`, then the peer):
//! every client writes those headers, so a client that sends
//! `X-Forwarded-For: 198.51.100.1`, then `198.51.100.2`, … gets a fresh
//! bucket with each request, directly or behind a proxy that appends
//! (`X-Forwarded-For: 198.51.100.1, <the real client>` is still keyed by the
//! forged first element). Its `PeerIpKeyExtractor` cannot be fooled, but
//! behind a proxy it puts every client in the proxy's one bucket.
//!
//! [`ClientIpKeyExtractor`] keys by the client the [`Resolver`] found: the
//! first hop from the right that is not one of your proxies, as everywhere
//! in realip. What a client writes left of that hop changes nothing. The
//! key is the client's network ([`ClientIp::rate_limit_network`]): its
//! IPv4 address, or its IPv6 `/64`, since one subscriber owns a whole `/64`
//! and would otherwise pick a new address per request; an IPv6 address that
//! carries a client's IPv4 (NAT64, 6to4, Teredo) is keyed by that IPv4,
//! never by the translator's `/64`, which would put all its clients in one
//! bucket. Both lengths are yours to choose ([`RateLimitPrefixes`]).
//!
//! The extractor reads the [`Resolution`] that
//! [`ClientIpLayer`](crate::tower::ClientIpLayer) stored in the request's
//! extensions, so the client is resolved once for the limiter and the
//! handlers; put the layer outside the limiter (axum: the later
//! `.layer(…)`). Built with a resolver of its own
//! ([`new`](ClientIpKeyExtractor::new)), it resolves requests the layer has
//! not seen itself, with the peer from [`peer_from_extensions`].
//!
//! A request without a client is refused before the limiter counts it,
//! never keyed by a header: `400 Bad Request` with
//! `could not determine the client address (KIND)`, which echoes nothing
//! from the request (the same answer as the axum extractors), when its
//! chain cannot be resolved; `500 Internal Server Error` when the server is
//! not set up: no peer address ([`NO_PEER_BODY`]), or
//! [`from_layer`](ClientIpKeyExtractor::from_layer) with no layer in front
//! ([`NO_RESOLUTION_BODY`]). tower_governor turns these into responses
//! (`GovernorError::Other`), or hands them to your `error_handler`.
//!
//! Supported: tower_governor 0.8 (axum 0.8, tower 0.5, http 1). Its
//! `tracing` feature is always on (it changes the `KeyExtractor` trait):
//! each limited request (`429`) is logged at `info` with its key, e.g.
//! `203.0.113.7/32`.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use realip::{Peer, Resolver, governor::ClientIpKeyExtractor, tower::ClientIpLayer};
//! use tower::ServiceExt;
//! use tower_governor::{GovernorLayer, governor::GovernorConfigBuilder};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Behind a gateway in 10.0.0.0/8 that appends X-Forwarded-For.
//! let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
//! // Two requests per client, then one more per minute.
//! let limit = GovernorConfigBuilder::default()
//!     .key_extractor(ClientIpKeyExtractor::from_layer())
//!     .per_second(60)
//!     .burst_size(2)
//!     .finish()
//!     .expect("a period and a burst above zero");
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(GovernorLayer::new(limit))
//!     .layer(ClientIpLayer::new(resolver));
//!
//! // The client 203.0.113.7 forges a new first element each time; the
//! // gateway (the peer, 10.0.0.3) appended the address it really saw.
//! for (forged, status) in [(1, StatusCode::OK), (2, StatusCode::OK), (3, StatusCode::TOO_MANY_REQUESTS)] {
//!     let request = Request::get("/")
//!         .header("x-forwarded-for", format!("198.51.100.{forged}, 203.0.113.7"))
//!         .extension(Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>()?))
//!         .body(Body::empty())?;
//!     assert_eq!(app.clone().oneshot(request).await?.status(), status);
//! }
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use ipnet::IpNet;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

use crate::error::Error;
use crate::resolution::{ClientIp, RateLimitPrefixes, Resolution};
use crate::resolver::Resolver;
use crate::tower::{NO_PEER_BODY, peer_from_extensions};

/// The body of the `500` for a request that no
/// [`ClientIpLayer`](crate::tower::ClientIpLayer) resolved, when the
/// extractor was built with [`from_layer`](ClientIpKeyExtractor::from_layer).
pub const NO_RESOLUTION_BODY: &str = "realip: the rate limiter found no client resolution; \
put realip::tower::ClientIpLayer outside the limiter, or build the key extractor with \
ClientIpKeyExtractor::new(resolver)\n";

/// A tower_governor key extractor keyed by the resolved client's network.
///
/// Cloning is cheap: the resolver is shared. See the [module
/// documentation](self) for what it reads and what it refuses.
///
/// ```
/// use realip::{RateLimitPrefixes, Resolver, governor::ClientIpKeyExtractor};
/// use tower_governor::governor::GovernorConfigBuilder;
///
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
/// // Group IPv6 clients by /56, as many providers delegate.
/// let extractor = ClientIpKeyExtractor::new(resolver).prefixes(RateLimitPrefixes::new(32, 56)?);
/// let limit = GovernorConfigBuilder::default().key_extractor(extractor).finish();
/// assert!(limit.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientIpKeyExtractor {
    /// Resolves requests the layer has not seen; `None`: the layer must
    /// have.
    resolver: Option<Arc<Resolver>>,
    prefixes: RateLimitPrefixes,
}

impl ClientIpKeyExtractor {
    /// Reads what [`ClientIpLayer`](crate::tower::ClientIpLayer) stored,
    /// and resolves with `resolver` requests the layer has not seen (when
    /// the limiter runs first, or without the layer).
    ///
    /// ```
    /// use http::Request;
    /// use realip::{Peer, governor::ClientIpKeyExtractor};
    /// use tower_governor::key_extractor::KeyExtractor;
    ///
    /// let extractor = ClientIpKeyExtractor::new("peer".parse()?);
    /// let request = Request::get("/")
    ///     .header("x-forwarded-for", "198.51.100.1")
    ///     .extension(Peer::from("203.0.113.7:5555".parse::<std::net::SocketAddr>()?))
    ///     .body(())?;
    /// assert_eq!(extractor.extract(&request).unwrap().to_string(), "203.0.113.7/32");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(resolver: Resolver) -> Self {
        Self::from_shared(Arc::new(resolver))
    }

    /// Like [`new`](Self::new), sharing a resolver that is used elsewhere
    /// too (for instance by the layer).
    ///
    /// ```
    /// use realip::{Resolver, governor::ClientIpKeyExtractor, tower::ClientIpLayer};
    /// use std::sync::Arc;
    ///
    /// let resolver: Arc<Resolver> = Arc::new("x-real-ip; trust=loopback".parse()?);
    /// let layer = ClientIpLayer::from_shared(Arc::clone(&resolver));
    /// let extractor = ClientIpKeyExtractor::from_shared(resolver);
    /// # let _ = (layer, extractor);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_shared(resolver: Arc<Resolver>) -> Self {
        Self {
            resolver: Some(resolver),
            prefixes: RateLimitPrefixes::DEFAULT,
        }
    }

    /// Reads only what [`ClientIpLayer`](crate::tower::ClientIpLayer)
    /// stored: a request the layer has not seen is a server
    /// misconfiguration, answered with `500` and [`NO_RESOLUTION_BODY`].
    ///
    /// ```
    /// use http::Request;
    /// use realip::governor::{ClientIpKeyExtractor, NO_RESOLUTION_BODY};
    /// use tower_governor::key_extractor::KeyExtractor;
    ///
    /// let request = Request::get("/").body(())?;
    /// let refused = ClientIpKeyExtractor::from_layer().extract(&request).unwrap_err();
    /// let response = refused.into_response();
    /// assert_eq!(response.status(), 500);
    /// assert_eq!(response.body(), NO_RESOLUTION_BODY);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_layer() -> Self {
        Self {
            resolver: None,
            prefixes: RateLimitPrefixes::DEFAULT,
        }
    }

    /// Keys clients by networks of these lengths instead of IPv4 `/32` and
    /// IPv6 `/64` (see [`ClientIp::rate_limit_network`]).
    ///
    /// ```
    /// use http::Request;
    /// use realip::{Peer, RateLimitPrefixes, governor::ClientIpKeyExtractor};
    /// use tower_governor::key_extractor::KeyExtractor;
    ///
    /// let extractor = ClientIpKeyExtractor::new("peer".parse()?).prefixes(RateLimitPrefixes::new(24, 48)?);
    /// let key = |peer: &str| {
    ///     let peer = Peer::from(peer.parse::<std::net::SocketAddr>().unwrap());
    ///     let request = Request::get("/").extension(peer).body(()).unwrap();
    ///     extractor.extract(&request).unwrap().to_string()
    /// };
    /// assert_eq!(key("203.0.113.7:5555"), "203.0.113.0/24");
    /// assert_eq!(key("[2001:db8:1:2::1]:5555"), "2001:db8:1::/48");
    /// assert_eq!(key("[64:ff9b::203.0.113.7]:5555"), "203.0.113.0/24");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefixes(mut self, prefixes: RateLimitPrefixes) -> Self {
        self.prefixes = prefixes;
        self
    }

    /// The request's client: the layer's answer, or this extractor's own.
    fn client<B>(&self, request: &Request<B>) -> Result<ClientIp, Refusal> {
        let extensions = request.extensions();
        if let Some(resolution) = extensions.get::<Resolution>() {
            return Ok(resolution.client());
        }
        if let Some(error) = extensions.get::<Error>() {
            return Err(Refusal::Unresolved(*error));
        }
        let resolver = self.resolver.as_ref().ok_or(Refusal::NoResolution)?;
        resolver
            .resolve(peer_from_extensions(extensions), request.headers())
            .map(|resolution| resolution.client())
            .map_err(Refusal::Unresolved)
    }
}

impl KeyExtractor for ClientIpKeyExtractor {
    type Key = IpNet;

    fn name(&self) -> &'static str {
        "realip client network"
    }

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        match self.client(request) {
            Ok(client) => Ok(client.rate_limit_network(self.prefixes)),
            Err(refusal) => Err(refusal.into_error()),
        }
    }

    fn key_name(&self, key: &Self::Key) -> Option<String> {
        Some(key.to_string())
    }
}

/// Why a request has no key.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// The resolver (the layer's or the extractor's) found no client.
    Unresolved(Error),
    /// No layer resolved the request and the extractor holds no resolver.
    NoResolution,
}

impl Refusal {
    /// realip's rejection, as tower_governor answers it: the request's
    /// fault (`400`, naming the kind of problem and nothing the request
    /// sent) or the server's (`500`, saying what to add). Only a refused
    /// request pays for building it.
    fn into_error(self) -> GovernorError {
        match self {
            Refusal::Unresolved(error) if error.is_configuration_error() => {
                answer(StatusCode::INTERNAL_SERVER_ERROR, NO_PEER_BODY.to_owned())
            }
            Refusal::Unresolved(error) => answer(
                StatusCode::BAD_REQUEST,
                format!(
                    "could not determine the client address ({})\n",
                    error.kind()
                ),
            ),
            Refusal::NoResolution => answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                NO_RESOLUTION_BODY.to_owned(),
            ),
        }
    }
}

/// A plain-text answer with `code`.
fn answer(code: StatusCode, body: String) -> GovernorError {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    GovernorError::Other {
        code,
        msg: Some(body),
        headers: Some(headers),
    }
}
