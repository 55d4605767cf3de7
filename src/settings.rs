//! What a resolver is configured with, and the checks that make a
//! configuration sound.
//!
//! The vocabulary every layer above shares: the [`Source`] read, the
//! [`Trust`] given, the policies and limits, and [`ConfigError`], the one
//! type that says why a configuration cannot make a resolver, whichever way
//! it was written (builder, text, files). [`Settings::checked`] is the one
//! place a configuration is judged; text and files only turn words into
//! settings.

use std::cell::OnceCell;

use http::HeaderName;

use crate::echo;
use crate::header_names;
use crate::identity::{Identity, IdentityError};
use crate::scheme_host::AllowedHosts;
use crate::trust::{LoadedSet, ProxySet, SharedProxySet, TrustParseError};

mod names;

/// The default bound on the hops a resolver walks.
pub const DEFAULT_MAX_HOPS: usize = 32;

/// The largest `max_hops` a resolver accepts.
pub const MAX_HOPS_LIMIT: usize = 1024;

/// The most empty list elements (`a,,b`) a resolver skips before it
/// refuses the header (RFC 9110 §5.6.1.2: "a reasonable number").
pub const MAX_EMPTY_ELEMENTS: usize = 64;

/// The one place a resolver reads the client from.
///
/// A resolver reads exactly one source and never falls back from one header
/// to another: a fallback is how a client picks the header it forges.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The socket peer alone; headers are ignored.
    Peer,
    /// The RFC 7239 `Forwarded` header (`for=` parameters).
    Forwarded,
    /// A comma-list header: `X-Forwarded-For` or a custom one.
    List(HeaderName),
    /// A header that carries one address, set (overwritten) by the nearest
    /// proxy: `X-Real-IP`, `CF-Connecting-IP`, `True-Client-IP`,
    /// `Fly-Client-IP`, `X-Envoy-External-Address`,
    /// `CloudFront-Viewer-Address` (read as `ip:port`, IPv6 unbracketed), …,
    /// or any other name (written `header:NAME` in the text form, where a
    /// bare name must be one realip knows). When the header appears on
    /// several lines, the last line is used.
    ///
    /// A name with a meaning of its own is refused when the resolver is
    /// built ([`ConfigError::HeaderWithOwnMeaning`]): a field HTTP defines
    /// (`Host`, `Cookie`, …), `Forwarded` and `X-Forwarded-For` (their own
    /// sources), and, as a list, the single-address headers above.
    Single(HeaderName),
}

impl Source {
    /// `X-Forwarded-For`.
    pub fn x_forwarded_for() -> Self {
        Source::List(HeaderName::from_static("x-forwarded-for"))
    }

    /// `X-Real-IP`.
    pub fn x_real_ip() -> Self {
        Source::Single(HeaderName::from_static("x-real-ip"))
    }

    /// The header this source reads, if any.
    pub fn header_name(&self) -> Option<&HeaderName> {
        match self {
            Source::Peer => None,
            Source::Forwarded => Some(&http::header::FORWARDED),
            Source::List(name) | Source::Single(name) => Some(name),
        }
    }

    /// Whether this source reads a header that appears at most once per hop
    /// (a single-address header).
    pub fn is_single(&self) -> bool {
        matches!(self, Source::Single(_))
    }
}

