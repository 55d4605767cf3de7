//! What a resolution returns: the client address, and where it came from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use http::HeaderName;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::addr::HopError;
use crate::peer::Peer;

#[cfg(feature = "serde")]
mod serde;

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
    /// An IPv6 address that a translator or a tunnel built from a client's
    /// IPv4 is keyed by that IPv4: the translator's `/64` would put every
    /// client behind it in one bucket, and the same client seen directly
    /// over IPv4 gets the same key. The forms recognised:
    ///
    /// - NAT64 with the well-known prefix `64:ff9b::/96` (RFC 6052): the
    ///   last 32 bits.
    /// - Local-use NAT64 `64:ff9b:1::/48` (RFC 8215): the last 32 bits in
    ///   `64:ff9b:1::/96`; elsewhere in the `/48` the position of the IPv4
    ///   depends on the operator's prefix length, so the key is the whole
    ///   address (which still names one client).
    /// - SIIT: IPv4-compatible `::a.b.c.d` (not `::`, `::1` or `::6`: an
    ///   IPv4 in `0.0.0.0/8` is never embedded) and IPv4-translated
    ///   `::ffff:0:a.b.c.d` (RFC 2765).
    /// - Teredo `2001::/32` (RFC 4380): the client's public IPv4, the last
    ///   32 bits inverted.
    /// - 6to4 `2002::/16` (RFC 3056): bits 16 to 47.
    ///
    /// [`network`](Self::network) is unaffected: it truncates the address
    /// as written. [`rate_limit_network`](Self::rate_limit_network) is the
    /// same key with other prefix lengths (an IPv4 `/24`, an IPv6 `/56`);
    /// this one is `rate_limit_network(RateLimitPrefixes::DEFAULT).addr()`.
    ///
    /// ```
    /// use realip::ClientIp;
    /// use std::net::IpAddr;
    ///
    /// let key = |s: &str| s.parse::<ClientIp>().unwrap().rate_limit_key();
    ///
    /// // Ordinary IPv6: one /64, one key.
    /// assert_eq!(key("2001:db8::1"), key("2001:db8::ffff"));
    /// assert_eq!(key("2001:db8::1").to_string(), "2001:db8::");
    ///
    /// // IPv4, and IPv4 through NAT64 or 6to4: the same key.
    /// let v4: IpAddr = "192.0.2.1".parse().unwrap();
    /// assert_eq!(key("192.0.2.1"), v4);
    /// assert_eq!(key("64:ff9b::192.0.2.1"), v4);
    /// assert_eq!(key("2002:c000:201::1"), v4);
    ///
    /// // Two clients behind one NAT64 are two keys.
    /// assert_ne!(key("64:ff9b::192.0.2.1"), key("64:ff9b::192.0.2.2"));
    /// ```
    pub fn rate_limit_key(self) -> IpAddr {
        self.rate_limit_network(RateLimitPrefixes::DEFAULT).addr()
    }

    /// The rate-limit key of [`rate_limit_key`](Self::rate_limit_key) as a
    /// network, with the prefix lengths you choose: an IPv4 client (seen
    /// over IPv4, or through a translator or tunnel that embeds its IPv4)
    /// is keyed by its IPv4 network of `prefixes.v4()` bits, an ordinary
    /// IPv6 client by its network of `prefixes.v6()` bits.
    ///
    /// The embedded IPv4 keeps the IPv4 prefix: behind a NAT64 with an IPv4
    /// `/24`, the clients of one IPv4 `/24` share a bucket, whichever
    /// family they arrived over. An address of the local-use NAT64 range
    /// `64:ff9b:1::/48` outside its first `/96` is keyed by the whole
    /// address (`/128`): the IPv4 is in it, but nothing says where, so no
    /// IPv4 prefix can be taken; the address still names one client.
    ///
    /// ```
    /// use realip::{ClientIp, RateLimitPrefixes};
    ///
    /// let prefixes = RateLimitPrefixes::new(24, 48)?;
    /// let key = |s: &str| s.parse::<ClientIp>().unwrap().rate_limit_network(prefixes).to_string();
    ///
    /// assert_eq!(key("203.0.113.7"), "203.0.113.0/24");
    /// assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1::/48");
    /// // NAT64 and 6to4 carry an IPv4 client: its IPv4 /24.
    /// assert_eq!(key("64:ff9b::203.0.113.7"), "203.0.113.0/24");
    /// assert_eq!(key("2002:cb00:7107::1"), "203.0.113.0/24");
    ///
    /// // The defaults: IPv4 /32, IPv6 /64.
    /// let ip: ClientIp = "2001:db8:1:2:3:4:5:6".parse().unwrap();
    /// assert_eq!(ip.rate_limit_network(RateLimitPrefixes::DEFAULT).to_string(), "2001:db8:1:2::/64");
    /// # Ok::<(), realip::PrefixError>(())
    /// ```
    pub fn rate_limit_network(self, prefixes: RateLimitPrefixes) -> IpNet {
        // `new_assert` panics on a length beyond the family's width: the
        // lengths below are 32 and 128, or were checked by
        // `RateLimitPrefixes::new` (1..=32, 1..=128).
        let v4_network = |v4: Ipv4Addr| IpNet::V4(Ipv4Net::new_assert(v4, prefixes.v4).trunc());
        match self.0 {
            IpAddr::V4(v4) => v4_network(v4),
            IpAddr::V6(v6) => match translated_key(v6) {
                Some(IpAddr::V4(v4)) => v4_network(v4),
                Some(IpAddr::V6(whole)) => IpNet::V6(Ipv6Net::new_assert(whole, 128)),
                None => IpNet::V6(Ipv6Net::new_assert(v6, prefixes.v6).trunc()),
            },
        }
    }
}

