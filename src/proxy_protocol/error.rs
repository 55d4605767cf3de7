//! Why a PROXY protocol header was not decoded: more bytes are needed, or
//! the header is invalid and the connection must be dropped.
//!
//! The bottom of the module: the decoders of both versions and the TLV
//! validator return these errors, so they import them from here and this
//! file imports nothing from its siblings.

/// Why [`decode`](super::decode()) returned no header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DecodeError {
    /// The bytes so far are the start of a valid header: read at least this
    /// many more and decode again from the beginning. (For version 2 the
    /// count is exact once the 16-byte fixed part is in; for version 1 it
    /// is a lower bound.)
    #[error("incomplete PROXY protocol header: at least {0} more bytes needed")]
    Incomplete(usize),
    /// Not a valid header: the specification says to drop the connection.
    #[error("invalid PROXY protocol header: {0}")]
    Invalid(#[from] InvalidHeader),
}

/// What is wrong with an invalid header. Messages never echo the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidHeader {
    /// The connection starts with neither `PROXY ` (v1) nor the v2
    /// signature.
    #[error("the connection does not start with a PROXY protocol signature")]
    Signature,
    /// v2: the version nibble is not 2.
    #[error("v2 header with version {0} (only 2 is defined)")]
    Version(u8),
    /// v2: the command nibble is neither `LOCAL` (0) nor `PROXY` (1).
    #[error("v2 header with command {0:#x} (only LOCAL 0x0 and PROXY 0x1 are defined)")]
    Command(u8),
    /// v2: the address family nibble is not `UNSPEC`, `INET`, `INET6` or
    /// `UNIX`.
    #[error("v2 header with address family {0:#x} (0x0 to 0x3 are defined)")]
    Family(u8),
    /// v2: the transport nibble is not `UNSPEC`, `STREAM` or `DGRAM`.
    #[error("v2 header with transport {0:#x} (0x0 to 0x2 are defined)")]
    Transport(u8),
    /// v2: the length is shorter than the address block of the family.
    #[error("v2 header length {len} is shorter than its {needed}-byte address block")]
    AddressBlock {
        /// The header's length field.
        len: u16,
        /// The family's address block length.
        needed: u16,
    },
    /// v2: a TLV runs past the end of the header.
    #[error("v2 header with a TLV that runs past its end")]
    TlvTruncated,
    /// v2: a `CRC32C` TLV whose value is not 4 bytes.
    #[error("v2 header with a CRC32C TLV that is not 4 bytes long")]
    Crc32cLength,
    /// v2: the `CRC32C` TLV does not match the header.
    #[error("v2 header whose CRC32C checksum does not match")]
    Crc32cMismatch,
    /// v2: more than one `CRC32C` TLV.
    #[error("v2 header with more than one CRC32C TLV")]
    Crc32cDuplicate,
    /// v2: a `UNIQUE_ID` TLV longer than 128 bytes.
    #[error("v2 header with a UNIQUE_ID TLV longer than 128 bytes")]
    UniqueIdTooLong,
    /// v2: an `SSL` TLV shorter than its 5-byte fixed part.
    #[error("v2 header with an SSL TLV shorter than 5 bytes")]
    SslTooShort,
    /// v1: no CRLF within the first 107 bytes.
    #[error("v1 header without CRLF within 107 bytes")]
    LineTooLong,
    /// v1: the line ends with a lone CR or LF.
    #[error("v1 header line not ended by CRLF")]
    LineEnding,
    /// v1: the protocol is not `TCP4`, `TCP6` or `UNKNOWN`.
    #[error("v1 header with a protocol other than TCP4, TCP6 or UNKNOWN")]
    Protocol,
    /// v1: not exactly four fields after `TCP4`/`TCP6`, separated by
    /// single spaces.
    #[error("v1 header without exactly four fields after the protocol, one space apart")]
    Fields,
    /// v1: an address that is not in its protocol's family, or not in the
    /// strict form (no leading zeros in IPv4, no brackets or zone in IPv6).
    #[error("v1 header with an address that is not a plain address of its protocol's family")]
    Address,
    /// v1: a port that is not a decimal number from 0 to 65535 without
    /// leading zeros or sign.
    #[error("v1 header with a port that is not a decimal 0-65535 without leading zeros")]
    Port,
}
