//! The decoder: bytes at the start of a connection to a [`ProxyHeader`], or
//! word that more bytes are needed, or why the connection must be dropped.

use super::error::{DecodeError, InvalidHeader};
use super::header::ProxyHeader;
use super::{v1, v2};

/// Decodes the PROXY protocol header at the start of `input`.
///
/// The version is told by the first bytes: the v2 signature or `PROXY `;
/// anything else is [`InvalidHeader::Signature`] as soon as one byte
/// differs. Exactly one header is decoded: bytes after
/// [`encoded_len`](ProxyHeader::encoded_len) are application data, even
/// when they form another header (AWS NLB, for one, forwards a header a
/// client sent after its own).
///
/// Partial input is [`DecodeError::Incomplete`] — never invalid when it
/// is the start of a valid header — so a reader can decode after each read
/// until the result is a header or [`DecodeError::Invalid`].
///
/// ```
/// use realip::proxy_protocol::{DecodeError, InvalidHeader, decode};
///
/// let line = b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 443\r\n";
/// assert_eq!(decode(line)?.source(), Some("[2001:db8::1]:4711".parse()?));
/// assert!(matches!(decode(&line[..20]), Err(DecodeError::Incomplete(_))));
/// assert_eq!(decode(b"GET / HTTP/1.1\r\n"), Err(DecodeError::Invalid(InvalidHeader::Signature)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode(input: &[u8]) -> Result<ProxyHeader<'_>, DecodeError> {
    match input.first() {
        None => Err(DecodeError::Incomplete(v1::MIN_LEN)),
        Some(b'\r') => v2::decode(input),
        Some(b'P') => v1::decode(input),
        Some(_) => Err(InvalidHeader::Signature.into()),
    }
}
