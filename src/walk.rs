//! The walk: the one definition of a resolution.
//!
//! From the peer leftwards through the configured header, while the
//! current hop is a trusted proxy; the first hop that is not is the
//! client. This module is the only code that decides whether the peer and
//! each hop are trusted, counts hops, applies `max_hops` and the
//! all-trusted policy, and builds a [`Resolution`].
//!
//! [`Resolver::resolve`](crate::Resolver::resolve) and
//! [`Resolver::explain`](crate::Resolver::explain) both run [`walk`]. It
//! reports each step to an [`Observer`]; the resolver's observer does
//! nothing and compiles to nothing, so the explanation cannot disagree with
//! the answer.
//!
//! It is fast because the compiler specialises it, not because a second
//! copy takes shortcuts: the trust mode is a type ([`InSet`] or
//! [`Counted`]), the header's lines come through [`HeaderLines`], and the
//! readers below turn bytes into tokens, trying a quick parse before the
//! exact one (a line of bare IPv4 addresses in one pass, a plain `for=`
//! element without the full RFC 7239 grammar). The readers decide nothing.

use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::ControlFlow;

use http::HeaderName;

use crate::addr::{HopAddr, HopError, Node, parse_ip_port_last_colon, parse_list_node};
use crate::error::Error;
use crate::forwarded::{self, Element, ElementError};
use crate::headers::HeaderLines;
use crate::list::{self, V4Line, trim_ows};
use crate::peer::Peer;
use crate::resolution::{ClientIp, Origin, Resolution};
use crate::scheme_host::{MAX_HOST_LEN, Missing, OriginalUrl, ValueError, read_host, read_scheme};
use crate::settings::{
    Align, AllTrusted, Form, Header, Loaded, MAX_EMPTY_ELEMENTS, Read, Settings, ValueRead,
};
use crate::trust::ProxySet;
use crate::verdict::{Position, Verdict};
use crate::xfcc::{self, NoIdentity};

/// Receives every step of a walk.
pub(crate) trait Observer<'h> {
    /// The peer and what the walk made of it.
    fn peer(&mut self, peer: &Peer, verdict: Verdict);
    /// A header hop (position from the right), its raw text, what it was
    /// read as (if it was read) and its verdict.
    fn hop(&mut self, index: usize, raw: &[u8], addr: Option<HopAddr>, verdict: Verdict);
    /// Every step was trusted, and the one at `position` (the leftmost
    /// hop, or the peer when the header is absent) is the answer (rule 5).
    fn leftmost_is_the_answer(&mut self, position: Position);
    /// The identity the trusted peer vouched for (rule 15), read before
    /// the peer's verdict, and whether it is trusted.
    fn caller(&mut self, caller: Result<&'h str, NoIdentity>, trusted: bool);
}

/// The resolver's observer: records nothing.
pub(crate) struct NoObserver;

impl Observer<'_> for NoObserver {
    #[inline(always)]
    fn peer(&mut self, _: &Peer, _: Verdict) {}
    #[inline(always)]
    fn hop(&mut self, _: usize, _: &[u8], _: Option<HopAddr>, _: Verdict) {}
    #[inline(always)]
    fn leftmost_is_the_answer(&mut self, _: Position) {}
    #[inline(always)]
    fn caller(&mut self, _: Result<&str, NoIdentity>, _: bool) {}
}