/// How a resolver decides which hops are its proxies.
///
/// ```
/// use realip::{ProxySet, Resolver, Trust};
///
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_hops(2, "10.0.0.0/8".parse::<ProxySet>()?)
///     .build()?;
/// assert!(matches!(resolver.trust(), Trust::Hops { count: 2, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// Hops whose address is in the set are proxies; the walk stops at the
    /// first that is not.
    Proxies(ProxySet),
    /// The `count` nearest hops are proxies, the socket peer included
    /// (Envoy's `xff_num_trusted_hops`, Istio's `numTrustedProxies`): 1
    /// means the newest header element is the client. At least 1: that the
    /// peer is the client is said by [`Source::Peer`]. Only a peer in
    /// `peers` may send the header; any other peer is itself the client.
    Hops {
        /// How many proxies sit between the client and the application.
        count: usize,
        /// The peers that may send the header.
        peers: ProxySet,
    },
    /// [`Trust::Hops`] from any peer. Safe only where the network lets
    /// nothing reach the application but the counted proxies.
    HopsFromAnyPeer {
        /// How many proxies sit between the client and the application.
        count: usize,
    },
    /// [`Trust::Proxies`] with a set that can be replaced while requests
    /// are resolved (a list refreshed from a provider, a file that
    /// changes). Each resolution loads the set once and judges the peer
    /// and every hop by it: old set or new, never a mix.
    SharedProxies(SharedProxySet),
}

impl Trust {
    /// The trust one resolution judges by: a shared set is loaded once
    /// (without allocating) into `shared`, which the caller keeps for the
    /// resolution, so that the peer and every hop are judged by one set.
    #[inline]
    pub(crate) fn load<'t>(&'t self, shared: &'t OnceCell<LoadedSet>) -> Loaded<'t> {
        match self {
            Trust::Proxies(set) => Loaded::InSet(set),
            Trust::SharedProxies(handle) => Loaded::InSet(shared.get_or_init(|| handle.load())),
            Trust::Hops { count, peers } => Loaded::Counted {
                count: *count,
                peers: Some(peers),
            },
            Trust::HopsFromAnyPeer { count } => Loaded::Counted {
                count: *count,
                peers: None,
            },
        }
    }

    /// The hop count, when trust is by count.
    pub(crate) fn count(&self) -> Option<usize> {
        match *self {
            Trust::Proxies(_) | Trust::SharedProxies(_) => None,
            Trust::Hops { count, .. } | Trust::HopsFromAnyPeer { count } => Some(count),
        }
    }
}

/// [`Trust`] as one resolution sees it.
#[derive(Clone, Copy)]
pub(crate) enum Loaded<'t> {
    /// Hops, and the peer, are trusted when their address is in the set.
    InSet(&'t ProxySet),
    /// The `count` nearest hops are trusted, when the peer is in `peers`
    /// (`None`: any peer).
    Counted {
        count: usize,
        peers: Option<&'t ProxySet>,
    },
}

impl<'t> Loaded<'t> {
    /// The set a peer must be in to send the header (`None`: any peer may).
    #[inline]
    pub(crate) fn peers(self) -> Option<&'t ProxySet> {
        match self {
            Loaded::InSet(set) => Some(set),
            Loaded::Counted { peers, .. } => peers,
        }
    }
}

/// What to answer when every hop is a trusted proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllTrusted {
    /// The leftmost (oldest) hop is the client, as nginx, Envoy and
    /// proxy-addr answer.
    #[default]
    Leftmost,
    /// Refuse: [`Error::AllHopsTrusted`](crate::Error::AllHopsTrusted).
    Error,
}

/// Where a resolver reads the original scheme (`proto`) or host of a
/// request: always from the hop that named the client (DESIGN rule 14).
///
/// ```
/// use realip::{ProxySet, Resolver, ValueSource};
///
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>()?)
///     .proto(ValueSource::x_forwarded_proto())
///     .host(ValueSource::x_forwarded_host())
///     .build()?;
/// assert_eq!(
///     resolver.to_string(),
///     "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; host=x-forwarded-host"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueSource {
    /// The client's own `Forwarded` element (`proto=`, `host=`), written
    /// by the same proxy as its `for=`. Only with the `forwarded` source.
    Forwarded,
    /// A comma-list header that the proxies fill beside the source's
    /// (`X-Forwarded-Proto`, `X-Forwarded-Host`), lined up with it by
    /// [`Align`].
    Header(HeaderName),
}

impl ValueSource {
    /// `X-Forwarded-Proto`.
    pub fn x_forwarded_proto() -> Self {
        ValueSource::Header(HeaderName::from_static("x-forwarded-proto"))
    }

