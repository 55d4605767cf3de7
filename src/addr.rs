//! One hop's text to an address: the address forms of forwarding headers.
//!
//! Every function here is a pure function from borrowed bytes to a typed
//! result. Nothing allocates and nothing is trimmed: callers hand over exactly
//! the bytes of one element (list splitting and whitespace trimming are the
//! job of [`crate::list`] and [`crate::forwarded`]).
//!
//! The rules, pinned by the tests below:
//! - IPv4 is strict dotted-quad decimal. Legacy forms (`010.0.0.1`, `127.1`,
//!   `2130706433`, `0x7f.0.0.1`) are rejected, never reinterpreted, because
//!   other components read them differently (octal, decimal, short forms).
//! - IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4; IPv4-compatible and
//!   NAT64 forms stay IPv6.
//! - Zone ids (`fe80::1%eth0`) are rejected.
//! - `0.0.0.0`, `::` (and their mapped form) are never an address of a hop.
//! - Ports: `ip:port` for IPv4 and `[v6]:port` for IPv6; a bare `v6:port` is
//!   not an address (except in `CloudFront-Viewer-Address`, see
//!   [`parse_ip_port_last_colon`]).
//!
//! The module is internal (public only to fuzz targets), so its examples
//! are unit tests (`tests::doc_examples`); what they show:
//!
//! ```text
//! parse_list_node(b"[2001:db8::1]:4711")  Ok(Node::Ip(HopAddr { ip: 2001:db8::1, port: Some(4711) }))
//! parse_list_node(b"010.0.0.1")           Err(LegacyIpv4): refused, not reinterpreted
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address read from a hop, with its port when the producer wrote one.
///
/// The address is canonical: an IPv4-mapped IPv6 address is already IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HopAddr {
    /// The address, canonical (IPv4-mapped IPv6 is IPv4).
    pub ip: IpAddr,
    /// The port, if the hop carried a numeric one.
    pub port: Option<u16>,
}

/// What one hop names: an address, or one of the RFC 7239 identifiers that
/// carry no address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// An IP address (with an optional port).
    Ip(HopAddr),
    /// `unknown` (any case): a proxy forwarded the request but did not know
    /// who sent it.
    Unknown,
    /// An obfuscated identifier such as `_hidden` (RFC 7239 §6.3).
    Obfuscated,
}

/// Why the text of one hop is not an address.
///
/// The variants never carry the hop's text: error messages must not echo
/// client input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum HopError {
    /// The hop is empty.
    #[error("the hop is empty")]
    Empty,
    /// The hop has bytes no address form contains (whitespace, control
    /// characters, non-ASCII, quotes where none belong).
    #[error("the hop contains characters no address form allows")]
    InvalidCharacters,
    /// The hop is not an IPv4 or IPv6 address in any accepted form.
    #[error("the hop is not an IP address")]
    InvalidAddress,
    /// A legacy IPv4 form (leading zeros, fewer than four parts, an integer,
    /// hexadecimal) that other software reads differently.
    #[error(
        "the hop is a legacy IPv4 form (leading zeros, short or integer form) that is ambiguous"
    )]
    LegacyIpv4,
    /// An IPv6 zone id (`%eth0`), which has no meaning outside the host.
    #[error("the hop carries an IPv6 zone id")]
    ZoneId,
    /// The port is not a number from 0 to 65535 (or is missing after `:`).
    #[error("the hop's port is not a number from 0 to 65535")]
    InvalidPort,
    /// `0.0.0.0`, `::` or a mapped form of them: never a client.
    #[error("the hop is the unspecified address")]
    Unspecified,
}

/// Parses one element of a comma-list header such as `X-Forwarded-For`.
///
/// Accepted: `ip`, `ipv4:port`, `[ipv6]`, `[ipv6]:port`, `unknown` (any
/// case) and obfuscated identifiers (`_x`). The bytes must already be
/// trimmed of surrounding whitespace.
///
/// ```text
/// parse_list_node(b"192.0.2.1:80")  Ok(Node::Ip(..))
/// parse_list_node(b"unknown")       Ok(Node::Unknown)
/// parse_list_node(b"fe80::1%eth0")  Err(HopError::ZoneId)
/// ```
///
/// A bare `2001:db8::1:443` is read as the IPv6 address it spells
/// (`2001:db8::1:443` is one): producers that add ports bracket IPv6.
#[inline]
pub fn parse_list_node(s: &[u8]) -> Result<Node, HopError> {
    // Addresses are the common case: try them before the names.
    if let Some(hop) = fast_hop(s) {
        return Ok(Node::Ip(hop));
    }
    if let Some(node) = name_node(s)? {
        return Ok(node);
    }
    exact_hop_addr(s).map(Node::Ip)
}

