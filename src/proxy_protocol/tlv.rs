//! Version 2 TLVs (type, length, value): what a sender adds beyond the
//! addresses — ALPN, SNI, TLS details, cloud endpoint ids.
//!
//! The decoder validates the TLV area before it returns a header, so the
//! accessors here never meet a malformed TLV; they return `None` when a TLV
//! is absent, or when a vendor TLV's value does not have its documented
//! form.

use std::fmt;
use std::iter::FusedIterator;

use super::crc32c::Crc32c;
use super::error::InvalidHeader;

/// The longest `UNIQUE_ID` value the specification allows.
pub const MAX_UNIQUE_ID_LEN: usize = 128;

/// One TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tlv<'a> {
    /// The type (`PP2_TYPE_*`); see the associated constants.
    pub kind: u8,
    /// The value.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// `PP2_TYPE_ALPN`: the application protocol, e.g. `h2`.
    pub const ALPN: u8 = 0x01;
    /// `PP2_TYPE_AUTHORITY`: the host name the client asked for (the SNI
    /// under TLS).
    pub const AUTHORITY: u8 = 0x02;
    /// `PP2_TYPE_CRC32C`: a checksum of the header, verified on decoding.
    pub const CRC32C: u8 = 0x03;
    /// `PP2_TYPE_NOOP`: padding.
    pub const NOOP: u8 = 0x04;
    /// `PP2_TYPE_UNIQUE_ID`: an opaque connection id of at most 128 bytes.
    pub const UNIQUE_ID: u8 = 0x05;
    /// `PP2_TYPE_SSL`: TLS details, see [`Ssl`].
    pub const SSL: u8 = 0x20;
    /// `PP2_SUBTYPE_SSL_VERSION` (inside [`SSL`](Self::SSL)).
    pub const SSL_VERSION: u8 = 0x21;
    /// `PP2_SUBTYPE_SSL_CN` (inside [`SSL`](Self::SSL)).
    pub const SSL_CN: u8 = 0x22;
    /// `PP2_SUBTYPE_SSL_CIPHER` (inside [`SSL`](Self::SSL)).
    pub const SSL_CIPHER: u8 = 0x23;
    /// `PP2_SUBTYPE_SSL_SIG_ALG` (inside [`SSL`](Self::SSL)).
    pub const SSL_SIG_ALG: u8 = 0x24;
    /// `PP2_SUBTYPE_SSL_KEY_ALG` (inside [`SSL`](Self::SSL)).
    pub const SSL_KEY_ALG: u8 = 0x25;
    /// `PP2_SUBTYPE_SSL_GROUP` (inside [`SSL`](Self::SSL)).
    pub const SSL_GROUP: u8 = 0x26;
    /// `PP2_SUBTYPE_SSL_SIG_SCHEME` (inside [`SSL`](Self::SSL)).
    pub const SSL_SIG_SCHEME: u8 = 0x27;
    /// `PP2_SUBTYPE_SSL_CLIENT_CERT` (inside [`SSL`](Self::SSL)): DER.
    pub const SSL_CLIENT_CERT: u8 = 0x28;
    /// `PP2_TYPE_NETNS`: the network namespace name.
    pub const NETNS: u8 = 0x30;
    /// `PP2_TYPE_AWS`: AWS PrivateLink; subtype `0x01` is the VPC endpoint
    /// id.
    pub const AWS: u8 = 0xEA;
    /// `PP2_TYPE_AZURE`: Azure Private Link; subtype `0x01` is the private
    /// endpoint's link id.
    pub const AZURE: u8 = 0xEE;
}

/// The TLVs of a header: a validated byte area, read on demand.
///
/// ```
/// use realip::proxy_protocol::decode;
///
/// // v2 PROXY TCP4 with ALPN "h2" and AUTHORITY "example.com".
/// let bytes = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x1f\
///     \xc6\x33\x64\x16\x0a\x00\x00\x05\x9c\x40\x01\xbb\
///     \x01\x00\x02h2\x02\x00\x0bexample.com";
/// let tlvs = decode(bytes)?.tlvs();
/// assert_eq!(tlvs.alpn(), Some(&b"h2"[..]));
/// assert_eq!(tlvs.authority(), Some("example.com"));
/// assert_eq!(tlvs.iter().count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tlvs<'a> {
    bytes: &'a [u8],
}

