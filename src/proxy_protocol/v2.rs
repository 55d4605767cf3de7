//! Version 2: a 16-byte fixed part, an address block, then TLVs.

use std::net::{IpAddr, SocketAddr};

use super::error::{DecodeError, InvalidHeader};
use super::header::{Addresses, Command, ProxyHeader, Transport};
use super::tlv::{self, Tlvs};

/// `\r\n\r\n\0\r\nQUIT\n`: it contains a NUL, so it is never a C string.
const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part: signature, version and command, family and transport,
/// length.
const FIXED_LEN: usize = 16;

const INET_LEN: usize = 12;
const INET6_LEN: usize = 36;
const UNIX_LEN: usize = 216;
const UNIX_PATH_LEN: usize = 108;

#[inline]
pub(super) fn decode(input: &[u8]) -> Result<ProxyHeader<'_>, DecodeError> {
    // The usual case, a whole fixed part, compares fixed-size arrays.
    let Some(&[signature @ .., version_command, family, hi, lo]) = input.first_chunk::<FIXED_LEN>()
    else {
        return Err(partial(input));
    };
    if signature != SIGNATURE {
        return Err(InvalidHeader::Signature.into());
    }
    let command = command(version_command)?;
    let len = u16::from_be_bytes([hi, lo]);
    let total = FIXED_LEN + usize::from(len);

    if command == Command::Local {
        // "The receiver must accept this connection as valid and must use
        // the real connection endpoints and discard the protocol block
        // including the family which is ignored."
        let bytes = input
            .get(..total)
            .ok_or_else(|| DecodeError::Incomplete(total - input.len()))?;
        return Ok(ProxyHeader {
            bytes,
            version: 2,
            command,
            transport: Transport::Unspecified,
            addresses: Addresses::Unspecified,
            tlvs: Tlvs::default(),
        });
    }

    let address_len = match family >> 4 {
        0x0 => 0,
        0x1 => INET_LEN,
        0x2 => INET6_LEN,
        0x3 => UNIX_LEN,
        f => return Err(InvalidHeader::Family(f).into()),
    };
    let transport = match family & 0x0f {
        0x0 => Transport::Unspecified,
        0x1 => Transport::Stream,
        0x2 => Transport::Datagram,
        t => return Err(InvalidHeader::Transport(t).into()),
    };
    if usize::from(len) < address_len {
        return Err(InvalidHeader::AddressBlock {
            len,
            // At most 216: the cast cannot truncate.
            needed: address_len as u16,
        }
        .into());
    }
    let bytes = input
        .get(..total)
        .ok_or_else(|| DecodeError::Incomplete(total - input.len()))?;
    let block = &bytes[FIXED_LEN..FIXED_LEN + address_len];
    let addresses = match address_len {
        INET_LEN => inet::<4>(block),
        INET6_LEN => inet::<16>(block),
        UNIX_LEN => Addresses::Unix {
            source: trim_nul(&block[..UNIX_PATH_LEN]),
            destination: trim_nul(&block[UNIX_PATH_LEN..]),
        },
        _ => Addresses::Unspecified,
    };
    let tlvs = if bytes.len() == FIXED_LEN + address_len {
        Tlvs::default()
    } else {
        tlv::validate(bytes, FIXED_LEN + address_len)?
    };
    Ok(ProxyHeader {
        bytes,
        version: 2,
        command,
        transport,
        addresses,
        tlvs,
    })
}

/// Fewer than 16 bytes: invalid as soon as a byte is wrong, so a reader
/// stops reading junk; incomplete otherwise.
fn partial(input: &[u8]) -> DecodeError {
    let n = input.len().min(SIGNATURE.len());
    if input[..n] != SIGNATURE[..n] {
        return InvalidHeader::Signature.into();
    }
    match input.get(12).map(|&b| command(b)) {
        Some(Err(invalid)) => invalid.into(),
        _ => DecodeError::Incomplete(FIXED_LEN - input.len()),
    }
}

fn command(version_command: u8) -> Result<Command, InvalidHeader> {
    match (version_command >> 4, version_command & 0x0f) {
        (2, 0x0) => Ok(Command::Local),
        (2, 0x1) => Ok(Command::Proxy),
        (2, c) => Err(InvalidHeader::Command(c)),
        (v, _) => Err(InvalidHeader::Version(v)),
    }
}

/// An IPv4 (`N = 4`) or IPv6 (`N = 16`) block: source, destination, source
/// port, destination port.
fn inet<const N: usize>(block: &[u8]) -> Addresses<'static>
where
    [u8; N]: Into<IpAddr>,
{
    let parts = block
        .split_first_chunk::<N>()
        .and_then(|(src, rest)| Some((src, rest.split_first_chunk::<N>()?)))
        .and_then(|(src, (dst, rest))| Some((src, dst, rest.first_chunk::<4>()?)));
    let Some((src, dst, &[sp0, sp1, dp0, dp1])) = parts else {
        unreachable!("the block length is checked against the family")
    };
    Addresses::Inet {
        source: SocketAddr::new((*src).into(), u16::from_be_bytes([sp0, sp1])),
        destination: SocketAddr::new((*dst).into(), u16::from_be_bytes([dp0, dp1])),
    }
}

/// A NUL-padded path without its padding.
fn trim_nul(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &path[..end]
}
