//! The walk: from the peer leftwards through the configured header, while
//! the current hop is a trusted proxy.
//!
//! One function serves both [`Resolver::resolve`] and
//! [`Resolver::explain`]: it reports each step to an [`Observer`], and the
//! resolver's observer does nothing (and compiles to nothing), so the
//! explanation can never disagree with the answer.
//!
//! `resolve` first tries [`crate::fast`], which answers the common request
//! in one pass and leaves everything else here; where it answers, its
//! answer is this walk's (tested, not assumed: see that module). Both judge
//! the peer by [`peer_trust`], as the diagnostics do.
//!
//! [`Resolver::resolve`]: crate::Resolver::resolve
//! [`Resolver::explain`]: crate::Resolver::explain

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::addr::{HopAddr, HopError, Node, parse_ip_port_last_colon, parse_list_node};
use crate::error::Error;
use crate::explain::{Position, Verdict};
use crate::forwarded::{self, Element, ElementError};
use crate::list::{self, trim_ows};
use crate::peer::Peer;
use crate::resolution::{ClientIp, Origin, Resolution};
use crate::resolver::{AllTrusted, Form, MAX_EMPTY_ELEMENTS, PeerFilter, Read, Settings, Trust};
use crate::trust::ProxySet;

/// Receives every step of a walk.
pub(crate) trait Observer {
    /// The peer and what the walk made of it.
    fn peer(&mut self, peer: &Peer, verdict: Verdict);
    /// A header hop (position from the right), its raw text, what it was
    /// read as (if it was read) and its verdict.
    fn hop(&mut self, index: usize, raw: &[u8], addr: Option<HopAddr>, verdict: Verdict);
    /// Every step was trusted, and the one at `position` (the leftmost
    /// hop, or the peer when the header is absent) is the answer (rule 5).
    fn leftmost_is_the_answer(&mut self, position: Position);
}

/// The resolver's observer: records nothing.
pub(crate) struct NoObserver;

impl Observer for NoObserver {
    #[inline(always)]
    fn peer(&mut self, _: &Peer, _: Verdict) {}
    #[inline(always)]
    fn hop(&mut self, _: usize, _: &[u8], _: Option<HopAddr>, _: Verdict) {}
    #[inline(always)]
    fn leftmost_is_the_answer(&mut self, _: Position) {}
}

/// Whether the resolver reads the configured header from this peer, and
/// why: [`Verdict::TrustedProxy`], [`Verdict::TrustedByCount`] or
/// [`Verdict::TrustedUnixPeer`]; `None` when the peer is the answer (or,
/// without an address, the request cannot be resolved). `peer` is
/// canonical (see [`canonical`]).
///
/// The one definition of rule 1, for the walk, the fast path and the
/// diagnostics. A PROXY connection whose header named no source
/// ([`Peer::ProxiedWithoutSource`]) is never trusted: its peer is an L4
/// balancer, which writes no HTTP header (rule 12).
#[inline]
pub(crate) fn peer_trust(settings: &Settings, peer: &Peer) -> Option<Verdict> {
    match *peer {
        Peer::Ip { ip, .. } | Peer::Proxied { ip, .. } => ip_peer_trust(settings, ip),
        Peer::Unix if settings.trust_unix_peer && settings.read != Read::Peer => {
            Some(Verdict::TrustedUnixPeer)
        }
        Peer::Unix | Peer::Unknown | Peer::ProxiedWithoutSource { .. } => None,
    }
}

/// [`peer_trust`] for a peer with a canonical IP address.
#[inline(always)]
pub(crate) fn ip_peer_trust(settings: &Settings, ip: IpAddr) -> Option<Verdict> {
    if settings.read == Read::Peer {
        return None;
    }
    match &settings.trust {
        Trust::Proxies(set)
        | Trust::Hops {
            peers: PeerFilter::Proxies(set),
            ..
        } => set.contains_canonical(ip).then_some(Verdict::TrustedProxy),
        Trust::Hops {
            peers: PeerFilter::Any,
            ..
        } => Some(Verdict::TrustedByCount),
    }
}

/// Whether the hop at `index` (from the right) is a trusted proxy: in the
/// set, or inside the hop count, where the hop just past the counted
/// proxies is the client. `in_set` looks the hop's address up. The one
/// definition, for the walk and the fast path.
#[inline(always)]
pub(crate) fn hop_trusted(
    trust: &Trust,
    index: usize,
    in_set: impl FnOnce(&ProxySet) -> bool,
) -> bool {
    match trust {
        Trust::Proxies(set) => in_set(set),
        Trust::Hops { count, .. } => index + 1 < *count,
    }
}