/// Whether the resolver reads the configured header from this peer, and
/// why: [`Verdict::TrustedProxy`], [`Verdict::TrustedByCount`] or
/// [`Verdict::TrustedUnixPeer`]; `None` when the peer is the answer (or,
/// without an address, the request cannot be resolved). `peer` is
/// canonical; `trust` is the settings' trust as loaded for this request
/// (the walk judges the hops by the same load).
///
/// Rule 1, for the walk and the diagnostics. A PROXY connection whose
/// header named no source ([`Peer::ProxiedWithoutSource`]) is never
/// trusted: its peer is an L4 balancer, which writes no HTTP header (rule
/// 12).
#[inline]
pub(crate) fn peer_trust(settings: &Settings, trust: Loaded<'_>, peer: &Peer) -> Option<Verdict> {
    if matches!(settings.read, Read::Peer) {
        return None;
    }
    match *peer {
        Peer::Ip { ip, .. } | Peer::Proxied { ip, .. } => match trust.peers() {
            Some(set) => set.contains_canonical(ip).then_some(Verdict::TrustedProxy),
            None => Some(Verdict::TrustedByCount),
        },
        Peer::Unix if settings.trust_unix_peer => Some(Verdict::TrustedUnixPeer),
        Peer::Unix | Peer::Unknown | Peer::ProxiedWithoutSource { .. } => None,
    }
}

/// The caller identity a trusted peer vouched for (rule 15), read as the
/// walk reads it: `None` when the resolver trusts no identity or the peer
/// is not a trusted proxy (or is unspecified, which the walk refuses).
/// `peer` is canonical.
pub(crate) fn caller<'h, H: HeaderLines + ?Sized>(
    settings: &Settings,
    peer: &Peer,
    headers: &'h H,
) -> Option<Result<&'h str, NoIdentity>> {
    let name = settings.callers.read?;
    // The walk refuses an unspecified peer before it reads any header.
    if peer.ip().is_some_and(|ip| ip.is_unspecified()) {
        return None;
    }
    let shared = OnceCell::new();
    peer_trust(settings, settings.trust.load(&shared), peer)?;
    Some(xfcc::caller_uri(headers.lines_rev(name)))
}

/// Whether the hop at `index` (from the right) is the one a sidecar that
/// appends its caller wrote for it (rule 15), and if so whether the walk
/// trusted it: by the caller's identity, never by its address. `None` for
/// every other hop, which the trusted set decides. `peer` is canonical.
pub(crate) fn caller_hop_trusted<H: HeaderLines + ?Sized>(
    settings: &Settings,
    peer: &Peer,
    headers: &H,
    index: usize,
) -> Option<bool> {
    if index != 0 || !settings.callers.sidecar_appends {
        return None;
    }
    let read = caller(settings, peer, headers)?;
    Some(read.is_ok_and(|uri| settings.callers.admits(uri)))
}

/// Resolves the client of a request: the definition.
#[inline]
pub(crate) fn walk<'h, H, O>(
    settings: &Settings,
    peer: Peer,
    headers: &'h H,
    obs: &mut O,
) -> Result<Resolution, Error>
where
    H: HeaderLines + ?Sized,
    O: Observer<'h>,
{
    walk_to_hop::<H, O, false>(settings, peer, headers, obs, &mut None)
}

/// The hop whose element named the client: where the scheme and host that
/// came with it are read (rule 14).
#[derive(Clone, Copy)]
pub(crate) struct ClientHop<'h> {
    /// The header the source reads.
    source: Header,
    /// The hop's position among the source's elements, from the right.
    index: usize,
    /// The hop's element.
    raw: &'h [u8],
}

impl ClientHop<'_> {
    /// The hop's position among the source's elements, from the right.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// [`walk`], which also says in `hop` which header hop named the client