    /// `X-Forwarded-Host`.
    pub fn x_forwarded_host() -> Self {
        ValueSource::Header(HeaderName::from_static("x-forwarded-host"))
    }
}

/// How a value header ([`ValueSource::Header`]) lines up with the
/// source's hops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Align {
    /// Every proxy appends to the value header as to the source: the two
    /// hold as many elements, and the value is the one at the client's
    /// position. Counts that differ give no value.
    #[default]
    Symmetric,
    /// The edge proxy overwrites the value header with one value (AWS ALB,
    /// Google's load balancers, many nginx set-ups): exactly one element,
    /// or no value.
    Single,
}

/// Why a configuration cannot make a resolver: text or a file that does not
/// say a configuration, or settings that are not sound. Each message names
/// the offending part and what to write instead.
///
/// The builder, the text form and configuration files all answer with this
/// type, so a mistake reads the same whichever way it was written.
///
/// ```
/// use realip::{ConfigError, Resolver};
///
/// let typo = "x-forwarded-fro; trust=10.0.0.0/8".parse::<Resolver>().unwrap_err();
/// assert!(matches!(typo, ConfigError::UnknownSource { closest: Some("x-forwarded-for"), .. }));
///
/// let unsound = Resolver::builder().x_forwarded_for().build().unwrap_err();
/// assert!(matches!(unsound, ConfigError::NoTrust { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A header source with no trusted proxy would never read the header.
    #[error(
        "the resolver reads {configured} but trusts no proxy, so the header would never be used; \
         name the proxies that may send it (e.g. trust=10.0.0.0/8, with hops=N for a count of \
         at least 1), or read the peer alone"
    )]
    NoTrust {
        /// The configured source.
        configured: String,
    },
    /// Trust is configured but the source is the peer alone.
    #[error(
        "trusted proxies are configured but the source is the peer alone; choose a header to read"
    )]
    TrustWithoutHeader,
    /// The hop count is larger than [`MAX_HOPS_LIMIT`], the most hops a
    /// resolver walks.
    #[error("hops={hops} exceeds {max_hops}, the most hops a resolver walks")]
    HopsExceedLimit {
        /// The configured hop count.
        hops: usize,
        /// The bound ([`MAX_HOPS_LIMIT`]).
        max_hops: usize,
    },
    /// An option that the configured source, or trust by count, never
    /// reads: given, it would be silently ignored (DESIGN rule 13).
    #[error("{option} has no effect with {configured}: {why}; remove it")]
    OptionNotRead {
        /// The option, as the text form writes it (`hops=`, `max-hops=`,
        /// `all-trusted=`).
        option: &'static str,
        /// What makes it unread: the source (`peer`, `x-real-ip`) or the
        /// hop count (`hops=2`), at most 64 characters of it.
        configured: String,
        /// Why it is never read.
        why: &'static str,
    },
    /// A header name that HTTP, or realip, gives a meaning of its own,
    /// configured for another: `header:host` (every client writes `Host`),
    /// `header:forwarded` (written `forwarded`), `list:x-real-ip` (one
    /// address, written `x-real-ip`), `proto=header:x-forwarded-for`.
    #[error("{written}: {why}; {instead}")]
    HeaderWithOwnMeaning {
        /// The setting as the text form writes it (`header:host`,
        /// `proto=header:cookie`, `identity-header=host`), at most 64
        /// characters of it.
        written: String,
        /// What the header means.
        why: String,
        /// What to write instead.
        instead: String,
    },
    /// A single-address header can vouch for one hop only.
    #[error("a single-address header ({header}) holds one hop; a hop count above 1 cannot be met")]
    SingleHeaderHops {
        /// The header's name.
        header: String,
    },
    /// `max_hops` is 0 or above [`MAX_HOPS_LIMIT`].
    #[error("max_hops must be between 1 and {MAX_HOPS_LIMIT}, not {0}")]
    InvalidMaxHops(usize),
    /// A hop count of 0, whatever else is configured.
    #[error(
        "hops=0 trusts no proxy, so the peer would be the client: that is the peer source \
         (read the peer alone); a hop count is at least 1 (1 = the newest header element is the \
         client)"
    )]
    ZeroHops,
    /// Trusted proxies that are not a sound set: an entry that is not an
    /// address, a range or a preset, or a range that means more than it
    /// says (the whole address space, or IPv6 that covers the IPv4-mapped
    /// addresses).
    #[error(transparent)]
    Trust(#[from] TrustParseError),
    /// More distinct custom header names than a process may read
    /// ([`MAX_CUSTOM_NAMES`](crate::resolver::MAX_CUSTOM_NAMES)).
    #[error(
        "the resolvers of this process already read {} custom header names, the most allowed; \
         {header} would be one more (build resolvers from configuration, never from request data)",
        header_names::MAX_CUSTOM_NAMES
    )]
    TooManyHeaderNames {
        /// The header that would be one too many.
        header: String,
    },
    /// `proto=forwarded` or `host=forwarded` with a source other than
    /// `forwarded`: there is no client element to read it from.
    #[error(
        "{value}=forwarded reads the client's own Forwarded element, but the source is {configured}; \
         read the forwarded source, or take {value} from a header beside it (for example \
         {value}=x-forwarded-{value})"
    )]
    ValueNeedsForwarded {
        /// `proto` or `host`.
        value: &'static str,
        /// The configured source.
        configured: String,
    },
    /// A value header beside the `forwarded` source, whose client element
    /// carries its own `proto=` and `host=`.
    #[error(
        "the source is forwarded, whose client element carries its own {value}=; reading {value} \
         from {header} beside it could pair one hop's address with another hop's value: use \
         {value}=forwarded"
    )]
    ValueBesideForwarded {
        /// `proto` or `host`.
        value: &'static str,
        /// The configured value header.
        header: String,
    },
    /// A scheme or host with the peer source: no hop to read it beside.
    #[error(
        "{value}= reads the value that came with the client's hop, but the source is the peer \
         alone; choose a header source"
    )]
    ValueWithoutHop {
        /// `proto` or `host`.
        value: &'static str,
    },
    /// `align=` without a value read from a header.
    #[error(
        "align= says how a value header lines up with the source, but neither proto= nor host= \
         names a header"
    )]
    AlignWithoutValueHeader,
    /// `allowed-hosts=` without `host=`.
    #[error("allowed-hosts= limits the host that host= reads, but host= is not configured")]
    AllowedHostsWithoutHost,
    /// A caller identity that is not a SPIFFE id realip accepts.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Caller identities with no trusted peer to vouch for them.
    #[error(
        "identity= trusts a caller that a trusted sidecar vouches for, but {why}: trust the \
         sidecar (for example trust=istio-sidecar) and read the header it forwards"
    )]
    IdentityWithoutTrustedPeer {
        /// What is missing, in words.
        why: &'static str,
    },
    /// Caller identities with trust by count.
    #[error(
        "identity= trusts a caller by its certificate, hops= counts proxies by position: the two \
         cannot say together which hop is whose; name the proxies with trust= (for example \
         trust=istio-sidecar)"
    )]
    IdentityWithHops,
    /// `identity-header=` or `sidecar-appends` without `identity=`.
    #[error("{option} only applies with identity= (the caller identities to trust)")]
    IdentityOptionWithoutIdentity {
        /// The option given.
        option: &'static str,
    },
    /// The identity header is the header the client is read from.
    #[error(
        "identity-header={header} is also the source; the identity header is the one the \
         sidecar writes its caller's certificate into (x-forwarded-client-cert)"
    )]
    IdentityHeaderIsSource {
        /// The header.
        header: String,
    },
    /// `sidecar-appends` with a single-address source.
    #[error(
        "sidecar-appends says the sidecar appends its caller to the source, but {header} holds \
         one address: a sidecar that wrote its caller there left no client to read"
    )]
    SidecarAppendsToSingleHeader {
        /// The header.
        header: String,
    },
    // Mistakes found while reading text or a file, before the settings
    // are checked.
    /// The source is not well formed (`list:` without a name, a name that
    /// is not a valid header name).
    #[error(
        "invalid source {0:?}: expected peer, forwarded, x-forwarded-for, list:NAME, header:NAME, \
         a single-address header realip knows, or deployment:NAME"
    )]
    InvalidSource(String),
    /// A bare name that is not a source realip knows. Another header is
    /// written `header:NAME` (one address) or `list:NAME` (a comma list).
    #[error("unknown source {given:?}: {}", unknown_source_advice(.closest))]
    UnknownSource {
        /// The name given (at most 64 characters of it).
        given: String,
        /// The known source it most resembles, if any is close.
        closest: Option<&'static str>,
    },
    /// An option written where the source belongs (`trust; trust=…`).
    #[error(
        "{0:?} is an option, not a source: the source comes first, then the options \
         (for example x-forwarded-for; trust=10.0.0.0/8)"
    )]
    OptionAsSource(String),
    /// A deployment name realip does not know.
    #[error(
        "unknown deployment {0:?}: expected direct, istio-tproxy, istio-sidecar-xff, istio-gateway, gcp-lb, aws-alb, cloudflare or nginx"
    )]
    UnknownDeployment(String),
    /// A configuration file that names its deployment under both keys,
    /// `deployment` and its older spelling `preset`.
    #[error(
        "deployment and preset are both given: preset is the older name of deployment; keep \
         deployment alone"
    )]
    DeploymentAndPreset,
    /// An unknown option.
    #[error(
        "unknown option {0:?}: expected trust=, hops=, any-peer, all-trusted=, max-hops=, \
         unix-peer, proto=, host=, align=, allowed-hosts=, identity=, identity-header= or \
         sidecar-appends"
    )]
    UnknownOption(String),
    /// An option given twice.
    #[error("option {0:?} is given twice")]
    DuplicateOption(String),
    /// A value that is not what the option takes.
    #[error("invalid value for {option}: {value:?} ({expected})")]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given (at most 64 characters of it).
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// `any-peer` without `hops=`.
    #[error("any-peer only applies with hops=N")]
    AnyPeerWithoutHops,
    /// `any-peer` and `trust=` together: either any peer may send the
    /// header or only the listed ones.
    #[error(
        "any-peer and trust= contradict each other: list the peers that may send the header, or accept any peer"
    )]
    AnyPeerWithTrust,
}

