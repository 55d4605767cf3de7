//! Diagnostics: what a request says about the deployment.
//!
//! One function decides which diagnostics a request shows ([`find`]), from
//! the resolver's settings, the peer, the headers and the result; another
//! words them ([`word`]). [`Resolver::explain`](crate::Resolver::explain)
//! calls both for every request it explains; the tracing reporter of the
//! tower layer calls `find` for each request (cheaply: no allocation, and
//! only the checks it still wants) and `word` only for a warning it has not
//! given yet. Neither keeps conditions of its own, so the two can never
//! disagree.
//!
//! Whether the peer is a trusted proxy is [`peer_trust`]'s answer, the one
//! the walk itself follows; it is never read back from the explanation's
//! steps, whose verdicts describe the answer. (A shared trusted set is
//! loaded again here: a reload between the walk and this look is seen.)

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName};

use crate::error::Error;
use crate::header_names::FORWARDING_HEADERS;
use crate::peer::Peer;
use crate::resolution::{Origin, Resolution};
use crate::scheme_host::{Missing, OriginalUrl};
use crate::settings::{Form, Header, Loaded, Read, Settings};
use crate::walk::{self, peer_trust};

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
    /// The peer is a trusted proxy but did not send the configured header,
    /// so nothing names who connected to it: the answer is the proxy
    /// itself, or an error.
    TrustedPeerSentNoHeader {
        /// The configured header.
        configured: String,
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
    /// The connection came through a PROXY-protocol sender whose header
    /// named no client (`LOCAL`, `UNKNOWN`, `AF_UNSPEC`): the answer is the
    /// balancer's own address, and forwarding headers were not read. A
    /// warning when such headers are present (a balancer at layer 4 writes
    /// none, so the client did), a note otherwise (health checks).
    BalancerGaveNoSource {
        /// The balancer.
        sender: SocketAddr,
        /// The forwarding headers present, not read.
        ignored: Vec<String>,
    },
    /// A configured scheme or host could not be taken from the client's
    /// hop, so the request has none (DESIGN rule 14): the hop carried no
    /// value, a value that is not a scheme or host, value headers that do
    /// not line up with the source, or a host outside the allowed hosts.
    ValueAbsent {
        /// `proto` or `host`.
        value: String,
        /// Why, in words (never the value itself).
        why: String,
    },
    /// The trusted sidecar's caller is not a trusted identity, or the
    /// sidecar named none (DESIGN rule 15): the walk stopped there, at the
    /// sidecar or at the address it appended for its caller, and the
    /// headers the caller sent were not believed. Expected for callers
    /// inside the mesh that skip the gateway; for the gateway's own traffic
    /// it means the configured identity is not the gateway's.
    CallerNotTrusted {
        /// The caller's identity, when the sidecar named one.
        caller: Option<String>,
        /// Why it is not trusted, in words.
        why: String,
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
            Diagnostic::TrustedPeerSentNoHeader { .. } => "trusted_peer_sent_no_header",
            Diagnostic::AllHopsTrusted => "all_hops_trusted",
            Diagnostic::DuplicateSingleHeader { .. } => "duplicate_single_header",
            Diagnostic::ForwardedAndXForwardedFor => "forwarded_and_x_forwarded_for",
            Diagnostic::NonPublicClient { .. } => "non_public_client",
            Diagnostic::BalancerGaveNoSource { .. } => "balancer_gave_no_source",
            Diagnostic::ValueAbsent { .. } => "value_absent",
            Diagnostic::CallerNotTrusted { .. } => "caller_not_trusted",
        }
    }

    /// Whether it is a warning: probably a misconfiguration, or a client
    /// trying to spoof. The others are notes: worth knowing, often
    /// expected.
    ///
    /// ```
    /// use realip::explain::Diagnostic;
    ///
    /// assert!(Diagnostic::AllHopsTrusted.is_warning());
    /// assert!(!Diagnostic::ForwardedAndXForwardedFor.is_warning());
    /// ```
    pub fn is_warning(&self) -> bool {
        match self {
            Diagnostic::ForwardingHeadersIgnored { .. }
            | Diagnostic::ForwardedAndXForwardedFor
            | Diagnostic::NonPublicClient { .. } => false,
            Diagnostic::BalancerGaveNoSource { ignored, .. } => !ignored.is_empty(),
            _ => true,
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
            Diagnostic::TrustedPeerSentNoHeader { configured } => write!(
                f,
                "the peer is a trusted proxy but sent no {configured}, so nothing names who connected \
                 to it: the answer can only be the proxy itself (or an error). Check that the proxy \
                 writes {configured} (an Istio sidecar appends X-Forwarded-For only with \
                 use_remote_address: true), or read the peer alone if it does not"
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
            Diagnostic::ValueAbsent { value, why } => write!(
                f,
                "the configured {value} could not be taken from the hop that named the client \
                 ({why}), so the request has none: check what the proxy that names the client \
                 writes"
            ),
            Diagnostic::CallerNotTrusted { caller, why } => {
                match caller {
                    Some(caller) => write!(f, "the trusted sidecar's caller {caller} is {why}")?,
                    None => write!(f, "the trusted sidecar named no caller ({why})")?,
                }
                f.write_str(
                    ": the walk stopped at the sidecar (or at the address it appended for its \
                     caller) and believed nothing the caller sent. Expected for in-mesh callers \
                     that skip the gateway; ",
                )?;
                match caller {
                    Some(_) => f.write_str(
                        "if this is the gateway's traffic, trust its identity \
                         (identity=spiffe://TD/ns/NS/sa/SA, the gateway's service account)",
                    ),
                    None => f.write_str(
                        "if this is the gateway's traffic, mTLS is off between the gateway and \
                         this sidecar, or the sidecar does not forward client certificate details \
                         (forward_client_cert_details)",
                    ),
                }
            }
            Diagnostic::BalancerGaveNoSource { sender, ignored } => {
                write!(
                    f,
                    "the PROXY-protocol sender {sender} named no client (LOCAL, UNKNOWN or AF_UNSPEC): \
                     the answer is the balancer's own address"
                )?;
                if ignored.is_empty() {
                    f.write_str(" (expected for its health checks)")
                } else {
                    write!(
                        f,
                        "; forwarding headers ({}) were not read: a balancer at layer 4 writes none, \
                         so the client wrote them",
                        ignored.join(", ")
                    )
                }
            }
        }
    }
}

