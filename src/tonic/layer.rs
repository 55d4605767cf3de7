//! [`ClientIpLayer`] for tonic: the same resolution, with tonic's body
//! type and rejections as gRPC statuses.
//!
//! `ClientIpLayer`'s service builds its rejection from a `&'static str`
//! body, which tonic's body cannot be made from. So this layer wraps it:
//! the inner service's bodies pass through tagged as served, a rejection
//! arrives tagged as one and leaves as a gRPC status. Every decision stays
//! in `ClientIpLayer`; nothing is resolved twice.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ::tonic::body::Body;
use ::tonic::{Code, Status};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::request::GrpcRejection;
use crate::resolver::Resolver;
use crate::tower::{ClientIpLayer, ClientIpService, NO_PEER_BODY, ResponseFuture};

/// [`ClientIpLayer`] for tonic's `Server::layer`: resolves the client of
/// each call and stores the [`Resolution`](crate::Resolution) (or the
/// [`Error`](crate::Error)) in its extensions, where
/// [`RequestExt`](super::RequestExt) finds it.
///
/// Configure a `ClientIpLayer` and convert it to reject calls whose client
/// cannot be told: they are answered with a gRPC status, never reaching the
/// service. `400 Bad Request` becomes [`Code::InvalidArgument`], `500`
/// (the server gives no peer address) [`Code::Internal`]; the status of
/// [`reject_with`](ClientIpLayer::reject_with) becomes the code closest in
/// meaning (`401` unauthenticated, `403` permission denied, `404` not
/// found, `429` resource exhausted, `503` unavailable, other `5xx`
/// internal, anything else unknown), with its body, trimmed, as the
/// message.
///
/// ```
/// use realip::tonic::GrpcClientIpLayer;
/// use realip::tower::ClientIpLayer;
///
/// let resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
/// let layer: GrpcClientIpLayer = ClientIpLayer::new(resolver).reject_unresolvable().into();
/// // tonic::transport::Server::builder().layer(layer).add_service(…)
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct GrpcClientIpLayer {
    layer: ClientIpLayer,
}

impl GrpcClientIpLayer {
    /// A layer that resolves with `resolver` and lets every call through.
    ///
    /// ```
    /// use realip::Resolver;
    /// use realip::tonic::GrpcClientIpLayer;
    ///
    /// let resolver: Resolver = "x-forwarded-for; trust=istio-sidecar".parse().unwrap();
    /// let layer = GrpcClientIpLayer::new(resolver);
    /// # let _ = layer;
    /// ```
    pub fn new(resolver: Resolver) -> Self {
        Self::from(ClientIpLayer::new(resolver))
    }

    /// The `ClientIpLayer` this layer runs.
    ///
    /// ```
    /// use realip::tonic::GrpcClientIpLayer;
    ///
    /// let layer = GrpcClientIpLayer::new("peer".parse().unwrap());
    /// assert_eq!(layer.client_ip_layer().resolver().to_string(), "peer");
    /// ```
    pub fn client_ip_layer(&self) -> &ClientIpLayer {
        &self.layer
    }
}

impl From<ClientIpLayer> for GrpcClientIpLayer {
    fn from(layer: ClientIpLayer) -> Self {
        Self { layer }
    }
}

impl<S> Layer<S> for GrpcClientIpLayer {
    type Service = GrpcClientIpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientIpService {
            inner: self.layer.layer(Tagged { inner }),
        }
    }
}

