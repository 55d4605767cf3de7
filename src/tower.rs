//! Tower middleware: resolve the client once per request (feature `tower`).
//!
//! [`ClientIpLayer`] holds a shared [`Resolver`]; the service it makes
//! finds the connection's peer in the request's extensions, resolves, and
//! stores the [`Resolution`](crate::Resolution) — or the [`Error`] — in the extensions for
//! handlers (and the [axum extractors](crate::axum)) to read. With
//! [`reject_unresolvable`](ClientIpLayer::reject_unresolvable) it answers
//! requests whose client cannot be told itself, before they reach the
//! application.
//!
//! The peer is looked up in this order:
//! 1. a [`Peer`] in the extensions — any server can insert one;
//! 2. a PROXY-protocol connection's info (feature `proxy-protocol`):
//!    axum's `ConnectInfo<ProxyConnInfo>` as set by
//!    `into_make_service_with_connect_info::<ProxyConnInfo>()`, or a bare
//!    `ProxyConnInfo` extension — the PROXY source when a header named one;
//! 3. axum's `ConnectInfo<SocketAddr>` (feature `axum`), as set by
//!    `into_make_service_with_connect_info::<SocketAddr>()`;
//! 4. tonic's connection info (feature `tonic`): `TcpConnectInfo`'s remote
//!    address, or `UdsConnectInfo` ([`Peer::Unix`]). tonic's own TLS
//!    (`Server::tls_config`) stores the TCP info beside the TLS info, and a
//!    PROXY-protocol connection's `ProxyConnInfo` is found in step 2.
//!
//! Without any of these, resolution fails with [`Error::NoPeerAddress`], a
//! server configuration error.
//!
//! With feature `tracing`, each request's inner service runs in a span
//! `realip` with OpenTelemetry's `client.address`, `network.peer.address`,
//! …, also recorded into the application's current span where it declares
//! them; with `metrics`, resolutions, errors and diagnostics are counted
//! (see `realip::telemetry`, present with either feature).
//!
//! ```
//! use http::{Request, Response};
//! use realip::tower::ClientIpLayer;
//! use realip::{Peer, Resolution, Resolver};
//! use std::convert::Infallible;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(ClientIpLayer::new(resolver))
//!     .service(service_fn(|req: Request<String>| async move {
//!         let client = req.extensions().get::<Resolution>().map(|r| r.client().to_string());
//!         Ok::<_, Infallible>(Response::new(client.unwrap_or_default()))
//!     }));
//!
//! let mut request = Request::new(String::new());
//! request.headers_mut().insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
//! // What the server knows about the connection:
//! request.extensions_mut().insert(Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>().unwrap()));
//!
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.body(), "203.0.113.7");
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Extensions, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::identity::Caller;
use crate::peer::Peer;
use crate::resolver::Resolver;
use crate::scheme_host::OriginalUrl;
use crate::telemetry;

/// The body of the default rejection.
pub const DEFAULT_REJECTION_BODY: &str = "could not determine the client address\n";

/// The body of the rejection for a server that gives the layer no peer
/// address.
pub const NO_PEER_BODY: &str = "realip: the server passes no peer address; serve with \
into_make_service_with_connect_info::<SocketAddr>() or insert a realip::Peer into request extensions\n";

/// The connection's peer, as the server recorded it in `extensions`.
///
/// ```
/// use http::Extensions;
/// use realip::{Peer, tower::peer_from_extensions};
///
/// let mut ext = Extensions::new();
/// assert_eq!(peer_from_extensions(&ext), Peer::Unknown);
/// ext.insert(Peer::Unix);
/// assert_eq!(peer_from_extensions(&ext), Peer::Unix);
/// ```
pub fn peer_from_extensions(extensions: &Extensions) -> Peer {
    if let Some(peer) = extensions.get::<Peer>() {
        return *peer;
    }
    #[cfg(all(feature = "axum", feature = "proxy-protocol"))]
    if let Some(info) =
        extensions.get::<axum::extract::ConnectInfo<crate::proxy_protocol::ProxyConnInfo>>()
    {
        return info.0.peer();
    }
    #[cfg(feature = "proxy-protocol")]
    if let Some(info) = extensions.get::<crate::proxy_protocol::ProxyConnInfo>() {
        return info.peer();
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Peer::from(info.0);
    }
    #[cfg(feature = "tonic")]
    if let Some(info) = extensions.get::<::tonic::transport::server::TcpConnectInfo>() {
        return Peer::from(info.remote_addr());
    }
    #[cfg(all(feature = "tonic", unix))]
    if extensions
        .get::<::tonic::transport::server::UdsConnectInfo>()
        .is_some()
    {
        return Peer::Unix;
    }
    Peer::Unknown
}

