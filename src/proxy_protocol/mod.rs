//! The PROXY protocol, v1 and v2 (feature `proxy-protocol`): the client's
//! address from an L4 load balancer.
//!
//! A load balancer that relays TCP (AWS NLB, HAProxy in `mode tcp`, GCP
//! and Azure network balancers, Envoy) cannot add an HTTP header; with
//! source NAT, the application's socket sees the balancer, and the client
//! is lost. The PROXY protocol keeps it: the balancer opens each connection
//! to the application with one header naming the client's address and
//! port, the address it connected to, and optionally TLVs (ALPN, SNI, TLS
//! details, AWS and Azure endpoint ids).
//!
//! ## The threat model
//!
//! **Whoever writes the header chooses the address the application
//! believes.** So a header is only as good as its sender:
//!
//! - **Never auto-detect.** A listener either expects the header or it does
//!   not; it never peeks at the bytes to guess. A listener that guesses lets
//!   any client that reaches it pick its own address.
//! - **Only from configured senders.** The header is read only on
//!   connections whose socket peer is in the trusted-sender set (the
//!   balancers' addresses). Connections from anyone else are closed
//!   ([`Mode::Required`]), or — when you say so explicitly with
//!   [`Mode::Mixed`] — served as plain connections whose socket peer is the
//!   client and whose bytes are never read as a header.
//! - **A trusted sender must send a header.** A connection from a trusted
//!   sender that does not start with a valid header is dropped, never
//!   served as if the sender were the client.
//! - **Exactly one header per connection.** What follows it is application
//!   data, even another header: AWS NLB forwards a header a client sent
//!   after its own.
//! - **A silent sender stalls nobody.** Headers are read in spawned tasks,
//!   a bounded number at a time, each within a timeout (5 s by default).
//! - **A full pool stalls nobody either.** When `max_handshakes` headers are
//!   pending, other peers are still closed (or served) at once, and a new
//!   trusted connection takes the place of the oldest pending one.
//!
//! An accepted `PROXY` header's source becomes the [`Peer`](crate::Peer)
//! ([`Peer::Proxied`](crate::Peer::Proxied)), the address a resolution
//! starts from, exactly as if the client had connected directly; a
//! [`Resolver`](crate::Resolver) applies the rest of its rules from there:
//! "PROXY from the balancer subnet, then `X-Forwarded-For` trusted from the
//! gateway" is one listener and one resolver. A header that names no
//! source (`LOCAL` for balancer health checks, `UNKNOWN`, `AF_UNSPEC`)
//! makes the peer [`Peer::ProxiedWithoutSource`](crate::Peer::ProxiedWithoutSource):
//! the balancer's own address is the answer, and the connection's
//! forwarding headers are never read, since an L4 balancer writes none.
//!
//! ## The parts
//!
//! - [`decode`]: bytes to a [`ProxyHeader`] (version, command, transport,
//!   addresses, [`Tlvs`]), or [`DecodeError::Incomplete`] (read more) or
//!   [`DecodeError::Invalid`] (drop the connection). Sans-IO, no
//!   allocation, strict: it accepts what the specification writes, checks
//!   the CRC32C TLV, and rejects the rest.
//! - [`ProxyProtocolListener`]: a tokio listener that reads headers from
//!   trusted senders and yields a [`ProxiedStream`] with a
//!   [`ProxyConnInfo`]. It implements axum's `Listener`; its
//!   [`accept`](ProxyProtocolListener::accept) serves hyper directly.
//! - [`ProxyConnInfo`]: the socket peer, the header's source and
//!   destination, and the TLVs; it converts to a [`Peer`](crate::Peer), and
//!   [`peer_from_extensions`](crate::tower::peer_from_extensions) finds it
//!   in `ConnectInfo<ProxyConnInfo>` or as a bare extension.
//!
//! ## With axum
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use realip::proxy_protocol::{ProxyConnInfo, ProxyProtocolListener};
//! use realip::{ClientIp, ProxySet, Resolver, tower::ClientIpLayer};
//!
//! async fn ip(client: ClientIp) -> String {
//!     format!("{client}\n")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The balancers send PROXY headers from 10.0.0.0/24; the client is the
//! // PROXY source ("peer": no forwarding header is read).
//! let balancers: ProxySet = "10.0.0.0/24".parse()?;
//! let listener = ProxyProtocolListener::bind("0.0.0.0:8080", balancers).await?;
//! let resolver: Resolver = "peer".parse()?;
//! let app = Router::new().route("/ip", get(ip)).layer(ClientIpLayer::new(resolver));
//! axum::serve(listener, app.into_make_service_with_connect_info::<ProxyConnInfo>()).await?;
//! # Ok(())
//! # }
//! ```

// Imports go one way, from the bottom up: `error` (and `crc32c`) -> `tlv`
// -> `header` -> `v1`/`v2` -> `decode` -> `stream`/`conn_info` ->
// `listener`. No module imports one that imports it back.
mod conn_info;
mod crc32c;
mod decode;
mod error;
mod header;
mod listener;
mod stream;
mod tlv;
mod v1;
mod v2;

pub use conn_info::ProxyConnInfo;
pub use decode::decode;
pub use error::{DecodeError, InvalidHeader};
pub use header::{Command, ProxyHeader, Transport};
pub use listener::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_HANDSHAKES, Mode, ProxyProtocolListener,
    ProxyProtocolListenerBuilder,
};
pub use stream::ProxiedStream;
// For the tonic integration's connection stream (`crate::tonic`).
#[cfg(feature = "tonic")]
pub(crate) use listener::{ACCEPT_ERROR_PAUSE, report_accept_failed};
pub use tlv::{MAX_UNIQUE_ID_LEN, Ssl, Tlv, Tlvs};
