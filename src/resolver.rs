//! The resolver: which source to read, which proxies to trust, and the walk.
//!
//! A [`Resolver`] is built once from configuration and then answers
//! [`resolve`](Resolver::resolve) for each request without allocating. The
//! default resolver reads the socket peer alone: the secure choice when no
//! proxy is in front of the application. Everything else is opt-in and
//! names what it trusts.
//!
//! ```
//! use realip::{Preset, ProxySet, Resolver};
//! use http::HeaderMap;
//!
//! // An Istio sidecar that appends X-Forwarded-For (use_remote_address):
//! // trust exactly the sidecar's own connection to the app.
//! let resolver = Resolver::builder()
//!     .x_forwarded_for()
//!     .trusted_proxies(ProxySet::preset(Preset::IstioSidecar))
//!     .build()
//!     .unwrap();
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-forwarded-for", "6.6.6.6, 10.1.2.3".parse().unwrap());
//! let peer: std::net::SocketAddr = "127.0.0.6:51234".parse().unwrap();
//! // 6.6.6.6 was written by the caller itself: only the sidecar's append counts.
//! assert_eq!(resolver.resolve(peer, &headers).unwrap().client().to_string(), "10.1.2.3");
//! ```

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, Request, request::Parts};

use crate::error::Error;
use crate::explain::Explanation;
use crate::fast;
use crate::header_names;
use crate::peer::Peer;
use crate::resolution::Resolution;
use crate::trust::{ProxySet, TrustParseError};
use crate::walk::{self, NoObserver};

/// The default bound on the hops a resolver walks.
pub const DEFAULT_MAX_HOPS: usize = 32;

/// The largest `max_hops` a resolver accepts.
pub const MAX_HOPS_LIMIT: usize = 1024;

pub use crate::header_names::MAX_CUSTOM_NAMES;

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

impl fmt::Display for Source {
    /// `peer`, `forwarded`, `x-forwarded-for`, `list:NAME` for another list
    /// header, the bare name of a single-address header realip knows
    /// (`x-real-ip`, …), or `header:NAME` for any other: the text form that
    /// parses back to this source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Peer => f.write_str("peer"),
            Source::Forwarded => f.write_str("forwarded"),
            Source::List(name) if name == "x-forwarded-for" => f.write_str("x-forwarded-for"),
            Source::List(name) => write!(f, "list:{name}"),
            Source::Single(name) if header_names::is_known_single(name) => {
                f.write_str(name.as_str())
            }
            Source::Single(name) => write!(f, "header:{name}"),
        }
    }
}

/// Which peers may send the header when trust is by hop count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerFilter {
    /// Only peers in this set; any other peer is itself the client.
    Proxies(ProxySet),
    /// Any peer. Safe only when the network allows no path to the
    /// application except through the counted proxies.
    Any,
}

/// How a resolver decides which hops are its proxies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Hops whose address is in the set are proxies; the walk stops at the
    /// first that is not.
    Proxies(ProxySet),
    /// The `count` nearest hops are proxies, the socket peer included
    /// (Envoy's `xff_num_trusted_hops`, Istio's `numTrustedProxies`): 1
    /// means the newest header element is the client. At least 1: that the
    /// peer is the client is said by [`Source::Peer`].
    Hops {
        /// How many proxies sit between the client and the application.
        count: usize,
        /// Which peers may send the header at all.
        peers: PeerFilter,
    },
}

/// What to answer when every hop is a trusted proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AllTrusted {
    /// The leftmost (oldest) hop is the client, as nginx, Envoy and
    /// proxy-addr answer.
    #[default]
    Leftmost,
    /// Refuse: [`Error::AllHopsTrusted`].
    Error,
}

/// Why a configuration cannot make a resolver.
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
    /// The hop count is larger than `max_hops`.
    #[error("{hops} trusted hops exceed max_hops ({max_hops})")]
    HopsExceedLimit {
        /// The configured hop count.
        hops: usize,
        /// The configured bound.
        max_hops: usize,
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
    /// A trusted range that means more than it says (the whole address
    /// space, or IPv6 that covers the IPv4-mapped addresses).
    #[error(transparent)]
    Range(#[from] TrustParseError),
    /// More distinct custom header names than a process may read
    /// ([`MAX_CUSTOM_NAMES`]).
    #[error(
        "the resolvers of this process already read {} custom header names, the most allowed; \
         {header} would be one more (build resolvers from configuration, never from request data)",
        header_names::MAX_CUSTOM_NAMES
    )]
    TooManyHeaderNames {
        /// The header that would be one too many.
        header: String,
    },
}