/// Which diagnostics a request shows: one bit each, in the order they are
/// worded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Findings(u16);

impl Findings {
    pub(crate) const SIDECAR_HIDES_CLIENT: Findings = Findings(1);
    pub(crate) const HEADERS_FROM_UNTRUSTED_PEER: Findings = Findings(1 << 1);
    pub(crate) const HEADERS_IGNORED: Findings = Findings(1 << 2);
    pub(crate) const CONFIGURED_HEADER_ABSENT: Findings = Findings(1 << 3);
    pub(crate) const TRUSTED_PEER_SENT_NO_HEADER: Findings = Findings(1 << 4);
    pub(crate) const ALL_HOPS_TRUSTED: Findings = Findings(1 << 5);
    pub(crate) const DUPLICATE_SINGLE_HEADER: Findings = Findings(1 << 6);
    pub(crate) const FORWARDED_AND_XFF: Findings = Findings(1 << 7);
    pub(crate) const NON_PUBLIC_CLIENT: Findings = Findings(1 << 8);
    /// [`Diagnostic::BalancerGaveNoSource`] without forwarding headers (a
    /// note).
    pub(crate) const BALANCER_GAVE_NO_SOURCE: Findings = Findings(1 << 9);
    /// [`Diagnostic::BalancerGaveNoSource`] with forwarding headers (a
    /// warning).
    pub(crate) const BALANCER_GAVE_NO_SOURCE_WITH_HEADERS: Findings = Findings(1 << 10);
    /// [`Diagnostic::ValueAbsent`] for the scheme.
    pub(crate) const SCHEME_ABSENT: Findings = Findings(1 << 11);
    /// [`Diagnostic::ValueAbsent`] for the host.
    pub(crate) const HOST_ABSENT: Findings = Findings(1 << 12);
    /// [`Diagnostic::CallerNotTrusted`].
    pub(crate) const CALLER_NOT_TRUSTED: Findings = Findings(1 << 13);

    const COUNT: u32 = 14;
    pub(crate) const ALL: Findings = Findings((1 << Self::COUNT) - 1);

