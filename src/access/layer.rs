//! The tower layer that applies an [`AccessPolicy`] to each request
//! (feature `tower`), inside [`ClientIpLayer`](crate::tower::ClientIpLayer).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::{AccessDecision, AccessPolicy};
use crate::error::Error;
use crate::resolution::Resolution;
use crate::tower::{DEFAULT_REJECTION_BODY, ResponseFuture, rejection};

/// The body of the default refusal (`403 Forbidden`): short, and nothing
/// from the request.
pub const REFUSED_BODY: &str = "access denied\n";

/// The body of the `500` for a request that no
/// [`ClientIpLayer`](crate::tower::ClientIpLayer) resolved.
pub const NO_RESOLUTION_BODY: &str = "realip: the access control layer found no client \
resolution; put realip::tower::ClientIpLayer outside it (in axum, the later .layer(...))\n";

/// Applies an [`AccessPolicy`] to the client that
/// [`ClientIpLayer`](crate::tower::ClientIpLayer) resolved: an allowed
/// request goes on, a refused one is answered `403 Forbidden` with
/// [`REFUSED_BODY`] (or what [`refuse_with`](Self::refuse_with) says).
///
/// Put it inside `ClientIpLayer`. A request whose client could not be
/// resolved is refused as `ClientIpLayer::reject_unresolvable` would
/// refuse it (`400`, or `500` without a peer address), and a request no
/// `ClientIpLayer` saw gets `500` with [`NO_RESOLUTION_BODY`]. The
/// response body type only needs `From<&'static str>` (axum's `Body`,
/// `String`, …). The allow path allocates nothing.
///
/// Cloning is cheap: the policy is shared.
///
/// ```
/// use http::{Request, Response, StatusCode};
/// use realip::access::{AccessControlLayer, AccessPolicy, REFUSED_BODY};
/// use realip::tower::ClientIpLayer;
/// use realip::{Peer, Resolver};
/// use std::convert::Infallible;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
/// let policy: AccessPolicy = "deny=198.51.100.0/24".parse()?;
/// let service = ServiceBuilder::new()
///     .layer(ClientIpLayer::new(resolver)) // first: resolves
///     .layer(AccessControlLayer::new(policy)) // then: judges
///     .service(service_fn(|_: Request<String>| async {
///         Ok::<_, Infallible>(Response::new("welcome".to_owned()))
///     }));
///
/// let mut request = Request::new(String::new());
/// request.headers_mut().insert("x-forwarded-for", "198.51.100.7".parse()?);
/// request.extensions_mut().insert(Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>()?));
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert_eq!(response.body(), REFUSED_BODY);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AccessControlLayer {
    policy: Arc<AccessPolicy>,
    refusal: Refusal,
}

/// How a refused client is answered.
#[derive(Clone, Copy, Debug)]
struct Refusal {
    status: StatusCode,
    body: &'static str,
}

impl AccessControlLayer {
    /// A layer that applies `policy`, answering refused clients with
    /// `403 Forbidden` and [`REFUSED_BODY`].
    pub fn new(policy: AccessPolicy) -> Self {
        Self::from_shared(Arc::new(policy))
    }

    /// A layer sharing a policy that is used elsewhere too (by handlers
    /// that judge clients themselves, say).
    ///
    /// ```
    /// use realip::access::{AccessControlLayer, AccessPolicy};
    /// use std::sync::Arc;
    ///
    /// let policy = Arc::new("allow=private".parse::<AccessPolicy>()?);
    /// let layer = AccessControlLayer::from_shared(Arc::clone(&policy));
    /// assert!(Arc::ptr_eq(layer.policy(), &policy));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_shared(policy: Arc<AccessPolicy>) -> Self {
        Self {
            policy,
            refusal: Refusal {
                status: StatusCode::FORBIDDEN,
                body: REFUSED_BODY,
            },
        }
    }

    /// Answers refused clients with your status and body (say `404 Not
    /// Found`, to hide that the route exists). Requests whose client
    /// cannot be resolved keep the resolver's rejection.
    ///
    /// ```
    /// use http::StatusCode;
    /// use realip::access::AccessControlLayer;
    ///
    /// let layer = AccessControlLayer::new("allow=private".parse()?)
    ///     .refuse_with(StatusCode::NOT_FOUND, "not found\n");
    /// # let _ = layer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refuse_with(mut self, status: StatusCode, body: &'static str) -> Self {
        self.refusal = Refusal { status, body };
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<AccessPolicy> {
        &self.policy
    }
}

impl<S> Layer<S> for AccessControlLayer {
    type Service = AccessControlService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessControlService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AccessControlLayer`] makes.
#[derive(Clone, Debug)]
pub struct AccessControlService<S> {
    inner: S,
    layer: AccessControlLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AccessControlService<S>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let extensions = request.extensions();
        let (status, body) = if let Some(resolution) = extensions.get::<Resolution>() {
            let decision = self.layer.policy.decide(resolution.ip());
            if decision.is_allowed() {
                return ResponseFuture::inner(self.inner.call(request));
            }
            report_refused(resolution, decision);
            (self.layer.refusal.status, self.layer.refusal.body)
        } else if let Some(error) = extensions.get::<Error>() {
            report_unresolvable(error);
            rejection(error, StatusCode::BAD_REQUEST, DEFAULT_REJECTION_BODY)
        } else {
            report_no_resolution();
            (StatusCode::INTERNAL_SERVER_ERROR, NO_RESOLUTION_BODY)
        };
        ResponseFuture::answer(status, body)
    }
}

/// Says, with feature `tracing`, which rule refused whom.
fn report_refused(resolution: &Resolution, decision: AccessDecision) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        client = %resolution.client(),
        peer = %resolution.peer(),
        rule = decision.rule().unwrap_or_default(),
        "realip: access {decision}"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (resolution, decision);
}

/// Says, with feature `tracing`, that a client that could not be resolved
/// was refused.
fn report_unresolvable(error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        error = error.kind(),
        "realip: access refused: the client could not be resolved"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}

/// Says, with feature `tracing`, that no `ClientIpLayer` resolved the
/// request.
fn report_no_resolution() {
    #[cfg(feature = "tracing")]
    tracing::debug!("realip: access refused: no ClientIpLayer resolved the request");
}
