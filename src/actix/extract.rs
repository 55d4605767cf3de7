//! Extractors for the client address, and why they can fail.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use crate::error::Error;
use crate::resolution::{ClientIp, Resolution};
use crate::resolver::Resolver;

/// Why a handler could not be given the client address.
///
/// The statuses and the `400` body are those of axum's
/// `realip::axum::ClientIpRejection` (feature `axum`): `400 could not determine the client address (KIND)` for
/// a chain that cannot be resolved, which echoes nothing from the request;
/// `500` with what to add for a server that is not set up.
///
/// ```
/// use actix_web::ResponseError;
/// use realip::actix::ClientIpRejection;
///
/// let rejection = ClientIpRejection::Unresolvable(realip::Error::UnknownHop { index: 0 });
/// assert_eq!(rejection.status_code().as_u16(), 400);
/// assert_eq!(rejection.to_string(), "could not determine the client address (unknown_hop)");
/// assert_eq!(ClientIpRejection::NoPeerAddress.status_code().as_u16(), 500);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIpRejection {
    /// Neither the middleware nor a `Resolver` in the app data is there.
    #[error(
        "realip: no client IP resolver is configured for this route; add \
         .wrap(realip::actix::ClientIpMiddleware::new(resolver)) or \
         .app_data(web::Data::new(resolver)) to the app"
    )]
    MissingResolver,
    /// The server passes no peer address (a Unix socket; none is trusted).
    #[error(
        "realip: the server passes no peer address (a Unix socket?); call \
         HttpServer::on_connect(realip::actix::record_unix_peer) before listen_uds, \
         or insert a realip::Peer into request extensions"
    )]
    NoPeerAddress,
    /// The request's forwarding chain cannot be resolved.
    #[error("could not determine the client address ({})", .0.kind())]
    Unresolvable(Error),
}

impl ClientIpRejection {
    pub(crate) fn from_error(error: Error) -> Self {
        if error.is_configuration_error() {
            ClientIpRejection::NoPeerAddress
        } else {
            ClientIpRejection::Unresolvable(error)
        }
    }
}

impl ResponseError for ClientIpRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            ClientIpRejection::MissingResolver | ClientIpRejection::NoPeerAddress => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ClientIpRejection::Unresolvable(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ))
            .body(format!("{self}\n"))
    }
}

/// The resolver in the app data: `web::Data<Resolver>` or a bare
/// `Resolver`.
fn app_resolver(request: &HttpRequest) -> Option<&Resolver> {
    request.app_data::<Resolver>().or_else(|| {
        request
            .app_data::<web::Data<Resolver>>()
            .map(web::Data::get_ref)
    })
}

/// Reads the request's resolution with `read`: the one the middleware
/// stored (borrowed, not cloned), or one made now with the app's resolver.
fn read_resolution<T>(
    request: &HttpRequest,
    read: impl FnOnce(&Resolution) -> T,
) -> Result<T, ClientIpRejection> {
    {
        let extensions = request.extensions();
        if let Some(resolution) = extensions.get::<Resolution>() {
            return Ok(read(resolution));
        }
        if let Some(error) = extensions.get::<Error>() {
            return Err(ClientIpRejection::from_error(*error));
        }
    }
    let resolver = app_resolver(request).ok_or(ClientIpRejection::MissingResolver)?;
    super::resolve(resolver, request)
        .map(|resolution| read(&resolution))
        .map_err(ClientIpRejection::from_error)
}

/// The client's address, as a handler argument.
///
/// ```no_run
/// use realip::ClientIp;
///
/// async fn ip(client: ClientIp) -> String {
///     format!("{client}\n")
/// }
/// # let _ = actix_web::web::get().to(ip);
/// ```
impl FromRequest for ClientIp {
    type Error = ClientIpRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_resolution(request, Resolution::client))
    }
}

/// Everything the resolution says (port, origin, trusted proxies), as a
/// handler argument.
///
/// ```no_run
/// use realip::Resolution;
///
/// async fn ip(resolution: Resolution) -> String {
///     format!("{} via {}\n", resolution.client(), resolution.origin())
/// }
/// # let _ = actix_web::web::get().to(ip);
/// ```
impl FromRequest for Resolution {
    type Error = ClientIpRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_resolution(request, Resolution::clone))
    }
}
