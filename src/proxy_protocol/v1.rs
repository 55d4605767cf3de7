//! Version 1: one line of text, parsed as strictly as the specification
//! writes it.
//!
//! `PROXY TCP4|TCP6 src dst sport dport\r\n` with single spaces, IPv4
//! without leading zeros, ports without leading zeros or signs, or
//! `PROXY UNKNOWN` followed by anything up to the CRLF. The line ends with
//! CRLF within 107 bytes; a lone CR or LF is invalid.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::{DecodeError, InvalidHeader};
use super::header::{Addresses, Command, ProxyHeader, Transport};
use super::tlv::Tlvs;

/// The longest line, CRLF included (`PROXY UNKNOWN` with two full IPv6
/// addresses and ports).
const MAX_LEN: usize = 107;
/// The shortest line: `PROXY UNKNOWN\r\n`.
pub(super) const MIN_LEN: usize = 15;

const PREFIX: &[u8] = b"PROXY ";

pub(super) fn decode(input: &[u8]) -> Result<ProxyHeader<'_>, DecodeError> {
    let signature = &input[..input.len().min(PREFIX.len())];
    if !PREFIX.starts_with(signature) {
        return Err(InvalidHeader::Signature.into());
    }
    let window = &input[..input.len().min(MAX_LEN)];
    let Some(end) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return if input.len() >= MAX_LEN {
            Err(InvalidHeader::LineTooLong.into())
        } else {
            Err(DecodeError::Incomplete(
                MIN_LEN.saturating_sub(input.len()).max(1),
            ))
        };
    };
    if window[end] == b'\n' {
        return Err(InvalidHeader::LineEnding.into());
    }
    if end + 2 > MAX_LEN {
        return Err(InvalidHeader::LineTooLong.into());
    }
    match input.get(end + 1) {
        None => return Err(DecodeError::Incomplete(1)),
        Some(b'\n') => {}
        Some(_) => return Err(InvalidHeader::LineEnding.into()),
    }
    let bytes = &input[..end + 2];
    // A CR or LF before "PROXY " is complete is neither a prefix nor a line.
    let line = input[..end]
        .strip_prefix(PREFIX)
        .ok_or(InvalidHeader::Signature)?;

    let (family, fields) = match split_field(line) {
        (b"UNKNOWN", _) => {
            // "The receiver must ignore anything presented before the CRLF."
            return Ok(header(
                bytes,
                Transport::Unspecified,
                Addresses::Unspecified,
            ));
        }
        (b"TCP4", Some(fields)) => (Family::V4, fields),
        (b"TCP6", Some(fields)) => (Family::V6, fields),
        (b"TCP4" | b"TCP6", None) => return Err(InvalidHeader::Fields.into()),
        _ => return Err(InvalidHeader::Protocol.into()),
    };
    let mut fields = fields.split(|&b| b == b' ');
    let mut next = || match fields.next() {
        Some(field) if !field.is_empty() => Ok(field),
        _ => Err(InvalidHeader::Fields),
    };
    let (src, dst, sport, dport) = (next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return Err(InvalidHeader::Fields.into());
    }
    let source = SocketAddr::new(family.parse(src)?, port(sport)?);
    let destination = SocketAddr::new(family.parse(dst)?, port(dport)?);
    Ok(header(
        bytes,
        Transport::Stream,
        Addresses::Inet {
            source,
            destination,
        },
    ))
}

fn header<'a>(bytes: &'a [u8], transport: Transport, addresses: Addresses<'a>) -> ProxyHeader<'a> {
    ProxyHeader {
        bytes,
        version: 1,
        command: Command::Proxy,
        transport,
        addresses,
        tlvs: Tlvs::default(),
    }
}

/// The first field and, after one space, the rest.
fn split_field(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}

#[derive(Clone, Copy)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// std's parsers are strict where the specification is: IPv4 rejects
    /// leading zeros and short forms, IPv6 rejects brackets and zones.
    fn parse(self, field: &[u8]) -> Result<IpAddr, InvalidHeader> {
        let text = std::str::from_utf8(field).map_err(|_| InvalidHeader::Address)?;
        match self {
            Family::V4 => text.parse::<Ipv4Addr>().map(IpAddr::V4),
            Family::V6 => text.parse::<Ipv6Addr>().map(IpAddr::V6),
        }
        .map_err(|_| InvalidHeader::Address)
    }
}

/// A decimal port: digits only, no leading zero (except `0` itself).
fn port(field: &[u8]) -> Result<u16, InvalidHeader> {
    if field.len() > 5 || (field.len() > 1 && field[0] == b'0') {
        return Err(InvalidHeader::Port);
    }
    let mut value: u32 = 0;
    for &b in field {
        if !b.is_ascii_digit() {
            return Err(InvalidHeader::Port);
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u16::try_from(value).map_err(|_| InvalidHeader::Port)
}
