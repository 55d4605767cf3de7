//! The peer: what the application's own socket says about who connected.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::addr::HopError;

/// The other end of the connection a request arrived on: the one address
/// nobody can forge.
///
/// Build it from a [`SocketAddr`] (the usual case), an [`IpAddr`], or say
/// that the connection is a Unix socket. A socket's IPv6 scope id is
/// ignored, and an IPv4-mapped address is read as IPv4.
///
/// ```
/// use realip::Peer;
/// use std::net::SocketAddr;
///
/// let addr: SocketAddr = "[::ffff:10.0.0.3]:40000".parse().unwrap();
/// let peer = Peer::from(addr);
/// assert_eq!(peer.ip().unwrap().to_string(), "10.0.0.3");
/// assert_eq!("unix".parse::<Peer>().unwrap(), Peer::Unix);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Peer {
    /// An IP peer, with its port when known.
    Ip {
        /// The peer's address (canonical: IPv4-mapped IPv6 is IPv4).
        ip: IpAddr,
        /// The peer's port, when known.
        port: Option<u16>,
    },
    /// A connection that came through a PROXY-protocol sender (an L4 load
    /// balancer): the address its PROXY header named, accepted because the
    /// sender is configured as trusted for it. Resolution treats it as the
    /// peer (DESIGN rule 12).
    Proxied {
        /// The source address the PROXY header named (canonical).
        ip: IpAddr,
        /// The source port the PROXY header named.
        port: Option<u16>,
        /// The socket peer that sent the PROXY header: the balancer.
        sender: SocketAddr,
    },
    /// A connection from a PROXY-protocol sender (an L4 load balancer)
    /// whose accepted header named no source address: `LOCAL` (the
    /// balancer's own health checks), `UNKNOWN`, `AF_UNSPEC`, or a
    /// Unix-socket source. The answer is the sender's own address, and the
    /// request's forwarding headers are never read, whatever the trusted
    /// set says: a balancer at layer 4 writes no HTTP header, so any such
    /// header was written by the client (DESIGN rule 12).
    ProxiedWithoutSource {
        /// The socket peer that sent the PROXY header: the balancer.
        sender: SocketAddr,
    },
    /// A Unix-domain socket: no IP address.
    Unix,
    /// No information about the peer.
    Unknown,
}

impl Peer {
    /// The peer's IP address, if it has one (for
    /// [`Peer::ProxiedWithoutSource`], the sender's).
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Peer::Ip { ip, .. } | Peer::Proxied { ip, .. } => Some(ip),
            Peer::ProxiedWithoutSource { sender } => Some(sender.ip()),
            Peer::Unix | Peer::Unknown => None,
        }
    }

    /// The peer's port, if known (for [`Peer::ProxiedWithoutSource`], the
    /// sender's).
    pub fn port(&self) -> Option<u16> {
        match *self {
            Peer::Ip { port, .. } | Peer::Proxied { port, .. } => port,
            Peer::ProxiedWithoutSource { sender } => Some(sender.port()),
            Peer::Unix | Peer::Unknown => None,
        }
    }

    /// This peer with its addresses canonical (IPv4-mapped IPv6 as IPv4),
    /// as every comparison and every resolution sees it: the variants'
    /// fields are public, so a peer built by hand may hold a mapped address.
    #[inline]
    pub(crate) fn canonical(self) -> Peer {
        match self {
            Peer::Ip { ip, port } => Peer::Ip {
                ip: ip.to_canonical(),
                port,
            },
            Peer::Proxied { ip, port, sender } => Peer::Proxied {
                ip: ip.to_canonical(),
                port,
                sender,
            },
            Peer::ProxiedWithoutSource { sender } => Peer::ProxiedWithoutSource {
                sender: SocketAddr::new(sender.ip().to_canonical(), sender.port()),
            },
            Peer::Unix | Peer::Unknown => self,
        }
    }
}

impl From<SocketAddr> for Peer {
    #[inline]
    fn from(addr: SocketAddr) -> Self {
        Peer::Ip {
            ip: addr.ip().to_canonical(),
            port: Some(addr.port()),
        }
    }
}

impl From<IpAddr> for Peer {
    #[inline]
    fn from(ip: IpAddr) -> Self {
        Peer::Ip {
            ip: ip.to_canonical(),
            port: None,
        }
    }
}

