//! The client of a `tonic::Request`, for handlers: what the layer stored,
//! or a resolution made on the spot.

use ::tonic::{Code, Request, Status};

use crate::error::Error;
use crate::resolution::{ClientIp, Resolution};
use crate::resolver::Resolver;
use crate::tower::peer_from_extensions;

/// Why a gRPC handler could not be given the client address.
///
/// `?` in a handler turns it into a [`tonic::Status`]: [`Code::Internal`]
/// when the server is not set up (no layer, no peer address), with a
/// message that says what to add; [`Code::InvalidArgument`] when the
/// call's forwarding chain cannot be resolved, with a message that echoes
/// nothing from the call.
///
/// ```
/// use realip::tonic::{GrpcRejection, RequestExt};
///
/// let request = tonic::Request::new(());
/// // No GrpcClientIpLayer ran:
/// let rejection = request.client_ip().unwrap_err();
/// assert_eq!(rejection, GrpcRejection::MissingLayer);
/// assert_eq!(tonic::Status::from(rejection).code(), tonic::Code::Internal);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrpcRejection {
    /// No resolution was stored: the server runs without
    /// [`GrpcClientIpLayer`](super::GrpcClientIpLayer).
    #[error(
        "realip: no client resolution for this call; serve with \
         .layer(realip::tonic::GrpcClientIpLayer::new(resolver)) or resolve with RequestExt::resolve_with"
    )]
    MissingLayer,
    /// The connection gives no address the resolver may use: a Unix
    /// socket the resolver does not trust, or connection info that realip
    /// cannot read.
    #[error(
        "realip: the connection gives no peer address; serve tonic over TCP (or realip's \
         ProxyProtocolListener), trust Unix-socket peers with unix-peer, or insert a \
         realip::Peer into request extensions"
    )]
    NoPeerAddress,
    /// The call's forwarding chain cannot be resolved.
    #[error("could not determine the client address ({})", .0.kind())]
    Unresolvable(Error),
}

impl GrpcRejection {
    /// The gRPC status code the rejection answers with.
    ///
    /// ```
    /// use realip::Error;
    /// use realip::tonic::GrpcRejection;
    /// use tonic::Code;
    ///
    /// assert_eq!(GrpcRejection::NoPeerAddress.code(), Code::Internal);
    /// assert_eq!(GrpcRejection::Unresolvable(Error::EmptyHeader).code(), Code::InvalidArgument);
    /// ```
    pub fn code(&self) -> Code {
        match self {
            GrpcRejection::MissingLayer | GrpcRejection::NoPeerAddress => Code::Internal,
            GrpcRejection::Unresolvable(_) => Code::InvalidArgument,
        }
    }

    fn from_error(error: Error) -> Self {
        if error.is_configuration_error() {
            GrpcRejection::NoPeerAddress
        } else {
            GrpcRejection::Unresolvable(error)
        }
    }
}

impl From<GrpcRejection> for Status {
    /// A status with the rejection's [`code`](GrpcRejection::code) and
    /// message (this allocates the message; the rejection itself does not).
    fn from(rejection: GrpcRejection) -> Self {
        Status::new(rejection.code(), rejection.to_string())
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for ::tonic::Request<T> {}
}

/// The client of a `tonic::Request`, in one call.
///
/// [`resolution`](Self::resolution) and [`client_ip`](Self::client_ip) read
/// what [`GrpcClientIpLayer`](super::GrpcClientIpLayer) stored (tonic keeps
/// the HTTP request's extensions in the `tonic::Request`);
/// [`resolve_with`](Self::resolve_with) resolves now, from the call's
/// metadata (HTTP/2 headers) and the peer tonic recorded. None of them
/// allocates.
///
/// Implemented for `tonic::Request<T>` only (sealed).
///
/// ```
/// use realip::tonic::RequestExt;
/// use tonic::{Request, Response, Status};
///
/// async fn who_am_i(request: Request<()>) -> Result<Response<String>, Status> {
///     let resolution = request.resolution()?;
///     Ok(Response::new(format!("{} (from {})", resolution.client(), resolution.origin())))
/// }
/// ```
pub trait RequestExt: sealed::Sealed {
    /// The [`Resolution`] the layer stored, borrowed.
    ///
    /// ```
    /// use realip::tonic::RequestExt;
    /// use realip::{Peer, Resolver};
    /// use http::HeaderMap;
    ///
    /// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "203.0.113.7".parse()?);
    /// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
    ///
    /// // What GrpcClientIpLayer does before the handler runs:
    /// let mut request = tonic::Request::new(());
    /// request.extensions_mut().insert(resolver.resolve(peer, &headers)?);
    ///
    /// assert_eq!(request.resolution()?.client().to_string(), "203.0.113.7");
    /// assert_eq!(request.resolution()?.peer(), Peer::from(peer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn resolution(&self) -> Result<&Resolution, GrpcRejection>;

