//! A decoded PROXY protocol header: what the sender says about the
//! connection it relays.

use std::fmt;
use std::net::SocketAddr;

use super::tlv::Tlvs;

/// The protocol version a header was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// Version 1: one line of text.
    V1,
    /// Version 2: binary, with optional TLVs.
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addresses<'a> {
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
/// Made by [`decode`](super::decode). Every header it returns is valid in
/// full: TLVs are well formed, a CRC32C TLV matches, an SSL TLV's
/// sub-TLVs are well formed.
///
/// ```
/// use realip::proxy_protocol::{Command, Version, decode};
///
/// let header = decode(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n")?;
/// assert_eq!(header.version(), Version::V1);
/// assert_eq!(header.command(), Command::Proxy);
/// assert_eq!(header.source(), Some("192.0.2.1:56324".parse()?));
/// assert_eq!(header.encoded_len(), 45); // what follows is application data
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProxyHeader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) version: Version,
    pub(super) command: Command,
    pub(super) transport: Transport,
    pub(super) addresses: Addresses<'a>,
    pub(super) tlvs: Tlvs<'a>,
}

impl<'a> ProxyHeader<'a> {
    /// The version the header was written in.
    pub fn version(&self) -> Version {
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

    /// The relayed connection's endpoints.
    pub fn addresses(&self) -> Addresses<'a> {
        self.addresses
    }

    /// The client's address and port: the source of a `PROXY` header with
    /// IP endpoints. `None` for `LOCAL`, `UNKNOWN`, `AF_UNSPEC` and Unix
    /// sockets, which all mean "use the real connection endpoints".
    pub fn source(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The address the client connected to, when the header names one.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.addresses {
            Addresses::Inet { destination, .. } => Some(destination),
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