/// The prefix lengths by which rate limits group clients
/// ([`ClientIp::rate_limit_network`]): IPv4 `/32` and IPv6 `/64` by
/// default.
///
/// One subscriber usually owns a whole IPv6 `/64` (often a `/56` or a
/// `/48`), so a per-address limit on IPv6 is evaded by changing address;
/// an IPv4 `/24` groups a provider's neighbours, for limits that must
/// hold against a client with many addresses. Lengths are checked here,
/// once: IPv4 `/1` to `/32`, IPv6 `/1` to `/128`. A `/0` would put every
/// client in one bucket, which is a global limit, and is refused so that
/// it is never one by mistake.
///
/// ```
/// use realip::{PrefixError, RateLimitPrefixes};
///
/// let prefixes = RateLimitPrefixes::new(32, 56)?;
/// assert_eq!((prefixes.v4(), prefixes.v6()), (32, 56));
/// assert_eq!(prefixes.to_string(), "IPv4 /32, IPv6 /56");
/// assert_eq!(RateLimitPrefixes::default(), RateLimitPrefixes::DEFAULT);
///
/// assert_eq!(RateLimitPrefixes::new(33, 64), Err(PrefixError::Ipv4 { len: 33 }));
/// assert_eq!(RateLimitPrefixes::new(32, 0), Err(PrefixError::Ipv6 { len: 0 }));
/// # Ok::<(), PrefixError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimitPrefixes {
    v4: u8,
    v6: u8,
}

impl RateLimitPrefixes {
    /// IPv4 `/32` (the address) and IPv6 `/64` (the subscriber's network),
    /// the keys of [`ClientIp::rate_limit_key`].
    ///
    /// ```
    /// use realip::RateLimitPrefixes;
    ///
    /// assert_eq!((RateLimitPrefixes::DEFAULT.v4(), RateLimitPrefixes::DEFAULT.v6()), (32, 64));
    /// ```
    pub const DEFAULT: Self = Self { v4: 32, v6: 64 };

    /// IPv4 networks of `v4` bits (1 to 32) and IPv6 networks of `v6` bits
    /// (1 to 128); any other length is an error.
    ///
    /// ```
    /// use realip::RateLimitPrefixes;
    ///
    /// assert!(RateLimitPrefixes::new(24, 48).is_ok());
    /// let error = RateLimitPrefixes::new(0, 64).unwrap_err();
    /// assert!(error.to_string().contains("every client in one bucket"));
    /// ```
    pub const fn new(v4: u8, v6: u8) -> Result<Self, PrefixError> {
        if v4 == 0 || v4 > 32 {
            return Err(PrefixError::Ipv4 { len: v4 });
        }
        if v6 == 0 || v6 > 128 {
            return Err(PrefixError::Ipv6 { len: v6 });
        }
        Ok(Self { v4, v6 })
    }

    /// The IPv4 prefix length.
    ///
    /// ```
    /// assert_eq!(realip::RateLimitPrefixes::new(24, 64).unwrap().v4(), 24);
    /// ```
    pub const fn v4(self) -> u8 {
        self.v4
    }

    /// The IPv6 prefix length.
    ///
    /// ```
    /// assert_eq!(realip::RateLimitPrefixes::new(32, 48).unwrap().v6(), 48);
    /// ```
    pub const fn v6(self) -> u8 {
        self.v6
    }
}

impl Default for RateLimitPrefixes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for RateLimitPrefixes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IPv4 /{}, IPv6 /{}", self.v4, self.v6)
    }
}

/// A rate-limit prefix length out of range ([`RateLimitPrefixes::new`]).
///
/// ```
/// use realip::{PrefixError, RateLimitPrefixes};
///
/// let error = RateLimitPrefixes::new(32, 129).unwrap_err();
/// assert_eq!(error, PrefixError::Ipv6 { len: 129 });
/// assert_eq!(error.to_string(), "an IPv6 rate-limit prefix is /1 to /128, not /129");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// The IPv4 length is 0 or above 32.
    #[error("an IPv4 rate-limit prefix is /1 to /32, not /{len}{}", zero_advice(*.len))]
    Ipv4 {
        /// The length given.
        len: u8,
    },
    /// The IPv6 length is 0 or above 128.
    #[error("an IPv6 rate-limit prefix is /1 to /128, not /{len}{}", zero_advice(*.len))]
    Ipv6 {
        /// The length given.
        len: u8,
    },
}

