//! What a resolution returns: the client address, and where it came from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use http::HeaderName;
use ipnet::IpNet;

use crate::addr::HopError;
use crate::peer::Peer;

/// The client's IP address, as resolved by a [`Resolver`](crate::Resolver).
///
/// A value type like [`IpAddr`]: `Copy`, ordered, hashable, printable and
/// parseable. It is always canonical (IPv4-mapped IPv6 is IPv4) and never
/// the unspecified address.
///
/// ```
/// use realip::ClientIp;
/// use std::net::IpAddr;
///
/// let ip: ClientIp = "::ffff:203.0.113.9".parse().unwrap();
/// assert_eq!(ip.to_string(), "203.0.113.9");
/// let raw: IpAddr = ip.into();
/// assert!(raw.is_ipv4());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientIp(IpAddr);

impl ClientIp {
    pub(crate) fn new(ip: IpAddr) -> Self {
        Self(ip)
    }

    /// The address.
    #[inline]
    pub fn ip(self) -> IpAddr {
        self.0
    }

    /// The network of this address with the given prefix lengths, for
    /// grouping clients.
    ///
    /// ```
    /// use realip::ClientIp;
    ///
    /// let ip: ClientIp = "2001:db8:1:2:3:4:5:6".parse().unwrap();
    /// assert_eq!(ip.network(24, 48).to_string(), "2001:db8:1::/48");
    /// ```
    pub fn network(self, v4_prefix: u8, v6_prefix: u8) -> IpNet {
        let (addr, len) = match self.0 {
            IpAddr::V4(_) => (self.0, v4_prefix.min(32)),
            IpAddr::V6(_) => (self.0, v6_prefix.min(128)),
        };
        IpNet::new(addr, len)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| IpNet::from(addr))
    }

    /// A key for per-client rate limits: the IPv4 address itself, or the
    /// IPv6 `/64` the address belongs to (one subscriber usually owns a
    /// whole `/64`, so per-address limits on IPv6 are trivially evaded).
    ///
    /// ```
    /// use realip::ClientIp;
    ///
    /// let a: ClientIp = "2001:db8::1".parse().unwrap();
    /// let b: ClientIp = "2001:db8::ffff".parse().unwrap();
    /// assert_eq!(a.rate_limit_key(), b.rate_limit_key());
    /// let v4: ClientIp = "192.0.2.1".parse().unwrap();
    /// assert_eq!(v4.rate_limit_key().to_string(), "192.0.2.1");
    /// ```
    pub fn rate_limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !(u128::MAX >> 64);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        }
    }
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ClientIp {
    type Err = HopError;

    /// Parses an IP address (no port). IPv4-mapped IPv6 becomes IPv4; the
    /// unspecified address is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ip = s
            .parse::<IpAddr>()
            .map_err(|_| HopError::InvalidAddress)?
            .to_canonical();
        if ip.is_unspecified() {
            return Err(HopError::Unspecified);
        }
        Ok(Self(ip))
    }
}

impl From<ClientIp> for IpAddr {
    fn from(ip: ClientIp) -> Self {
        ip.0
    }
}

impl PartialEq<IpAddr> for ClientIp {
    fn eq(&self, other: &IpAddr) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Ipv4Addr> for ClientIp {
    fn eq(&self, other: &Ipv4Addr) -> bool {
        self.0 == IpAddr::V4(*other)
    }
}

/// Where the client address was read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The socket peer itself.
    Peer,
    /// The source address of an accepted PROXY-protocol header (the peer
    /// of [`Peer::Proxied`]).
    ProxyProtocol,
    /// A header element.
    Header {
        /// The header's name: one copy per distinct name for the whole
        /// process, shared by every resolution (so a resolution never
        /// clones a name).
        name: &'static HeaderName,
        /// Position from the right (0 = the newest element).
        index: usize,
    },
}

impl Origin {
    /// [`Origin::Header`] for a header name given by value: the name is
    /// interned (kept once for the life of the process, like the names of
    /// configured resolvers), for building an origin to compare with.
    ///
    /// ```
    /// use realip::{Origin, Resolver};
    /// use http::HeaderMap;
    ///
    /// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse().unwrap();
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    /// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
    /// let r = resolver.resolve(peer, &headers).unwrap();
    /// assert_eq!(r.origin(), &Origin::header(&"x-forwarded-for".parse().unwrap(), 0));
    /// ```
    pub fn header(name: &HeaderName, index: usize) -> Origin {
        Origin::Header {
            name: crate::header_names::intern(name),
            index,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Peer => f.write_str("peer"),
            Origin::ProxyProtocol => f.write_str("proxy-protocol"),
            Origin::Header { name, index } => write!(f, "{name}[{index} from the right]"),
        }
    }
}

/// The full answer of a resolution: the client, its port when known, where
/// it was read, the original peer, and how many proxies were trusted.
///
/// ```
/// use realip::{Origin, Resolver, ProxySet};
/// use http::HeaderMap;
///
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
///     .build()
///     .unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.2".parse().unwrap());
/// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
///
/// let r = resolver.resolve(peer, &headers).unwrap();
/// assert_eq!(r.client().to_string(), "203.0.113.7");
/// assert_eq!(r.trusted_proxies(), 2); // 10.0.0.3 (the peer) and 10.0.0.2
/// assert!(matches!(r.origin(), Origin::Header { index: 1, .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub(crate) client: ClientIp,
    pub(crate) port: Option<u16>,
    pub(crate) origin: Origin,
    pub(crate) peer: Peer,
    pub(crate) trusted_proxies: usize,
}

impl Resolution {
    /// The client address.
    #[inline]
    pub fn client(&self) -> ClientIp {
        self.client
    }

    /// The client address as an [`IpAddr`].
    #[inline]
    pub fn ip(&self) -> IpAddr {
        self.client.ip()
    }

    /// The client's port, when the source carried one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The client as a socket address, when the port is known.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.port.map(|p| SocketAddr::new(self.ip(), p))
    }

    /// Where the client address was read.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The connection's peer, as given to the resolver.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// How many proxies between the client and the application were trusted
    /// (the peer included): 0 when the peer itself is the client.
    pub fn trusted_proxies(&self) -> usize {
        self.trusted_proxies
    }
}
