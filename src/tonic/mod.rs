//! gRPC with tonic (feature `tonic`): the client of every call, from
//! tonic's connection and the call's metadata.
//!
//! gRPC metadata is HTTP/2 headers, so the same rules hold as for any HTTP
//! request: a sidecar or gateway appends `x-forwarded-for` (or sets
//! another header), the client can forge anything to the left of it, and
//! the resolver walks from the connection's peer leftwards while the hop
//! is a proxy you trust. What tonic adds is where the peer comes from:
//! tonic records each connection in the request's extensions
//! (`TcpConnectInfo`, `UdsConnectInfo`), and
//! [`peer_from_extensions`](crate::tower::peer_from_extensions) reads them
//! (a Unix socket is [`Peer::Unix`](crate::Peer::Unix), trusted only with
//! `unix-peer`). With tonic's own TLS (`Server::tls_config`), tonic stores
//! the TCP info beside the TLS info, so nothing changes. A connection type
//! of your own (a TLS stream made outside tonic, say) can implement
//! tonic's `Connected` with [`Peer`](crate::Peer) as its `ConnectInfo`:
//! a `Peer` in the extensions is read first.
//!
//! - [`GrpcClientIpLayer`] is [`ClientIpLayer`](crate::tower::ClientIpLayer)
//!   for tonic's `Server::layer`, resolving once per call and storing the
//!   [`Resolution`](crate::Resolution) (or the [`Error`](crate::Error)) in
//!   the extensions, which tonic hands to the handler. A rejected call
//!   (with [`reject_unresolvable`](crate::tower::ClientIpLayer::reject_unresolvable))
//!   is answered with a gRPC status, never a bare HTTP error.
//! - [`RequestExt`] gives `request.client_ip()?` in a handler, or
//!   `request.resolve_with(&resolver)?` without the layer; failures are a
//!   [`GrpcRejection`], which `?` turns into a `tonic::Status`.
//! - With `proxy-protocol`: [`ProxyProtocolListener::into_incoming`](crate::proxy_protocol::ProxyProtocolListener::into_incoming)
//!   serves tonic behind an L4 load balancer; the PROXY source is the peer.
//!
//! tonic 0.14.6 and later need Rust 1.88 (this crate needs 1.85; on 1.85,
//! cargo picks tonic 0.14.5).
//!
//! ```no_run
//! use realip::Resolver;
//! use realip::tonic::{GrpcClientIpLayer, RequestExt};
//! use tonic::transport::Server;
//! use tonic::{Request, Response, Status};
//!
//! // A method of your service (as `tonic-build` generates its trait):
//! async fn say_hello(request: Request<()>) -> Result<Response<String>, Status> {
//!     let client = request.client_ip()?;
//!     Ok(Response::new(format!("hello, {client}")))
//! }
//!
//! # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! // In an Istio mesh whose sidecar appends X-Forwarded-For (from 127.0.0.6):
//! let resolver: Resolver = "x-forwarded-for; trust=istio-sidecar".parse()?;
//! Server::builder()
//!     .layer(GrpcClientIpLayer::new(resolver))
//!     .add_routes(routes) // or .add_service(GreeterServer::new(greeter))
//!     .serve("0.0.0.0:50051".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Behind a PROXY-protocol load balancer (features `tonic` and
//! `proxy-protocol`):
//!
#![cfg_attr(feature = "proxy-protocol", doc = "```no_run")]
#![cfg_attr(not(feature = "proxy-protocol"), doc = "```ignore")]
//! use realip::proxy_protocol::ProxyProtocolListener;
//! use realip::tonic::GrpcClientIpLayer;
//! use realip::{ProxySet, Resolver};
//! use tonic::transport::Server;
//!
//! # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! let balancers: ProxySet = "10.0.0.0/24".parse()?;
//! let listener = ProxyProtocolListener::bind("0.0.0.0:50051", balancers).await?;
//! // The PROXY source is the client: no header is read.
//! let resolver: Resolver = "peer".parse()?;
//! Server::builder()
//!     .layer(GrpcClientIpLayer::new(resolver))
//!     .add_routes(routes)
//!     .serve_with_incoming(listener.into_incoming())
//!     .await?;
//! # Ok(())
//! # }
//! ```

// Imports go one way: `request` reads what the tower layer stores, and
// `layer` answers with `request`'s rejection; `incoming` knows only the
// PROXY listener.
#[cfg(feature = "proxy-protocol")]
mod incoming;
mod layer;
mod request;

#[cfg(feature = "proxy-protocol")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy-protocol")))]
pub use incoming::ProxiedIncoming;
pub use layer::{GrpcClientIpLayer, GrpcClientIpService, GrpcResponseFuture};
pub use request::{GrpcRejection, RequestExt};
