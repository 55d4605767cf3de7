//! axum extractors for the client address (feature `axum`).
//!
//! Take [`ClientIp`] or [`Resolution`] (or `Option<…>` of either) as a
//! handler argument. The extractors read what [`ClientIpLayer`] stored;
//! without the layer, they resolve with a [`Resolver`] found in the request
//! extensions (`Extension(resolver)`), using the peer from axum's
//! `ConnectInfo<SocketAddr>` or a [`Peer`](crate::Peer) in the extensions.
//!
//! Failures are a [`ClientIpRejection`]: `500` with a message that says what
//! to add when the server is not set up (no resolver, no peer address), and
//! `400` with a short message that echoes nothing from the request when the
//! request's chain cannot be resolved. `Option<ClientIp>` turns only the
//! latter into `None`.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use realip::{ClientIp, Resolver, tower::ClientIpLayer};
//! use std::net::SocketAddr;
//!
//! async fn ip(client: ClientIp) -> String {
//!     format!("{client}\n")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let resolver: Resolver = std::env::var("REALIP").as_deref().unwrap_or("peer").parse()?;
//! let app = Router::new().route("/ip", get(ip)).layer(ClientIpLayer::new(resolver));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`ClientIpLayer`]: crate::tower::ClientIpLayer

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::error::Error;
use crate::identity::Caller;
use crate::resolution::{ClientIp, Resolution};
use crate::resolver::Resolver;
use crate::scheme_host::{Host, OriginalUrl, Scheme};
use crate::tower::peer_from_extensions;

/// Why a handler could not be given the client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIpRejection {
    /// Neither `ClientIpLayer` nor a `Resolver` extension is installed.
    #[error(
        "realip: no client IP resolver is configured for this route; add \
         .layer(realip::tower::ClientIpLayer::new(resolver)) or .layer(Extension(resolver)) to the router"
    )]
    MissingResolver,
    /// The server passes no peer address (and none is trusted).
    #[error(
        "realip: the server passes no peer address; serve with \
         into_make_service_with_connect_info::<SocketAddr>() or insert a realip::Peer into request extensions"
    )]
    NoPeerAddress,
    /// The request's forwarding chain cannot be resolved.
    #[error("could not determine the client address ({})", .0.kind())]
    Unresolvable(Error),
    /// A [`BaseUrl`] for a request that names no host: none was read
    /// beside the client's hop, and the request has neither an authority
    /// nor a valid `Host` header.
    #[error("the request names no host")]
    NoHost,
}

impl ClientIpRejection {
    /// The status the rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ClientIpRejection::MissingResolver | ClientIpRejection::NoPeerAddress => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ClientIpRejection::Unresolvable(_) | ClientIpRejection::NoHost => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    fn from_error(error: Error) -> Self {
        if error.is_configuration_error() {
            ClientIpRejection::NoPeerAddress
        } else {
            ClientIpRejection::Unresolvable(error)
        }
    }
}

impl IntoResponse for ClientIpRejection {
    fn into_response(self) -> Response {
        (self.status(), format!("{self}\n")).into_response()
    }
}

/// Reads the request's resolution with `read`: the one the layer stored
/// (borrowed, not cloned), or one made now from a `Resolver` extension.
fn read_resolution<T>(
    parts: &Parts,
    read: impl FnOnce(&Resolution) -> T,
) -> Result<T, ClientIpRejection> {
    if let Some(resolution) = parts.extensions.get::<Resolution>() {
        return Ok(read(resolution));
    }
    if let Some(error) = parts.extensions.get::<Error>() {
        return Err(ClientIpRejection::from_error(*error));
    }
    let resolver = parts
        .extensions
        .get::<Resolver>()
        .ok_or(ClientIpRejection::MissingResolver)?;
    resolver
        .resolve(peer_from_extensions(&parts.extensions), &parts.headers)
        .map(|resolution| read(&resolution))
        .map_err(ClientIpRejection::from_error)
}

