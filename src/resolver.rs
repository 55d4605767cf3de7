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

use std::sync::Arc;

use http::{HeaderMap, HeaderName, Request, request::Parts};

use crate::error::Error;
use crate::identity::{Caller, Identity};
use crate::peer::Peer;
use crate::resolution::Resolution;
use crate::scheme_host::{AllowedHosts, OriginalUrl};
use crate::settings::Settings;
use crate::trust::{ProxySet, SharedProxySet};
use crate::walk::{self, NoObserver};
// What the tower layer's one walk records (`Resolver::resolve_for_layer`).
#[cfg(feature = "tower")]
use crate::{
    addr::HopAddr,
    verdict::{Position, Verdict},
    walk::Observer,
    xfcc::NoIdentity,
};

pub use crate::header_names::MAX_CUSTOM_NAMES;
pub use crate::settings::{
    Align, AllTrusted, ConfigError, DEFAULT_MAX_HOPS, MAX_EMPTY_ELEMENTS, MAX_HOPS_LIMIT, Source,
    Trust, ValueSource,
};

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
        walk::walk(&self.settings, peer.into(), headers, &mut NoObserver)
    }

    /// Resolves as [`resolve`](Resolver::resolve) does, and reads the
    /// original scheme and host that came with the client's hop (DESIGN
    /// rule 14; configured by [`proto`](ResolverBuilder::proto) and
    /// [`host`](ResolverBuilder::host)). Allocates nothing.
    ///
    /// ```
    /// use realip::Resolver;
    /// use http::HeaderMap;
    ///
    /// let resolver: Resolver = "forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded"
    ///     .parse()?;
    /// let mut headers = HeaderMap::new();
    /// // The client forged proto=http in its own element; the gateway
    /// // wrote the client's address with what the client used.
    /// headers.insert(
    ///     "forwarded",
    ///     r#"for=6.6.6.6;proto=http, for=203.0.113.7;proto=https;host="shop.example.com""#.parse()?,
    /// );
    /// headers.append("forwarded", "for=10.0.0.2".parse()?);
    /// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
    ///
    /// let (resolution, url) = resolver.resolve_url(peer, &headers)?;
    /// assert_eq!(resolution.client().to_string(), "203.0.113.7");
    /// assert_eq!(url.scheme().unwrap().as_str(), "https");
    /// assert_eq!(url.host().unwrap().as_str(), "shop.example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_url(
        &self,
        peer: impl Into<Peer>,
        headers: &HeaderMap,
    ) -> Result<(Resolution, OriginalUrl), Error> {
        let mut hop = None;
        let resolution = walk::walk_to_hop::<_, _, true>(
            &self.settings,
            peer.into(),
            headers,
            &mut NoObserver,
            &mut hop,
        )?;
        Ok((resolution, walk::original_url(&self.settings, headers, hop)))
    }

    /// Who called the trusted sidecar in front of the application, as it
    /// vouched (DESIGN rule 15): the identity from the rightmost element of
    /// the identity header (`x-forwarded-client-cert`), and whether it is
    /// one the resolver trusts. `None` when the resolver trusts no
    /// identity, when the peer is not a trusted proxy (anyone else could
    /// have written the header), or when the header names no identity.
    /// Reads as [`resolve`](Self::resolve) reads; allocates nothing.
    ///
    /// ```
    /// use realip::Resolver;
    /// use http::HeaderMap;
    ///
    /// let resolver: Resolver = "deployment:istio-gateway".parse()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "203.0.113.7".parse()?);
    /// headers.insert(
    ///     "x-forwarded-client-cert",
    ///     "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
    ///      URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
    ///         .parse()?,
    /// );
    /// let sidecar: std::net::SocketAddr = "127.0.0.6:40000".parse()?;
    /// let caller = resolver.caller(sidecar, &headers).unwrap();
    /// assert!(caller.is_trusted());
    /// // The gateway is trusted: what it appended is the client.
    /// assert_eq!(resolver.resolve(sidecar, &headers)?.client().to_string(), "203.0.113.7");
    ///
    /// // The same headers from anyone but the sidecar say nothing.
    /// let pod: std::net::SocketAddr = "10.1.2.3:40000".parse()?;
    /// assert_eq!(resolver.caller(pod, &headers), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn caller<'h>(&self, peer: impl Into<Peer>, headers: &'h HeaderMap) -> Option<Caller<'h>> {
        let uri = walk::caller(&self.settings, &peer.into().canonical(), headers)?.ok()?;
        Some(Caller {
            uri: uri.into(),
            trusted: self.settings.callers.admits(uri),
        })
    }

    /// What the tower layer stores for a request, from one walk: the
    /// resolution, the original URL when the resolver reads one (and the
    /// client was resolved), and the caller the trusted sidecar vouched
    /// for, as [`caller`](Self::caller) reads it, without reading the
    /// identity header a second time.
    #[cfg(feature = "tower")]
    pub(crate) fn resolve_for_layer<'h>(
        &self,
        peer: Peer,
        headers: &'h HeaderMap,
    ) -> (
        Result<Resolution, Error>,
        Option<OriginalUrl>,
        Option<Caller<'h>>,
    ) {
        let settings = &*self.settings;
        let mut seen = CallerSeen(None);
        let (result, url) = if settings.values.any() {
            let mut hop = None;
            let result =
                walk::walk_to_hop::<_, _, true>(settings, peer, headers, &mut seen, &mut hop);
            let url = result
                .is_ok()
                .then(|| walk::original_url(settings, headers, hop));
            (result, url)
        } else {
            (walk::walk(settings, peer, headers, &mut seen), None)
        };
        let caller = seen.0.and_then(Result::ok).map(|uri| Caller {
            uri: uri.into(),
            trusted: settings.callers.admits(uri),
        });
        (result, url, caller)
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

    /// Whether the resolver reads the original scheme or host
    /// ([`resolve_url`](Self::resolve_url) has something to read).
    pub fn reads_url(&self) -> bool {
        self.settings.values.any()
    }

    /// Where the original scheme is read, if anywhere.
    pub fn proto_source(&self) -> Option<&ValueSource> {
        self.settings.values.proto.as_ref()
    }

    /// Where the original host is read, if anywhere.
    pub fn host_source(&self) -> Option<&ValueSource> {
        self.settings.values.host.as_ref()
    }

    /// How value headers line up with the source.
    pub fn align(&self) -> Align {
        self.settings.values.align()
    }

    /// The hosts accepted as the original host (empty: any).
    pub fn allowed_hosts(&self) -> &AllowedHosts {
        &self.settings.values.allowed_hosts
    }

    /// The caller identities trusted as proxies (empty: none).
    pub fn identities(&self) -> &[Identity] {
        &self.settings.callers.identities
    }

    /// The header the caller identity is read from, when identities are
    /// trusted.
    pub fn identity_header(&self) -> Option<&HeaderName> {
        self.settings.callers.read
    }

    /// Whether the sidecar appends its caller's address to the source.
    pub fn sidecar_appends(&self) -> bool {
        self.settings.callers.sidecar_appends
    }
}