    /// The findings worded as warnings ([`Diagnostic::is_warning`]).
    #[cfg(any(test, all(feature = "tracing", feature = "tower")))]
    pub(crate) const WARNINGS: Findings = Findings(
        Self::ALL.0
            & !Self::HEADERS_IGNORED.0
            & !Self::FORWARDED_AND_XFF.0
            & !Self::NON_PUBLIC_CLIENT.0
            & !Self::BALANCER_GAVE_NO_SOURCE.0,
    );

    pub(crate) const NONE: Findings = Findings(0);

    pub(crate) fn contains(self, other: Findings) -> bool {
        self.0 & other.0 == other.0
    }

    #[cfg(all(feature = "tracing", feature = "tower"))]
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The findings of both.
    #[cfg(all(feature = "tracing", feature = "tower"))]
    pub(crate) fn intersection(self, other: Findings) -> Findings {
        Findings(self.0 & other.0)
    }

    /// The [`Diagnostic::code`] of each finding, by bit: what telemetry
    /// records without wording a diagnostic (a test checks each against
    /// the worded diagnostic's own code).
    #[cfg(any(
        test,
        all(feature = "tower", any(feature = "tracing", feature = "metrics"))
    ))]
    pub(crate) const CODES: [&'static str; Self::COUNT as usize] = [
        "sidecar_hides_client",
        "forwarding_headers_from_untrusted_peer",
        "forwarding_headers_ignored",
        "configured_header_absent",
        "trusted_peer_sent_no_header",
        "all_hops_trusted",
        "duplicate_single_header",
        "forwarded_and_x_forwarded_for",
        "non_public_client",
        "balancer_gave_no_source",
        "balancer_gave_no_source",
        "value_absent",
        "value_absent",
        "caller_not_trusted",
    ];

    /// The bit of each finding, in the order they are worded: indices
    /// into [`CODES`](Self::CODES).
    #[cfg(all(feature = "tower", any(feature = "tracing", feature = "metrics")))]
    pub(crate) fn indices(self) -> impl Iterator<Item = usize> {
        (0..Self::COUNT as usize).filter(move |&bit| self.0 & (1 << bit) != 0)
    }

    pub(crate) fn union(self, other: Findings) -> Findings {
        Findings(self.0 | other.0)
    }

    #[cfg(all(feature = "tracing", feature = "tower"))]
    pub(crate) fn without(self, other: Findings) -> Findings {
        Findings(self.0 & !other.0)
    }

    #[cfg(all(feature = "tracing", feature = "tower"))]
    pub(crate) fn bits(self) -> u16 {
        self.0
    }

    #[cfg(all(feature = "tracing", feature = "tower"))]
    pub(crate) fn from_bits(bits: u16) -> Findings {
        Findings(bits & Self::ALL.0)
    }
}

/// What one request is: the settings it was resolved with, its peer
/// (canonical), its headers and the result.
pub(crate) struct Request<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) peer: &'a Peer,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) result: &'a Result<Resolution, Error>,
    /// The original scheme and host, when they were read.
    pub(crate) url: Option<&'a OriginalUrl>,
}

impl Request<'_> {
    fn configured(&self) -> Option<&'static HeaderName> {
        match self.settings.read {
            Read::Peer => None,
            Read::Header(header) => Some(header.name),
        }
    }

    /// Whether any forwarding header (those realip knows, and the
    /// configured one) is present.
    fn any_forwarding_header(&self) -> bool {
        FORWARDING_HEADERS
            .iter()
            .any(|&h| self.headers.contains_key(h))
            || self
                .configured()
                .is_some_and(|h| self.headers.contains_key(h))
    }

    /// The forwarding headers present, each once.
    fn forwarding_headers(&self) -> Vec<String> {
        let configured = self.configured().map(HeaderName::as_str);
        let mut present: Vec<String> = Vec::new();
        for name in FORWARDING_HEADERS.iter().copied().chain(configured) {
            if self.headers.contains_key(name) && !present.iter().any(|p| p == name) {
                present.push(name.to_owned());
            }
        }
        present
    }
}

