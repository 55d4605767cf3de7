//! Explanations: every step of a resolution with its verdict, and what the
//! request says about the deployment.
//!
//! [`Resolver::explain`](crate::Resolver::explain) runs the very walk that
//! [`Resolver::resolve`](crate::Resolver::resolve) runs, recording each
//! step, then looks at the request as a whole for signs of a deployment
//! problem: an Istio sidecar that hides the client, forwarding headers from
//! a peer that is not trusted, a configured header that is missing while
//! another is present. It allocates; use it to debug, to log samples, or in
//! tools such as the `explain` example.
//!
//! ```
//! use realip::{ProxySet, Resolver, explain::{Diagnostic, Verdict}};
//! use http::HeaderMap;
//!
//! let resolver = Resolver::builder()
//!     .x_forwarded_for()
//!     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
//!     .build()
//!     .unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.2".parse().unwrap());
//! let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
//!
//! let e = resolver.explain(peer, &headers);
//! let verdicts: Vec<Verdict> = e.steps.iter().map(|s| s.verdict).collect();
//! assert_eq!(verdicts, [Verdict::TrustedProxy, Verdict::TrustedProxy, Verdict::Client]);
//! assert_eq!(e.result.unwrap().client().to_string(), "203.0.113.7");
//! println!("{}", resolver.explain(peer, &headers)); // a readable report
//! ```

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use http::{HeaderMap, HeaderName};

use crate::addr::{HopAddr, HopError};
use crate::error::Error;
use crate::forwarded::ElementError;
use crate::peer::Peer;
use crate::resolution::{Origin, Resolution};
use crate::resolver::{Resolver, Source, Trust};
use crate::walk::{self, Observer, is_istio_sidecar};

/// The most bytes of a hop's text an explanation keeps.
pub const MAX_RAW_LEN: usize = 80;

/// Headers that carry a client address, by the proxies that write them.
pub const FORWARDING_HEADERS: [&str; 12] = [
    "forwarded",
    "x-forwarded-for",
    "x-real-ip",
    "cf-connecting-ip",
    "true-client-ip",
    "fly-client-ip",
    "x-envoy-external-address",
    "cloudfront-viewer-address",
    "fastly-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-azure-clientip",
];

/// What a walk decided about one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The address is in the trusted-proxy set: step one hop further left.
    TrustedProxy,
    /// Trusted because it is among the configured number of nearest hops.
    TrustedByCount,
    /// A Unix-socket peer, trusted by configuration.
    TrustedUnixPeer,
    /// The client: the answer.
    Client,
    /// Not an address in any accepted form: the walk stops with an error.
    Malformed(HopError),
    /// A `Forwarded` element that does not follow RFC 7239.
    MalformedElement(ElementError),
    /// `unknown`: the walk stops with an error.
    Unknown,
    /// An obfuscated identifier: the walk stops with an error.
    Obfuscated,
    /// A `Forwarded` element without `for`: the walk stops with an error.
    MissingFor,
    /// Past `max_hops`: the walk stops with an error.
    BeyondLimit,
    /// A peer without an IP address that is not trusted.
    NoAddress,
}

impl Verdict {
    /// A stable `snake_case` name, for JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::TrustedProxy => "trusted_proxy",
            Verdict::TrustedByCount => "trusted_by_count",
            Verdict::TrustedUnixPeer => "trusted_unix_peer",
            Verdict::Client => "client",
            Verdict::Malformed(_) => "malformed",
            Verdict::MalformedElement(_) => "malformed_element",
            Verdict::Unknown => "unknown",
            Verdict::Obfuscated => "obfuscated",
            Verdict::MissingFor => "missing_for",
            Verdict::BeyondLimit => "beyond_limit",
            Verdict::NoAddress => "no_address",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::TrustedProxy => f.write_str("trusted proxy"),
            Verdict::TrustedByCount => f.write_str("trusted (within the hop count)"),
            Verdict::TrustedUnixPeer => f.write_str("trusted Unix-socket peer"),
            Verdict::Client => f.write_str("CLIENT"),
            Verdict::Malformed(reason) => write!(f, "malformed: {reason}"),
            Verdict::MalformedElement(reason) => write!(f, "malformed element: {reason}"),
            Verdict::Unknown => f.write_str("\"unknown\": identity not known to the proxy"),
            Verdict::Obfuscated => f.write_str("obfuscated identifier"),
            Verdict::MissingFor => f.write_str("element without for="),
            Verdict::BeyondLimit => f.write_str("beyond max_hops"),
            Verdict::NoAddress => f.write_str("no IP address"),
        }
    }
}