/// Keeps the caller identity the walk read (rule 15), and nothing else.
#[cfg(feature = "tower")]
struct CallerSeen<'h>(Option<Result<&'h str, NoIdentity>>);

#[cfg(feature = "tower")]
impl<'h> Observer<'h> for CallerSeen<'h> {
    #[inline(always)]
    fn peer(&mut self, _: &Peer, _: Verdict) {}
    #[inline(always)]
    fn hop(&mut self, _: usize, _: &[u8], _: Option<HopAddr>, _: Verdict) {}
    #[inline(always)]
    fn leftmost_is_the_answer(&mut self, _: Position) {}
    #[inline(always)]
    fn caller(&mut self, caller: Result<&'h str, NoIdentity>, _: bool) {
        self.0 = Some(caller);
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
///     .build()
///     .unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; hops=3; trust=10.0.0.0/8");
///
/// // Behind proxies trusted by address, bound the walk and refuse a chain
/// // of proxies only.
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
///     .all_trusted(AllTrusted::Error)
///     .max_hops(16)
///     .build()
///     .unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error; max-hops=16");
///
/// // An option the configuration does not read is an error, never ignored.
/// assert!(Resolver::builder().max_hops(16).build().is_err());
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

    /// Trusts the hops whose address is in the set `proxies` holds when a
    /// request is resolved: a set that can be replaced while requests are
    /// being resolved ([`Trust::SharedProxies`]). Each resolution loads the
    /// set once, without a lock or an allocation, and judges the peer and
    /// every hop by it. [`build`](Self::build) checks the set held then, as
    /// it checks a plain one; later sets are checked when they are stored.
    ///
    /// ```
    /// use realip::{Preset, ProxySet, Resolver, SharedProxySet};
    ///
    /// // Start from the built-in list; store a fresher one when fetched.
    /// let cloudflare = SharedProxySet::new(ProxySet::preset(Preset::Cloudflare));
    /// let resolver = Resolver::builder()
    ///     .single_header(http::HeaderName::from_static("cf-connecting-ip"))
    ///     .trusted_shared_proxies(cloudflare.clone())
    ///     .build()?;
    /// assert_eq!(resolver.to_string(), "cf-connecting-ip; trust=cloudflare");
    ///
    /// cloudflare.store(ProxySet::from_lines("173.245.48.0/20\n2400:cb00::/32\n")?)?;
    /// // The text form shows what the set holds now.
    /// assert_eq!(resolver.to_string(), "cf-connecting-ip; trust=173.245.48.0/20, 2400:cb00::/32");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_shared_proxies(mut self, proxies: SharedProxySet) -> Self {
        self.settings.trust = Trust::SharedProxies(proxies);
        self
    }

    /// Trusts the `count` nearest hops (the peer included), and only when
    /// the peer is in `peers`.
    pub fn trusted_hops(mut self, count: usize, peers: impl Into<ProxySet>) -> Self {
        self.settings.trust = Trust::Hops {
            count,
            peers: peers.into(),
        };
        self
    }

    /// Trusts the `count` nearest hops from any peer. Only safe where the
    /// network lets nothing reach the application but those proxies.
    pub fn trusted_hops_from_any_peer(mut self, count: usize) -> Self {
        self.settings.trust = Trust::HopsFromAnyPeer { count };
        self
    }

    /// What to answer when every hop is trusted (default: the leftmost).
    ///
    /// Read only when hops are trusted by address: with the peer source or
    /// a hop count, every hop is never trusted, and giving it is an error
    /// ([`ConfigError::OptionNotRead`]).
    pub fn all_trusted(mut self, policy: AllTrusted) -> Self {
        self.settings.all_trusted = policy;
        self.settings.given.all_trusted = true;
        self
    }

    /// The most hops walked before giving up (default [`DEFAULT_MAX_HOPS`]).
    ///
    /// Read only where a walk can grow: with a list source (`Forwarded`,
    /// `X-Forwarded-For`, another list) and hops trusted by address. With
    /// the peer source, a single-address header or a hop count there is
    /// nothing to bound, and giving it is an error
    /// ([`ConfigError::OptionNotRead`]).
    pub fn max_hops(mut self, max_hops: usize) -> Self {
        self.settings.max_hops = max_hops;
        self.settings.given.max_hops = true;
        self
    }

    /// Whether a Unix-socket peer (a proxy on the same host) is trusted.
    pub fn trust_unix_peer(mut self, trust: bool) -> Self {
        self.settings.trust_unix_peer = trust;
        self
    }

    /// Reads the original scheme from `source`, beside the client's hop
    /// (see [`Resolver::resolve_url`]).
    pub fn proto(mut self, source: ValueSource) -> Self {
        self.settings.values.proto = Some(source);
        self
    }

    /// Reads the original host from `source`, beside the client's hop (see
    /// [`Resolver::resolve_url`]).
    pub fn host(mut self, source: ValueSource) -> Self {
        self.settings.values.host = Some(source);
        self
    }

    /// How value headers line up with the source (default
    /// [`Align::Symmetric`]).
    pub fn align(mut self, align: Align) -> Self {
        self.settings.values.align = Some(align);
        self
    }

    /// Accepts only these hosts as the original host; any other is no
    /// host.
    pub fn allowed_hosts(mut self, hosts: AllowedHosts) -> Self {
        self.settings.values.allowed_hosts = hosts;
        self
    }

    /// Trusts the caller of a trusted sidecar with this identity as a
    /// proxy, whatever its address (DESIGN rule 15); repeat for more. The
    /// identity is read from the rightmost element of
    /// [`identity_header`](Self::identity_header), which only the trusted
    /// sidecar writes.
    ///
    /// ```
    /// use realip::{Preset, ProxySet, Resolver};
    ///
    /// let resolver = Resolver::builder()
    ///     .x_forwarded_for()
    ///     .trusted_proxies(ProxySet::preset(Preset::IstioSidecar))
    ///     .identity("spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account".parse()?)
    ///     .build()?;
    /// assert_eq!(
    ///     resolver.to_string(),
    ///     "x-forwarded-for; trust=istio-sidecar; \
    ///      identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(mut self, identity: Identity) -> Self {
        self.settings.callers.identities.push(identity);
        self
    }

    /// The header the trusted sidecar writes its caller into (default
    /// `x-forwarded-client-cert`, Envoy's format).
    pub fn identity_header(mut self, name: HeaderName) -> Self {
        self.settings.callers.header = Some(name);
        self
    }

    /// Whether the sidecar appends its caller's address to the source
    /// (Envoy with `use_remote_address: true`; Istio's default sidecar does
    /// not). When it does, the newest hop is the caller's, trusted exactly
    /// when its identity is.
    pub fn sidecar_appends(mut self, appends: bool) -> Self {
        self.settings.callers.sidecar_appends = appends;
        self
    }

    /// Checks the configuration and makes the resolver.
    pub fn build(self) -> Result<Resolver, ConfigError> {
        Ok(Resolver {
            settings: Arc::new(self.settings.checked()?),
        })
    }
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
                ConfigError::Trust("::/80".parse::<ProxySet>().unwrap_err()),
            ),
            (
                xff().trusted_hops(
                    1,
                    ["0.0.0.0/0".parse::<ipnet::IpNet>().unwrap()]
                        .into_iter()
                        .collect::<ProxySet>(),
                ),
                ConfigError::Trust("0.0.0.0/0".parse::<ProxySet>().unwrap_err()),
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
                xff().trusted_hops(MAX_HOPS_LIMIT + 1, set("10.0.0.0/8")),
                ConfigError::HopsExceedLimit {
                    hops: MAX_HOPS_LIMIT + 1,
                    max_hops: MAX_HOPS_LIMIT,
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
        // A count above the default bound needs no max-hops (which a count
        // does not read): the count bounds the walk.
        let deep = xff().trusted_hops(40, set("10.0.0.0/8")).build().unwrap();
        assert_eq!(
            deep.to_string(),
            "x-forwarded-for; hops=40; trust=10.0.0.0/8"
        );
    }
}