/// Parses a bare address with an optional port: `ip`, `ipv4:port`, `[ipv6]`,
/// `[ipv6]:port`.
///
/// ```text
/// parse_hop_addr(b"::ffff:192.0.2.7")  Ok(192.0.2.7, no port): the mapped form normalised
/// parse_hop_addr(b"0.0.0.0")           Err(HopError::Unspecified)
/// ```
///
/// Only fuzz targets and tests read bare addresses this way; the walk reads
/// list elements with [`parse_list_node`].
#[cfg(any(test, fuzzing))]
pub fn parse_hop_addr(s: &[u8]) -> Result<HopAddr, HopError> {
    match fast_hop(s) {
        Some(hop) => Ok(hop),
        None => exact_hop_addr(s),
    }
}

/// [`parse_hop_addr`] without the quick reader: every form, every error named.
fn exact_hop_addr(s: &[u8]) -> Result<HopAddr, HopError> {
    if s.is_empty() {
        return Err(HopError::Empty);
    }
    let hop = if s[0] == b'[' {
        let close = s
            .iter()
            .position(|&b| b == b']')
            .ok_or(HopError::InvalidAddress)?;
        let ip = parse_ipv6(&s[1..close])?;
        let port = match &s[close + 1..] {
            [] => None,
            [b':', digits @ ..] => Some(parse_port(digits)?),
            _ => return Err(HopError::InvalidAddress),
        };
        HopAddr {
            ip: IpAddr::V6(ip),
            port,
        }
    } else if let Some(colon) = single_colon(s) {
        // Exactly one colon: only `ipv4:port` has that shape.
        let ip = parse_ipv4(&s[..colon])?;
        HopAddr {
            ip: IpAddr::V4(ip),
            port: Some(parse_port(&s[colon + 1..])?),
        }
    } else if s.contains(&b':') {
        HopAddr {
            ip: IpAddr::V6(parse_ipv6(s)?),
            port: None,
        }
    } else {
        HopAddr {
            ip: IpAddr::V4(parse_ipv4(s)?),
            port: None,
        }
    };
    finish(hop)
}

/// Parses an `ip:port` value whose IPv6 form is *not* bracketed, splitting at
/// the last colon: the format of `CloudFront-Viewer-Address`
/// (`198.51.100.10:46532`, `2001:db8::1:52384`). The port is required.
///
/// ```text
/// parse_ip_port_last_colon(b"2001:db8::1:52384")  Ok(2001:db8::1, port 52384)
/// ```
pub fn parse_ip_port_last_colon(s: &[u8]) -> Result<HopAddr, HopError> {
    if s.is_empty() {
        return Err(HopError::Empty);
    }
    let colon = s
        .iter()
        .rposition(|&b| b == b':')
        .ok_or(HopError::InvalidPort)?;
    let (host, port) = (&s[..colon], parse_port(&s[colon + 1..])?);
    let ip = if host.contains(&b':') {
        IpAddr::V6(parse_ipv6(host)?)
    } else {
        IpAddr::V4(parse_ipv4(host)?)
    };
    finish(HopAddr {
        ip,
        port: Some(port),
    })
}

