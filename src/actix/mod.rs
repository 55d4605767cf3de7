//! actix-web: resolve the client once per request, and extract it
//! (feature `actix`).
//!
//! actix-web's own answer, `ConnectionInfo::realip_remote_addr`, believes
//! anyone: it returns the first `for=` of `Forwarded`, or else the first
//! element of `X-Forwarded-For`, whoever sent it. A client that connects
//! directly and sends `X-Forwarded-For: 198.51.100.66` is `198.51.100.66`
//! to it; behind a proxy that appends, the client's forged first element
//! still wins. realip walks the same headers from the right, and only as
//! far as your proxies wrote them.
//!
//! actix-web 4 is on `http` 0.2, so its headers cannot be passed to
//! [`Resolver::resolve`]; the functions here run the same walk over
//! actix's own header map, in place, without copying a header or
//! allocating ([`resolve`], [`resolve_headers`], [`resolve_url`],
//! [`caller`]). On top of them:
//!
//! - [`ClientIpMiddleware`] resolves once per request and stores the
//!   [`Resolution`] (or the [`Error`]) in the request's extensions, with the
//!   [`OriginalUrl`] when the resolver reads one and the [`Caller`] when it
//!   trusts identities; with
//!   [`reject_unresolvable`](ClientIpMiddleware::reject_unresolvable) it
//!   answers unresolvable requests itself.
//! - [`ClientIp`] and [`Resolution`] are extractors. They read what the
//!   middleware stored; without it, they resolve with a [`Resolver`] in the
//!   app data (`.app_data(web::Data::new(resolver))`, or the bare
//!   `Resolver`). Failures are a [`ClientIpRejection`], with axum's status
//!   codes and bodies: `400` and a short message that echoes nothing for a
//!   chain that cannot be resolved, `500` and what to add for a server
//!   that is not set up.
//!
//! The peer is [`peer`]: a [`Peer`] in the request's extensions (any
//! middleware can insert one), else one recorded for the connection (see
//! [`record_unix_peer`]), else `HttpRequest::peer_addr()`. actix-web gives
//! no address for a Unix-socket connection, so without
//! [`record_unix_peer`] such a request is a server configuration error
//! (`500`), never a guess.
//!
//! Needs Rust 1.89, actix-web 4.18's minimum (the rest of realip needs
//! 1.85).
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use realip::actix::ClientIpMiddleware;
//! use realip::{ClientIp, Resolver};
//!
//! async fn ip(client: ClientIp) -> String {
//!     format!("{client}\n")
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // REALIP="x-forwarded-for; trust=10.0.0.0/8, istio-sidecar"
//!     let resolver: Resolver = std::env::var("REALIP").as_deref().unwrap_or("peer").parse()?;
//!     let realip = ClientIpMiddleware::new(resolver);
//!     actix_web::rt::System::new().block_on(
//!         HttpServer::new(move || App::new().wrap(realip.clone()).route("/ip", web::get().to(ip)))
//!             .bind("127.0.0.1:8000")?
//!             .run(),
//!     )?;
//!     Ok(())
//! }
//! ```
//!
//! `Option<ClientIp>` is actix-web's own `Option` extractor, which turns
//! every failure into `None`, a server that is not set up included (axum's
//! keeps that a `500`). To tell the two apart, take
//! `Result<ClientIp, ClientIpRejection>`.

use std::any::Any;

use actix_web::HttpMessage;
use actix_web::HttpRequest;
use actix_web::dev::Extensions;
use actix_web::http::header::HeaderMap;

use crate::error::Error;
use crate::explain::Explanation;
use crate::identity::Caller;
use crate::peer::Peer;
use crate::resolution::Resolution;
use crate::resolver::Resolver;
use crate::scheme_host::OriginalUrl;
use crate::walk::{self, NoObserver};

#[cfg(doc)]
use crate::resolution::ClientIp;

mod extract;
mod headers;
mod middleware;

pub use extract::ClientIpRejection;
pub use middleware::{ClientIpMiddleware, ClientIpMiddlewareService, ResponseFuture};

