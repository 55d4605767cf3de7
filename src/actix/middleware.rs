//! The middleware: one resolution per request, stored for the handlers.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, HttpRequest, ResponseError};
use pin_project_lite::pin_project;

use super::ClientIpRejection;
use crate::error::Error;
use crate::resolver::Resolver;

/// Resolves the client of each request and stores the outcome in its
/// extensions: a [`Resolution`](crate::Resolution) on success, an
/// [`Error`] otherwise; beside it the [`OriginalUrl`](crate::OriginalUrl)
/// when the resolver reads the scheme or host, and the
/// [`Caller<'static>`](crate::Caller) when it trusts caller identities and
/// the sidecar named one. The [`ClientIp`](crate::ClientIp) and
/// [`Resolution`](crate::Resolution) extractors read it.
///
/// actix-web's `Transform`: `.wrap()` it around an `App`, a scope or a
/// resource. Cloning is cheap: the resolver is shared.
///
/// ```
/// use actix_web::{App, HttpMessage, HttpRequest, test, web};
/// use realip::actix::ClientIpMiddleware;
/// use realip::{Resolution, Resolver};
///
/// async fn handler(request: HttpRequest) -> String {
///     // What the middleware stored; the `ClientIp` extractor reads it too.
///     let client = request.extensions().get::<Resolution>().map(|r| r.client().to_string());
///     client.unwrap_or_default()
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
/// let app = test::init_service(
///     App::new().wrap(ClientIpMiddleware::new(resolver)).route("/", web::get().to(handler)),
/// )
/// .await;
/// let request = test::TestRequest::get()
///     .insert_header(("X-Forwarded-For", "203.0.113.7"))
///     .peer_addr("10.0.0.3:40000".parse().unwrap())
///     .to_request();
/// let body = test::call_and_read_body(&app, request).await;
/// assert_eq!(body, "203.0.113.7");
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientIpMiddleware {
    resolver: Arc<Resolver>,
    reject: bool,
}

impl ClientIpMiddleware {
    /// A middleware that resolves with `resolver` and lets every request
    /// through.
    pub fn new(resolver: Resolver) -> Self {
        Self::from_shared(Arc::new(resolver))
    }

    /// A middleware sharing a resolver that is used elsewhere too.
    pub fn from_shared(resolver: Arc<Resolver>) -> Self {
        Self {
            resolver,
            reject: false,
        }
    }

    /// Answers requests whose client cannot be told itself, with the
    /// extractors' [`ClientIpRejection`]: `400` and a short message that
    /// echoes nothing for a chain that cannot be resolved, `500` for a
    /// server that gives no peer address. Handlers never see them.
    ///
    /// ```
    /// use realip::actix::ClientIpMiddleware;
    ///
    /// let resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
    /// let middleware = ClientIpMiddleware::new(resolver).reject_unresolvable();
    /// # let _ = middleware;
    /// ```
    pub fn reject_unresolvable(mut self) -> Self {
        self.reject = true;
        self
    }

    /// The resolver.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }
}

impl<S, B> Transform<S, ServiceRequest> for ClientIpMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ClientIpMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ClientIpMiddlewareService {
            service,
            middleware: self.clone(),
        }))
    }
}

/// The service [`ClientIpMiddleware`] makes.
#[derive(Debug)]
pub struct ClientIpMiddlewareService<S> {
    service: S,
    middleware: ClientIpMiddleware,
}

impl<S, B> Service<ServiceRequest> for ClientIpMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let state = match store(&self.middleware, request.request()) {
            Ok(()) => State::Inner {
                future: self.service.call(request),
            },
            Err(rejection) => State::Rejected {
                response: Some(
                    request
                        .into_response(rejection.error_response())
                        .map_into_right_body(),
                ),
            },
        };
        ResponseFuture { state }
    }
}

/// Resolves once and stores what the handlers may ask for; the rejection
/// when the middleware answers the request itself.
fn store(middleware: &ClientIpMiddleware, request: &HttpRequest) -> Result<(), ClientIpRejection> {
    let resolver = &*middleware.resolver;
    let peer = super::peer(request);
    let headers = request.headers();
    let (result, url) = if resolver.reads_url() {
        match super::resolve_url_in(resolver, peer, headers) {
            Ok((resolution, url)) => (Ok(resolution), Some(url)),
            Err(error) => (Err(error), None),
        }
    } else {
        (super::resolve_headers(resolver, peer, headers), None)
    };
    let mut extensions = request.extensions_mut();
    // Rule 15: who called the trusted sidecar, for the application to log
    // and authorise by; only when the resolver trusts identities.
    if resolver.identity_header().is_some() {
        if let Some(caller) = super::caller_in(resolver, peer, headers) {
            extensions.insert(caller.into_owned());
        }
    }
    if let Some(url) = url {
        extensions.insert(url);
    }
    match result {
        Ok(resolution) => {
            extensions.insert(resolution);
        }
        Err(error) if middleware.reject => return Err(ClientIpRejection::from_error(error)),
        Err(error) => {
            extensions.insert::<Error>(error);
        }
    }
    Ok(())
}

pin_project! {
    /// The response future of [`ClientIpMiddlewareService`]: the inner
    /// service's, or a ready rejection. Never boxed.
    ///
    /// Opaque, so that how it is built can change without breaking callers.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
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
        /// The middleware answered the request itself.
        Rejected {
            response: Option<ServiceResponse<EitherBody<B>>>,
        },
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                future.poll(cx).map_ok(ServiceResponse::map_into_left_body)
            }
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
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