/// What [`ConfigError::UnknownSource`] advises: the likely intended source,
/// or every kind of source when none is close.
fn unknown_source_advice(closest: &Option<&'static str>) -> String {
    match closest {
        Some(name) => format!(
            "did you mean {name}? (another single-address header is written header:NAME, a \
             comma-list header list:NAME)"
        ),
        None => "expected peer, forwarded, x-forwarded-for, list:NAME, header:NAME, \
                 deployment:NAME, or a single-address header realip knows (x-real-ip, \
                 cf-connecting-ip, …)"
            .to_owned(),
    }
}

/// What a resolver was configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) source: Source,
    /// How the source is read: what the walk follows.
    pub(crate) read: Read,
    pub(crate) trust: Trust,
    pub(crate) all_trusted: AllTrusted,
    pub(crate) max_hops: usize,
    pub(crate) trust_unix_peer: bool,
    /// The options given, rather than left at their defaults: one the
    /// source does not read is an error only when it was given.
    pub(crate) given: Given,
    /// The original scheme and host (rule 14).
    pub(crate) values: Values,
    /// The callers trusted by identity (rule 15).
    pub(crate) callers: Callers,
}

/// Which options with a default were given (by the builder, the text form
/// or a file), whatever their value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Given {
    pub(crate) all_trusted: bool,
    pub(crate) max_hops: bool,
}