/// Parses an RFC 7239 `node` (the value of `for` or `by`, after
/// quoted-string unescaping): `IPv4`, `"[" IPv6 "]"`, `unknown` or an
/// obfuscated identifier, each with an optional `:port` or `:_obfport`.
///
/// ```text
/// parse_forwarded_node(b"[2001:db8::1]:_p1")  Ok(Node::Ip(2001:db8::1, no port))
/// parse_forwarded_node(b"unknown:8080")       Ok(Node::Unknown)
/// parse_forwarded_node(b"2001:db8::1")        Err(InvalidAddress): IPv6 must be bracketed
/// ```
pub fn parse_forwarded_node(s: &[u8]) -> Result<Node, HopError> {
    if let Some(hop) = fast_forwarded_node(s) {
        return Ok(Node::Ip(hop));
    }
    if s.is_empty() {
        return Err(HopError::Empty);
    }
    // Split off the port: after `]` for IPv6, else at the only colon.
    let (name, port) = if s[0] == b'[' {
        let close = s
            .iter()
            .position(|&b| b == b']')
            .ok_or(HopError::InvalidAddress)?;
        match &s[close + 1..] {
            [] => (&s[..=close], None),
            [b':', port @ ..] => (&s[..=close], Some(port)),
            _ => return Err(HopError::InvalidAddress),
        }
    } else {
        match s.iter().position(|&b| b == b':') {
            // Several colons: an unbracketed IPv6 address, which RFC 7239
            // does not allow.
            Some(colon) if s[colon + 1..].contains(&b':') => return Err(HopError::InvalidAddress),
            Some(colon) => (&s[..colon], Some(&s[colon + 1..])),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if p.first() == Some(&b'_') => {
            if !is_obfuscated(p) {
                return Err(HopError::InvalidPort);
            }
            None
        }
        Some(p) => Some(parse_port(p)?),
    };
    if let Some(node) = name_node(name)? {
        return Ok(node);
    }
    let ip = if name.is_empty() {
        // `:80`: a port with no node name.
        return Err(HopError::Empty);
    } else if name[0] == b'[' {
        let inner = &name[1..name.len() - 1];
        IpAddr::V6(parse_ipv6(inner)?)
    } else if name.contains(&b':') {
        return Err(HopError::InvalidAddress);
    } else {
        IpAddr::V4(parse_ipv4(name)?)
    };
    finish(HopAddr { ip, port }).map(Node::Ip)
}

/// The canonical form of an address: IPv4-mapped IPv6 becomes IPv4, every
/// other address is returned as it is.
///
/// ```text
/// canonical(::ffff:10.1.2.3)  10.1.2.3
/// canonical(::10.1.2.3)       ::10.1.2.3: IPv4-compatible stays IPv6
/// ```
#[inline]
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// `unknown` and obfuscated identifiers; `Ok(None)` when `s` is neither.
fn name_node(s: &[u8]) -> Result<Option<Node>, HopError> {
    match s.first() {
        Some(b'_') if is_obfuscated(s) => Ok(Some(Node::Obfuscated)),
        Some(b'_') => Err(HopError::InvalidCharacters),
        Some(b'u' | b'U') if s.eq_ignore_ascii_case(b"unknown") => Ok(Some(Node::Unknown)),
        _ => Ok(None),
    }
}

/// RFC 7239 `obfnode`/`obfport`: `_` followed by one or more of ALPHA,
/// DIGIT, `.`, `_`, `-`.
fn is_obfuscated(s: &[u8]) -> bool {
    s.len() > 1
        && s[0] == b'_'
        && s[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Canonicalises and rejects the unspecified address.
#[inline]
fn finish(mut hop: HopAddr) -> Result<HopAddr, HopError> {
    hop.ip = canonical(hop.ip);
    if hop.ip.is_unspecified() {
        return Err(HopError::Unspecified);
    }
    Ok(hop)
}

/// The position of the colon if `s` has exactly one.
fn single_colon(s: &[u8]) -> Option<usize> {
    let first = s.iter().position(|&b| b == b':')?;
    if s[first + 1..].contains(&b':') {
        None
    } else {
        Some(first)
    }
}

/// A decimal port of 1 to 5 digits, at most 65535. Leading zeros are
/// accepted, as RFC 7239's `port = 1*5DIGIT` allows them; the port plays no
/// part in trust.
#[inline]
fn parse_port(s: &[u8]) -> Result<u16, HopError> {
    if s.is_empty() || s.len() > 5 {
        return Err(HopError::InvalidPort);
    }
    let mut value: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return Err(HopError::InvalidPort);
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u16::try_from(value).map_err(|_| HopError::InvalidPort)
}

/// Strict dotted-quad IPv4: four decimal octets, no leading zeros.
///
/// Hand-written rather than `Ipv4Addr::from_str` so that it reads bytes
/// without a UTF-8 check and says *why* a legacy form is refused.
pub(crate) fn parse_ipv4(s: &[u8]) -> Result<Ipv4Addr, HopError> {
    match ipv4_prefix(s) {
        Some((ip, n)) if n == s.len() => Ok(ip),
        _ => Err(classify_ipv4_failure(s)),
    }
}

/// Says whether a string that failed strict parsing is a legacy IPv4 form
/// (ambiguous between implementations) or simply not an address.
fn classify_ipv4_failure(s: &[u8]) -> HopError {
    // Whitespace, control bytes, non-ASCII and quotes belong to no address
    // form (a quoted address is a Forwarded value pasted into a list).
    if s.iter().any(|&b| !b.is_ascii_graphic() || b == b'"') {
        return HopError::InvalidCharacters;
    }
    if s.len() > 2 && (s.starts_with(b"0x") || s.starts_with(b"0X")) {
        return HopError::LegacyIpv4;
    }
    if s.is_empty() || !s.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return HopError::InvalidAddress;
    }
    let parts = s.split(|&b| b == b'.');
    let mut count = 0;
    let mut legacy = false;
    for p in parts {
        count += 1;
        if p.is_empty() {
            return HopError::InvalidAddress;
        }
        if p.len() > 1 && p[0] == b'0' {
            legacy = true;
        }
    }
    if legacy || count < 4 {
        HopError::LegacyIpv4
    } else {
        HopError::InvalidAddress
    }
}

/// IPv6 text as RFC 4291/3986 writes it (any case, compressed or not, with
/// an embedded IPv4 tail), without brackets and without a zone.
pub(crate) fn parse_ipv6(s: &[u8]) -> Result<Ipv6Addr, HopError> {
    if let Some(ip) = ipv6_fast(s) {
        return Ok(ip);
    }
    if s.is_empty() {
        return Err(HopError::Empty);
    }
    if s.contains(&b'%') {
        return Err(HopError::ZoneId);
    }
    // std's parser is strict and correct for IPv6; it needs `&str`, and
    // only ASCII can be an address, so check that first.
    if !s
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    {
        return Err(HopError::InvalidCharacters);
    }
    let text = std::str::from_utf8(s).map_err(|_| HopError::InvalidCharacters)?;
    text.parse::<Ipv6Addr>()
        .map_err(|_| HopError::InvalidAddress)
}

/// A strict dotted quad at the start of `s` (no leading zeros); the address
/// and the number of bytes it used. Inlined everywhere: it is the inner
/// loop of every IPv4 hop.
#[inline(always)]
pub(crate) fn ipv4_prefix(s: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut out = [0u8; 4];
    let mut i = 0;
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let (value, next) = decimal_octet(s, i)?;
        *slot = value;
        i = next;
    }
    Some((Ipv4Addr::from(out), i))
}

/// One to three decimal digits at `i` without a leading zero, at most 255;
/// the value and the index after it.
#[inline(always)]
fn decimal_octet(s: &[u8], i: usize) -> Option<(u8, usize)> {
    let digit = |at: usize| {
        s.get(at)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
            .map(u32::from)
    };
    let d0 = digit(i)?;
    let Some(d1) = digit(i + 1) else {
        return Some((d0 as u8, i + 1));
    };
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(i + 2) else {
        return Some(((d0 * 10 + d1) as u8, i + 2));
    };
    let v = d0 * 100 + d1 * 10 + d2;
    u8::try_from(v).ok().map(|v| (v, i + 3))
}

/// Hexadecimal digit values, 0xff for every other byte: one load per byte.
const HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        b += 1;
    }
    table
};