impl<'a> Tlvs<'a> {
    /// An area the decoder has validated.
    pub(super) fn validated(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Every TLV, in order.
    ///
    /// The iterator borrows the header's bytes only, not this `Tlvs`, so it
    /// can be kept after the `Tlvs` that `header.tlvs()` returned is gone.
    pub fn iter(&self) -> impl FusedIterator<Item = Tlv<'a>> + Clone + use<'a> {
        TlvIter { rest: self.bytes }
    }

    /// The value of the first TLV of type `kind`.
    pub fn get(&self, kind: u8) -> Option<&'a [u8]> {
        self.iter().find(|t| t.kind == kind).map(|t| t.value)
    }

    /// Whether there are no TLVs.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The TLV area's bytes, as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// `ALPN`: the application protocol the client negotiated, e.g. `h2`.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        self.get(Tlv::ALPN)
    }

    /// `AUTHORITY`: the host name the client asked for (the SNI under
    /// TLS); `None` when absent or not UTF-8.
    pub fn authority(&self) -> Option<&'a str> {
        self.get(Tlv::AUTHORITY)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// `CRC32C`: the header's checksum, already verified.
    pub fn crc32c(&self) -> Option<u32> {
        self.get(Tlv::CRC32C).and_then(be_u32)
    }

    /// `UNIQUE_ID`: the sender's id for the connection (at most 128 bytes).
    pub fn unique_id(&self) -> Option<&'a [u8]> {
        self.get(Tlv::UNIQUE_ID)
    }

    /// `SSL`: whether and how the client used TLS with the sender.
    pub fn ssl(&self) -> Option<Ssl<'a>> {
        self.get(Tlv::SSL).map(Ssl::validated)
    }

    /// `NETNS`: the network namespace the sender accepted the connection
    /// in; `None` when absent or not UTF-8.
    pub fn netns(&self) -> Option<&'a str> {
        self.get(Tlv::NETNS)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// AWS PrivateLink (`0xEA`, subtype `0x01`): the VPC endpoint id, such
    /// as `vpce-08d2bf15fac5001c9`. `None` when absent, or when the value
    /// is not ASCII letters, digits and `-`.
    pub fn aws_vpce_id(&self) -> Option<&'a str> {
        self.iter()
            .filter(|t| t.kind == Tlv::AWS)
            .find_map(|t| match t.value {
                [0x01, id @ ..] if id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') => {
                    std::str::from_utf8(id).ok()
                }
                _ => None,
            })
    }

    /// Azure Private Link (`0xEE`, subtype `0x01`): the private endpoint's
    /// link id (sent little-endian). `None` when absent or malformed.
    pub fn azure_link_id(&self) -> Option<u32> {
        self.iter()
            .filter(|t| t.kind == Tlv::AZURE)
            .find_map(|t| match *t.value {
                [0x01, a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
                _ => None,
            })
    }
}

impl fmt::Debug for Tlvs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The TLVs of a [`Tlvs`] area, in order. Private: callers see it only as
/// `impl FusedIterator`, so it can change without breaking them.
#[derive(Clone)]
struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        // The area was validated, so a TLV that does not fit cannot occur;
        // stopping there keeps this total anyway.
        let (tlv, rest) = split_tlv(self.rest).ok()??;
        self.rest = rest;
        Some(tlv)
    }
}

impl FusedIterator for TlvIter<'_> {}

/// The `PP2_TYPE_SSL` TLV: how the client connected to the sender.
///
/// ```
/// use realip::proxy_protocol::decode;
///
/// // v2 PROXY TCP4 with SSL (client=SSL, verify=0, VERSION "TLSv1.3") and an empty NOOP.
/// let bytes = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x21\
///     \xcb\x00\x71\x09\x0a\x01\x02\x03\x82\x35\x01\xbb\
///     \x20\x00\x0f\x01\x00\x00\x00\x00\x21\x00\x07TLSv1.3\x04\x00\x00";
/// let ssl = decode(bytes)?.tlvs().ssl().unwrap();
/// assert!(ssl.client_ssl());
/// assert_eq!(ssl.verify(), 0);
/// assert_eq!(ssl.version(), Some("TLSv1.3"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ssl<'a> {
    client: u8,
    verify: u32,
    sub: Tlvs<'a>,
}

impl<'a> Ssl<'a> {
    /// `PP2_CLIENT_SSL`: the client connected over TLS.
    pub const CLIENT_SSL: u8 = 0x01;
    /// `PP2_CLIENT_CERT_CONN`: the client sent a certificate on this
    /// connection.
    pub const CLIENT_CERT_CONN: u8 = 0x02;
    /// `PP2_CLIENT_CERT_SESS`: the client sent a certificate at least once
    /// in this TLS session.
    pub const CLIENT_CERT_SESS: u8 = 0x04;