/// Resolves the client address of requests, by one configured rule.
///
/// Cheap to share (wrap it in an `Arc` or clone it); `resolve` takes
/// `&self` and never allocates.
///
/// ```
/// use realip::Resolver;
/// use http::HeaderMap;
///
/// // The default reads the socket peer alone, whatever the headers say.
/// let resolver = Resolver::default();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
/// let peer: std::net::SocketAddr = "203.0.113.9:5000".parse().unwrap();
/// assert_eq!(resolver.resolve(peer, &headers).unwrap().client().to_string(), "203.0.113.9");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolver {
    /// Shared, so that a clone (per layer, per extension) is a reference
    /// count and never copies the trusted ranges.
    pub(crate) settings: Arc<Settings>,
}

/// What a resolver was configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) source: Source,
    /// How the source is read: what the walk and the fast path follow.
    pub(crate) read: Read,
    pub(crate) trust: Trust,
    pub(crate) all_trusted: AllTrusted,
    pub(crate) max_hops: usize,
    pub(crate) trust_unix_peer: bool,
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
        }
    }
}

/// How a checked [`Source`] is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The socket peer alone.
    Peer,
    /// A header, by the one `'static` copy of its name (what
    /// [`Origin::Header`](crate::Origin::Header) names).
    Header {
        name: &'static HeaderName,
        form: Form,
    },
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

impl Resolver {
    /// Starts a configuration (the peer alone until a source is chosen).
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder {
            settings: Settings::default(),
        }
    }

    /// Resolves the client of a request from its peer and headers.
    ///
    /// `peer` is the connection's remote address: a [`SocketAddr`](std::net::SocketAddr),
    /// an [`IpAddr`](std::net::IpAddr), `Option<SocketAddr>` or a [`Peer`].
    pub fn resolve(&self, peer: impl Into<Peer>, headers: &HeaderMap) -> Result<Resolution, Error> {
        let peer = peer.into();
        // The common case in one pass; anything else takes the walk, which
        // gives the same answer wherever both answer.
        match fast::resolve(&self.settings, &peer, headers) {
            Some(Ok(found)) => return Ok(found.resolution(self.settings.read, peer)),
            Some(Err(e)) => return Err(e),
            None => {}
        }
        walk::walk(&self.settings, peer, headers, &mut NoObserver)
    }

    /// Resolves the client of a request.
    pub fn resolve_request<B>(
        &self,
        peer: impl Into<Peer>,
        request: &Request<B>,
    ) -> Result<Resolution, Error> {
        self.resolve(peer, request.headers())
    }

    /// Resolves the client of a request's head.
    pub fn resolve_parts(&self, peer: impl Into<Peer>, parts: &Parts) -> Result<Resolution, Error> {
        self.resolve(peer, &parts.headers)
    }

    /// Resolves as [`resolve`](Resolver::resolve) does, and records every
    /// step with its verdict and diagnostics about the deployment. Allocates;
    /// meant for debugging, logs and tools.
    ///
    /// ```
    /// use realip::{Resolver, explain::Diagnostic};
    /// use http::HeaderMap;
    ///
    /// let peer: std::net::SocketAddr = "127.0.0.6:40000".parse().unwrap();
    /// let explanation = Resolver::default().explain(peer, &HeaderMap::new());
    /// assert!(explanation.diagnostics.iter().any(|d| matches!(d, Diagnostic::SidecarHidesClient { .. })));
    /// ```
    pub fn explain(&self, peer: impl Into<Peer>, headers: &HeaderMap) -> Explanation {
        crate::explain::explain(self, peer.into(), headers)
    }

    /// The configured source.
    pub fn source(&self) -> &Source {
        &self.settings.source
    }

    /// The configured trust.
    pub fn trust(&self) -> &Trust {
        &self.settings.trust
    }

    /// What happens when every hop is trusted.
    pub fn all_trusted(&self) -> AllTrusted {
        self.settings.all_trusted
    }

    /// The bound on hops walked.
    pub fn max_hops(&self) -> usize {
        self.settings.max_hops
    }

    /// Whether a Unix-socket peer is trusted as a proxy.
    pub fn trusts_unix_peer(&self) -> bool {
        self.settings.trust_unix_peer
    }
}