impl From<Option<SocketAddr>> for Peer {
    #[inline]
    fn from(addr: Option<SocketAddr>) -> Self {
        addr.map_or(Peer::Unknown, Peer::from)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Peer::Ip {
                ip,
                port: Some(port),
            } => SocketAddr::new(ip, port).fmt(f),
            Peer::Ip { ip, port: None } => ip.fmt(f),
            Peer::Proxied { ip, port, sender } => {
                match port {
                    Some(port) => SocketAddr::new(ip, port).fmt(f)?,
                    None => ip.fmt(f)?,
                }
                write!(f, " (PROXY protocol from {sender})")
            }
            Peer::ProxiedWithoutSource { sender } => {
                write!(f, "{sender} (PROXY protocol without a source)")
            }
            Peer::Unix => f.write_str("unix"),
            Peer::Unknown => f.write_str("unknown"),
        }
    }
}

impl FromStr for Peer {
    type Err = HopError;

    /// Parses the text forms of a peer (the peer is the first hop of the
    /// chain, so a text that is none is a [`HopError`]):
    ///
    /// - `unix`: [`Peer::Unix`]; `unknown`: [`Peer::Unknown`];
    /// - an IP address as std reads it (`192.0.2.1`, `2001:db8::1`,
    ///   `::ffff:192.0.2.1`, which is read as IPv4): [`Peer::Ip`] without a
    ///   port;
    /// - a socket address (`192.0.2.1:443`, `[2001:db8::1]:443`):
    ///   [`Peer::Ip`] with its port.
    ///
    /// Anything else is [`HopError::Empty`] (no text),
    /// [`HopError::ZoneId`] (`fe80::1%eth0`, `[fe80::1%2]:80`: a zone means
    /// nothing off the host), [`HopError::InvalidPort`] (an address followed
    /// by a port that is not a number from 0 to 65535) or
    /// [`HopError::InvalidAddress`].
    ///
    /// ```
    /// use realip::{HopError, Peer};
    ///
    /// assert_eq!("unix".parse::<Peer>(), Ok(Peer::Unix));
    /// assert_eq!("192.0.2.1:443".parse::<Peer>().unwrap().port(), Some(443));
    /// assert_eq!("192.0.2.1:99999".parse::<Peer>(), Err(HopError::InvalidPort));
    /// assert_eq!("gateway.internal".parse::<Peer>(), Err(HopError::InvalidAddress));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unix" => return Ok(Peer::Unix),
            "unknown" => return Ok(Peer::Unknown),
            "" => return Err(HopError::Empty),
            _ => {}
        }
        if s.contains('%') {
            return Err(HopError::ZoneId);
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Peer::from(addr));
        }
        s.parse::<IpAddr>()
            .map(Peer::from)
            .map_err(|_| not_a_peer(s))
    }
}

/// Why text std reads neither as an address nor as a socket address is not
/// a peer: an address followed by a colon is a bad port, anything else is
/// not an address.
fn not_a_peer(s: &str) -> HopError {
    let address_then_port = s.rsplit_once(':').is_some_and(|(host, _)| {
        host.parse::<Ipv4Addr>().is_ok()
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok())
    });
    if address_then_port {
        HopError::InvalidPort
    } else {
        HopError::InvalidAddress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let table = [
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1:443", "192.0.2.1:443"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("2001:db8::1", "2001:db8::1"),
            ("::ffff:127.0.0.6", "127.0.0.6"),
            ("unix", "unix"),
            ("unknown", "unknown"),
        ];
        for (input, shown) in table {
            assert_eq!(input.parse::<Peer>().unwrap().to_string(), shown);
        }
        let bad = [
            ("", HopError::Empty),
            ("host", HopError::InvalidAddress),
            ("Unix", HopError::InvalidAddress),
            ("[fe80::1%2]:80", HopError::ZoneId),
            ("fe80::1%eth0", HopError::ZoneId),
            ("1.2.3.4:99999", HopError::InvalidPort),
            ("1.2.3.4:", HopError::InvalidPort),
            ("[2001:db8::1]:x", HopError::InvalidPort),
            ("1.2.3.4.5:80", HopError::InvalidAddress),
            ("[2001:db8::1", HopError::InvalidAddress),
            ("2001:db8::1:99999", HopError::InvalidAddress),
        ];
        for (text, err) in bad {
            assert_eq!(text.parse::<Peer>(), Err(err), "{text:?}");
        }
    }

    #[test]
    fn scope_id_is_ignored() {
        let addr = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            80,
            0,
            7,
        ));
        assert_eq!(Peer::from(addr).ip(), Some("fe80::1".parse().unwrap()));
    }
}