/// (left `None` when the peer is the answer) when `HOP` is set: the
/// resolver's walk keeps no hop text it will not use.
#[inline(always)]
pub(crate) fn walk_to_hop<'h, H, O, const HOP: bool>(
    settings: &Settings,
    peer: Peer,
    headers: &'h H,
    obs: &mut O,
    hop: &mut Option<ClientHop<'h>>,
) -> Result<Resolution, Error>
where
    H: HeaderLines + ?Sized,
    O: Observer<'h>,
{
    let peer = peer.canonical();
    // The answer when the peer is the client.
    let (peer_addr, peer_origin) = match peer {
        Peer::Ip { ip, port } => (Some(HopAddr { ip, port }), Origin::Peer),
        Peer::Proxied { ip, port, .. } => (Some(HopAddr { ip, port }), Origin::ProxyProtocol),
        Peer::ProxiedWithoutSource { sender } => (
            Some(HopAddr {
                ip: sender.ip(),
                port: Some(sender.port()),
            }),
            Origin::Peer,
        ),
        Peer::Unix | Peer::Unknown => (None, Origin::Peer),
    };
    if peer_addr.is_some_and(|addr| addr.ip.is_unspecified()) {
        obs.peer(&peer, Verdict::Malformed(HopError::Unspecified));
        return Err(Error::UnspecifiedPeer);
    }
    // Loaded once: the peer and every hop are judged by one set, even
    // while a shared set is replaced.
    let shared = OnceCell::new();
    let trust = settings.trust.load(&shared);
    let (Some(verdict), Read::Header(header)) = (peer_trust(settings, trust, &peer), settings.read)
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
    if let Some(name) = settings.callers.read {
        let start = (peer, peer_addr, peer_origin, header, verdict);
        return walk_past_caller::<H, O, HOP>(settings, trust, start, name, headers, obs, hop);
    }
    obs.peer(&peer, verdict);
    let mut chain = Chain::<HOP>::new(settings, peer, peer_addr, peer_origin, header.name, 1);
    let lines = headers.lines_rev(header.name);
    let result = match trust {
        Loaded::InSet(set) => chain.run(InSet(set), header.form, lines, obs),
        Loaded::Counted { count, .. } => chain.run(Counted(count), header.form, lines, obs),
    };
    *hop = chain.client_hop(header);
    result
}

/// The walk past a trusted peer when caller identities are configured
/// (rule 15): the sidecar's headers are believed only as far as its caller
/// is. Out of line, so that resolvers without identities do not carry it.
#[inline(never)]
fn walk_past_caller<'h, H, O, const HOP: bool>(
    settings: &Settings,
    trust: Loaded<'_>,
    (peer, peer_addr, peer_origin, header, verdict): (
        Peer,
        Option<HopAddr>,
        Origin,
        Header,
        Verdict,
    ),
    name: &'static HeaderName,
    headers: &'h H,
    obs: &mut O,
    hop: &mut Option<ClientHop<'h>>,
) -> Result<Resolution, Error>
where
    H: HeaderLines + ?Sized,
    O: Observer<'h>,
{
    let read = xfcc::caller_uri(headers.lines_rev(name));
    let trusted = read.is_ok_and(|uri| settings.callers.admits(uri));
    obs.caller(read, trusted);
    let appends = settings.callers.sidecar_appends;
    if !trusted && !appends {
        // The sidecar wrote nothing for its caller: the sidecar is the
        // nearest address known.
        obs.peer(&peer, Verdict::CallerNotTrusted);
        return match peer_addr {
            Some(addr) => Ok(resolution(addr, peer_origin, peer, 0)),
            // A trusted Unix-socket peer: no address to answer with.
            None => Err(Error::UnixPeerCallerNotTrusted),
        };
    }
    obs.peer(&peer, verdict);
    // A trusted caller with no hop of its own is one more proxy.
    let before = if appends { 1 } else { 2 };
    let mut chain = Chain::<HOP>::new(settings, peer, peer_addr, peer_origin, header.name, before);
    let lines = headers.lines_rev(header.name);
    let result = match trust {
        // The newest hop is the caller's: trusted exactly when it is.
        Loaded::InSet(set) if appends => {
            let first = CallerHop {
                trusted,
                rest: InSet(set),
            };
            chain.run(first, header.form, lines, obs)
        }
        Loaded::InSet(set) => chain.run(InSet(set), header.form, lines, obs),
        // Settings::checked refuses identities with a hop count; were one
        // let through, the count alone would decide, as without them.
        Loaded::Counted { count, .. } => chain.run(Counted(count), header.form, lines, obs),
    };
    *hop = chain.client_hop(header);
    result
}