/// The diagnostics among `wanted` that `request` shows. Cheap: it does
/// not allocate, and looks only for what is wanted.
pub(crate) fn find(request: &Request<'_>, wanted: Findings) -> Findings {
    let answer = request.result.as_ref().ok();
    let answer_ip = answer.map(Resolution::ip);
    // Read from the header: the peer was trusted and the header is there.
    let from_header = answer.is_some_and(|r| matches!(r.origin(), Origin::Header { .. }));
    let balancer = matches!(request.peer, Peer::ProxiedWithoutSource { .. });
    let configured = request.configured();
    // What costs a lookup is found at most once, and only when a wanted
    // check gets that far (the tracing reporter runs this per request).
    let shared = std::cell::OnceCell::new();
    let loaded = std::cell::OnceCell::new();
    let trust = || *loaded.get_or_init(|| request.settings.trust.load(&shared));
    let mut trusted_peer = None;
    let mut trusted_peer = || {
        *trusted_peer.get_or_insert_with(|| {
            from_header || peer_trust(request.settings, trust(), request.peer).is_some()
        })
    };
    let mut present = None;
    let mut configured_present = || {
        *present.get_or_insert_with(|| {
            from_header || configured.is_some_and(|h| request.headers.contains_key(h))
        })
    };
    let mut any = None;
    let mut any_forwarding_header = || *any.get_or_insert_with(|| request.any_forwarding_header());
    let mut found = Findings::NONE;
    let mut add = |finding| found = found.union(finding);

    if wanted.contains(Findings::SIDECAR_HIDES_CLIENT) && answer_ip.is_some_and(is_istio_sidecar) {
        add(Findings::SIDECAR_HIDES_CLIENT);
    }
    if wanted.contains(Findings::HEADERS_IGNORED) && configured.is_none() && any_forwarding_header()
    {
        add(Findings::HEADERS_IGNORED);
    }
    // A peer with an address that is not trusted is the answer.
    if wanted.contains(Findings::HEADERS_FROM_UNTRUSTED_PEER)
        && configured.is_some()
        && !balancer
        && answer.is_some()
        && !trusted_peer()
        && any_forwarding_header()
    {
        add(Findings::HEADERS_FROM_UNTRUSTED_PEER);
    }
    if wanted.contains(Findings::CONFIGURED_HEADER_ABSENT)
        && configured.is_some()
        && !balancer
        && !configured_present()
        && any_forwarding_header()
    {
        add(Findings::CONFIGURED_HEADER_ABSENT);
    }
    // Rule 15: whether the trusted peer's caller was asked for and is not
    // trusted (the walk then did not read the header at all unless the
    // sidecar appends).
    let mut untrusted_caller = None;
    let mut untrusted_caller = || {
        *untrusted_caller.get_or_insert_with(|| {
            walk::caller(request.settings, request.peer, request.headers).is_some_and(|read| {
                read.is_err() || read.is_ok_and(|uri| !request.settings.callers.admits(uri))
            })
        })
    };
    if wanted.contains(Findings::TRUSTED_PEER_SENT_NO_HEADER)
        && !configured_present()
        && trusted_peer()
        && (request.settings.callers.sidecar_appends || !untrusted_caller())
    {
        add(Findings::TRUSTED_PEER_SENT_NO_HEADER);
    }
    if wanted.contains(Findings::ALL_HOPS_TRUSTED)
        && match request.result {
            Err(Error::AllHopsTrusted) => configured_present(),
            // A trusted header hop is the answer only when every hop was
            // (a client hop is, by definition, not trusted): in the trusted
            // set, or the hop of a trusted caller (rule 15), whose address
            // says nothing either way.
            Ok(r) => match *r.origin() {
                Origin::Header { index, .. } => {
                    walk::caller_hop_trusted(request.settings, request.peer, request.headers, index)
                        .unwrap_or_else(
                            || matches!(trust(), Loaded::InSet(set) if set.contains(r.ip())),
                        )
                }
                _ => false,
            },
            Err(_) => false,
        }
    {
        add(Findings::ALL_HOPS_TRUSTED);
    }
    if wanted.contains(Findings::DUPLICATE_SINGLE_HEADER)
        && matches!(
            request.settings.read,
            Read::Header(Header {
                form: Form::Single | Form::SingleLastColon,
                ..
            })
        )
        && configured.is_some_and(|h| request.headers.get_all(h).iter().nth(1).is_some())
    {
        add(Findings::DUPLICATE_SINGLE_HEADER);
    }
    if wanted.contains(Findings::FORWARDED_AND_XFF)
        && request.headers.contains_key(http::header::FORWARDED)
        && request.headers.contains_key("x-forwarded-for")
    {
        add(Findings::FORWARDED_AND_XFF);
    }
    // Loopback is a proxy on the same host or a local test, not a sign of
    // NAT; a balancer without a source is its own diagnostic.
    if wanted.contains(Findings::NON_PUBLIC_CLIENT)
        && !balancer
        && answer_ip.is_some_and(|ip| !ip.is_loopback() && is_non_public(ip))
    {
        add(Findings::NON_PUBLIC_CLIENT);
    }
    if balancer {
        let finding = if any_forwarding_header() {
            Findings::BALANCER_GAVE_NO_SOURCE_WITH_HEADERS
        } else {
            Findings::BALANCER_GAVE_NO_SOURCE
        };
        if wanted.contains(finding) {
            add(finding);
        }
    }
    if wanted.contains(Findings::CALLER_NOT_TRUSTED) && untrusted_caller() {
        add(Findings::CALLER_NOT_TRUSTED);
    }
    if let Some(url) = request.url {
        if wanted.contains(Findings::SCHEME_ABSENT) && url.missing.proto.is_some() {
            add(Findings::SCHEME_ABSENT);
        }
        if wanted.contains(Findings::HOST_ABSENT) && url.missing.host.is_some() {
            add(Findings::HOST_ABSENT);
        }
    }
    found
}