/// IPv6 text without brackets or zone, accepting exactly what
/// `Ipv6Addr::from_str` accepts.
///
/// Groups are shifted into one integer as they are read; a `::` records
/// how many came before it, and the groups after it are moved to the low
/// end at the finish.
fn ipv6_fast(s: &[u8]) -> Option<Ipv6Addr> {
    let len = s.len();
    let mut bits = 0u128;
    let mut n = 0usize;
    let mut gap: Option<usize> = None;
    let mut i = 0usize;
    if len < 2 {
        return None;
    }
    if s[0] == b':' {
        if s[1] != b':' {
            return None;
        }
        gap = Some(0);
        i = 2;
        if i == len {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        let start = i;
        let mut v = 0u32;
        while i < len && i - start < 4 {
            let h = HEX[usize::from(s[i])];
            if h == 0xff {
                break;
            }
            v = v << 4 | u32::from(h);
            i += 1;
        }
        if i == start {
            return None;
        }
        if i < len && s[i] == b'.' {
            if n > 6 {
                return None;
            }
            let (v4, used) = ipv4_prefix(&s[start..])?;
            if start + used != len {
                return None;
            }
            bits = bits << 32 | u128::from(u32::from(v4));
            n += 2;
            break;
        }
        if n == 8 {
            return None;
        }
        bits = bits << 16 | u128::from(v);
        n += 1;
        if i == len {
            break;
        }
        if s[i] != b':' {
            return None;
        }
        i += 1;
        if i < len && s[i] == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
            if i == len {
                break;
            }
        } else if i == len {
            return None;
        }
    }
    match gap {
        None if n == 8 => Some(Ipv6Addr::from(bits)),
        Some(g) if n < 8 => {
            // `bits` holds n groups: g before the gap, n - g after it. The
            // groups before the gap move up by the 8 - n zero groups.
            let tail_bits = 16 * (n - g) as u32;
            let tail = bits & !(u128::MAX.checked_shl(tail_bits).unwrap_or(0));
            let head = bits.checked_shr(tail_bits).unwrap_or(0);
            let head = head.checked_shl(16 * (8 - g) as u32).unwrap_or(0);
            Some(Ipv6Addr::from(head | tail))
        }
        _ => None,
    }
}