/// The scheme and host that came with the client's hop (rule 14): from
/// its own `Forwarded` element, or from the value headers' element at its
/// position. None without a header hop (the peer is the client, or a
/// trusted proxy that sent no header is the answer). A value that is not
/// there or cannot be read is absent, and the result says why.
pub(crate) fn original_url<H: HeaderLines + ?Sized>(
    settings: &Settings,
    headers: &H,
    hop: Option<ClientHop<'_>>,
) -> OriginalUrl {
    let mut url = OriginalUrl::default();
    let values = &settings.values;
    let Some(ClientHop { source, index, raw }) = hop else {
        return url;
    };
    // The walk read this element, so it parses.
    let element = match (values.proto_read, values.host_read) {
        (Some(ValueRead::Element), _) | (_, Some(ValueRead::Element)) => Element::parse(raw).ok(),
        _ => None,
    };
    // Unescaped `Forwarded` values land here.
    let mut buf = [0u8; MAX_HOST_LEN];
    // The source's elements, counted at most once for both values.
    let mut counted = None;
    let mut hops = || {
        *counted.get_or_insert_with(|| match source.form {
            Form::List => non_empty_elements(headers, source.name).count(),
            // One hop per header. (`Forwarded` carries its own values.)
            Form::Single | Form::SingleLastColon | Form::Forwarded => 1,
        })
    };
    if let Some(read) = values.proto_read {
        let text = match read {
            ValueRead::Element => element_value(element.as_ref(), Element::proto, &mut buf),
            ValueRead::Header(name) => {
                aligned_element(&mut hops, values.align(), headers, name, index)
            }
        };
        match text.and_then(|text| read_scheme(text).map_err(Missing::Unreadable)) {
            Ok(scheme) => url.scheme = Some(scheme),
            Err(why) => url.missing.proto = Some(why),
        }
    }
    if let Some(read) = values.host_read {
        let text = match read {
            ValueRead::Element => element_value(element.as_ref(), Element::host, &mut buf),
            ValueRead::Header(name) => {
                aligned_element(&mut hops, values.align(), headers, name, index)
            }
        };
        let host = text
            .and_then(|text| read_host(text).map_err(Missing::Unreadable))
            .and_then(|host| match values.allowed_hosts.admits(&host) {
                true => Ok(host),
                false => Err(Missing::NotAllowed),
            });
        match host {
            Ok(host) => url.host = Some(host),
            Err(why) => url.missing.host = Some(why),
        }
    }
    url
}

/// A parameter of the client's `Forwarded` element, unescaped into `buf`.
fn element_value<'b, 'e: 'b>(
    element: Option<&Element<'e>>,
    param: fn(&Element<'e>) -> Option<forwarded::Value<'e>>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], Missing> {
    let value = element.and_then(param).ok_or(Missing::NotSent)?;
    value
        .unescape_into(buf)
        .ok_or(Missing::Unreadable(ValueError::TooLong))
}

/// The element of value header `name` that lines up with the source's
/// hop at `index` (from the right; empty elements are not counted, as in
/// the source). `hops` counts the source's elements, once for both values.
fn aligned_element<'h, H: HeaderLines + ?Sized>(
    hops: &mut impl FnMut() -> usize,
    align: Align,
    headers: &'h H,
    name: &'static HeaderName,
    index: usize,
) -> Result<&'h [u8], Missing> {
    let wanted = match align {
        Align::Single => 0,
        Align::Symmetric => index,
    };
    // One pass: how many elements, and the one at the wanted position.
    let mut values = 0;
    let mut found = None;
    for element in non_empty_elements(headers, name) {
        if values == wanted {
            found = Some(element);
        }
        values += 1;
    }
    match align {
        _ if values == 0 => Err(Missing::NotSent),
        Align::Single if values != 1 => Err(Missing::NotOne { values }),
        Align::Symmetric if hops() != values => Err(Missing::CountsDiffer {
            source: hops(),
            values,
        }),
        _ => found.ok_or(Missing::NotSent),
    }
}