#[derive(Clone, Copy, Debug)]
struct Reject {
    status: StatusCode,
    body: &'static str,
}

/// Resolves the client of each request and stores the outcome in its
/// extensions: a [`Resolution`](crate::Resolution) on success, an [`Error`] otherwise.
///
/// Cloning is cheap: the resolver is shared.
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientIpLayer {
    resolver: Arc<Resolver>,
    reject: Option<Reject>,
    rewrite_uri: bool,
    // Features `tracing` and `metrics`: the span, the counters, the
    // warnings given once (`realip::telemetry`).
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    telemetry: Arc<telemetry::Observer>,
}

impl ClientIpLayer {
    /// A layer that resolves with `resolver` and lets every request through.
    pub fn new(resolver: Resolver) -> Self {
        Self::from_shared(Arc::new(resolver))
    }

    /// A layer sharing a resolver that is used elsewhere too.
    pub fn from_shared(resolver: Arc<Resolver>) -> Self {
        Self {
            reject: None,
            rewrite_uri: false,
            #[cfg(any(feature = "tracing", feature = "metrics"))]
            telemetry: Arc::new(telemetry::Observer::new(&resolver)),
            resolver,
        }
    }

    /// Answers requests whose client cannot be told with
    /// `400 Bad Request` and [`DEFAULT_REJECTION_BODY`] instead of passing
    /// them on. A server that gives no peer address is answered with
    /// `500 Internal Server Error` and [`NO_PEER_BODY`].
    pub fn reject_unresolvable(self) -> Self {
        self.reject_with(StatusCode::BAD_REQUEST, DEFAULT_REJECTION_BODY)
    }

    /// Like [`reject_unresolvable`](Self::reject_unresolvable), with your
    /// status and body.
    pub fn reject_with(mut self, status: StatusCode, body: &'static str) -> Self {
        self.reject = Some(Reject { status, body });
        self
    }

    /// Rewrites each request's URI to the scheme and host the client used
    /// (the [`OriginalUrl`] the resolver read beside the client's hop), so
    /// that code that reads `Request::uri` sees `https://shop.example.com/…`
    /// behind a gateway that ended TLS. A value the resolver did not read
    /// leaves that part as it was; the URI becomes absolute only when both
    /// a scheme and an authority are known (the request's own authority,
    /// or its `Host` header, stands in for a host not read). Building the
    /// new URI allocates; the resolution itself does not.
    ///
    /// ```
    /// use realip::tower::ClientIpLayer;
    ///
    /// let resolver = "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
    ///                 host=x-forwarded-host; align=single"
    ///     .parse()
    ///     .unwrap();
    /// let layer = ClientIpLayer::new(resolver).rewrite_uri();
    /// # let _ = layer;
    /// ```
    pub fn rewrite_uri(mut self) -> Self {
        self.rewrite_uri = true;
        self
    }

    /// The resolver.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }
}