/// At most 64 characters of a setting's text form, for an error to quote:
/// a header name may be 64 KiB long.
fn quoted(setting: impl std::fmt::Display) -> String {
    echo::bounded(&setting.to_string())
}

/// The callers a trusted sidecar vouches for that are trusted proxies
/// (rule 15), as configured and, once checked, how they are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Callers {
    pub(crate) identities: Vec<Identity>,
    /// The header the sidecar writes its caller into (default
    /// `x-forwarded-client-cert`).
    pub(crate) header: Option<HeaderName>,
    /// Whether the sidecar appends its caller's address to the source.
    pub(crate) sidecar_appends: bool,
    /// Set by [`Settings::checked`]: the interned identity header, when
    /// identities are configured.
    pub(crate) read: Option<&'static HeaderName>,
}

/// The header Envoy writes its caller's certificate details into.
pub(crate) static XFCC: HeaderName = HeaderName::from_static("x-forwarded-client-cert");

impl Callers {
    /// Whether `caller` is a trusted identity.
    #[inline]
    pub(crate) fn admits(&self, caller: &str) -> bool {
        self.identities.iter().any(|id| id.admits(caller))
    }

    /// The identity header (the default when not given).
    pub(crate) fn header(&self) -> &HeaderName {
        self.header.as_ref().unwrap_or(&XFCC)
    }