/// The non-empty elements of a list header, newest first.
fn non_empty_elements<'h, H: HeaderLines + ?Sized>(
    headers: &'h H,
    name: &'static HeaderName,
) -> impl Iterator<Item = &'h [u8]> {
    headers
        .lines_rev(name)
        .flat_map(list::RevSplit::new)
        .filter(|e: &&[u8]| !e.is_empty())
}

/// How hops are trusted, as a type, so that each mode's walk is compiled
/// on its own.
trait HopTrust: Copy {
    /// Trust by count (the verdict says so), and the count.
    fn count(self) -> Option<usize>;
    /// Whether the hop at `index` (from the right), at canonical `ip`, is a
    /// trusted proxy.
    fn trusted(self, index: usize, ip: IpAddr) -> bool;
    /// [`trusted`](Self::trusted) for an IPv4 address as an integer: a
    /// mode that looks addresses up may do it without building an
    /// `IpAddr`.
    #[inline(always)]
    fn trusted_v4(self, index: usize, ip: u32) -> bool {
        self.trusted(index, IpAddr::V4(Ipv4Addr::from(ip)))
    }
    /// The verdict of a trusted hop at `index`.
    #[inline(always)]
    fn verdict(self, _index: usize) -> Verdict {
        match self.count() {
            Some(_) => Verdict::TrustedByCount,
            None => Verdict::TrustedProxy,
        }
    }
}

/// Hops whose address is in the set are trusted.
#[derive(Clone, Copy)]
struct InSet<'s>(&'s ProxySet);

impl HopTrust for InSet<'_> {
    #[inline(always)]
    fn count(self) -> Option<usize> {
        None
    }
    #[inline(always)]
    fn trusted(self, _: usize, ip: IpAddr) -> bool {
        self.0.contains_canonical(ip)
    }
    #[inline(always)]
    fn trusted_v4(self, _: usize, ip: u32) -> bool {
        self.0.contains_v4(ip)
    }
}

/// The nearest hops are trusted, the peer counted as the first: the hop
/// just past the counted proxies is the client.
#[derive(Clone, Copy)]
struct Counted(usize);

impl HopTrust for Counted {
    #[inline(always)]
    fn count(self) -> Option<usize> {
        Some(self.0)
    }
    #[inline(always)]
    fn trusted(self, index: usize, _: IpAddr) -> bool {
        index + 1 < self.0
    }
}

/// A sidecar that appends its caller's address (rule 15): the newest hop
/// is trusted exactly when the caller's identity is, whatever its address;
/// the hops before it as `rest` says.
#[derive(Clone, Copy)]
struct CallerHop<T> {
    trusted: bool,
    rest: T,
}

impl<T: HopTrust> HopTrust for CallerHop<T> {
    #[inline(always)]
    fn count(self) -> Option<usize> {
        self.rest.count()
    }
    #[inline(always)]
    fn trusted(self, index: usize, ip: IpAddr) -> bool {
        match index {
            0 => self.trusted,
            _ => self.rest.trusted(index, ip),
        }
    }
    #[inline(always)]
    fn trusted_v4(self, index: usize, ip: u32) -> bool {
        match index {
            0 => self.trusted,
            _ => self.rest.trusted_v4(index, ip),
        }
    }
    #[inline(always)]
    fn verdict(self, index: usize) -> Verdict {
        match index {
            0 => Verdict::TrustedCaller,
            _ => self.rest.verdict(index),
        }
    }
}

/// Why a hop is not an address: each stops the walk with its error (rule
/// 4: never skipped, inside a trusted count too).
#[derive(Clone, Copy)]
enum NotAnAddress {
    Unknown,
    Obfuscated,
    MissingFor,
    Element(ElementError),
    Address(HopError),
}

impl NotAnAddress {
    fn verdict(self) -> Verdict {
        match self {
            NotAnAddress::Unknown => Verdict::Unknown,
            NotAnAddress::Obfuscated => Verdict::Obfuscated,
            NotAnAddress::MissingFor => Verdict::MissingFor,
            NotAnAddress::Element(reason) => Verdict::MalformedElement(reason),
            NotAnAddress::Address(reason) => Verdict::Malformed(reason),
        }
    }