/// The connection's peer, as the server recorded it: a [`Peer`] in the
/// request's extensions, a [`Peer`] in the connection's data (see
/// [`record_unix_peer`]), or `HttpRequest::peer_addr()`; [`Peer::Unknown`]
/// when there is none of these.
///
/// ```
/// use actix_web::test::TestRequest;
/// use realip::Peer;
///
/// let request = TestRequest::default()
///     .peer_addr("203.0.113.7:40000".parse().unwrap())
///     .to_http_request();
/// assert_eq!(realip::actix::peer(&request).to_string(), "203.0.113.7:40000");
/// assert_eq!(realip::actix::peer(&TestRequest::default().to_http_request()), Peer::Unknown);
/// ```
pub fn peer(request: &HttpRequest) -> Peer {
    if let Some(peer) = request.extensions().get::<Peer>() {
        return *peer;
    }
    if let Some(peer) = request.conn_data::<Peer>() {
        return *peer;
    }
    Peer::from(request.peer_addr())
}

/// Resolves the client of an actix-web request: [`Resolver::resolve`] over
/// its [`peer`] and its headers, read in place. Allocates nothing.
///
/// ```
/// use actix_web::test::TestRequest;
/// use realip::Resolver;
///
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
/// // The gateway (10.0.0.3) appended the client it saw; the client forged
/// // the first element.
/// let request = TestRequest::default()
///     .insert_header(("X-Forwarded-For", "198.51.100.66, 203.0.113.7"))
///     .peer_addr("10.0.0.3:40000".parse()?)
///     .to_http_request();
/// assert_eq!(realip::actix::resolve(&resolver, &request)?.client().to_string(), "203.0.113.7");
/// // actix-web's own answer is the forged one.
/// assert_eq!(request.connection_info().realip_remote_addr(), Some("198.51.100.66"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve(resolver: &Resolver, request: &HttpRequest) -> Result<Resolution, Error> {
    resolve_headers(resolver, peer(request), request.headers())
}

/// Resolves from a peer and an actix-web header map, as
/// [`Resolver::resolve`] does from an `http` 1 one: for code that holds a
/// request's head rather than the request (a guard, a
/// `ServiceRequest`). Allocates nothing.
///
/// ```
/// use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
/// use realip::Resolver;
///
/// let resolver: Resolver = "x-real-ip; trust=10.0.0.0/8".parse()?;
/// let mut headers = HeaderMap::new();
/// headers.insert(HeaderName::from_static("x-real-ip"), HeaderValue::from_static("203.0.113.7"));
/// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
/// let resolution = realip::actix::resolve_headers(&resolver, peer, &headers)?;
/// assert_eq!(resolution.client().to_string(), "203.0.113.7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_headers(
    resolver: &Resolver,
    peer: impl Into<Peer>,
    headers: &HeaderMap,
) -> Result<Resolution, Error> {
    walk::walk(&resolver.settings, peer.into(), headers, &mut NoObserver)
}

/// Resolves as [`resolve`] does, and reads the scheme and host the client
/// used beside its hop, as [`Resolver::resolve_url`] does. Allocates
/// nothing.
///
/// ```
/// use actix_web::test::TestRequest;
/// use realip::Resolver;
///
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
///                           align=single".parse()?;
/// let request = TestRequest::default()
///     .insert_header(("X-Forwarded-For", "203.0.113.7"))
///     .insert_header(("X-Forwarded-Proto", "https"))
///     .peer_addr("10.0.0.3:40000".parse()?)
///     .to_http_request();
/// let (resolution, url) = realip::actix::resolve_url(&resolver, &request)?;
/// assert_eq!(resolution.client().to_string(), "203.0.113.7");
/// assert_eq!(url.scheme().unwrap().as_str(), "https");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_url(
    resolver: &Resolver,
    request: &HttpRequest,
) -> Result<(Resolution, OriginalUrl), Error> {
    resolve_url_in(resolver, peer(request), request.headers())
}

/// [`resolve_url`] from a peer and a header map.
fn resolve_url_in(
    resolver: &Resolver,
    peer: Peer,
    headers: &HeaderMap,
) -> Result<(Resolution, OriginalUrl), Error> {
    let settings = &*resolver.settings;
    let mut hop = None;
    let resolution =
        walk::walk_to_hop::<_, _, true>(settings, peer, headers, &mut NoObserver, &mut hop)?;
    Ok((resolution, walk::original_url(settings, headers, hop)))
}

