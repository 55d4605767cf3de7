//! The peer: what the application's own socket says about who connected.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

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

/// Text that is not a peer: not an IP address, a socket address, `unix` or
/// `unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected an IP address, a socket address such as 192.0.2.1:443 or [2001:db8::1]:443, `unix` or `unknown` (no zone ids)"
)]
pub struct PeerParseError;

impl FromStr for Peer {
    type Err = PeerParseError;

    /// Parses `unix`, `unknown`, an IP address, or a socket address
    /// (`192.0.2.1:443`, `[2001:db8::1]:443`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unix" => return Ok(Peer::Unix),
            "unknown" => return Ok(Peer::Unknown),
            _ => {}
        }
        if s.contains('%') {
            return Err(PeerParseError);
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Peer::from(addr));
        }
        s.parse::<IpAddr>()
            .map(Peer::from)
            .map_err(|_| PeerParseError)
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
        for bad in ["", "host", "[fe80::1%2]:80", "1.2.3.4:99999"] {
            assert!(bad.parse::<Peer>().is_err(), "{bad}");
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