/// Which step: the peer, or a header hop counted from the right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// The socket peer.
    Peer,
    /// A header hop; 0 is the newest (rightmost) element.
    Hop(usize),
}

/// One step of a walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which step.
    pub position: Position,
    /// The hop's text as received, at most [`MAX_RAW_LEN`] bytes, with
    /// bytes that are not printable ASCII escaped as `\xNN` (`None` for the
    /// peer).
    pub raw: Option<String>,
    /// The address read, if any.
    pub addr: Option<IpAddr>,
    /// The port read, if any.
    pub port: Option<u16>,
    /// The decision.
    pub verdict: Verdict,
}

/// How much a diagnostic matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Worth knowing; often expected.
    Info,
    /// Probably a misconfiguration, or a client trying to spoof.
    Warning,
}

/// Something the request says about the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Diagnostic {
    /// The answer is `127.0.0.6`/`::6`: an Istio sidecar in REDIRECT mode
    /// re-originated the connection and the caller's address is lost.
    SidecarHidesClient {
        /// The sidecar address seen.
        peer: IpAddr,
    },
    /// The peer is not trusted but the request carries forwarding headers:
    /// a misconfiguration (a proxy missing from the trusted set) or a client
    /// trying to spoof its address.
    ForwardingHeadersFromUntrustedPeer {
        /// The forwarding headers present.
        headers: Vec<String>,
    },
    /// The resolver reads the peer alone but the request carries forwarding
    /// headers.
    ForwardingHeadersIgnored {
        /// The forwarding headers present.
        headers: Vec<String>,
    },
    /// The configured header is absent while other forwarding headers are
    /// present: perhaps the proxy writes a different header.
    ConfiguredHeaderAbsent {
        /// The configured header.
        configured: String,
        /// The forwarding headers present.
        present: Vec<String>,
    },
    /// Every hop was a trusted proxy: the answer (if any) is the oldest hop,
    /// which is only right if the trusted set is exactly the proxies.
    AllHopsTrusted,
    /// A single-address header appeared on several lines; the last was used.
    DuplicateSingleHeader {
        /// The header.
        header: String,
        /// How many lines.
        lines: usize,
    },
    /// Both `Forwarded` and `X-Forwarded-For` are present; only the
    /// configured one is read, they are never merged.
    ForwardedAndXForwardedFor,
    /// The client is a non-public address (private, link-local, shared;
    /// loopback is left out). Expected for callers inside the network; for internet
    /// clients it means a hop replaced the client's address, typically a
    /// load balancer that source-NATs.
    NonPublicClient {
        /// The answer.
        client: IpAddr,
    },
}