/// Why a value is missing, in words that never repeat the value.
fn missing_why(missing: Missing) -> String {
    match missing {
        Missing::NotSent => "the hop carried none".to_owned(),
        Missing::Unreadable(reason) => reason.to_string(),
        Missing::CountsDiffer { source, values } => format!(
            "the value header holds {values} elements and the source {source}, so they do not \
             line up (align=symmetric); with a proxy that overwrites the value header, use \
             align=single"
        ),
        Missing::NotOne { values } => format!(
            "align=single needs exactly one element in the value header, which holds {values}"
        ),
        Missing::NotAllowed => "the host is not one of the allowed hosts".to_owned(),
    }
}

/// The diagnostics for `found`, worded, in the order of [`Findings`].
pub(crate) fn word(request: &Request<'_>, found: Findings) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let configured = || {
        request
            .configured()
            .map(HeaderName::to_string)
            .unwrap_or_default()
    };
    let answer = request.result.as_ref().ok().map(Resolution::ip);
    for bit in 0..Findings::COUNT {
        let finding = Findings(1 << bit);
        if !found.contains(finding) {
            continue;
        }
        let diagnostic = match finding {
            Findings::SIDECAR_HIDES_CLIENT => {
                answer.map(|peer| Diagnostic::SidecarHidesClient { peer })
            }
            Findings::HEADERS_FROM_UNTRUSTED_PEER => {
                Some(Diagnostic::ForwardingHeadersFromUntrustedPeer {
                    headers: request.forwarding_headers(),
                })
            }
            Findings::HEADERS_IGNORED => Some(Diagnostic::ForwardingHeadersIgnored {
                headers: request.forwarding_headers(),
            }),
            Findings::CONFIGURED_HEADER_ABSENT => Some(Diagnostic::ConfiguredHeaderAbsent {
                configured: configured(),
                present: request.forwarding_headers(),
            }),
            Findings::TRUSTED_PEER_SENT_NO_HEADER => Some(Diagnostic::TrustedPeerSentNoHeader {
                configured: configured(),
            }),
            Findings::ALL_HOPS_TRUSTED => Some(Diagnostic::AllHopsTrusted),
            Findings::DUPLICATE_SINGLE_HEADER => {
                request
                    .configured()
                    .map(|h| Diagnostic::DuplicateSingleHeader {
                        header: h.to_string(),
                        lines: request.headers.get_all(h).iter().count(),
                    })
            }
            Findings::FORWARDED_AND_XFF => Some(Diagnostic::ForwardedAndXForwardedFor),
            Findings::NON_PUBLIC_CLIENT => {
                answer.map(|client| Diagnostic::NonPublicClient { client })
            }
            Findings::SCHEME_ABSENT | Findings::HOST_ABSENT => {
                let (value, missing) = match finding {
                    Findings::SCHEME_ABSENT => ("proto", request.url.and_then(|u| u.missing.proto)),
                    _ => ("host", request.url.and_then(|u| u.missing.host)),
                };
                missing.map(|missing| Diagnostic::ValueAbsent {
                    value: value.to_owned(),
                    why: missing_why(missing),
                })
            }
            Findings::CALLER_NOT_TRUSTED => {
                walk::caller(request.settings, request.peer, request.headers).map(|read| match read
                {
                    Ok(uri) => Diagnostic::CallerNotTrusted {
                        caller: Some(uri.to_owned()),
                        why: "not one of the trusted identities (identity=)".to_owned(),
                    },
                    Err(why) => Diagnostic::CallerNotTrusted {
                        caller: None,
                        why: format!("{}: {why}", request.settings.callers.header()),
                    },
                })
            }
            Findings::BALANCER_GAVE_NO_SOURCE | Findings::BALANCER_GAVE_NO_SOURCE_WITH_HEADERS => {
                match *request.peer {
                    Peer::ProxiedWithoutSource { sender } => {
                        Some(Diagnostic::BalancerGaveNoSource {
                            sender,
                            ignored: request.forwarding_headers(),
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        out.extend(diagnostic);
    }
    out
}

/// Whether `ip` is where an Istio sidecar in REDIRECT mode connects from.
fn is_istio_sidecar(ip: IpAddr) -> bool {
    ip == IpAddr::from([127, 0, 0, 6]) || ip == IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 6])
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn warnings_are_the_findings_worded_as_warnings() {
        // Each finding, worded for a request that shows it, has the level
        // WARNINGS says.
        let peer: Peer = "10.0.0.3:4000".parse().unwrap();
        let levels = [
            (
                Findings::SIDECAR_HIDES_CLIENT,
                Diagnostic::SidecarHidesClient {
                    peer: peer.ip().unwrap(),
                },
            ),
            (
                Findings::HEADERS_FROM_UNTRUSTED_PEER,
                Diagnostic::ForwardingHeadersFromUntrustedPeer { headers: vec![] },
            ),
            (
                Findings::HEADERS_IGNORED,
                Diagnostic::ForwardingHeadersIgnored { headers: vec![] },
            ),
            (
                Findings::CONFIGURED_HEADER_ABSENT,
                Diagnostic::ConfiguredHeaderAbsent {
                    configured: String::new(),
                    present: vec![],
                },
            ),
            (
                Findings::TRUSTED_PEER_SENT_NO_HEADER,
                Diagnostic::TrustedPeerSentNoHeader {
                    configured: String::new(),
                },
            ),
            (Findings::ALL_HOPS_TRUSTED, Diagnostic::AllHopsTrusted),
            (
                Findings::DUPLICATE_SINGLE_HEADER,
                Diagnostic::DuplicateSingleHeader {
                    header: String::new(),
                    lines: 2,
                },
            ),
            (
                Findings::FORWARDED_AND_XFF,
                Diagnostic::ForwardedAndXForwardedFor,
            ),
            (
                Findings::NON_PUBLIC_CLIENT,
                Diagnostic::NonPublicClient {
                    client: peer.ip().unwrap(),
                },
            ),
            (
                Findings::BALANCER_GAVE_NO_SOURCE,
                Diagnostic::BalancerGaveNoSource {
                    sender: "10.0.0.5:4000".parse().unwrap(),
                    ignored: vec![],
                },
            ),
            (
                Findings::BALANCER_GAVE_NO_SOURCE_WITH_HEADERS,
                Diagnostic::BalancerGaveNoSource {
                    sender: "10.0.0.5:4000".parse().unwrap(),
                    ignored: vec!["x-forwarded-for".into()],
                },
            ),
            (
                Findings::SCHEME_ABSENT,
                Diagnostic::ValueAbsent {
                    value: "proto".into(),
                    why: String::new(),
                },
            ),
            (
                Findings::HOST_ABSENT,
                Diagnostic::ValueAbsent {
                    value: "host".into(),
                    why: String::new(),
                },
            ),
            (
                Findings::CALLER_NOT_TRUSTED,
                Diagnostic::CallerNotTrusted {
                    caller: None,
                    why: String::new(),
                },
            ),
        ];
        let mut all = Findings::NONE;
        for (finding, diagnostic) in &levels {
            assert_eq!(
                Findings::WARNINGS.contains(*finding),
                diagnostic.is_warning(),
                "{}",
                diagnostic.code()
            );
            assert_eq!(
                Findings::CODES[finding.0.trailing_zeros() as usize],
                diagnostic.code(),
                "the code telemetry records for a finding is its diagnostic's"
            );
            all = all.union(*finding);
        }
        assert_eq!(all, Findings::ALL, "every finding is listed");
    }
}