impl fmt::Display for Resolver {
    /// A one-line summary: `x-forwarded-for; trust=10.0.0.0/8; max-hops=32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        write!(f, "{}", s.source)?;
        match &s.trust {
            Trust::Proxies(set) if set.is_empty() => {}
            Trust::Proxies(set) => write!(f, "; trust={set}")?,
            Trust::Hops { count, peers } => {
                write!(f, "; hops={count}")?;
                match peers {
                    // Empty when only a Unix-socket peer may send the header.
                    PeerFilter::Proxies(set) if set.is_empty() => {}
                    PeerFilter::Proxies(set) => write!(f, "; trust={set}")?,
                    PeerFilter::Any => f.write_str("; any-peer")?,
                }
            }
        }
        if s.all_trusted == AllTrusted::Error {
            f.write_str("; all-trusted=error")?;
        }
        if s.max_hops != DEFAULT_MAX_HOPS {
            write!(f, "; max-hops={}", s.max_hops)?;
        }
        if s.trust_unix_peer {
            f.write_str("; unix-peer")?;
        }
        Ok(())
    }
}

/// Builds a [`Resolver`]; every method consumes and returns the builder.
///
/// ```
/// use realip::{AllTrusted, Resolver, ProxySet};
///
/// // An ingress gateway behind a GCP HTTP(S) load balancer, which appends
/// // "<client>,<lb-ip>": the balancer counts as two hops, the gateway as one.
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_hops(3, "10.0.0.0/8".parse::<ProxySet>().unwrap())
///     .all_trusted(AllTrusted::Error)
///     .max_hops(16)
///     .build()
///     .unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; hops=3; trust=10.0.0.0/8; all-trusted=error; max-hops=16");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ResolverBuilder {
    settings: Settings,
}

impl ResolverBuilder {
    /// Reads this source.
    pub fn source(mut self, source: Source) -> Self {
        self.settings.source = source;
        self
    }

    /// Reads the socket peer alone (the default).
    pub fn peer_only(self) -> Self {
        self.source(Source::Peer)
    }

    /// Reads `X-Forwarded-For`.
    pub fn x_forwarded_for(self) -> Self {
        self.source(Source::x_forwarded_for())
    }

    /// Reads `Forwarded` (RFC 7239).
    pub fn forwarded(self) -> Self {
        self.source(Source::Forwarded)
    }

    /// Reads a custom comma-list header.
    pub fn list_header(self, name: HeaderName) -> Self {
        self.source(Source::List(name))
    }

    /// Reads a single-address header (`X-Real-IP`, `CF-Connecting-IP`, …).
    pub fn single_header(self, name: HeaderName) -> Self {
        self.source(Source::Single(name))
    }

    /// Trusts the hops whose address is in `proxies`.
    pub fn trusted_proxies(mut self, proxies: impl Into<ProxySet>) -> Self {
        self.settings.trust = Trust::Proxies(proxies.into());
        self
    }

    /// Trusts the `count` nearest hops (the peer included), and only when
    /// the peer is in `peers`.
    pub fn trusted_hops(mut self, count: usize, peers: impl Into<ProxySet>) -> Self {
        self.settings.trust = Trust::Hops {
            count,
            peers: PeerFilter::Proxies(peers.into()),
        };
        self
    }

    /// Trusts the `count` nearest hops from any peer. Only safe where the
    /// network lets nothing reach the application but those proxies.
    pub fn trusted_hops_from_any_peer(mut self, count: usize) -> Self {
        self.settings.trust = Trust::Hops {
            count,
            peers: PeerFilter::Any,
        };
        self
    }

    /// What to answer when every hop is trusted (default: the leftmost).
    pub fn all_trusted(mut self, policy: AllTrusted) -> Self {
        self.settings.all_trusted = policy;
        self
    }

    /// The most hops walked before giving up (default [`DEFAULT_MAX_HOPS`]).
    pub fn max_hops(mut self, max_hops: usize) -> Self {
        self.settings.max_hops = max_hops;
        self
    }

    /// Whether a Unix-socket peer (a proxy on the same host) is trusted.
    pub fn trust_unix_peer(mut self, trust: bool) -> Self {
        self.settings.trust_unix_peer = trust;
        self
    }