impl Diagnostic {
    /// A stable `snake_case` name, for JSON and log filters.
    pub fn code(&self) -> &'static str {
        match self {
            Diagnostic::SidecarHidesClient { .. } => "sidecar_hides_client",
            Diagnostic::ForwardingHeadersFromUntrustedPeer { .. } => {
                "forwarding_headers_from_untrusted_peer"
            }
            Diagnostic::ForwardingHeadersIgnored { .. } => "forwarding_headers_ignored",
            Diagnostic::ConfiguredHeaderAbsent { .. } => "configured_header_absent",
            Diagnostic::AllHopsTrusted => "all_hops_trusted",
            Diagnostic::DuplicateSingleHeader { .. } => "duplicate_single_header",
            Diagnostic::ForwardedAndXForwardedFor => "forwarded_and_x_forwarded_for",
            Diagnostic::NonPublicClient { .. } => "non_public_client",
        }
    }

    /// How much it matters.
    pub fn level(&self) -> Level {
        match self {
            Diagnostic::ForwardingHeadersIgnored { .. }
            | Diagnostic::ForwardedAndXForwardedFor
            | Diagnostic::NonPublicClient { .. } => Level::Info,
            _ => Level::Warning,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::SidecarHidesClient { peer } => write!(
                f,
                "the client is {peer}, the address an Istio sidecar in REDIRECT mode connects from: \
                 the caller's address is hidden. Use TPROXY interception \
                 (sidecar.istio.io/interceptionMode: TPROXY) so the socket peer is the caller, or have \
                 the sidecar append X-Forwarded-For (use_remote_address: true) and read it trusting \
                 istio-sidecar"
            ),
            Diagnostic::ForwardingHeadersFromUntrustedPeer { headers } => write!(
                f,
                "forwarding headers ({}) came from a peer that is not a trusted proxy, so they were \
                 ignored: add the proxy's address to the trusted set if it is yours, otherwise a \
                 client is trying to choose its own address",
                headers.join(", ")
            ),
            Diagnostic::ForwardingHeadersIgnored { headers } => write!(
                f,
                "the resolver reads the socket peer alone; forwarding headers ({}) were ignored. If a \
                 proxy sits in front of the application, configure its header and trust the proxy",
                headers.join(", ")
            ),
            Diagnostic::ConfiguredHeaderAbsent {
                configured,
                present,
            } => write!(
                f,
                "the configured header {configured} is absent, but {} is present: check which header \
                 your proxy writes (never read a header your nearest proxy does not overwrite)",
                present.join(", ")
            ),
            Diagnostic::AllHopsTrusted => f.write_str(
                "every hop was a trusted proxy: the answer is the oldest hop (or an error with \
                 all-trusted=error), which is right only if the trusted set holds your proxies and \
                 nothing else",
            ),
            Diagnostic::DuplicateSingleHeader { header, lines } => write!(
                f,
                "{header} appears {lines} times; the last line was used. A single-address header should \
                 be set (overwritten) by the nearest proxy, not appended"
            ),
            Diagnostic::ForwardedAndXForwardedFor => f.write_str(
                "both Forwarded and X-Forwarded-For are present; only the configured one is read",
            ),
            Diagnostic::NonPublicClient { client } => write!(
                f,
                "the client {client} is a non-public address: expected for callers inside your \
                 network; for internet clients it means a hop replaced the client's address, typically \
                 a load balancer that source-NATs (Kubernetes externalTrafficPolicy: Cluster). Use \
                 externalTrafficPolicy: Local or the PROXY protocol to keep the client"
            ),
        }
    }
}

/// A resolution with every step and diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The resolver's configuration, in one line.
    pub configuration: String,
    /// The peer given.
    pub peer: Peer,
    /// The steps, the peer first, then header hops from the newest.
    pub steps: Vec<Step>,
    /// The answer, identical to what `resolve` returns.
    pub result: Result<Resolution, Error>,
    /// What the request says about the deployment.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "configuration: {}", self.configuration)?;
        for step in &self.steps {
            match step.position {
                Position::Peer => write!(f, "  peer     {}", self.peer)?,
                Position::Hop(i) => {
                    write!(f, "  hop {i:<4} {}", step.raw.as_deref().unwrap_or(""))?
                }
            }
            writeln!(f, "  -> {}", step.verdict)?;
        }
        match &self.result {
            Ok(r) => {
                write!(f, "client: {}", r.client())?;
                if let Some(port) = r.port() {
                    write!(f, " port {port}")?;
                }
                let n = r.trusted_proxies();
                let proxies = if n == 1 { "proxy" } else { "proxies" };
                writeln!(f, " (from {}, {n} trusted {proxies})", r.origin())?;
            }
            Err(e) => writeln!(f, "error: {e}")?,
        }
        for d in &self.diagnostics {
            let level = match d.level() {
                Level::Info => "note",
                Level::Warning => "warning",
            };
            writeln!(f, "{level}: {d}")?;
        }
        Ok(())
    }
}

/// Records the steps of a walk.
struct Recorder {
    steps: Vec<Step>,
}

impl Observer for Recorder {
    fn peer(&mut self, peer: &Peer, verdict: Verdict) {
        let (addr, port) = (peer.ip(), peer.port());
        self.steps.push(Step {
            position: Position::Peer,
            raw: None,
            addr,
            port,
            verdict,
        });
    }