/// The success path of [`parse_forwarded_node`] for `IPv4[:port]` and
/// `[IPv6][:port]` (numeric or obfuscated port); `None` sends the input to
/// the exact path, which also names the error.
#[inline]
pub(crate) fn fast_forwarded_node(s: &[u8]) -> Option<HopAddr> {
    let (ip, rest) = match *s.first()? {
        b'0'..=b'9' => {
            let (ip, n) = ipv4_prefix(s)?;
            (IpAddr::V4(ip), &s[n..])
        }
        b'[' => {
            let close = s.iter().position(|&b| b == b']')?;
            (IpAddr::V6(ipv6_fast(&s[1..close])?), &s[close + 1..])
        }
        _ => return None,
    };
    let port = match rest {
        [] => None,
        [b':', b'_', ..] if is_obfuscated(&rest[1..]) => None,
        [b':', p @ ..] => Some(parse_port(p).ok()?),
        _ => return None,
    };
    fast_finish(ip, port)
}

/// The success path of `parse_list_node` for `ip`, `ipv4:port`, bare IPv6,
/// `[ipv6]` and `[ipv6]:port`; `None` means "ask the exact slow path", which
/// then also names the error.
#[inline]
pub(crate) fn fast_hop(s: &[u8]) -> Option<HopAddr> {
    let first = *s.first()?;
    let (ip, port) = if first.is_ascii_digit() {
        match ipv4_prefix(s) {
            Some((ip, n)) => {
                let port = match &s[n..] {
                    [] => None,
                    [b':', p @ ..] => Some(parse_port(p).ok()?),
                    _ => return fast_v6(s),
                };
                return fast_finish(IpAddr::V4(ip), port);
            }
            None => (IpAddr::V6(ipv6_fast(s)?), None),
        }
    } else if first == b'[' {
        let close = s.iter().position(|&b| b == b']')?;
        let ip = ipv6_fast(&s[1..close])?;
        let port = match &s[close + 1..] {
            [] => None,
            [b':', p @ ..] => Some(parse_port(p).ok()?),
            _ => return None,
        };
        (IpAddr::V6(ip), port)
    } else {
        (IpAddr::V6(ipv6_fast(s)?), None)
    };
    fast_finish(ip, port)
}

/// [`finish`] for the quick readers, which report failure as `None`.
#[inline(always)]
pub(crate) fn fast_finish(ip: IpAddr, port: Option<u16>) -> Option<HopAddr> {
    let ip = ip.to_canonical();
    (!ip.is_unspecified()).then_some(HopAddr { ip, port })
}