impl<S> Layer<S> for ClientIpLayer {
    type Service = ClientIpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientIpService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ClientIpLayer`] makes.
#[derive(Clone, Debug)]
pub struct ClientIpService<S> {
    inner: S,
    layer: ClientIpLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientIpService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<&'static str>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let peer = peer_from_extensions(request.extensions());
        let resolver = &self.layer.resolver;
        let (result, url, caller) = resolver.resolve_for_layer(peer, request.headers());
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        let span = self.layer.telemetry.observe(
            &self.layer.resolver,
            peer,
            request.headers(),
            &result,
            url.as_ref(),
        );
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
        let span = telemetry::NoSpan;
        // Rule 15: who called the trusted sidecar, for the application to
        // log and authorise by; only when the resolver trusts identities.
        if let Some(caller) = caller.map(Caller::into_owned) {
            request.extensions_mut().insert(caller);
        }
        if let Some(url) = url {
            if self.layer.rewrite_uri {
                rewrite(&mut request, &url);
            }
            request.extensions_mut().insert(url);
        }
        match result {
            Ok(resolution) => {
                request.extensions_mut().insert(resolution);
            }
            Err(error) => {
                if let Some(reject) = self.layer.reject {
                    let (status, body) = rejection(&error, reject.status, reject.body);
                    return ResponseFuture::answer_in(status, body, span);
                }
                request.extensions_mut().insert::<Error>(error);
            }
        }
        let future = {
            let _entered = telemetry::enter(&span);
            self.inner.call(request)
        };
        ResponseFuture {
            state: State::Inner { future },
            span,
        }
    }
}

pin_project! {
    /// The response future of [`ClientIpService`] (and of
    /// [`AccessControlService`](crate::access::AccessControlService)): the
    /// inner service's, or a ready rejection. Never boxed.
    ///
    /// Opaque, so that how it is built can change without breaking callers.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        // The request's span (feature `tracing`), entered at each poll.
        span: telemetry::RequestSpan,
    }
}

pin_project! {
    /// Where the response comes from.
    #[project = StateProj]
    enum State<F, B> {
        /// The request went on to the inner service.
        Inner {
            #[pin]
            future: F,
        },
        /// The layer answered the request itself.
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = telemetry::enter(this.span);
        match this.state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}

// For the other layers of the crate that answer the same way (access
// control).
impl<F, B> ResponseFuture<F, B> {
    /// The inner service's answer.
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
            span: telemetry::no_span(),
        }
    }

    /// An answer of the layer's own: `status`, and `body` as plain text.
    pub(crate) fn answer(status: StatusCode, body: &'static str) -> Self
    where
        B: From<&'static str>,
    {
        Self::answer_in(status, body, telemetry::no_span())
    }

    /// [`answer`](Self::answer), polled in the request's `span`.
    fn answer_in(status: StatusCode, body: &'static str, span: telemetry::RequestSpan) -> Self
    where
        B: From<&'static str>,
    {
        let mut response = Response::new(B::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Self {
            state: State::Rejected {
                response: Some(response),
            },
            span,
        }
    }
}

/// The status and body that answer a request whose client cannot be
/// resolved: `500` and [`NO_PEER_BODY`] when the server passed no peer (its
/// configuration, not the request), otherwise `status` and `body`.
pub(crate) fn rejection(
    error: &Error,
    status: StatusCode,
    body: &'static str,
) -> (StatusCode, &'static str) {
    match error.is_configuration_error() {
        true => (StatusCode::INTERNAL_SERVER_ERROR, NO_PEER_BODY),
        false => (status, body),
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Inner { .. } => "Inner",
            State::Rejected { .. } => "Rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &format_args!("{state}"))
            .finish()
    }
}

/// Puts the original scheme and host into the request's URI (see
/// [`ClientIpLayer::rewrite_uri`]).
fn rewrite<B>(request: &mut Request<B>, url: &OriginalUrl) {
    if url.scheme().is_none() && url.host().is_none() {
        return;
    }
    let host_header = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok());
    let mut parts = request.uri().clone().into_parts();
    let authority = url
        .host()
        .and_then(|h| h.as_str().parse::<http::uri::Authority>().ok())
        .or(parts.authority.take())
        .or(host_header);
    let scheme = url
        .scheme()
        .and_then(|s| s.as_str().parse::<http::uri::Scheme>().ok())
        .or(parts.scheme.take());
    // An absolute URI needs both; without both the URI stays as it was.
    let (Some(scheme), Some(authority)) = (scheme, authority) else {
        return;
    };
    parts.scheme = Some(scheme);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
}