    /// A value of at least 5 bytes whose sub-TLVs were validated.
    fn validated(value: &'a [u8]) -> Self {
        let (head, sub) = value.split_at(5);
        Self {
            client: head[0],
            verify: u32::from_be_bytes([head[1], head[2], head[3], head[4]]),
            sub: Tlvs::validated(sub),
        }
    }

    /// The `client` bit field (`CLIENT_*` constants).
    pub fn client(&self) -> u8 {
        self.client
    }

    /// Whether the client connected over TLS.
    pub fn client_ssl(&self) -> bool {
        self.client & Self::CLIENT_SSL != 0
    }

    /// The `verify` field: `0` when the client presented a certificate
    /// and it was verified successfully.
    pub fn verify(&self) -> u32 {
        self.verify
    }

    /// `VERSION`: the TLS version, e.g. `TLSv1.3`.
    pub fn version(&self) -> Option<&'a str> {
        self.text(Tlv::SSL_VERSION)
    }

    /// `CN`: the client certificate's subject common name.
    pub fn common_name(&self) -> Option<&'a str> {
        self.text(Tlv::SSL_CN)
    }

    /// `CIPHER`: the cipher suite, e.g. `ECDHE-RSA-AES128-GCM-SHA256`.
    pub fn cipher(&self) -> Option<&'a str> {
        self.text(Tlv::SSL_CIPHER)
    }

    /// `SIG_ALG`: the algorithm that signed the client certificate.
    pub fn sig_alg(&self) -> Option<&'a str> {
        self.text(Tlv::SSL_SIG_ALG)
    }

    /// `KEY_ALG`: the client certificate's key algorithm.
    pub fn key_alg(&self) -> Option<&'a str> {
        self.text(Tlv::SSL_KEY_ALG)
    }

    /// `CLIENT_CERT`: the client certificate, DER-encoded.
    pub fn client_cert(&self) -> Option<&'a [u8]> {
        self.sub.get(Tlv::SSL_CLIENT_CERT)
    }

    /// Every sub-TLV (`VERSION`, `CN`, …, `GROUP`, `SIG_SCHEME`).
    pub fn sub_tlvs(&self) -> Tlvs<'a> {
        self.sub
    }

    fn text(&self, kind: u8) -> Option<&'a str> {
        self.sub.get(kind).and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// Splits the first TLV off `bytes`: `Ok(None)` at the end, `Err` when a
/// TLV does not fit.
fn split_tlv(bytes: &[u8]) -> Result<Option<(Tlv<'_>, &[u8])>, InvalidHeader> {
    match bytes {
        [] => Ok(None),
        [kind, hi, lo, rest @ ..] => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            if rest.len() < len {
                return Err(InvalidHeader::TlvTruncated);
            }
            let (value, rest) = rest.split_at(len);
            Ok(Some((Tlv { kind: *kind, value }, rest)))
        }
        _ => Err(InvalidHeader::TlvTruncated),
    }
}

fn be_u32(value: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(value).ok().map(u32::from_be_bytes)
}

/// Validates the TLV area `header[start..]` of a complete v2 `header`.
pub(super) fn validate(header: &[u8], start: usize) -> Result<Tlvs<'_>, InvalidHeader> {
    let area = &header[start..];
    let mut rest = area;
    let mut crc_seen = false;
    while let Some((tlv, next)) = split_tlv(rest)? {
        // Where this TLV's value starts in the header.
        let value_at = header.len() - next.len() - tlv.value.len();
        match tlv.kind {
            Tlv::CRC32C => {
                if crc_seen {
                    return Err(InvalidHeader::Crc32cDuplicate);
                }
                crc_seen = true;
                let expected = be_u32(tlv.value).ok_or(InvalidHeader::Crc32cLength)?;
                let mut crc = Crc32c::new();
                crc.update(&header[..value_at]);
                crc.update(&[0; 4]);
                crc.update(&header[value_at + 4..]);
                if crc.finish() != expected {
                    return Err(InvalidHeader::Crc32cMismatch);
                }
            }
            Tlv::UNIQUE_ID if tlv.value.len() > MAX_UNIQUE_ID_LEN => {
                return Err(InvalidHeader::UniqueIdTooLong);
            }
            Tlv::SSL => {
                let sub = tlv.value.get(5..).ok_or(InvalidHeader::SslTooShort)?;
                let mut sub_rest = sub;
                while let Some((_, next)) = split_tlv(sub_rest)? {
                    sub_rest = next;
                }
            }
            _ => {}
        }
        rest = next;
    }
    Ok(Tlvs::validated(area))
}
