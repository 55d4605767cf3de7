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
//! answer is this walk's (tested, not assumed: see that module).

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::addr::{HopAddr, HopError, Node, parse_ip_port_last_colon, parse_list_node};
use crate::error::Error;
use crate::explain::Verdict;
use crate::forwarded::{self, Element, ElementError};
use crate::list::{self, trim_ows};
use crate::peer::Peer;
use crate::resolution::{ClientIp, Origin, Resolution};
use crate::resolver::{MAX_EMPTY_ELEMENTS, PeerFilter, Resolver, Settings, Source, Trust};

/// Receives every step of a walk.
pub(crate) trait Observer {
    /// The peer and what the walk made of it.
    fn peer(&mut self, peer: &Peer, verdict: Verdict);
    /// A header hop (position from the right), its raw text, what it was
    /// read as (if it was read) and its verdict.
    fn hop(&mut self, index: usize, raw: &[u8], addr: Option<HopAddr>, verdict: Verdict);
}

/// The resolver's observer: records nothing.
pub(crate) struct NoObserver;

impl Observer for NoObserver {
    #[inline(always)]
    fn peer(&mut self, _: &Peer, _: Verdict) {}
    #[inline(always)]
    fn hop(&mut self, _: usize, _: &[u8], _: Option<HopAddr>, _: Verdict) {}
}

/// What one element of the configured header says.
enum Hop {
    Node(Node),
    NoFor,
    BadElement(ElementError),
    BadAddress(HopError),
}

pub(crate) fn walk<O: Observer>(
    resolver: &Resolver,
    peer: Peer,
    headers: &HeaderMap,
    obs: &mut O,
) -> Result<Resolution, Error> {
    let resolver = &*resolver.settings;
    let peer_addr = match peer {
        Peer::Ip { ip, port } | Peer::Proxied { ip, port, .. } => {
            let ip = ip.to_canonical();
            if ip.is_unspecified() {
                obs.peer(&peer, Verdict::Malformed(HopError::Unspecified));
                return Err(Error::UnspecifiedPeer);
            }
            Some(HopAddr { ip, port })
        }
        Peer::Unix if resolver.trust_unix_peer && resolver.source != Source::Peer => None,
        Peer::Unix | Peer::Unknown => {
            obs.peer(&peer, Verdict::NoAddress);
            return Err(Error::NoPeerAddress);
        }
    };
    let peer = match (peer, peer_addr) {
        (Peer::Proxied { sender, .. }, Some(HopAddr { ip, port })) => {
            Peer::Proxied { ip, port, sender }
        }
        (_, Some(HopAddr { ip, port })) => Peer::Ip { ip, port },
        (peer, None) => peer,
    };
    // Where the answer comes from when the peer is the client.
    let peer_origin = match peer {
        Peer::Proxied { .. } => Origin::ProxyProtocol,
        _ => Origin::Peer,
    };

    let peer_verdict = match (peer_addr, &resolver.source, &resolver.trust) {
        (_, Source::Peer, _) => None,
        (None, _, _) => Some(Verdict::TrustedUnixPeer),
        (_, _, Trust::Hops { count: 0, .. }) => None,
        (Some(addr), _, Trust::Proxies(set)) => {
            set.contains(addr.ip).then_some(Verdict::TrustedProxy)
        }
        (Some(addr), _, Trust::Hops { peers, .. }) => match peers {
            PeerFilter::Any => Some(Verdict::TrustedByCount),
            PeerFilter::Proxies(set) => set.contains(addr.ip).then_some(Verdict::TrustedProxy),
        },
    };
    let Some(peer_verdict) = peer_verdict else {
        // Rule 1: an untrusted peer is the client, whatever headers say.
        obs.peer(&peer, Verdict::Client);
        let addr = peer_addr.expect("a peer without an address is trusted or refused above");
        return Ok(resolution(addr, peer_origin, peer, 0));
    };
    obs.peer(&peer, peer_verdict);

    let walk = Walk {
        resolver,
        peer,
        peer_addr,
        peer_origin,
    };
    // `build` interns the header's name once; interning here would only
    // serve a resolver made some other way (there is none), and is still
    // correct.
    let interned = |name: &HeaderName| {
        resolver
            .header
            .unwrap_or_else(|| crate::header_names::intern(name))
    };
    match &resolver.source {
        Source::Peer => unreachable!("the peer source returns above"),
        Source::Forwarded => {
            let name = interned(&http::header::FORWARDED);
            walk.chain(
                name,
                forwarded::RevElements::new(lines(headers, name)),
                read_forwarded,
                obs,
            )
        }
        Source::List(name) => {
            let name = interned(name);
            let elements = list::RevElements::new(lines(headers, name)).map(Ok);
            walk.chain(name, elements, read_list, obs)
        }
        Source::Single(name) => {
            let name = interned(name);
            // One address per header: the last line, never split on commas.
            let element = lines(headers, name).next().map(|line| Ok(trim_ows(line)));
            if splits_at_last_colon(name) {
                walk.chain(name, element.into_iter(), read_ip_port_last_colon, obs)
            } else {
                walk.chain(name, element.into_iter(), read_list, obs)
            }
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

/// Whether a single-address header is read as `ip:port` split at the last
/// colon (IPv6 unbracketed): `CloudFront-Viewer-Address`.
#[inline]
pub(crate) fn splits_at_last_colon(name: &HeaderName) -> bool {
    name.as_str() == "cloudfront-viewer-address"
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

struct Walk<'r> {
    resolver: &'r Settings,
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
        let max_hops = self.resolver.max_hops;
        let count = match &self.resolver.trust {
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
            // Counted proxies vouch for their own hops: no need to read them.
            if count.is_some_and(|n| index + 1 < n) {
                obs.hop(index, raw, None, Verdict::TrustedByCount);
                index += 1;
                continue;
            }
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
            let trusted = match &self.resolver.trust {
                Trust::Proxies(set) => set.contains(addr.ip),
                // The hop just past the counted proxies is the client.
                Trust::Hops { .. } => false,
            };
            if !trusted {
                obs.hop(index, raw, Some(addr), Verdict::Client);
                return Ok(resolution(addr, header(index), self.peer, index + 1));
            }
            obs.hop(index, raw, Some(addr), Verdict::TrustedProxy);
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
        // Every hop is a trusted proxy (rule 5).
        if self.resolver.all_trusted == crate::AllTrusted::Error {
            return Err(Error::AllHopsTrusted);
        }
        match (leftmost, self.peer_addr) {
            (Some((addr, i)), _) => Ok(resolution(addr, header(i), self.peer, i + 1)),
            (None, Some(addr)) => Ok(resolution(addr, self.peer_origin.clone(), self.peer, 0)),
            (None, None) => Err(Error::NoPeerAddress),
        }
    }
}

/// Whether `ip` is where an Istio sidecar in REDIRECT mode connects from.
pub(crate) fn is_istio_sidecar(ip: IpAddr) -> bool {
    ip == IpAddr::from([127, 0, 0, 6]) || ip == IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 6])
}
