//! The common request in one pass: a trusted peer, a well-formed header
//! whose hops are addresses, and a client somewhere in it.
//!
//! [`crate::walk`] is the definition of a resolution: it handles every
//! input, names every error and feeds [`Resolver::explain`]. This module
//! answers only what it recognises as the common case, without the walk's
//! generic machinery (iterator adaptors over `Result`s, an observer, a
//! per-hop verdict), and returns `None` for anything else: an empty
//! element, a hop that is not an address, an escape in a `Forwarded`
//! value, a chain that runs out or hits `max_hops`, a Unix peer. The
//! resolver then takes the walk, so an error or an unusual input costs the
//! fast attempt plus the walk, and the answer is the walk's.
//!
//! Whenever this module answers, the answer is the walk's: every hop is read
//! by the same address parsers (their fast paths, which the walk also tries
//! first), trusted by the same rules, and counted the same way. That is
//! checked rather than assumed: `resolve` (this module first) and `explain`
//! (the walk alone) are compared on generated requests by the property
//! tests and on arbitrary bytes by the `resolver` fuzz target.
//!
//! [`Resolver::explain`]: crate::Resolver::explain

use std::net::IpAddr;

use http::HeaderMap;

use crate::addr::{HopAddr, fast_finish, fast_forwarded_node, fast_hop, ipv4_prefix};
use crate::error::Error;
use crate::forwarded::{is_qdtext, is_tchar};
use crate::list::trim_ows;
use crate::peer::Peer;
use crate::resolution::{ClientIp, Origin, Resolution};
use crate::resolver::{AllTrusted, Form, Read, Settings, Trust};
use crate::walk::{hop_trusted, ip_peer_trust, lines};

/// What the fast path found: the canonical peer address, and the client
/// hop (`None`: the peer itself is the client). Small, so that the
/// [`Resolution`] is built once, where it is returned.
pub(crate) struct Found {
    peer_ip: IpAddr,
    client: Option<Client>,
}

impl Found {
    /// The resolution the walk would return, `peer` being the peer given
    /// and `read` the resolver's.
    #[inline]
    pub(crate) fn resolution(self, read: Read, peer: Peer) -> Resolution {
        let (peer, peer_port) = match peer {
            Peer::Ip { port, .. } => (
                Peer::Ip {
                    ip: self.peer_ip,
                    port,
                },
                port,
            ),
            Peer::Proxied { port, sender, .. } => (
                Peer::Proxied {
                    ip: self.peer_ip,
                    port,
                    sender,
                },
                port,
            ),
            // `resolve` finds nothing for these.
            Peer::ProxiedWithoutSource { .. } | Peer::Unix | Peer::Unknown => (peer, None),
        };
        match (self.client, read) {
            (Some(client), Read::Header { name, .. }) => Resolution {
                client: ClientIp::new(client.addr.ip),
                port: client.addr.port,
                origin: Origin::Header {
                    name,
                    index: client.index,
                },
                peer,
                trusted_proxies: client.index + 1,
            },
            _ => Resolution {
                client: ClientIp::new(self.peer_ip),
                port: peer_port,
                origin: match peer {
                    Peer::Proxied { .. } => Origin::ProxyProtocol,
                    _ => Origin::Peer,
                },
                peer,
                trusted_proxies: 0,
            },
        }
    }
}

/// The walk's answer for the common case, or `None` to take the walk. The
/// only error answered here is the walk's `TooManyHops` for a header longer
/// than `max_hops` (the hostile 60 KB header), so that it is not walked
/// twice.
#[inline]
pub(crate) fn resolve(
    settings: &Settings,
    peer: &Peer,
    headers: &HeaderMap,
) -> Option<Result<Found, Error>> {
    let peer_ip = match *peer {
        Peer::Ip { ip, .. } | Peer::Proxied { ip, .. } => ip.to_canonical(),
        Peer::ProxiedWithoutSource { .. } | Peer::Unix | Peer::Unknown => return None,
    };
    if peer_ip.is_unspecified() {
        return None;
    }
    let (Some(_), Read::Header { name, form }) = (ip_peer_trust(settings, peer_ip), settings.read)
    else {
        // Rule 1: an untrusted peer is the client, whatever headers say.
        return Some(Ok(answered(Found {
            peer_ip,
            client: None,
        })));
    };

    let mut chain = Chain::new(settings);
    let client = match form {
        // CloudFront-Viewer-Address splits at the last colon: the walk's.
        Form::SingleLastColon => return None,
        Form::Single => {
            // Servers strip whitespace around a field value; a line that
            // still has some is the walk's to trim.
            let line = lines(headers, name).next()?;
            // One hop, at index 0: within any max_hops.
            chain.hop(fast_hop(line)?)
        }
        Form::Forwarded | Form::List => {
            let read_line = match form {
                Form::Forwarded => forwarded_line,
                _ => list_line,
            };
            let mut client = None;
            for line in lines(headers, name) {
                match read_line(line, &mut chain) {
                    Some(None) => {}
                    Some(found) => {
                        client = found;
                        break;
                    }
                    None if chain.beyond_limit => {
                        return Some(Err(Error::TooManyHops {
                            limit: settings.max_hops,
                        }));
                    }
                    None => return None,
                }
            }
            client
        }
    };
    let client = match client {
        Some(client) => client,
        None => chain.end()?,
    };
    Some(Ok(answered(Found {
        peer_ip,
        client: Some(client),
    })))
}