/// A bare IPv6 address, canonical, never unspecified.
#[inline]
fn fast_v6(s: &[u8]) -> Option<HopAddr> {
    fast_finish(IpAddr::V6(ipv6_fast(s)?), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(s: &str) -> Result<(IpAddr, Option<u16>), HopError> {
        match parse_list_node(s.as_bytes())? {
            Node::Ip(h) => Ok((h.ip, h.port)),
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    /// The examples of this module's documentation.
    #[test]
    fn doc_examples() {
        // The module.
        let node = parse_list_node(b"[2001:db8::1]:4711").unwrap();
        let Node::Ip(hop) = node else { panic!() };
        assert_eq!(hop.ip, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(hop.port, Some(4711));
        // Legacy IPv4 forms are refused, not reinterpreted.
        assert!(parse_list_node(b"010.0.0.1").is_err());

        // `parse_list_node`.
        assert!(matches!(parse_list_node(b"192.0.2.1:80"), Ok(Node::Ip(_))));
        assert_eq!(parse_list_node(b"unknown"), Ok(Node::Unknown));
        assert_eq!(parse_list_node(b"fe80::1%eth0"), Err(HopError::ZoneId));

        // `parse_hop_addr`.
        let hop = parse_hop_addr(b"::ffff:192.0.2.7").unwrap();
        assert_eq!(hop.ip.to_string(), "192.0.2.7"); // mapped form normalised
        assert!(parse_hop_addr(b"0.0.0.0").is_err());

        // `parse_ip_port_last_colon`.
        let hop = parse_ip_port_last_colon(b"2001:db8::1:52384").unwrap();
        assert_eq!(hop.ip.to_string(), "2001:db8::1");
        assert_eq!(hop.port, Some(52384));

        // `parse_forwarded_node`.
        assert!(
            matches!(parse_forwarded_node(b"[2001:db8::1]:_p1"), Ok(Node::Ip(h)) if h.port.is_none())
        );
        assert_eq!(parse_forwarded_node(b"unknown:8080"), Ok(Node::Unknown));
        assert!(parse_forwarded_node(b"2001:db8::1").is_err()); // IPv6 must be bracketed

        // `canonical`.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
        let compat: IpAddr = "::10.1.2.3".parse().unwrap();
        assert_eq!(canonical(compat), compat); // IPv4-compatible stays IPv6
    }

    #[test]
    fn list_element_forms() {
        type Row = (&'static str, Result<(&'static str, Option<u16>), HopError>);
        let table: &[Row] = &[
            ("192.0.2.1", Ok(("192.0.2.1", None))),
            ("192.0.2.1:8080", Ok(("192.0.2.1", Some(8080)))),
            ("192.0.2.1:0", Ok(("192.0.2.1", Some(0)))),
            ("192.0.2.1:65535", Ok(("192.0.2.1", Some(65535)))),
            ("192.0.2.1:080", Ok(("192.0.2.1", Some(80)))),
            ("2001:db8::1", Ok(("2001:db8::1", None))),
            ("2001:DB8::1", Ok(("2001:db8::1", None))),
            (
                "2001:0db8:0000:0000:0000:0000:0000:0001",
                Ok(("2001:db8::1", None)),
            ),
            ("[2001:db8::1]", Ok(("2001:db8::1", None))),
            ("[2001:db8::1]:5678", Ok(("2001:db8::1", Some(5678)))),
            ("::ffff:1.2.3.4", Ok(("1.2.3.4", None))),
            ("::FFFF:1.2.3.4", Ok(("1.2.3.4", None))),
            ("::ffff:0102:0304", Ok(("1.2.3.4", None))),
            ("[::ffff:1.2.3.4]:9", Ok(("1.2.3.4", Some(9)))),
            ("::1.2.3.4", Ok(("::1.2.3.4", None))),
            ("64:ff9b::1.2.3.4", Ok(("64:ff9b::102:304", None))),
            ("::1", Ok(("::1", None))),
            ("255.255.255.255", Ok(("255.255.255.255", None))),
            ("", Err(HopError::Empty)),
            ("192.0.2.1:", Err(HopError::InvalidPort)),
            ("192.0.2.1:65536", Err(HopError::InvalidPort)),
            ("192.0.2.1:123456", Err(HopError::InvalidPort)),
            ("192.0.2.1:+80", Err(HopError::InvalidPort)),
            ("192.0.2.1:8a", Err(HopError::InvalidPort)),
            ("[2001:db8::1]:", Err(HopError::InvalidPort)),
            ("[2001:db8::1]x", Err(HopError::InvalidAddress)),
            ("[2001:db8::1", Err(HopError::InvalidAddress)),
            ("[1.2.3.4]", Err(HopError::InvalidAddress)),
            ("\"[2001:db8::1]\"", Err(HopError::InvalidCharacters)),
            ("010.0.0.1", Err(HopError::LegacyIpv4)),
            ("01.2.3.4", Err(HopError::LegacyIpv4)),
            ("1.2.3.04", Err(HopError::LegacyIpv4)),
            ("00.0.0.0", Err(HopError::LegacyIpv4)),
            ("127.1", Err(HopError::LegacyIpv4)),
            ("127.0.1", Err(HopError::LegacyIpv4)),
            ("2130706433", Err(HopError::LegacyIpv4)),
            ("0x7f.0.0.1", Err(HopError::LegacyIpv4)),
            ("0177.0.0.1", Err(HopError::LegacyIpv4)),
            ("256.0.0.1", Err(HopError::InvalidAddress)),
            ("1.2.3.4.", Err(HopError::InvalidAddress)),
            (".1.2.3.4", Err(HopError::InvalidAddress)),
            ("1..2.3", Err(HopError::InvalidAddress)),
            ("1.2.3.4.5", Err(HopError::InvalidAddress)),
            ("+1.2.3.4", Err(HopError::InvalidAddress)),
            ("\"1.2.3.4\"", Err(HopError::InvalidCharacters)),
            ("1.2.3.4 5.6.7.8", Err(HopError::InvalidCharacters)),
            (" 1.2.3.4", Err(HopError::InvalidCharacters)),
            ("fe80::1%eth0", Err(HopError::ZoneId)),
            ("fe80::1%2", Err(HopError::ZoneId)),
            ("[fe80::1%25eth0]", Err(HopError::ZoneId)),
            ("2001:db8:::1", Err(HopError::InvalidAddress)),
            ("1:2:3:4:5:6:7:8:9", Err(HopError::InvalidAddress)),
            ("::00001", Err(HopError::InvalidAddress)),
            ("::ffff:010.0.0.1", Err(HopError::InvalidAddress)),
            ("0.0.0.0", Err(HopError::Unspecified)),
            ("0.0.0.0:80", Err(HopError::Unspecified)),
            ("::", Err(HopError::Unspecified)),
            ("[::]:80", Err(HopError::Unspecified)),
            ("::ffff:0.0.0.0", Err(HopError::Unspecified)),
            ("example.com", Err(HopError::InvalidAddress)),
            ("1.2.3.4\u{e9}", Err(HopError::InvalidCharacters)),
            ("_", Err(HopError::InvalidCharacters)),
            ("_a+b", Err(HopError::InvalidCharacters)),
        ];
        for (input, expected) in table {
            let got = if expected.is_ok() || !input.starts_with('_') {
                list(input)
            } else {
                parse_list_node(input.as_bytes()).map(|_| (ip("::1"), None))
            };
            let expected = expected.map(|(a, p)| (ip(a), p));
            assert_eq!(got, expected, "input {input:?}");
        }
    }

    #[test]
    fn list_names() {
        for s in ["unknown", "UNKNOWN", "Unknown"] {
            assert_eq!(parse_list_node(s.as_bytes()), Ok(Node::Unknown), "{s}");
        }
        for s in ["_hidden", "_SEVKISEK", "_a.b-c_d", "_1"] {
            assert_eq!(parse_list_node(s.as_bytes()), Ok(Node::Obfuscated), "{s}");
        }
        assert!(parse_list_node(b"unknowns").is_err());
    }

    #[test]
    fn non_utf8_bytes_are_invalid_not_a_panic() {
        for s in [
            &b"\xff\xfe"[..],
            b"1.2.3.\xff",
            b"[\xff]",
            b"::\xff",
            b"\x00",
        ] {
            assert!(parse_list_node(s).is_err(), "{s:?}");
            assert!(parse_forwarded_node(s).is_err(), "{s:?}");
            assert!(parse_ip_port_last_colon(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn forwarded_node_forms() {
        let ok: &[(&str, &str, Option<u16>)] = &[
            ("192.0.2.43", "192.0.2.43", None),
            ("192.0.2.43:47011", "192.0.2.43", Some(47011)),
            ("192.0.2.43:_port", "192.0.2.43", None),
            ("[2001:db8:cafe::17]", "2001:db8:cafe::17", None),
            ("[2001:db8:cafe::17]:4711", "2001:db8:cafe::17", Some(4711)),
            ("[2001:db8::1]:_p1", "2001:db8::1", None),
            ("[::ffff:192.0.2.1]", "192.0.2.1", None),
            ("[2001:DB8::1]", "2001:db8::1", None),
            ("192.0.2.1:080", "192.0.2.1", Some(80)),
        ];
        for (input, addr, port) in ok {
            let got = parse_forwarded_node(input.as_bytes());
            assert_eq!(
                got,
                Ok(Node::Ip(HopAddr {
                    ip: ip(addr),
                    port: *port
                })),
                "input {input:?}"
            );
        }
        let names: &[(&str, Node)] = &[
            ("unknown", Node::Unknown),
            ("UNKNOWN", Node::Unknown),
            ("unknown:8080", Node::Unknown),
            ("_hidden", Node::Obfuscated),
            ("_gazonk:_x", Node::Obfuscated),
        ];
        for (input, node) in names {
            assert_eq!(
                parse_forwarded_node(input.as_bytes()),
                Ok(*node),
                "{input:?}"
            );
        }
        let bad: &[(&str, HopError)] = &[
            ("", HopError::Empty),
            ("2001:db8::1", HopError::InvalidAddress),
            ("[2001:db8::1]:65536", HopError::InvalidPort),
            ("192.0.2.1:123456", HopError::InvalidPort),
            ("192.0.2.1:_", HopError::InvalidPort),
            ("192.0.2.1:_a+", HopError::InvalidPort),
            ("_", HopError::InvalidCharacters),
            ("_a+b", HopError::InvalidCharacters),
            ("x-foo", HopError::InvalidAddress),
            ("010.0.0.1", HopError::LegacyIpv4),
            ("127.1", HopError::LegacyIpv4),
            ("2130706433", HopError::LegacyIpv4),
            ("192.0.2.256", HopError::InvalidAddress),
            ("[fe80::1%25eth0]", HopError::ZoneId),
            ("[fe80::1%eth0]", HopError::ZoneId),
            ("[2001:db8:::1]", HopError::InvalidAddress),
            ("[1:2:3:4:5:6:7:8:9]", HopError::InvalidAddress),
            ("[1.2.3.4]", HopError::InvalidAddress),
            ("[2001:db8::1]x", HopError::InvalidAddress),
            ("a,b", HopError::InvalidAddress),
            ("0.0.0.0", HopError::Unspecified),
            ("[::]", HopError::Unspecified),
        ];
        for (input, err) in bad {
            assert_eq!(
                parse_forwarded_node(input.as_bytes()),
                Err(*err),
                "{input:?}"
            );
        }
    }

    /// A node with a port but no name (`":80"`, `":_x"`) is malformed: an
    /// error, not a panic. Found by the property tests; through a resolver
    /// in `tests/properties.rs`.
    #[test]
    fn forwarded_node_without_a_name_is_an_error() {
        for input in [&b":80"[..], b":_x", b":0"] {
            assert!(parse_forwarded_node(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn cloudfront_viewer_address() {
        let ok: &[(&str, &str, u16)] = &[
            ("198.51.100.10:46532", "198.51.100.10", 46532),
            ("2001:db8::1:52384", "2001:db8::1", 52384),
            ("::ffff:1.2.3.4:1", "1.2.3.4", 1),
        ];
        for (input, addr, port) in ok {
            let hop = parse_ip_port_last_colon(input.as_bytes()).unwrap();
            assert_eq!((hop.ip, hop.port), (ip(addr), Some(*port)), "{input}");
        }
        for bad in [
            "198.51.100.10",
            "198.51.100.10:",
            "[2001:db8::1]:1",
            "2001:db8::1:x",
            "",
        ] {
            assert!(parse_ip_port_last_colon(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv4_parser_agrees_with_std_on_strict_forms() {
        for s in [
            "0.0.0.1",
            "1.2.3.4",
            "10.0.0.255",
            "199.249.200.100",
            "9.99.199.249",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), Ok(s.parse().unwrap()));
        }
    }

    /// The hand-written IPv6 reader and std's agree on every text: IPv6
    /// characters in any order (mostly rejected), and real addresses
    /// written compressed, uncompressed, in capitals or with an IPv4 tail.
    mod ipv6_against_std {
        use super::super::ipv6_fast;
        use proptest::prelude::*;
        use std::net::Ipv6Addr;

        fn check(text: &str) -> Result<(), TestCaseError> {
            prop_assert_eq!(
                ipv6_fast(text.as_bytes()),
                text.parse::<Ipv6Addr>().ok(),
                "{:?}",
                text
            );
            Ok(())
        }

        proptest! {
            #[test]
            fn on_ipv6_characters(text in "[0-9a-fA-F:.]{0,45}") {
                check(&text)?;
            }

            #[test]
            fn on_real_addresses(groups in proptest::array::uniform8(prop_oneof![Just(0u16), any::<u16>()]), style in 0u8..4) {
                let ip = Ipv6Addr::from(groups);
                let text = match style {
                    0 => ip.to_string(),
                    1 => groups.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":"),
                    2 => ip.to_string().to_uppercase(),
                    _ => {
                        let [a, b, c, d] = (u128::from(ip) as u32).to_be_bytes();
                        let head: Vec<String> = groups[..6].iter().map(|g| format!("{g:x}")).collect();
                        format!("{}:{a}.{b}.{c}.{d}", head.join(":"))
                    }
                };
                check(&text)?;
                // Every way of cutting the text short, or of doubling a colon.
                for cut in 0..text.len() {
                    check(&text[..cut])?;
                }
                check(&text.replacen(':', "::", 1))?;
            }
        }
    }
}