/// What a `/0` would mean, said where it is refused.
fn zero_advice(len: u8) -> &'static str {
    if len == 0 {
        " (a /0 puts every client in one bucket: for one limit over all clients, use a \
         global limit, not a per-client key)"
    } else {
        ""
    }
}

/// The rate-limit key of an IPv6 address that a translator or a tunnel
/// built from a client's IPv4 (see [`ClientIp::rate_limit_key`]), or `None`
/// for any other IPv6 address.
///
/// IPv4-mapped `::ffff:a.b.c.d` is not here: a [`ClientIp`] is canonical,
/// so that form is already IPv4.
fn translated_key(v6: Ipv6Addr) -> Option<IpAddr> {
    let bits = u128::from(v6);
    let ipv4 = |b: u128| Some(IpAddr::V4(Ipv4Addr::from(b as u32)));
    match v6.segments() {
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => ipv4(bits),
        // RFC 6052 lets the operator of 64:ff9b:1::/48 choose a prefix of
        // /48, /56, /64 or /96 inside it, and nothing in the address says
        // which. Only a /96 at the start of the /48 leaves bits 48..95
        // zero for a source IPv4 outside 0.0.0.0/8 (which is never a
        // source), so there the last 32 bits are the IPv4. Elsewhere the
        // translator wrote every bit after its prefix from the IPv4 (the
        // suffix is zero), so the whole address is a one-to-one image of
        // the client's IPv4: keying by it never merges two clients, where
        // the /64 would merge all of them.
        [0x64, 0xff9b, 1, 0, 0, 0, _, _] => ipv4(bits),
        [0x64, 0xff9b, 1, ..] => Some(IpAddr::V6(v6)),
        // `::`, `::1` and `::6` (Istio's sidecar) are IPv6 in their own
        // right; an IPv4-compatible address never embeds 0.0.0.0/8.
        [0, 0, 0, 0, 0, 0, high, _] if high >> 8 != 0 => ipv4(bits),
        [0, 0, 0, 0, 0xffff, 0, _, _] => ipv4(bits),
        [0x2001, 0, ..] => ipv4(!bits),
        [0x2002, ..] => ipv4(bits >> 80),
        _ => None,
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
    /// [`Origin::Header`] for a header name given by value, to compare with
    /// a resolution's origin: `None` when no resolver of this process reads
    /// that header (and no resolution can come from it). The name is looked
    /// up among the names resolvers were built with, never added: this
    /// allocates nothing, whatever names it is given.
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
    /// assert_eq!(Some(r.origin()), Origin::header(&"x-forwarded-for".parse().unwrap(), 0).as_ref());
    /// assert_eq!(Origin::header(&"x-nobody-reads-this".parse().unwrap(), 0), None);
    /// ```
    pub fn header(name: &HeaderName, index: usize) -> Option<Origin> {
        crate::header_names::lookup(name).map(|name| Origin::Header { name, index })
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

    /// The connection's peer, with its addresses canonical: an
    /// IPv4-mapped IPv6 address given to the resolver is IPv4 here.
    ///
    /// ```
    /// use realip::{Peer, Resolver};
    ///
    /// let peer = Peer::Ip { ip: "::ffff:203.0.113.9".parse().unwrap(), port: Some(443) };
    /// let r = Resolver::default().resolve(peer, &http::HeaderMap::new()).unwrap();
    /// assert_eq!(r.peer().to_string(), "203.0.113.9:443");
    /// ```
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// How many proxies between the client and the application were trusted
    /// (the peer included): 0 when the peer itself is the client.
    pub fn trusted_proxies(&self) -> usize {
        self.trusted_proxies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(s: &str) -> Option<IpAddr> {
        translated_key(s.parse().unwrap())
    }

    #[test]
    fn translated_key_finds_the_ipv4_only_in_translated_forms() {
        let table = [
            ("64:ff9b::c000:201", Some("192.0.2.1")),
            ("64:ff9b:1::c000:201", Some("192.0.2.1")),
            ("64:ff9b:1:c000:2:100::", Some("64:ff9b:1:c000:2:100::")),
            ("::1.0.0.0", Some("1.0.0.0")),
            ("::0.255.255.255", None),
            ("::ffff:0:c000:201", Some("192.0.2.1")),
            ("2001:0:4136:e378:8000:63bf:3fff:fdfe", Some("192.0.2.1")),
            ("2002:c000:201::", Some("192.0.2.1")),
            ("2001:db8::1", None),
            ("64:ff9b::1:c000:201", None),
            ("::ffff:1:c000:201", None),
        ];
        for (addr, want) in table {
            let want = want.map(|w| w.parse::<IpAddr>().unwrap());
            assert_eq!(translated(addr), want, "{addr}");
        }
    }
}