    fn hop(&mut self, index: usize, raw: &[u8], addr: Option<HopAddr>, verdict: Verdict) {
        self.steps.push(Step {
            position: Position::Hop(index),
            raw: Some(escape_bounded(raw)),
            addr: addr.map(|a| a.ip),
            port: addr.and_then(|a| a.port),
            verdict,
        });
    }
}

pub(crate) fn explain(resolver: &Resolver, peer: Peer, headers: &HeaderMap) -> Explanation {
    let mut recorder = Recorder { steps: Vec::new() };
    let result = walk::walk(resolver, peer, headers, &mut recorder);
    let mut steps = recorder.steps;
    // When every hop was trusted, the leftmost one was recorded as a proxy
    // before the walk knew it would be the answer.
    if let Ok(resolution) = &result {
        let answer = match resolution.origin() {
            Origin::Peer | Origin::ProxyProtocol => Some(Position::Peer),
            Origin::Header { index, .. } => Some(Position::Hop(*index)),
        };
        if let Some(step) = steps.iter_mut().rev().find(|s| Some(s.position) == answer) {
            step.verdict = Verdict::Client;
        }
    }
    let diagnostics = diagnose(resolver, &steps, &result, headers);
    Explanation {
        configuration: resolver.to_string(),
        peer,
        steps,
        result,
        diagnostics,
    }
}

fn diagnose(
    resolver: &Resolver,
    steps: &[Step],
    result: &Result<Resolution, Error>,
    headers: &HeaderMap,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let configured = resolver.source().header_name();
    let present: Vec<String> = FORWARDING_HEADERS
        .iter()
        .map(|&h| h.to_owned())
        .chain(configured.map(HeaderName::to_string))
        .filter(|h| headers.contains_key(h.as_str()))
        .fold(Vec::new(), |mut acc, h| {
            if !acc.contains(&h) {
                acc.push(h);
            }
            acc
        });
    let peer_is_client = steps.first().is_some_and(|s| s.verdict == Verdict::Client);
    let answer = result.as_ref().ok().map(|r| r.ip());

    if let Some(ip) = answer.filter(|&ip| is_istio_sidecar(ip)) {
        out.push(Diagnostic::SidecarHidesClient { peer: ip });
    }
    if !present.is_empty() {
        if resolver.source() == &Source::Peer {
            out.push(Diagnostic::ForwardingHeadersIgnored {
                headers: present.clone(),
            });
        } else if peer_is_client {
            out.push(Diagnostic::ForwardingHeadersFromUntrustedPeer {
                headers: present.clone(),
            });
        }
    }
    if let Some(name) = configured {
        if !headers.contains_key(name) && !present.is_empty() {
            out.push(Diagnostic::ConfiguredHeaderAbsent {
                configured: name.to_string(),
                present: present.clone(),
            });
        }
        if resolver.source().is_single() {
            let lines = headers.get_all(name).iter().count();
            if lines > 1 {
                out.push(Diagnostic::DuplicateSingleHeader {
                    header: name.to_string(),
                    lines,
                });
            }
        }
    }
    let all_trusted = match result {
        Err(Error::AllHopsTrusted) => true,
        Ok(r) => {
            matches!(resolver.trust(), Trust::Proxies(set) if set.contains(r.ip()))
                && resolver.source() != &Source::Peer
        }
        Err(_) => false,
    };
    if all_trusted {
        out.push(Diagnostic::AllHopsTrusted);
    }
    if headers.contains_key(http::header::FORWARDED) && headers.contains_key("x-forwarded-for") {
        out.push(Diagnostic::ForwardedAndXForwardedFor);
    }
    // Loopback is a proxy on the same host or a local test, not a sign of NAT.
    if let Some(ip) = answer.filter(|&ip| !ip.is_loopback() && is_non_public(ip)) {
        out.push(Diagnostic::NonPublicClient { client: ip });
    }
    out
}