#[cfg(test)]
thread_local! {
    /// How many requests this thread's fast path answered: a test that
    /// the common requests really take it (the walk gives the same
    /// answers, so no comparison of answers could tell).
    pub(crate) static ANSWERED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts an answer under `cfg(test)`; nothing otherwise.
#[inline(always)]
fn answered(found: Found) -> Found {
    #[cfg(test)]
    ANSWERED.with(|n| n.set(n.get() + 1));
    found
}

/// A hop found to be the client, with its position from the right.
struct Client {
    addr: HopAddr,
    index: usize,
}

/// The walk's counting and trust, for hops that are addresses.
struct Chain<'s> {
    settings: &'s Settings,
    /// Hops read so far (the index of the next one).
    index: usize,
    /// The oldest trusted hop so far: the client if every hop is trusted.
    leftmost: Option<Client>,
    /// A hop was found past `max_hops`: the walk's answer is `TooManyHops`.
    beyond_limit: bool,
}

impl<'s> Chain<'s> {
    fn new(settings: &'s Settings) -> Self {
        Self {
            settings,
            index: 0,
            leftmost: None,
            beyond_limit: false,
        }
    }

    /// Before the next hop: `None` when the walk stops there (`max_hops`).
    #[inline]
    fn next(&mut self) -> Option<()> {
        if self.index == self.settings.max_hops {
            self.beyond_limit = true;
            return None;
        }
        Some(())
    }

    /// Reads the next hop: the client, or `None` for a trusted proxy.
    #[inline]
    fn hop(&mut self, addr: HopAddr) -> Option<Client> {
        let trusted = hop_trusted(&self.settings.trust, self.index, |set| {
            set.contains_canonical(addr.ip)
        });
        self.record(addr, trusted)
    }

    /// [`hop`](Self::hop) for a bare IPv4 address, given as its integer.
    #[inline]
    fn hop_v4(&mut self, ip: u32) -> Option<Client> {
        let trusted = hop_trusted(&self.settings.trust, self.index, |set| set.contains_v4(ip));
        let addr = HopAddr {
            ip: IpAddr::V4(ip.into()),
            port: None,
        };
        self.record(addr, trusted)
    }

    /// Counts a hop read: the client when it is not trusted.
    #[inline]
    fn record(&mut self, addr: HopAddr, trusted: bool) -> Option<Client> {
        let client = Client {
            addr,
            index: self.index,
        };
        if !trusted {
            return Some(client);
        }
        self.leftmost = Some(client);
        self.index += 1;
        None
    }

    /// Every hop was trusted: the leftmost is the client under the default
    /// policy; anything else (no hop, a short counted chain, the refusing
    /// policy) is the walk's to answer.
    #[inline]
    fn end(&mut self) -> Option<Client> {
        match (&self.settings.trust, self.settings.all_trusted) {
            (Trust::Proxies(_), AllTrusted::Leftmost) => self.leftmost.take(),
            _ => None,
        }
    }
}

/// Walks one comma-list line from the right: `Some(Some(client))` when
/// the client is found, `Some(None)` when every hop of the line is a
/// trusted proxy, `None` to take the walk.
#[inline]
fn list_line(line: &[u8], chain: &mut Chain<'_>) -> Option<Option<Client>> {
    let mut v4 = [0u32; V4_LINE_HOPS];
    if let Some(n) = v4_line(line, &mut v4) {
        for &ip in v4[..n].iter().rev() {
            if ip == 0 {
                return None; // unspecified: the walk names it
            }
            chain.next()?;
            if let Some(client) = chain.hop_v4(ip) {
                return Some(Some(client));
            }
        }
        return Some(None);
    }
    let mut end = line.len();
    loop {
        let start = comma_before(line, end);
        let element = trim_ows(&line[start..end]);
        if element.is_empty() {
            return None;
        }
        chain.next()?;
        if let Some(client) = chain.hop(fast_hop(element)?) {
            return Some(Some(client));
        }
        if start == 0 {
            return Some(None);
        }
        end = start - 1;
    }
}