/// The service [`GrpcClientIpLayer`] makes.
///
/// tonic's `Server::layer` wraps its routes in it; here, a stand-in for
/// the routes answers with the client it finds:
///
/// ```
/// use realip::Peer;
/// use realip::tonic::{GrpcClientIpLayer, GrpcResponseFuture, RequestExt};
/// use realip::tower::ClientIpLayer;
/// use std::convert::Infallible;
/// use tonic::body::Body;
/// use tower::{Layer, Service, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let routes = service_fn(|request: http::Request<Body>| async move {
///     let client = tonic::Request::from_http(request).client_ip().expect("resolved");
///     let mut response = http::Response::new(Body::empty());
///     response.headers_mut().insert("x-client", client.to_string().parse().unwrap());
///     Ok::<_, Infallible>(response)
/// });
/// let resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
/// let layer = GrpcClientIpLayer::from(ClientIpLayer::new(resolver).reject_unresolvable());
/// let mut service = layer.layer(routes);
///
/// // What tonic records about the connection (its TcpConnectInfo), by hand:
/// let gateway = Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>()?);
/// let mut request = http::Request::new(Body::empty());
/// request.headers_mut().insert("x-forwarded-for", "203.0.113.7".parse()?);
/// request.extensions_mut().insert(gateway);
/// let future: GrpcResponseFuture<_> = service.ready().await?.call(request);
/// assert_eq!(future.await?.headers()["x-client"], "203.0.113.7");
///
/// // A chain that cannot be read never reaches the service: gRPC status 3,
/// // INVALID_ARGUMENT.
/// let mut request = http::Request::new(Body::empty());
/// request.headers_mut().insert("x-forwarded-for", "garbage".parse()?);
/// request.extensions_mut().insert(gateway);
/// let response = service.ready().await?.call(request).await?;
/// assert_eq!(response.headers()["grpc-status"], "3");
/// assert!(response.headers().get("x-client").is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct GrpcClientIpService<S> {
    inner: ClientIpService<Tagged<S>>,
}

impl<S, ReqBody> Service<Request<ReqBody>> for GrpcClientIpService<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = GrpcResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        GrpcResponseFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The response future of [`GrpcClientIpService`]: the service's
    /// response, or a rejection as a gRPC status. Never boxed.
    ///
    /// Opaque, so that how it is built can change without breaking
    /// callers; [`GrpcClientIpService`]'s example awaits one.
    pub struct GrpcResponseFuture<F> {
        #[pin]
        inner: ResponseFuture<TaggedFuture<F>, Reply>,
    }
}

impl<F, E> Future for GrpcResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(self.project().inner.poll(cx))?;
        let (parts, reply) = response.into_parts();
        Poll::Ready(Ok(match reply {
            Reply::Served(body) => Response::from_parts(parts, body),
            Reply::Rejected(message) => rejection(parts.status, message),
        }))
    }
}

impl<F> std::fmt::Debug for GrpcResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcResponseFuture").finish_non_exhaustive()
    }
}

/// A response body as `ClientIpService` sees it: the service's, or the
/// rejection it made itself.
enum Reply {
    Served(Body),
    Rejected(&'static str),
}

impl From<&'static str> for Reply {
    /// `ClientIpService` makes a body from a string only to reject.
    fn from(message: &'static str) -> Self {
        Reply::Rejected(message)
    }
}

/// The service under `ClientIpService`, its bodies tagged as served.
#[derive(Clone, Debug)]
struct Tagged<S> {
    inner: S,
}

impl<S, ReqBody> Service<Request<ReqBody>> for Tagged<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
{
    type Response = Response<Reply>;
    type Error = S::Error;
    type Future = TaggedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        TaggedFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    struct TaggedFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, E> Future for TaggedFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Reply>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map_ok(|response| response.map(Reply::Served))
    }
}

/// The gRPC answer to a call `ClientIpService` rejected with `status` and
/// `message`.
fn rejection(status: StatusCode, message: &'static str) -> Response<Body> {
    // The tower layer's advice names axum's set-up; a gRPC server gets
    // its own.
    if message == NO_PEER_BODY {
        return Status::from(GrpcRejection::NoPeerAddress).into_http();
    }
    Status::new(grpc_code(status), message.trim_end()).into_http()
}

/// The gRPC code closest in meaning to the HTTP status a rejection was
/// given. gRPC's own table (doc/http-grpc-status-mapping.md) is for a
/// client reading an intermediary's error page, and makes `400` internal
/// and `404` unimplemented; a rejection is the server's deliberate answer,
/// and `400` here means the call's chain could not be read: the caller's
/// invalid argument.
fn grpc_code(status: StatusCode) -> Code {
    match status {
        StatusCode::BAD_REQUEST => Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::TOO_MANY_REQUESTS => Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        s if s.is_server_error() => Code::Internal,
        _ => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_grpc_codes() {
        let table = [
            (400, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (429, Code::ResourceExhausted),
            (500, Code::Internal),
            (502, Code::Internal),
            (503, Code::Unavailable),
            (418, Code::Unknown),
            (200, Code::Unknown),
        ];
        for (status, code) in table {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(grpc_code(status), code, "{status}");
        }
    }
}
