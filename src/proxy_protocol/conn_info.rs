//! What the application learns about a connection accepted by a
//! [`ProxyProtocolListener`](super::ProxyProtocolListener).

use std::net::SocketAddr;
use std::sync::Arc;

use super::decode::decode;
use super::header::{Command, ProxyHeader, Transport};
use super::tlv::Tlvs;
use crate::peer::Peer;

/// A connection's socket peer and, when one was accepted, its PROXY
/// header: the client's address, the address it connected to, and the
/// TLVs.
///
/// It is the listener's address type: serve with
/// `into_make_service_with_connect_info::<ProxyConnInfo>()` and the
/// [`ClientIpLayer`](crate::tower::ClientIpLayer) and the axum extractors
/// find it (as they find a bare `ProxyConnInfo` in request extensions).
/// Turned into a [`Peer`], it is [`Peer::Proxied`] when a `PROXY` header
/// named an IP source, [`Peer::ProxiedWithoutSource`] when an accepted
/// header named none (`LOCAL`, `UNKNOWN`, `AF_UNSPEC`, Unix sockets: the
/// answer is then the balancer's address and forwarding headers are never
/// read), and the plain socket peer when there was no header.
///
/// Cloning is cheap: the header bytes are shared.
///
/// ```
/// use realip::Peer;
/// use realip::proxy_protocol::{ProxyConnInfo, decode};
/// use std::net::SocketAddr;
///
/// let balancer: SocketAddr = "10.0.0.5:40001".parse()?;
/// let header = decode(b"PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n")?;
/// let info = ProxyConnInfo::from_header(balancer, &header);
/// assert_eq!(info.socket_peer(), balancer);
/// assert_eq!(info.source(), Some("203.0.113.7:51000".parse()?));
/// assert_eq!(info.peer().to_string(), "203.0.113.7:51000 (PROXY protocol from 10.0.0.5:40001)");
///
/// let health_check = decode(b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00")?;
/// let info = ProxyConnInfo::from_header(balancer, &health_check);
/// assert_eq!(info.peer(), Peer::ProxiedWithoutSource { sender: balancer });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProxyConnInfo {
    socket_peer: SocketAddr,
    header: Option<Accepted>,
}

/// What is kept of an accepted header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Accepted {
    /// 1 or 2.
    version: u8,
    command: Command,
    transport: Transport,
    source: Option<SocketAddr>,
    destination: Option<SocketAddr>,
    /// Where the TLVs start in `bytes`.
    tlvs_at: usize,
    bytes: Arc<[u8]>,
}

impl ProxyConnInfo {
    /// A connection without a PROXY header (a plain connection in
    /// [`Mode::Mixed`](super::Mode::Mixed)).
    pub fn plain(socket_peer: SocketAddr) -> Self {
        Self {
            socket_peer,
            header: None,
        }
    }

    /// A connection from `socket_peer` that sent `header`.
    ///
    /// Only for headers from a trusted sender: the header decides the peer.
    pub fn from_header(socket_peer: SocketAddr, header: &ProxyHeader<'_>) -> Self {
        let bytes: Arc<[u8]> = Arc::from(header.as_bytes());
        let tlvs = header.tlvs().as_bytes();
        Self {
            socket_peer,
            header: Some(Accepted {
                version: header.version(),
                command: header.command(),
                transport: header.transport(),
                source: header.source(),
                destination: header.destination(),
                tlvs_at: bytes.len() - tlvs.len(),
                bytes,
            }),
        }
    }

    /// The other end of the TCP connection: the PROXY sender (the load
    /// balancer) when a header was accepted, the client otherwise.
    pub fn socket_peer(&self) -> SocketAddr {
        self.socket_peer
    }

    /// The client's address from an accepted `PROXY` header with IP
    /// endpoints; `None` otherwise.
    pub fn source(&self) -> Option<SocketAddr> {
        self.header.as_ref().and_then(|h| h.source)
    }

    /// The address the client connected to (typically the balancer's
    /// public address), from an accepted header.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.header.as_ref().and_then(|h| h.destination)
    }

    /// The address the connection is from, all things considered: the
    /// PROXY source, or the socket peer.
    pub fn remote_addr(&self) -> SocketAddr {
        self.source().unwrap_or(self.socket_peer)
    }

    /// The peer a [`Resolver`](crate::Resolver) starts from:
    /// [`Peer::Proxied`] when a `PROXY` header named an IP source,
    /// [`Peer::ProxiedWithoutSource`] when an accepted header named none,
    /// and the socket peer when there was no header.
    pub fn peer(&self) -> Peer {
        match (&self.header, self.source()) {
            (_, Some(source)) => Peer::Proxied {
                ip: source.ip().to_canonical(),
                port: Some(source.port()),
                sender: self.socket_peer,
            },
            (Some(_), None) => Peer::ProxiedWithoutSource {
                sender: self.socket_peer,
            },
            (None, None) => Peer::from(self.socket_peer),
        }
    }

    /// Whether a PROXY header was accepted on the connection.
    pub fn has_header(&self) -> bool {
        self.header.is_some()
    }

    /// The header's protocol version (1 or 2), when one was accepted.
    pub fn version(&self) -> Option<u8> {
        self.header.as_ref().map(|h| h.version)
    }

    /// The header's command, when one was accepted.
    pub fn command(&self) -> Option<Command> {
        self.header.as_ref().map(|h| h.command)
    }

    /// The relayed connection's transport, when a header was accepted.
    pub fn transport(&self) -> Option<Transport> {
        self.header.as_ref().map(|h| h.transport)
    }

    /// The header's TLVs (empty without a header).
    pub fn tlvs(&self) -> Tlvs<'_> {
        self.header
            .as_ref()
            .map(|h| Tlvs::validated(&h.bytes[h.tlvs_at..]))
            .unwrap_or_default()
    }

    /// The accepted header, decoded again from its bytes (for what the
    /// other methods do not give, such as Unix-socket paths).
    pub fn header(&self) -> Option<ProxyHeader<'_>> {
        self.header
            .as_ref()
            .map(|h| decode(&h.bytes).expect("the header was decoded when it was accepted"))
    }
}

impl From<&ProxyConnInfo> for Peer {
    fn from(info: &ProxyConnInfo) -> Self {
        info.peer()
    }
}

impl From<ProxyConnInfo> for Peer {
    fn from(info: ProxyConnInfo) -> Self {
        info.peer()
    }
}