/// `peer` with its addresses canonical (IPv4-mapped IPv6 as IPv4), as
/// every comparison and every resolution sees it.
#[inline]
pub(crate) fn canonical(peer: Peer) -> Peer {
    match peer {
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
            sender: std::net::SocketAddr::new(sender.ip().to_canonical(), sender.port()),
        },
        Peer::Unix | Peer::Unknown => peer,
    }
}

/// What one element of the configured header says.
enum Hop {
    Node(Node),
    NoFor,
    BadElement(ElementError),
    BadAddress(HopError),
}

pub(crate) fn walk<O: Observer>(
    settings: &Settings,
    peer: Peer,
    headers: &HeaderMap,
    obs: &mut O,
) -> Result<Resolution, Error> {
    let peer = canonical(peer);
    // The answer when the peer is the client.
    let peer_addr = match peer {
        Peer::Ip { ip, port } | Peer::Proxied { ip, port, .. } => Some(HopAddr { ip, port }),
        Peer::ProxiedWithoutSource { sender } => Some(HopAddr {
            ip: sender.ip(),
            port: Some(sender.port()),
        }),
        Peer::Unix | Peer::Unknown => None,
    };
    if peer_addr.is_some_and(|addr| addr.ip.is_unspecified()) {
        obs.peer(&peer, Verdict::Malformed(HopError::Unspecified));
        return Err(Error::UnspecifiedPeer);
    }
    let peer_origin = match peer {
        Peer::Proxied { .. } => Origin::ProxyProtocol,
        _ => Origin::Peer,
    };

    let (Some(verdict), Read::Header { name, form }) = (peer_trust(settings, &peer), settings.read)
    else {
        // Rule 1: a peer that is not trusted is the client, whatever
        // headers say.
        return match peer_addr {
            Some(addr) => {
                obs.peer(&peer, Verdict::Client);
                Ok(resolution(addr, peer_origin, peer, 0))
            }
            None => {
                obs.peer(&peer, Verdict::NoAddress);
                Err(Error::NoPeerAddress)
            }
        };
    };
    obs.peer(&peer, verdict);

    let walk = Walk {
        settings,
        peer,
        peer_addr,
        peer_origin,
    };
    match form {
        Form::Forwarded => walk.chain(
            name,
            forwarded::RevElements::new(lines(headers, name)),
            read_forwarded,
            obs,
        ),
        Form::List => {
            let elements = list::RevElements::new(lines(headers, name)).map(Ok);
            walk.chain(name, elements, read_list, obs)
        }
        // One address per header: the last line, never split on commas.
        Form::Single => walk.chain(name, last_line(headers, name), read_list, obs),
        Form::SingleLastColon => {
            walk.chain(name, last_line(headers, name), read_ip_port_last_colon, obs)
        }
    }
}

/// A header's lines, last line first.
#[inline]
pub(crate) fn lines<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'h [u8]> + use<'h> {
    headers
        .get_all(name)
        .iter()
        .rev()
        .map(HeaderValue::as_bytes)
}

/// A single-address header's one element: its last line, trimmed.
fn last_line<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = Result<&'h [u8], ElementError>> + use<'h> {
    lines(headers, name)
        .next()
        .map(|line| Ok(trim_ows(line)))
        .into_iter()
}

fn read_list(raw: &[u8]) -> Hop {
    match parse_list_node(raw) {
        Ok(node) => Hop::Node(node),
        Err(e) => Hop::BadAddress(e),
    }
}

fn read_ip_port_last_colon(raw: &[u8]) -> Hop {
    match parse_ip_port_last_colon(raw) {
        Ok(addr) => Hop::Node(Node::Ip(addr)),
        Err(e) => Hop::BadAddress(e),
    }
}

fn read_forwarded(raw: &[u8]) -> Hop {
    match Element::parse(raw) {
        Err(e) => Hop::BadElement(e),
        Ok(element) => match element.for_node() {
            None => Hop::NoFor,
            Some(Ok(node)) => Hop::Node(node),
            Some(Err(e)) => Hop::BadAddress(e),
        },
    }
}