/// Who called the trusted sidecar in front of the application, as
/// [`Resolver::caller`] reads it (DESIGN rule 15), borrowed from the
/// request. Allocates nothing.
///
/// ```
/// use actix_web::test::TestRequest;
/// use realip::Resolver;
///
/// let resolver: Resolver = "deployment:istio-gateway".parse()?;
/// let request = TestRequest::default()
///     .insert_header(("X-Forwarded-For", "203.0.113.7"))
///     .insert_header((
///         "X-Forwarded-Client-Cert",
///         "By=spiffe://cluster.local/ns/shop/sa/web;\
///          URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
///     ))
///     .peer_addr("127.0.0.6:40000".parse()?)
///     .to_http_request();
/// assert!(realip::actix::caller(&resolver, &request).unwrap().is_trusted());
/// assert_eq!(realip::actix::resolve(&resolver, &request)?.client().to_string(), "203.0.113.7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn caller<'r>(resolver: &Resolver, request: &'r HttpRequest) -> Option<Caller<'r>> {
    caller_in(resolver, peer(request), request.headers())
}

/// [`caller`] from a peer and a header map.
fn caller_in<'h>(resolver: &Resolver, peer: Peer, headers: &'h HeaderMap) -> Option<Caller<'h>> {
    let settings = &*resolver.settings;
    let uri = walk::caller(settings, &peer.canonical(), headers)?.ok()?;
    Some(Caller {
        uri: uri.into(),
        trusted: settings.callers.admits(uri),
    })
}

/// Every step of the request's resolution with its verdict, and
/// diagnostics about the deployment: [`Resolver::explain`] for an
/// actix-web request.
///
/// The walk is the same; the diagnostics look at the request's headers as
/// a whole, through an `http` 1 header map, so the headers are copied into
/// one first. Explaining allocates anyway: use it to debug, to log
/// samples, or in an endpoint such as the `actix` example's
/// `/ip/explain`, never on every request.
///
/// ```
/// use actix_web::test::TestRequest;
/// use realip::Resolver;
///
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
/// let request = TestRequest::default()
///     .insert_header(("X-Forwarded-For", "203.0.113.7"))
///     .peer_addr("198.51.100.66:5555".parse()?)
///     .to_http_request();
/// let explanation = realip::actix::explain(&resolver, &request);
/// assert_eq!(explanation.result?.client().to_string(), "198.51.100.66");
/// assert!(explanation.diagnostics.iter().any(|d| d.code() == "forwarding_headers_from_untrusted_peer"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn explain(resolver: &Resolver, request: &HttpRequest) -> Explanation {
    let actix = request.headers();
    let mut headers = http::HeaderMap::with_capacity(actix.len());
    for (name, value) in actix.iter() {
        // Both crates check names and values by the same rules, so every
        // line converts.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    resolver.explain(peer(request), &headers)
}

/// Records Unix-socket connections, whose peer has no address, as
/// [`Peer::Unix`]: pass it to `HttpServer::on_connect` before
/// `listen_uds`. A resolver trusts such a peer only with `unix-peer`
/// ([`ResolverBuilder::trust_unix_peer`](crate::ResolverBuilder::trust_unix_peer));
/// without this hook, actix-web gives no peer at all and every request on
/// the socket is a `500` (server not set up). actix-web's `bind_uds` runs
/// no `on_connect` callback (4.18): create the listener yourself and use
/// `listen_uds`.
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use realip::actix::{ClientIpMiddleware, record_unix_peer};
/// use realip::{ClientIp, Resolver};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // nginx on the same host, connecting over /run/app.sock.
/// let resolver: Resolver = "x-forwarded-for; trust=loopback; unix-peer".parse()?;
/// let realip = ClientIpMiddleware::new(resolver);
/// let listener = std::os::unix::net::UnixListener::bind("/run/app.sock")?;
/// let server = HttpServer::new(move || {
///     App::new()
///         .wrap(realip.clone())
///         .route("/ip", web::get().to(|client: ClientIp| async move { client.to_string() }))
/// })
/// .on_connect(record_unix_peer)
/// .listen_uds(listener)?
/// .run();
/// actix_web::rt::System::new().block_on(server)?;
/// # Ok(())
/// # }
/// ```
pub fn record_unix_peer(connection: &dyn Any, data: &mut Extensions) {
    #[cfg(unix)]
    if connection.is::<actix_web::rt::net::UnixStream>() {
        data.insert(Peer::Unix);
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}