    /// Checks the configuration and makes the resolver.
    pub fn build(self) -> Result<Resolver, ConfigError> {
        let mut r = self.settings;
        if r.max_hops == 0 || r.max_hops > MAX_HOPS_LIMIT {
            return Err(ConfigError::InvalidMaxHops(r.max_hops));
        }
        let set = match &r.trust {
            Trust::Proxies(set)
            | Trust::Hops {
                peers: PeerFilter::Proxies(set),
                ..
            } => Some(set),
            Trust::Hops {
                peers: PeerFilter::Any,
                ..
            } => None,
        };
        if let Some(set) = set {
            set.check()?;
        }
        if let Trust::Hops { count, .. } = r.trust {
            if count == 0 {
                return Err(ConfigError::ZeroHops);
            }
            if count > r.max_hops {
                return Err(ConfigError::HopsExceedLimit {
                    hops: count,
                    max_hops: r.max_hops,
                });
            }
            if let Source::Single(name) = &r.source {
                if count > 1 {
                    return Err(ConfigError::SingleHeaderHops {
                        header: name.to_string(),
                    });
                }
            }
        }
        let trusts_no_address = set.is_some_and(ProxySet::is_empty);
        match (&r.source, trusts_no_address) {
            (Source::Peer, true) if r.trust_unix_peer => {
                return Err(ConfigError::TrustWithoutHeader);
            }
            (Source::Peer, true) => {}
            (Source::Peer, false) => return Err(ConfigError::TrustWithoutHeader),
            (source, true) if !r.trust_unix_peer => {
                return Err(ConfigError::NoTrust {
                    configured: source.to_string(),
                });
            }
            _ => {}
        }
        r.read = read(&r.source)?;
        Ok(Resolver {
            settings: Arc::new(r),
        })
    }
}