    fn error(self, index: usize) -> Error {
        match self {
            NotAnAddress::Unknown => Error::UnknownHop { index },
            NotAnAddress::Obfuscated => Error::ObfuscatedHop { index },
            NotAnAddress::MissingFor => Error::MissingFor { index },
            NotAnAddress::Element(reason) => Error::MalformedElement { index, reason },
            NotAnAddress::Address(reason) => Error::MalformedHop { index, reason },
        }
    }
}

#[inline]
fn node_addr(node: Node) -> Result<HopAddr, NotAnAddress> {
    match node {
        Node::Ip(addr) => Ok(addr),
        Node::Unknown => Err(NotAnAddress::Unknown),
        Node::Obfuscated => Err(NotAnAddress::Obfuscated),
    }
}

/// A comma-list element, or a single-address header's value.
#[inline(always)]
fn read_list(raw: &[u8]) -> Result<HopAddr, NotAnAddress> {
    parse_list_node(raw)
        .map_err(NotAnAddress::Address)
        .and_then(node_addr)
}

/// `ip:port` split at the last colon, IPv6 unbracketed.
fn read_ip_port_last_colon(raw: &[u8]) -> Result<HopAddr, NotAnAddress> {
    parse_ip_port_last_colon(raw).map_err(NotAnAddress::Address)
}