    /// Checks the caller settings against the rest and fixes how the
    /// identity is read.
    fn checked(&mut self, source: &Source, trust: &Trust) -> Result<(), ConfigError> {
        if self.identities.is_empty() {
            if self.header.is_some() {
                return Err(ConfigError::IdentityOptionWithoutIdentity {
                    option: "identity-header=",
                });
            }
            if self.sidecar_appends {
                return Err(ConfigError::IdentityOptionWithoutIdentity {
                    option: "sidecar-appends",
                });
            }
            return Ok(());
        }
        // (A header source with no trusted proxy at all is refused before
        // this, as NoTrust.)
        if matches!(trust, Trust::Hops { .. } | Trust::HopsFromAnyPeer { .. }) {
            return Err(ConfigError::IdentityWithHops);
        }
        match source {
            Source::Peer => {
                return Err(ConfigError::IdentityWithoutTrustedPeer {
                    why: "the source is the peer alone",
                });
            }
            Source::Single(name) if self.sidecar_appends => {
                return Err(ConfigError::SidecarAppendsToSingleHeader {
                    header: quoted(name),
                });
            }
            _ => {}
        }
        let header = self.header();
        if source.header_name() == Some(header) {
            return Err(ConfigError::IdentityHeaderIsSource {
                header: quoted(header),
            });
        }
        self.read =
            Some(
                header_names::intern(header).map_err(|_| ConfigError::TooManyHeaderNames {
                    header: quoted(header),
                })?,
            );
        Ok(())
    }
}

/// Where the original scheme and host are read, as configured and, once
/// checked, how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Values {
    pub(crate) proto: Option<ValueSource>,
    pub(crate) host: Option<ValueSource>,
    pub(crate) align: Option<Align>,
    pub(crate) allowed_hosts: AllowedHosts,
    /// Set by [`Settings::checked`].
    pub(crate) proto_read: Option<ValueRead>,
    /// Set by [`Settings::checked`].
    pub(crate) host_read: Option<ValueRead>,
}

impl Values {
    /// Whether a scheme or host is read at all.
    pub(crate) fn any(&self) -> bool {
        self.proto.is_some() || self.host.is_some()
    }

    /// The alignment of value headers (the default when not given).
    pub(crate) fn align(&self) -> Align {
        self.align.unwrap_or_default()
    }
}

/// How a checked [`ValueSource`] is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueRead {
    /// From the client's `Forwarded` element.
    Element,
    /// From a list header, by its interned name.
    Header(&'static HeaderName),
}

impl Default for Settings {
    /// The peer alone: correct and unspoofable when nothing sits in front of
    /// the application.
    fn default() -> Self {
        Self {
            source: Source::Peer,
            read: Read::Peer,
            trust: Trust::Proxies(ProxySet::new()),
            all_trusted: AllTrusted::Leftmost,
            max_hops: DEFAULT_MAX_HOPS,
            trust_unix_peer: false,
            given: Given::default(),
            values: Values::default(),
            callers: Callers::default(),
        }
    }
}