/// Private, loopback, link-local, shared (CGNAT) and unique-local ranges.
fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// At most [`MAX_RAW_LEN`] bytes, printable ASCII kept, the rest escaped.
fn escape_bounded(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_RAW_LEN) + 4);
    for &b in raw.iter().take(MAX_RAW_LEN) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    if raw.len() > MAX_RAW_LEN {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_bounded_and_escaped() {
        assert_eq!(escape_bounded(b"10.0.0.1"), "10.0.0.1");
        assert_eq!(escape_bounded(b"a\xffb\\"), "a\\xffb\\x5c");
        let long = vec![b'1'; 1000];
        let shown = escape_bounded(&long);
        assert_eq!(shown.chars().count(), MAX_RAW_LEN + 1);
    }

    #[test]
    fn non_public_ranges() {
        for ip in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.0.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.1", "100.128.0.1", "2001:db8::1", "8.8.8.8"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }
}

/// The JSON (or other serde) form of an explanation, as the `explain` tool
/// and the httpbin example print it.
///
/// On success: `client`, `port`, `source` (`"peer"` or the header's name),
/// `hop_index`, `trusted_proxies`, `peer`, `configuration`, `hops`,
/// `diagnostics`. When unresolvable: `error` (`kind`, `message`,
/// `hop_index`), `peer`, `configuration`, `hops`, `diagnostics`. Each hop is
/// `position` (`"peer"` or its index), `raw`, `address`, `port`, `verdict`
/// (its code) and `detail`; each diagnostic `code`, `level`, `message`.
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        struct Steps<'a>(&'a [Step]);
        impl serde::Serialize for Steps<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|step| {
                    let position = match step.position {
                        Position::Peer => records::Pos::Peer,
                        Position::Hop(i) => records::Pos::Hop(i),
                    };
                    records::StepOut {
                        position,
                        raw: step.raw.as_deref(),
                        address: step.addr.map(|a| a.to_string()),
                        port: step.port,
                        verdict: step.verdict.code(),
                        detail: step.verdict.to_string(),
                    }
                }))
            }
        }
        struct Diagnostics<'a>(&'a [Diagnostic]);
        impl serde::Serialize for Diagnostics<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|d| records::DiagnosticOut {
                    code: d.code(),
                    level: match d.level() {
                        Level::Info => "info",
                        Level::Warning => "warning",
                    },
                    message: d.to_string(),
                }))
            }
        }

        let mut map = s.serialize_map(None)?;
        match &self.result {
            Ok(r) => {
                let (source, hop_index) = match r.origin() {
                    Origin::Peer => ("peer".to_owned(), None),
                    Origin::ProxyProtocol => ("proxy-protocol".to_owned(), None),
                    Origin::Header { name, index } => (name.to_string(), Some(*index)),
                };
                map.serialize_entry("client", &r.ip())?;
                map.serialize_entry("port", &r.port())?;
                map.serialize_entry("source", &source)?;
                map.serialize_entry("hop_index", &hop_index)?;
                map.serialize_entry("trusted_proxies", &r.trusted_proxies())?;
            }
            Err(e) => {
                map.serialize_entry(
                    "error",
                    &records::ErrorOut {
                        kind: e.kind(),
                        message: e.to_string(),
                        hop_index: e.hop_index(),
                    },
                )?;
            }
        }
        map.serialize_entry("peer", &self.peer.to_string())?;
        map.serialize_entry("configuration", &self.configuration)?;
        map.serialize_entry("hops", &Steps(&self.steps))?;
        map.serialize_entry("diagnostics", &Diagnostics(&self.diagnostics))?;
        map.end()
    }
}

/// Plain records for the serde form of an explanation.
#[cfg(feature = "serde")]
mod records {
    /// `"peer"`, or the hop's index.
    pub(super) enum Pos {
        Peer,
        Hop(usize),
    }

    impl serde::Serialize for Pos {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Pos::Peer => s.serialize_str("peer"),
                Pos::Hop(i) => s.serialize_u64(*i as u64),
            }
        }
    }

    #[derive(serde::Serialize)]
    pub(super) struct StepOut<'a> {
        pub(super) position: Pos,
        pub(super) raw: Option<&'a str>,
        pub(super) address: Option<String>,
        pub(super) port: Option<u16>,
        pub(super) verdict: &'static str,
        pub(super) detail: String,
    }

    #[derive(serde::Serialize)]
    pub(super) struct DiagnosticOut {
        pub(super) code: &'static str,
        pub(super) level: &'static str,
        pub(super) message: String,
    }

    #[derive(serde::Serialize)]
    pub(super) struct ErrorOut {
        pub(super) kind: &'static str,
        pub(super) message: String,
        pub(super) hop_index: Option<usize>,
    }
}