    /// The client address the layer resolved.
    ///
    /// ```
    /// use realip::tonic::{GrpcRejection, RequestExt};
    /// use realip::{Error, Resolver};
    /// use http::HeaderMap;
    ///
    /// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "not-an-address".parse()?);
    /// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
    ///
    /// // The layer stores the error when it lets an unresolvable call through:
    /// let mut request = tonic::Request::new(());
    /// request.extensions_mut().insert(resolver.resolve(peer, &headers).unwrap_err());
    ///
    /// let rejection = request.client_ip().unwrap_err();
    /// assert!(matches!(rejection, GrpcRejection::Unresolvable(Error::MalformedHop { index: 0, .. })));
    /// assert_eq!(rejection.code(), tonic::Code::InvalidArgument);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn client_ip(&self) -> Result<ClientIp, GrpcRejection> {
        self.resolution().map(Resolution::client)
    }

    /// Resolves with `resolver`, from the call's metadata and the peer
    /// tonic recorded (found as
    /// [`peer_from_extensions`](crate::tower::peer_from_extensions) finds
    /// it: the same address as `Request::remote_addr`, or the PROXY
    /// source, or [`Peer::Unix`](crate::Peer::Unix)). For services served
    /// without the layer, or that resolve differently per method.
    ///
    /// ```
    /// use realip::tonic::RequestExt;
    /// use realip::{Peer, Resolver};
    ///
    /// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
    /// let mut request = tonic::Request::new(());
    /// request.metadata_mut().insert("x-forwarded-for", "203.0.113.7".parse()?);
    /// // tonic records the connection; a test inserts the peer itself:
    /// let gateway: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
    /// request.extensions_mut().insert(Peer::from(gateway));
    /// assert_eq!(request.resolve_with(&resolver)?.client().to_string(), "203.0.113.7");
    ///
    /// // The same metadata from a peer that is not a trusted proxy:
    /// let attacker: std::net::SocketAddr = "198.51.100.66:5555".parse()?;
    /// request.extensions_mut().insert(Peer::from(attacker));
    /// assert_eq!(request.resolve_with(&resolver)?.client().to_string(), "198.51.100.66");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn resolve_with(&self, resolver: &Resolver) -> Result<Resolution, GrpcRejection>;
}

impl<T> RequestExt for Request<T> {
    fn resolution(&self) -> Result<&Resolution, GrpcRejection> {
        let extensions = self.extensions();
        if let Some(resolution) = extensions.get::<Resolution>() {
            return Ok(resolution);
        }
        match extensions.get::<Error>() {
            Some(error) => Err(GrpcRejection::from_error(*error)),
            None => Err(GrpcRejection::MissingLayer),
        }
    }

    fn resolve_with(&self, resolver: &Resolver) -> Result<Resolution, GrpcRejection> {
        resolver
            .resolve(
                peer_from_extensions(self.extensions()),
                self.metadata().as_ref(),
            )
            .map_err(GrpcRejection::from_error)
    }
}