/// How a checked [`Source`] is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The socket peer alone.
    Peer,
    /// A header.
    Header(Header),
}

/// A header a resolver reads, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The one `'static` copy of its name (what
    /// [`Origin::Header`](crate::Origin::Header) names).
    pub(crate) name: &'static HeaderName,
    pub(crate) form: Form,
}

/// How a header's value holds its hops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// RFC 7239 elements.
    Forwarded,
    /// A comma list across lines.
    List,
    /// One address (the last line), `ip`, `ip:port` or `[v6]:port`.
    Single,
    /// One address (the last line) as `ip:port` split at the last colon,
    /// IPv6 unbracketed: `CloudFront-Viewer-Address`.
    SingleLastColon,
}

impl Settings {
    /// Checks the configuration and fixes how the source is read.
    pub(crate) fn checked(mut self) -> Result<Settings, ConfigError> {
        if self.max_hops == 0 || self.max_hops > MAX_HOPS_LIMIT {
            return Err(ConfigError::InvalidMaxHops(self.max_hops));
        }
        self.names_checked()?;
        let shared = OnceCell::new();
        let trust = self.trust.load(&shared);
        let peers = trust.peers();
        if let Some(set) = peers {
            set.check()?;
        }
        if let Some(count) = self.trust.count() {
            if count == 0 {
                return Err(ConfigError::ZeroHops);
            }
            if count > MAX_HOPS_LIMIT {
                return Err(ConfigError::HopsExceedLimit {
                    hops: count,
                    max_hops: MAX_HOPS_LIMIT,
                });
            }
            if let Source::Single(name) = &self.source {
                if count > 1 {
                    return Err(ConfigError::SingleHeaderHops {
                        header: quoted(name),
                    });
                }
            }
        }
        let trusts_no_address = peers.is_some_and(ProxySet::is_empty);
        match (&self.source, trusts_no_address) {
            (Source::Peer, true) if self.trust_unix_peer => {
                return Err(ConfigError::TrustWithoutHeader);
            }
            (Source::Peer, true) => {}
            (Source::Peer, false) => return Err(ConfigError::TrustWithoutHeader),
            (source, true) if !self.trust_unix_peer => {
                return Err(ConfigError::NoTrust {
                    configured: quoted(source),
                });
            }
            _ => {}
        }
        self.options_read()?;
        // A count walks its hops and no more; the bound only has to hold it.
        if let Some(count) = self.trust.count() {
            self.max_hops = self.max_hops.max(count);
        }
        self.read = read(&self.source)?;
        self.values.proto_read = value_read("proto", &self.source, self.values.proto.as_ref())?;
        self.values.host_read = value_read("host", &self.source, self.values.host.as_ref())?;
        let reads_header = |read: Option<ValueRead>| matches!(read, Some(ValueRead::Header(_)));
        if self.values.align.is_some()
            && !reads_header(self.values.proto_read)
            && !reads_header(self.values.host_read)
        {
            return Err(ConfigError::AlignWithoutValueHeader);
        }
        if !self.values.allowed_hosts.is_empty() && self.values.host.is_none() {
            return Err(ConfigError::AllowedHostsWithoutHost);
        }
        self.callers.checked(&self.source, &self.trust)?;
        Ok(self)
    }
}