/// How `source` is read, its header name interned once here so that each
/// [`Resolution`] names it by a shared `'static` copy.
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
        header: name.to_string(),
    })?;
    Ok(Read::Header { name, form })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ProxySet {
        s.parse().unwrap()
    }

    #[test]
    fn configuration_errors() {
        let xff = || Resolver::builder().x_forwarded_for();
        let table: Vec<(ResolverBuilder, ConfigError)> = vec![
            (
                xff(),
                ConfigError::NoTrust {
                    configured: "x-forwarded-for".into(),
                },
            ),
            (
                xff().trusted_proxies(ProxySet::new()),
                ConfigError::NoTrust {
                    configured: "x-forwarded-for".into(),
                },
            ),
            (
                xff().trusted_hops(0, set("10.0.0.0/8")),
                ConfigError::ZeroHops,
            ),
            (
                xff().trusted_hops(0, ProxySet::new()).trust_unix_peer(true),
                ConfigError::ZeroHops,
            ),
            (xff().trusted_hops_from_any_peer(0), ConfigError::ZeroHops),
            (
                Resolver::builder().trusted_hops(0, ProxySet::new()),
                ConfigError::ZeroHops,
            ),
            (
                xff().trusted_proxies(
                    ["10.0.0.0/8", "::/80"]
                        .iter()
                        .map(|n| n.parse::<ipnet::IpNet>().unwrap())
                        .collect::<ProxySet>(),
                ),
                ConfigError::Range("::/80".parse::<ProxySet>().unwrap_err()),
            ),
            (
                xff().trusted_hops(
                    1,
                    ["0.0.0.0/0".parse::<ipnet::IpNet>().unwrap()]
                        .into_iter()
                        .collect::<ProxySet>(),
                ),
                ConfigError::Range("0.0.0.0/0".parse::<ProxySet>().unwrap_err()),
            ),
            (
                Resolver::builder().trusted_proxies(set("10.0.0.0/8")),
                ConfigError::TrustWithoutHeader,
            ),
            (
                xff().trusted_proxies(set("10.0.0.0/8")).max_hops(0),
                ConfigError::InvalidMaxHops(0),
            ),
            (
                xff().trusted_proxies(set("10.0.0.0/8")).max_hops(5000),
                ConfigError::InvalidMaxHops(5000),
            ),
            (
                xff().trusted_hops(40, set("10.0.0.0/8")),
                ConfigError::HopsExceedLimit {
                    hops: 40,
                    max_hops: DEFAULT_MAX_HOPS,
                },
            ),
            (
                Resolver::builder()
                    .source(Source::x_real_ip())
                    .trusted_hops_from_any_peer(2),
                ConfigError::SingleHeaderHops {
                    header: "x-real-ip".into(),
                },
            ),
        ];
        for (builder, expected) in table {
            assert_eq!(builder.build().unwrap_err(), expected);
        }
        assert!(Resolver::builder().build().is_ok());
        assert_eq!(
            Resolver::builder()
                .trust_unix_peer(true)
                .build()
                .unwrap_err(),
            ConfigError::TrustWithoutHeader
        );
        assert!(xff().trust_unix_peer(true).build().is_ok());
    }

    /// The common requests are answered by the fast path (the walk would
    /// give the same answers, so only a count can tell), and the unusual
    /// ones by the walk.
    #[test]
    fn the_fast_path_answers_the_common_requests() {
        let answered = || crate::fast::ANSWERED.with(std::cell::Cell::get);
        let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
        let one = |name: &'static str, value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, value.parse().unwrap());
            headers
        };
        let resolver = |text: &str| text.parse::<Resolver>().unwrap();
        let fast = [
            (
                "x-forwarded-for; trust=10.0.0.0/8",
                one("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
            ),
            (
                "x-forwarded-for; trust=10.0.0.0/8",
                one("x-forwarded-for", "[2001:db8::1]:443"),
            ),
            (
                "x-forwarded-for; trust=10.0.0.0/8",
                one("x-forwarded-for", "10.0.0.2"),
            ),
            (
                "x-forwarded-for; hops=2; trust=10.0.0.0/8",
                one("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
            ),
            (
                "forwarded; trust=10.0.0.0/8",
                one("forwarded", "for=203.0.113.7;proto=https"),
            ),
            (
                "forwarded; trust=10.0.0.0/8",
                one("forwarded", "for=\"[2001:db8::1]:443\""),
            ),
            (
                "x-real-ip; trust=10.0.0.0/8",
                one("x-real-ip", "203.0.113.7"),
            ),
            (
                "x-real-ip; trust=192.0.2.0/24",
                one("x-real-ip", "203.0.113.7"),
            ),
            ("peer", one("x-forwarded-for", "203.0.113.7")),
        ];
        for (config, headers) in &fast {
            let before = answered();
            resolver(config).resolve(peer, headers).unwrap();
            assert_eq!(
                answered(),
                before + 1,
                "{config} {headers:?}: not the fast path"
            );
        }
        let walked = [
            (
                "x-forwarded-for; trust=10.0.0.0/8",
                one("x-forwarded-for", "unknown, 10.0.0.2"),
            ),
            (
                "x-forwarded-for; trust=10.0.0.0/8",
                one("x-forwarded-for", "203.0.113.7,,10.0.0.2"),
            ),
            (
                "x-forwarded-for; hops=3; trust=10.0.0.0/8",
                one("x-forwarded-for", "10.0.0.2"),
            ),
            (
                "forwarded; trust=10.0.0.0/8",
                one("forwarded", "for=\"\\[::1]\""),
            ),
            (
                "cloudfront-viewer-address; trust=10.0.0.0/8",
                one("cloudfront-viewer-address", "203.0.113.7:443"),
            ),
        ];
        for (config, headers) in &walked {
            let before = answered();
            let _ = resolver(config).resolve(peer, headers);
            assert_eq!(
                answered(),
                before,
                "{config} {headers:?}: the fast path answered"
            );
        }
    }

    #[test]
    fn display_summarises_the_configuration() {
        let table = [
            (Resolver::default(), "peer"),
            (
                Resolver::builder()
                    .forwarded()
                    .trusted_proxies(set("private"))
                    .build()
                    .unwrap(),
                "forwarded; trust=private",
            ),
            (
                Resolver::builder()
                    .list_header(HeaderName::from_static("x-custom"))
                    .trusted_hops_from_any_peer(2)
                    .trust_unix_peer(true)
                    .build()
                    .unwrap(),
                "list:x-custom; hops=2; any-peer; unix-peer",
            ),
            (
                Resolver::builder()
                    .single_header(HeaderName::from_static("cf-connecting-ip"))
                    .trusted_proxies(set("10.0.0.1"))
                    .build()
                    .unwrap(),
                "cf-connecting-ip; trust=10.0.0.1",
            ),
            (
                Resolver::builder()
                    .single_header(HeaderName::from_static("x-my-ip"))
                    .trusted_proxies(set("10.0.0.1"))
                    .build()
                    .unwrap(),
                "header:x-my-ip; trust=10.0.0.1",
            ),
        ];
        for (resolver, text) in table {
            assert_eq!(resolver.to_string(), text);
        }
    }
}
