//! A decoded PROXY protocol header: what the sender says about the
//! connection it relays.

use std::fmt;
use std::net::SocketAddr;

use super::tlv::Tlvs;

/// What the sender asks of the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// The connection was made by the sender itself (a health check): use
    /// the real connection endpoints. Only version 2 has it.
    Local,
    /// The connection is relayed on behalf of the client the header names.
    /// Every version 1 header is a `PROXY` line.
    Proxy,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Local => "LOCAL",
            Command::Proxy => "PROXY",
        })
    }
}

/// The transport of the relayed connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Not given (v2 `UNSPEC`, v1 `UNKNOWN`, and every `LOCAL` header).
    Unspecified,
    /// A stream (TCP, or a stream Unix socket).
    Stream,
    /// Datagrams (UDP, or a datagram Unix socket).
    Datagram,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Unspecified => "unspecified",
            Transport::Stream => "stream",
            Transport::Datagram => "datagram",
        })
    }
}

/// The endpoints of the relayed connection, as the header gives them.
///
/// Private: users read them through [`ProxyHeader::source`],
/// [`destination`](ProxyHeader::destination) and
/// [`unix_paths`](ProxyHeader::unix_paths), so there is no enum to name or
/// match on; the decoders build it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Addresses<'a> {
    /// No addresses: v1 `UNKNOWN`, v2 `AF_UNSPEC`, or a `LOCAL` header
    /// (whose address block is ignored, as the specification requires).
    /// The receiver uses the real connection endpoints.
    Unspecified,
    /// IPv4 or IPv6 endpoints with their ports.
    Inet {
        /// Where the client connected from.
        source: SocketAddr,
        /// Where the client connected to.
        destination: SocketAddr,
    },
    /// Unix-socket paths (v2 `AF_UNIX`), without their NUL padding.
    Unix {
        /// The source path.
        source: &'a [u8],
        /// The destination path.
        destination: &'a [u8],
    },
}

/// A decoded PROXY protocol header, borrowing the bytes it was decoded
/// from.
///
/// Made by [`decode`](super::decode()). Every header it returns is valid in
/// full: TLVs are well formed, a CRC32C TLV matches, an SSL TLV's
/// sub-TLVs are well formed.
///
/// ```
/// use realip::proxy_protocol::{Command, decode};
///
/// let header = decode(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n")?;
/// assert_eq!(header.version(), 1);
/// assert_eq!(header.command(), Command::Proxy);
/// assert_eq!(header.source(), Some("192.0.2.1:56324".parse()?));
/// assert_eq!(header.encoded_len(), 45); // what follows is application data
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProxyHeader<'a> {
    pub(super) bytes: &'a [u8],
    /// 1 or 2.
    pub(super) version: u8,
    pub(super) command: Command,
    pub(super) transport: Transport,
    pub(super) addresses: Addresses<'a>,
    pub(super) tlvs: Tlvs<'a>,
}

impl<'a> ProxyHeader<'a> {
    /// The protocol version the header was written in: 1 (a line of text)
    /// or 2 (binary, with optional TLVs), the specification's own numbers.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// `LOCAL` or `PROXY`.
    pub fn command(&self) -> Command {
        self.command
    }

    /// The relayed connection's transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The client's address and port: the source of a `PROXY` header with
    /// IP endpoints. `None` for `LOCAL`, `UNKNOWN`, `AF_UNSPEC` and Unix
    /// sockets (see [`unix_paths`](Self::unix_paths)), which all mean "use
    /// the real connection endpoints".
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The address the client connected to, when the header names IP
    /// endpoints (exactly when [`source`](Self::source) is `Some`).
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { destination, .. } => Some(destination),
            _ => None,
        }
    }

    /// The source and destination paths of a v2 `PROXY` header with Unix
    /// socket endpoints (`AF_UNIX`), without their NUL padding; `None` for
    /// every other header. They name no IP client: such a header has no
    /// [`source`](Self::source).
    ///
    /// ```
    /// use realip::proxy_protocol::decode;
    ///
    /// // v2 PROXY UNIX stream: two 108-byte NUL-padded paths.
    /// let mut bytes = b"\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8".to_vec();
    /// for path in [&b"/run/src.sock"[..], b"/run/dst.sock"] {
    ///     bytes.extend(path);
    ///     bytes.resize(bytes.len() + 108 - path.len(), 0);
    /// }
    /// let header = decode(&bytes)?;
    /// assert_eq!(header.unix_paths(), Some((&b"/run/src.sock"[..], &b"/run/dst.sock"[..])));
    /// assert_eq!(header.source(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix_paths(&self) -> Option<(&'a [u8], &'a [u8])> {
        match self.addresses {
            Addresses::Unix {
                source,
                destination,
            } => Some((source, destination)),
            _ => None,
        }
    }

    /// The TLVs (version 2; always empty for version 1 and `LOCAL`).
    pub fn tlvs(&self) -> Tlvs<'a> {
        self.tlvs
    }

    /// The header's bytes, exactly as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// How many bytes the header takes. Everything after them is
    /// application data, even when it is another PROXY header.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
}