fn resolution(addr: HopAddr, origin: Origin, peer: Peer, trusted_proxies: usize) -> Resolution {
    Resolution {
        client: ClientIp::new(addr.ip),
        port: addr.port,
        origin,
        peer,
        trusted_proxies,
    }
}

struct Walk<'s> {
    settings: &'s Settings,
    /// Canonical.
    peer: Peer,
    /// `None` for a trusted Unix-socket peer.
    peer_addr: Option<HopAddr>,
    peer_origin: Origin,
}

impl Walk<'_> {
    /// Walks the header's elements, newest first, from a trusted peer.
    fn chain<'a, O, I>(
        self,
        name: &'static HeaderName,
        elements: I,
        read: impl Fn(&[u8]) -> Hop,
        obs: &mut O,
    ) -> Result<Resolution, Error>
    where
        O: Observer,
        I: Iterator<Item = Result<&'a [u8], ElementError>>,
    {
        let max_hops = self.settings.max_hops;
        let count = match &self.settings.trust {
            Trust::Hops { count, .. } => Some(*count),
            Trust::Proxies(_) => None,
        };
        let header = |index| Origin::Header { name, index };
        let mut index = 0;
        let mut empties = 0;
        let mut leftmost: Option<(HopAddr, usize)> = None;
        for element in elements {
            let raw = match element {
                Ok([]) => {
                    empties += 1;
                    if empties > MAX_EMPTY_ELEMENTS {
                        return Err(Error::TooManyEmptyElements {
                            limit: MAX_EMPTY_ELEMENTS,
                        });
                    }
                    continue;
                }
                Ok(raw) => raw,
                Err(reason) => {
                    obs.hop(index, b"", None, Verdict::MalformedElement(reason));
                    return Err(Error::MalformedElement { index, reason });
                }
            };
            if index == max_hops {
                obs.hop(index, raw, None, Verdict::BeyondLimit);
                return Err(Error::TooManyHops { limit: max_hops });
            }
            // Every hop is read, inside a trusted count too (rule 4): one
            // that is not an address is an error, never skipped.
            let addr = match read(raw) {
                Hop::Node(Node::Ip(addr)) => addr,
                Hop::Node(Node::Unknown) => {
                    obs.hop(index, raw, None, Verdict::Unknown);
                    return Err(Error::UnknownHop { index });
                }
                Hop::Node(Node::Obfuscated) => {
                    obs.hop(index, raw, None, Verdict::Obfuscated);
                    return Err(Error::ObfuscatedHop { index });
                }
                Hop::NoFor => {
                    obs.hop(index, raw, None, Verdict::MissingFor);
                    return Err(Error::MissingFor { index });
                }
                Hop::BadElement(reason) => {
                    obs.hop(index, raw, None, Verdict::MalformedElement(reason));
                    return Err(Error::MalformedElement { index, reason });
                }
                Hop::BadAddress(reason) => {
                    obs.hop(index, raw, None, Verdict::Malformed(reason));
                    return Err(Error::MalformedHop { index, reason });
                }
            };
            let trust = &self.settings.trust;
            let verdict = match hop_trusted(trust, index, |set| set.contains_canonical(addr.ip)) {
                false => Verdict::Client,
                true if count.is_some() => Verdict::TrustedByCount,
                true => Verdict::TrustedProxy,
            };
            obs.hop(index, raw, Some(addr), verdict);
            if verdict == Verdict::Client {
                return Ok(resolution(addr, header(index), self.peer, index + 1));
            }
            leftmost = Some((addr, index));
            index += 1;
        }

        if index == 0 && empties > 0 {
            return Err(Error::EmptyHeader);
        }
        if let Some(needed) = count {
            return Err(Error::ChainTooShort {
                needed,
                found: index,
            });
        }
        let answer = match (leftmost, self.peer_addr) {
            (Some((addr, i)), _) => (addr, header(i), Position::Hop(i), i + 1),
            (None, Some(addr)) => (addr, self.peer_origin, Position::Peer, 0),
            // A trusted proxy on a Unix socket that names no client leaves
            // no address to answer with.
            (None, None) => return Err(Error::UnixPeerSentNoHeader),
        };
        // Every hop is a trusted proxy (rule 5).
        if self.settings.all_trusted == AllTrusted::Error {
            return Err(Error::AllHopsTrusted);
        }
        let (addr, origin, position, trusted_proxies) = answer;
        obs.leftmost_is_the_answer(position);
        Ok(resolution(addr, origin, self.peer, trusted_proxies))
    }
}