/// The `for` node of a `Forwarded` element.
#[inline]
fn read_forwarded(raw: &[u8]) -> Result<HopAddr, NotAnAddress> {
    if let Some(addr) = forwarded::quick_for(raw) {
        return Ok(addr);
    }
    let element = Element::parse(raw).map_err(NotAnAddress::Element)?;
    match element.for_node() {
        None => Err(NotAnAddress::MissingFor),
        Some(node) => node.map_err(NotAnAddress::Address).and_then(node_addr),
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

/// A walk stops with its answer, or goes on to the next hop.
type Flow = ControlFlow<Result<Resolution, Error>>;

/// A walk through the header of a trusted peer.
struct Chain<'s, 'h, const HOP: bool> {
    settings: &'s Settings,
    /// Canonical.
    peer: Peer,
    /// `None` for a trusted Unix-socket peer.
    peer_addr: Option<HopAddr>,
    peer_origin: Origin,
    name: &'static HeaderName,
    /// Hops read so far: the index of the next one.
    index: usize,
    /// The trusted proxies before the header's hops: the peer, and a
    /// trusted caller that appended no hop (rule 15).
    proxies_before: usize,
    /// Empty elements skipped so far.
    empties: usize,
    /// The last hop read (at `index - 1`) and its text, when it was
    /// trusted.
    leftmost: Option<HopAddr>,
    /// The text of that hop, kept only when the walk is asked which hop
    /// named the client (`HOP`).
    leftmost_raw: &'h [u8],
    /// The hop that named the answer (its position and text), when a
    /// header hop did: where its scheme and host are read.
    answer: Option<(usize, &'h [u8])>,
}

impl<'s, 'h, const HOP: bool> Chain<'s, 'h, HOP> {
    /// A walk about to read the header `name` of a trusted peer,
    /// `proxies_before` trusted proxies (the peer, and a caller that
    /// appended no hop) already stepped past.
    #[inline(always)]
    fn new(
        settings: &'s Settings,
        peer: Peer,
        peer_addr: Option<HopAddr>,
        peer_origin: Origin,
        name: &'static HeaderName,
        proxies_before: usize,
    ) -> Self {
        Chain {
            settings,
            peer,
            peer_addr,
            peer_origin,
            name,
            index: 0,
            proxies_before,
            empties: 0,
            leftmost: None,
            leftmost_raw: b"",
            answer: None,
        }
    }

    /// The hop that named the answer, when a header hop did.
    #[inline(always)]
    fn client_hop(&self, source: Header) -> Option<ClientHop<'h>> {
        self.answer
            .map(|(index, raw)| ClientHop { source, index, raw })
    }
    #[inline(always)]
    fn run<T, L, O>(
        &mut self,
        trust: T,
        form: Form,
        lines: L,
        obs: &mut O,
    ) -> Result<Resolution, Error>
    where
        T: HopTrust,
        L: Iterator<Item = &'h [u8]>,
        O: Observer<'h>,
    {
        let flow = match form {
            Form::List => self.list(trust, lines, obs),
            Form::Forwarded => self.forwarded(trust, lines, obs),
            Form::Single => self.single(trust, lines, read_list, obs),
            Form::SingleLastColon => self.single(trust, lines, read_ip_port_last_colon, obs),
        };
        match flow {
            ControlFlow::Break(answer) => answer,
            ControlFlow::Continue(()) => self.end(trust, obs),
        }
    }

    /// A comma list across lines.
    #[inline(always)]
    fn list<T, L, O>(&mut self, trust: T, lines: L, obs: &mut O) -> Flow
    where
        T: HopTrust,
        L: Iterator<Item = &'h [u8]>,
        O: Observer<'h>,
    {
        for line in lines {
            if let Some(v4) = V4Line::read(line) {
                for i in (0..v4.len()).rev() {
                    let (ip, raw) = v4.get(line, i);
                    self.v4_hop(trust, raw, ip, obs)?;
                }
                continue;
            }
            for raw in list::RevSplit::new(line) {
                if raw.is_empty() {
                    self.empty()?;
                    continue;
                }
                self.hop(trust, raw, read_list, obs)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// RFC 7239 elements across lines.
    #[inline(always)]
    fn forwarded<T, L, O>(&mut self, trust: T, lines: L, obs: &mut O) -> Flow
    where
        T: HopTrust,
        L: Iterator<Item = &'h [u8]>,
        O: Observer<'h>,
    {
        for line in lines {
            let mut elements = forwarded::RevSplit::new(line);
            for raw in &mut elements {
                if raw.is_empty() {
                    self.empty()?;
                    continue;
                }
                self.hop(trust, raw, read_forwarded, obs)?;
            }
            if elements.unterminated() {
                let reason = ElementError::UnterminatedQuote;
                obs.hop(self.index, b"", None, Verdict::MalformedElement(reason));
                let index = self.index;
                return ControlFlow::Break(Err(Error::MalformedElement { index, reason }));
            }
        }
        ControlFlow::Continue(())
    }

    /// One address per header: the last line, never split on commas.
    #[inline(always)]
    fn single<T, L, R, O>(&mut self, trust: T, mut lines: L, read: R, obs: &mut O) -> Flow
    where
        T: HopTrust,
        L: Iterator<Item = &'h [u8]>,
        R: FnOnce(&[u8]) -> Result<HopAddr, NotAnAddress>,
        O: Observer<'h>,
    {
        if let Some(line) = lines.next() {
            let raw = trim_ows(line);
            if raw.is_empty() {
                return self.empty();
            }
            return self.hop(trust, raw, read, obs);
        }
        ControlFlow::Continue(())
    }

    /// An empty element: not a hop, but only so many are skipped.
    #[inline]
    fn empty(&mut self) -> Flow {
        self.empties += 1;
        if self.empties > MAX_EMPTY_ELEMENTS {
            return ControlFlow::Break(Err(Error::TooManyEmptyElements {
                limit: MAX_EMPTY_ELEMENTS,
            }));
        }
        ControlFlow::Continue(())
    }

    /// Stops at a hop past `max_hops`.
    #[inline(always)]
    fn within_limit<O: Observer<'h>>(&self, raw: &[u8], obs: &mut O) -> Flow {
        if self.index == self.settings.max_hops {
            obs.hop(self.index, raw, None, Verdict::BeyondLimit);
            return ControlFlow::Break(Err(Error::TooManyHops {
                limit: self.settings.max_hops,
            }));
        }
        ControlFlow::Continue(())
    }

    /// The next hop, read from `raw` by `read`.
    #[inline(always)]
    fn hop<T, R, O>(&mut self, trust: T, raw: &'h [u8], read: R, obs: &mut O) -> Flow
    where
        T: HopTrust,
        R: FnOnce(&[u8]) -> Result<HopAddr, NotAnAddress>,
        O: Observer<'h>,
    {
        self.within_limit(raw, obs)?;
        match read(raw) {
            Ok(addr) => {
                let trusted = trust.trusted(self.index, addr.ip);
                self.judged(trust, raw, addr, trusted, obs)
            }
            Err(why) => {
                obs.hop(self.index, raw, None, why.verdict());
                ControlFlow::Break(Err(why.error(self.index)))
            }
        }
    }

    /// The next hop, a bare IPv4 address read by [`V4Line`].
    #[inline(always)]
    fn v4_hop<T: HopTrust, O: Observer<'h>>(
        &mut self,
        trust: T,
        raw: &'h [u8],
        ip: u32,
        obs: &mut O,
    ) -> Flow {
        self.within_limit(raw, obs)?;
        if ip == 0 {
            let why = NotAnAddress::Address(HopError::Unspecified);
            obs.hop(self.index, raw, None, why.verdict());
            return ControlFlow::Break(Err(why.error(self.index)));
        }
        let trusted = trust.trusted_v4(self.index, ip);
        let addr = HopAddr {
            ip: IpAddr::V4(Ipv4Addr::from(ip)),
            port: None,
        };
        self.judged(trust, raw, addr, trusted, obs)
    }

    /// A hop read and judged: the client, or a proxy to step past.
    #[inline(always)]
    fn judged<T: HopTrust, O: Observer<'h>>(
        &mut self,
        trust: T,
        raw: &'h [u8],
        addr: HopAddr,
        trusted: bool,
        obs: &mut O,
    ) -> Flow {
        let verdict = match trusted {
            false => Verdict::Client,
            true => trust.verdict(self.index),
        };
        obs.hop(self.index, raw, Some(addr), verdict);
        if !trusted {
            let origin = Origin::Header {
                name: self.name,
                index: self.index,
            };
            if HOP {
                self.answer = Some((self.index, raw));
            }
            let proxies = self.index + self.proxies_before;
            return ControlFlow::Break(Ok(resolution(addr, origin, self.peer, proxies)));
        }
        self.leftmost = Some(addr);
        if HOP {
            self.leftmost_raw = raw;
        }
        self.index += 1;
        ControlFlow::Continue(())
    }

    /// The header ran out and every hop read was a trusted proxy.
    fn end<T: HopTrust, O: Observer<'h>>(
        &mut self,
        trust: T,
        obs: &mut O,
    ) -> Result<Resolution, Error> {
        if self.index == 0 && self.empties > 0 {
            return Err(Error::EmptyHeader);
        }
        if let Some(needed) = trust.count() {
            return Err(Error::ChainTooShort {
                needed,
                found: self.index,
            });
        }
        let (addr, origin, position, trusted_proxies) = match (self.leftmost, self.peer_addr) {
            (Some(addr), _) => {
                let index = self.index - 1;
                if HOP {
                    self.answer = Some((index, self.leftmost_raw));
                }
                let origin = Origin::Header {
                    name: self.name,
                    index,
                };
                (
                    addr,
                    origin,
                    Position::Hop(index),
                    index + self.proxies_before,
                )
            }
            (None, Some(addr)) => (addr, self.peer_origin.clone(), Position::Peer, 0),
            // A trusted proxy on a Unix socket that names no client leaves
            // no address to answer with.
            (None, None) => return Err(Error::UnixPeerSentNoHeader),
        };
        // Every hop is a trusted proxy (rule 5).
        if self.settings.all_trusted == AllTrusted::Error {
            return Err(Error::AllHopsTrusted);
        }
        obs.leftmost_is_the_answer(position);
        Ok(resolution(addr, origin, self.peer, trusted_proxies))
    }
}

#[cfg(test)]
mod quick_readers;