fn optional<T>(result: Result<T, ClientIpRejection>) -> Result<Option<T>, ClientIpRejection> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ClientIpRejection::Unresolvable(_)) => Ok(None),
        Err(misconfigured) => Err(misconfigured),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read_resolution(parts, Resolution::client)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ClientIp {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        optional(read_resolution(parts, Resolution::client))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Resolution {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read_resolution(parts, Resolution::clone)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Resolution {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        optional(read_resolution(parts, Resolution::clone))
    }
}

/// The request's [`OriginalUrl`]: the one the layer stored, or one read now
/// from a `Resolver` extension. Empty when the resolver reads neither the
/// scheme nor the host, or the client's hop carried none.
fn read_url(parts: &Parts) -> Result<OriginalUrl, ClientIpRejection> {
    if let Some(url) = parts.extensions.get::<OriginalUrl>() {
        return Ok(*url);
    }
    if let Some(error) = parts.extensions.get::<Error>() {
        return Err(ClientIpRejection::from_error(*error));
    }
    if parts.extensions.get::<Resolution>().is_some() {
        // The layer resolved and stored no URL: its resolver reads none.
        return Ok(OriginalUrl::default());
    }
    let resolver = parts
        .extensions
        .get::<Resolver>()
        .ok_or(ClientIpRejection::MissingResolver)?;
    resolver
        .resolve_url(peer_from_extensions(&parts.extensions), &parts.headers)
        .map(|(_, url)| url)
        .map_err(ClientIpRejection::from_error)
}

/// The scheme and host the client used (DESIGN rule 14), as the resolver
/// read them beside the client's hop; each may be absent.
///
/// ```no_run
/// use realip::OriginalUrl;
///
/// async fn handler(url: OriginalUrl) -> String {
///     url.base().unwrap_or_else(|| "unknown".to_owned())
/// }
/// ```
impl<S: Send + Sync> FromRequestParts<S> for OriginalUrl {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read_url(parts)
    }
}

/// `Option<Scheme>`: the scheme the client used, when the resolver read
/// one beside the client's hop (`None` otherwise, and for a request whose
/// client cannot be resolved).
impl<S: Send + Sync> OptionalFromRequestParts<S> for Scheme {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(optional(read_url(parts))?.and_then(|url| url.scheme().copied()))
    }
}

/// `Option<Host>`: the host the client asked for, when the resolver read
/// one beside the client's hop.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Host {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(optional(read_url(parts))?.and_then(|url| url.host().copied()))
    }
}

/// `Option<Caller<'static>>`: who called the trusted sidecar in front of
/// the application (DESIGN rule 15), as the layer stored it or as a
/// `Resolver` extension reads it; `None` when the resolver trusts no
/// identity, the peer is not a trusted proxy, or the sidecar named no
/// caller. Authorise by [`Caller::is_trusted`] and [`Caller::uri`].
///
/// ```no_run
/// use realip::Caller;
///
/// async fn handler(caller: Option<Caller<'static>>) -> String {
///     match caller {
///         Some(caller) => format!("called by {caller} (trusted: {})", caller.is_trusted()),
///         None => "no caller identity".to_owned(),
///     }
/// }
/// ```
impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller<'static> {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller<'static>>() {
            return Ok(Some(caller.clone()));
        }
        // The layer ran and stored no caller: there is none.
        if parts.extensions.get::<Resolution>().is_some()
            || parts.extensions.get::<Error>().is_some()
        {
            return Ok(None);
        }
        let resolver = parts
            .extensions
            .get::<Resolver>()
            .ok_or(ClientIpRejection::MissingResolver)?;
        let peer = peer_from_extensions(&parts.extensions);
        Ok(resolver
            .caller(peer, &parts.headers)
            .map(Caller::into_owned))
    }
}

/// The base of absolute URLs for this request, `scheme://host`: the scheme
/// and host the client used when the resolver read them beside the
/// client's hop, otherwise the request's own (its URI's scheme, or `http`;
/// its URI's authority, or its `Host` header). For redirects and absolute
/// links behind a gateway that ended TLS.
///
/// The fallback is the request as it arrived: its `Host` header is
/// whatever the sender wrote (checked to be a host, not against
/// `allowed-hosts=`, which limits only the host read beside the client's
/// hop). Where a link must never point elsewhere, use
/// [`OriginalUrl`] and treat a missing host as an
/// error.
///
/// ```no_run
/// use realip::axum::BaseUrl;
///
/// async fn login(base: BaseUrl) -> String {
///     format!("{base}/oauth/callback")
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let url = optional(read_url(parts))?.unwrap_or_default();
        let scheme = match url.scheme() {
            Some(scheme) => scheme.as_str().to_owned(),
            None => parts.uri.scheme_str().unwrap_or("http").to_owned(),
        };
        let host = match url.host() {
            Some(host) => host.as_str().to_owned(),
            None => parts
                .uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .or_else(|| {
                    parts
                        .headers
                        .get(http::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .filter(|h| h.parse::<Host>().is_ok())
                        .map(str::to_owned)
                })
                .ok_or(ClientIpRejection::NoHost)?,
        };
        Ok(BaseUrl(format!("{scheme}://{host}")))
    }
}