/// The most hops [`v4_line`] reads; longer lines are walked from the right
/// without reading what lies beyond the client.
const V4_LINE_HOPS: usize = 8;

/// A line that is nothing but bare IPv4 addresses (the commonest
/// `X-Forwarded-For` of all), read left to right in one pass into `out`;
/// the number of addresses. `None` for any other line, or one with more
/// than [`V4_LINE_HOPS`] elements.
#[inline]
fn v4_line(line: &[u8], out: &mut [u32; V4_LINE_HOPS]) -> Option<usize> {
    let len = line.len();
    let mut i = skip_ows_after(line, 0);
    let mut n = 0;
    loop {
        let (ip, used) = ipv4_prefix(&line[i..])?;
        i += used;
        if n == V4_LINE_HOPS {
            return None;
        }
        out[n] = u32::from(ip);
        n += 1;
        i = skip_ows_after(line, i);
        if i == len {
            return Some(n);
        }
        if line[i] != b',' {
            return None;
        }
        i = skip_ows_after(line, i + 1);
    }
}

#[inline]
fn skip_ows_after(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && matches!(line[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// Where the element that ends at `end` starts: just after the comma before
/// it, or at the start of the line.
#[inline]
fn comma_before(line: &[u8], end: usize) -> usize {
    rfind_any(&line[..end], [b',']).map_or(0, |comma| comma + 1)
}

/// The index of the last byte of `s` that is one of `needles`. Eight bytes
/// at a time: header lines are mostly addresses, the bytes looked for are
/// few.
#[inline]
fn rfind_any<const N: usize>(s: &[u8], needles: [u8; N]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    let mut i = s.len();
    while i >= 8 {
        let chunk = u64::from_le_bytes(s[i - 8..i].try_into().expect("eight bytes"));
        let mut found = 0;
        for needle in needles {
            // Bytes equal to the needle become zero, and a zero byte is the
            // only one whose high bit stays clear: exact, as no carry
            // crosses a byte.
            let x = chunk ^ (ONES * u64::from(needle));
            found |= !(((x & LOW7) + LOW7) | x | LOW7);
        }
        if found != 0 {
            // Little-endian: the highest flagged byte is the last match.
            return Some(i - 8 + (63 - found.leading_zeros() as usize) / 8);
        }
        i -= 8;
    }
    s[..i].iter().rposition(|b| needles.contains(b))
}

/// Walks one `Forwarded` line from the right. Elements are split at commas
/// outside quoted-strings; a backslash anywhere (a quoted-pair, or a byte
/// no element allows) or an unbalanced quote leaves the line to the walk.
#[inline]
fn forwarded_line(line: &[u8], chain: &mut Chain<'_>) -> Option<Option<Client>> {
    let mut end = line.len();
    loop {
        // The comma before the element, outside quoted-strings.
        let mut i = end;
        let mut quoted = false;
        let comma = loop {
            let Some(at) = rfind_any(&line[..i], [b',', b'"', b'\\']) else {
                break None;
            };
            match line[at] {
                b'"' => quoted = !quoted,
                b',' if !quoted => break Some(at),
                b'\\' => return None,
                _ => {}
            }
            i = at;
        };
        if quoted {
            return None;
        }
        // Whitespace after a comma is common and skipped; an empty element
        // is the walk's to name, and one that ends in whitespace
        // `element_for` leaves to the walk.
        let start = skip_ows_after(line, comma.map_or(0, |c| c + 1));
        if start >= end {
            return None;
        }
        chain.next()?;
        let addr = element_for(&line[start..end])?;
        if let Some(client) = chain.hop(addr) {
            return Some(Some(client));
        }
        match comma {
            Some(at) => end = at,
            None => return Some(None),
        }
    }
}

/// The `for` node of an element made only of `for`, `by`, `host` and
/// `proto` (any case, each at most once), as `name=value` pairs joined by
/// `;` without whitespace, each value a token or a quoted-string without
/// quoted-pairs, the `for` value an address [`fast_forwarded_node`] reads
/// (a token `for` value only as a bare IPv4 address, the one address form
/// a token can spell). `None` for any other element, including one
/// without `for`: the walk reads those.
///
/// The `for` value is read once, by the address parser: whatever it
/// accepts is made of token characters (a bare IPv4 address) or of
/// quoted-string text (digits, letters, `.:[]_-`), so the walk's check of
/// those characters cannot fail.
#[inline]
fn element_for(element: &[u8]) -> Option<HopAddr> {
    const FOR: u8 = 1;
    const BY: u8 = 2;
    const HOST: u8 = 4;
    const PROTO: u8 = 8;
    let mut seen = 0u8;
    let mut node = None;
    let mut i = 0;
    loop {
        // A parameter name is a token followed by `=`; one of the four
        // names followed by `=` is exactly such a token.
        let rest = &element[i..];
        let (bit, name_len) = match rest.first().map(|b| b | 0x20) {
            Some(b'f') if starts_with_name(rest, b"for=") => (FOR, 4),
            Some(b'b') if starts_with_name(rest, b"by=") => (BY, 3),
            Some(b'h') if starts_with_name(rest, b"host=") => (HOST, 5),
            Some(b'p') if starts_with_name(rest, b"proto=") => (PROTO, 6),
            _ => return None,
        };
        i += name_len;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        let quoted = element.get(i) == Some(&b'"');
        if bit == FOR {
            if quoted {
                let close = i + 1 + element[i + 1..].iter().position(|&b| b == b'"')?;
                node = Some(fast_forwarded_node(&element[i + 1..close])?);
                i = close + 1;
            } else {
                let (v4, len) = ipv4_prefix(&element[i..])?;
                node = Some(fast_finish(IpAddr::V4(v4), None)?);
                i += len;
            }
        } else if quoted {
            i += 1;
            while i < element.len() && is_qdtext(element[i]) {
                i += 1;
            }
            if element.get(i) != Some(&b'"') {
                return None;
            }
            i += 1;
        } else {
            let value_start = i;
            while i < element.len() && is_tchar(element[i]) {
                i += 1;
            }
            if i == value_start {
                return None;
            }
        }
        match element.get(i) {
            None => return node,
            Some(b';') => i += 1,
            Some(_) => return None,
        }
    }
}

/// Whether `s` starts with `name_eq`, a lowercase parameter name and its
/// `=`, the name in any case.
#[inline(always)]
fn starts_with_name(s: &[u8], name_eq: &[u8]) -> bool {
    let n = name_eq.len() - 1;
    s.len() > n && s[n] == b'=' && s[..n].eq_ignore_ascii_case(&name_eq[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_for_reads_only_the_simple_subset() {
        let ok: &[(&[u8], &str, Option<u16>)] = &[
            (b"for=192.0.2.1", "192.0.2.1", None),
            (b"FOR=192.0.2.1;proto=https", "192.0.2.1", None),
            (b"for=\"192.0.2.1:8080\"", "192.0.2.1", Some(8080)),
            (
                br#"proto=http;For="[2001:db8::1]:80";by=_p;host="a,b""#,
                "2001:db8::1",
                Some(80),
            ),
            (br#"for="[::ffff:10.0.0.1]""#, "10.0.0.1", None),
        ];
        for (element, ip, port) in ok {
            let hop = element_for(element).unwrap_or_else(|| panic!("{element:?}"));
            assert_eq!(hop.ip, ip.parse::<IpAddr>().unwrap(), "{element:?}");
            assert_eq!(hop.port, *port, "{element:?}");
        }
        // Each of these is for the walk: it either errs or needs more care.
        let walk: &[&[u8]] = &[
            b"proto=https",
            b"for=1.2.3.4;for=1.2.3.4",
            b"for=1.2.3.4;FOR=1.2.3.4",
            b"for=1.2.3.4;",
            b"for=1.2.3.4;;proto=http",
            b"for = 1.2.3.4",
            b"for=1.2.3.4; proto=http",
            b"for=1.2.3.4;ext=1",
            br#"for="1.2.3.4"x"#,
            br#"for="1.2.3.4"#,
            b"for=",
            b"=1.2.3.4",
            b"for=[::1]",
            b"for=1.2.3.4:80",
            b"for=1.2.3.4x",
            b"for=1.2.3.4.5",
            b"for=0.0.0.0",
            b"for=unknown",
            b"for=_hidden",
            br#"for="[::]""#,
            br#"for="1.2.3.4";proto=ht"tp"#,
            b"for=1.2.3.4;proto=",
            b"for:1.2.3.4",
            b"fo=1.2.3.4",
            b"forr=1.2.3.4",
            b"for=1.2.3.4 ",
            b"for=1.2.3.4;proto=https ",
            b"for=1.2.3.4;protos=https",
        ];
        for element in walk {
            assert!(element_for(element).is_none(), "{element:?}");
        }
    }

    #[test]
    fn rfind_any_finds_the_last_needle_in_every_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut s = vec![b'1'; len];
                s[at] = b',';
                if at > 2 {
                    s[at - 3] = b'"';
                }
                assert_eq!(rfind_any(&s, [b',']), Some(at), "{len} {at}");
                assert_eq!(rfind_any(&s, [b',', b'"']), Some(at));
                assert_eq!(rfind_any(&s, [b'\\']), None);
            }
        }
        // Bytes with the high bit set are not mistaken for a needle.
        assert_eq!(rfind_any(&[0xac; 20], [b',']), None);
        assert_eq!(rfind_any(&[0x2c ^ 0x80; 20], [b',']), None);
    }
}