impl Settings {
    /// Refuses an option with a default that was given and that the
    /// source, or trust by count, never reads (rule 13): it would change
    /// nothing while the configuration says it does.
    ///
    /// - `peer` reads no header: no hop to count (`hops=`), to bound
    ///   (`max-hops=`) or to find all trusted (`all-trusted=`).
    /// - A single-address header holds one hop: `max-hops=` bounds nothing.
    /// - `hops=N` walks exactly the N hops it counts, so `max-hops=` bounds
    ///   nothing; and its client is the hop past them, a shorter chain
    ///   being `chain_too_short`, so every hop is never trusted and
    ///   `all-trusted=` is never consulted.
    ///
    /// The options the source refuses in other ways (`peer; trust=`,
    /// `unix-peer`, `proto=`, `identity=`, …) are refused where they are
    /// checked, each with its own reason.
    fn options_read(&self) -> Result<(), ConfigError> {
        let not_read = |option, configured: String, why| ConfigError::OptionNotRead {
            option,
            configured,
            why,
        };
        let given = self.given;
        let count = self.trust.count();
        if self.source == Source::Peer {
            if let Some(count) = count {
                return Err(not_read(
                    "hops=",
                    format!("peer (hops={count})"),
                    "the peer source reads no header, so the peer is the client and there are \
                     no hops to count",
                ));
            }
            if given.max_hops {
                return Err(not_read(
                    "max-hops=",
                    "peer".to_owned(),
                    "max-hops bounds the header hops a resolver walks, and the peer source \
                     walks none",
                ));
            }
            if given.all_trusted {
                return Err(not_read(
                    "all-trusted=",
                    "peer".to_owned(),
                    "all-trusted says what to answer when every header hop is trusted, and the \
                     peer source reads no header",
                ));
            }
            return Ok(());
        }
        if let Some(count) = count {
            if given.max_hops {
                return Err(not_read(
                    "max-hops=",
                    format!("hops={count}"),
                    "a hop count walks exactly the hops it counts, so max-hops bounds nothing \
                     (a count itself is at most 1024)",
                ));
            }
            if given.all_trusted {
                return Err(not_read(
                    "all-trusted=",
                    format!("hops={count}"),
                    "with a hop count the client is the hop past the counted proxies, and a \
                     chain that ends before it is chain_too_short: every hop is never trusted, \
                     so all-trusted is never consulted",
                ));
            }
        }
        if self.source.is_single() && given.max_hops {
            return Err(not_read(
                "max-hops=",
                quoted(&self.source),
                "a single-address header holds one hop, so max-hops bounds nothing",
            ));
        }
        Ok(())
    }
}

/// How `source` is read, its header name interned once here so that each
/// [`Resolution`](crate::Resolution) names it by a shared `'static` copy.
fn read(source: &Source) -> Result<Read, ConfigError> {
    let (name, form) = match source {
        Source::Peer => return Ok(Read::Peer),
        Source::Forwarded => (&http::header::FORWARDED, Form::Forwarded),
        Source::List(name) => (name, Form::List),
        Source::Single(name) if name == "cloudfront-viewer-address" => {
            (name, Form::SingleLastColon)
        }
        Source::Single(name) => (name, Form::Single),
    };
    let name = header_names::intern(name).map_err(|_| ConfigError::TooManyHeaderNames {
        header: quoted(name),
    })?;
    Ok(Read::Header(Header { name, form }))
}

/// How a scheme or host (`value`) configured as `given` is read beside
/// `source`.
fn value_read(
    value: &'static str,
    source: &Source,
    given: Option<&ValueSource>,
) -> Result<Option<ValueRead>, ConfigError> {
    let Some(given) = given else {
        return Ok(None);
    };
    match (source, given) {
        (Source::Peer, _) => Err(ConfigError::ValueWithoutHop { value }),
        (Source::Forwarded, ValueSource::Forwarded) => Ok(Some(ValueRead::Element)),
        (Source::Forwarded, ValueSource::Header(name)) => Err(ConfigError::ValueBesideForwarded {
            value,
            header: quoted(name),
        }),
        (_, ValueSource::Forwarded) => Err(ConfigError::ValueNeedsForwarded {
            value,
            configured: quoted(source),
        }),
        (_, ValueSource::Header(name)) => {
            let name = header_names::intern(name).map_err(|_| ConfigError::TooManyHeaderNames {
                header: quoted(name),
            })?;
            Ok(Some(ValueRead::Header(name)))
        }
    }
}
