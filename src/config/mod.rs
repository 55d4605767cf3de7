//! Configuration from text: one line for an environment variable, or a
//! table in a TOML/JSON/YAML file (feature `serde`).
//!
//! # The text form
//!
//! ```text
//! REALIP="x-forwarded-for; trust=10.0.0.0/8, istio-sidecar"
//! REALIP="x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16"
//! REALIP="deployment:aws-alb; trust=10.0.0.0/16"
//! ```
//!
//! The first part says what to read, the rest are options, separated by
//! `;`:
//!
//! | part | meaning |
//! |---|---|
//! | `peer` | the socket peer alone (the default) |
//! | `forwarded` | RFC 7239 `Forwarded` |
//! | `x-forwarded-for` | `X-Forwarded-For` |
//! | `list:NAME` | another comma-list header |
//! | `x-real-ip`, `cf-connecting-ip`, `true-client-ip`, `fly-client-ip`, `x-envoy-external-address`, `cloudfront-viewer-address`, `fastly-client-ip`, `x-client-ip`, `x-cluster-client-ip`, `x-azure-clientip` | that single-address header |
//! | `header:NAME` | any other single-address header |
//! | `deployment:NAME` | a deployment (below); later options refine it |
//! | `trust=SET` | trusted proxies: addresses, CIDRs, presets (`loopback`, `private`, `link-local`, `istio-sidecar`, and the dated lists `cloudflare`, `gcp-lb`) |
//! | `hops=N` | trust the N nearest proxies (the peer included; at least 1); `trust=` then says which peers may send the header |
//! | `any-peer` | with `hops=`: accept the header from any peer |
//! | `all-trusted=leftmost` or `all-trusted=error` | the answer when every hop is trusted (trust by address only) |
//! | `max-hops=N` | the most hops walked (default 32; a list source trusted by address only) |
//! | `unix-peer` | trust a Unix-socket peer |
//! | `proto=SOURCE` | read the original scheme beside the client's hop: `forwarded` (its own element; with the `forwarded` source), `x-forwarded-proto` or `header:NAME` (a list header lined up with the source) |
//! | `host=SOURCE` | the original host, the same way: `forwarded`, `x-forwarded-host` or `header:NAME` |
//! | `align=symmetric` or `align=single` | value headers hold one element per hop (the default), or exactly one written by the edge proxy |
//! | `allowed-hosts=NAME, *.SUFFIX, …` | accept only these hosts from `host=` |
//! | `identity=SPIFFE-ID, …` | trust the caller a trusted sidecar vouches for in `x-forwarded-client-cert` (mTLS) as a proxy, whatever its address; repeatable; a SPIFFE id or `spiffe://TD/ns/NS/` for one namespace (DESIGN rule 15) |
//! | `identity-header=NAME` | read the caller identity from another header in Envoy's XFCC format |
//! | `sidecar-appends` | the sidecar appends its caller's address to the source (Envoy `use_remote_address: true`) |
//!
//! A preset names a set of addresses (`trust=private`); a [`Deployment`]
//! names a topology, and is where a configuration starts from:
//!
//! | deployment | expands to | add |
//! |---|---|---|
//! | `direct`, `istio-tproxy` | `peer` | |
//! | `istio-sidecar-xff` | `x-forwarded-for; trust=istio-sidecar` | |
//! | `istio-gateway` | `x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account` | `identity=` for another gateway account |
//! | `gcp-lb` | `x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16` | |
//! | `aws-alb` | `x-forwarded-for; hops=1` | `trust=` your VPC CIDR |
//! | `cloudflare` | `cf-connecting-ip; trust=cloudflare` (the built-in, dated list) | |
//! | `nginx` | `x-forwarded-for` | `trust=` nginx's addresses |
//!
//! `preset:NAME` is the older spelling of `deployment:NAME` and is still
//! read, so that scripts written for it keep working.
//!
//! Names are case-insensitive; numbers are plain decimal (`8`, never `+8`
//! or `08`), prefix lengths too (`10.0.0.0/8`, never `10.0.0.0/08`).
//! Nothing is guessed: a bare name that is not one of the
//! sources above is an error that names the closest one, so that a typo
//! (`x-forwarded-fro`) cannot become a header no proxy overwrites, which
//! any client could then write. Every mistake is a
//! [`ConfigError`], the same type the builder answers
//! with.
//!
//! Nor does any setting silently mean something else (DESIGN rule 13):
//!
//! - A trusted set is judged merged: ranges that together hold every
//!   IPv4 or IPv6 address (`trust=0.0.0.0/1, 128.0.0.0/1`), or more public
//!   space than any proxies connect from (more than 2^28 IPv4 addresses, a
//!   `/8` of IPv6; private, shared, loopback and link-local space does not
//!   count), are refused ([`ProxySet::check`]).
//! - An option the source does not read is an error
//!   ([`ConfigError::OptionNotRead`]): with `peer`, `hops=`, `max-hops=`
//!   and `all-trusted=` (besides `trust=`, `unix-peer`, `proto=`, …,
//!   refused as before); with a single-address header, `max-hops=`; with
//!   `hops=N`, `max-hops=` and `all-trusted=` (a count walks exactly N hops
//!   and its client is the hop past them). A count is at most 1024.
//! - A header name with a meaning of its own is refused where it is
//!   configured for another ([`ConfigError::HeaderWithOwnMeaning`]): the
//!   fields HTTP defines (`host`, `content-length`, `cookie`,
//!   `authorization`, `connection`, `transfer-encoding`, `te`, `upgrade`,
//!   …) as `header:`, `list:`, `proto=header:`, `host=header:` or
//!   `identity-header=`; `header:forwarded`/`list:forwarded` (write
//!   `forwarded`), `header:x-forwarded-for` (write `x-forwarded-for`),
//!   a known single-address header as a list (`list:x-real-ip`: write
//!   `x-real-ip`), `x-forwarded-proto`/`-host` as an address source, and
//!   `x-forwarded-client-cert` anywhere but `identity-header=`.
//!   `list:x-forwarded-for` is `x-forwarded-for` itself, and accepted.
//!
//! ```
//! use realip::{ConfigError, Resolver};
//!
//! for text in [
//!     "x-forwarded-for; trust=0.0.0.0/1, 128.0.0.0/1",
//!     "peer; max-hops=64",
//!     "x-forwarded-for; hops=2; trust=10.0.0.0/8; max-hops=8",
//!     "header:host; trust=10.0.0.0/8",
//!     "list:x-real-ip; trust=10.0.0.0/8",
//!     "x-forwarded-for; trust=10.0.0.0/08",
//! ] {
//!     assert!(text.parse::<Resolver>().is_err(), "{text}");
//! }
//! let err = "header:forwarded; trust=10.0.0.0/8".parse::<Resolver>().unwrap_err();
//! assert!(matches!(err, ConfigError::HeaderWithOwnMeaning { .. }));
//! assert!(err.to_string().ends_with("; write forwarded"));
//! ```
//!
//! A [`Resolver`]'s `Display` writes this form back, so a configuration
//! round-trips.
//!
//! ```
//! use realip::Resolver;
//!
//! let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar".parse().unwrap();
//! assert_eq!(resolver.to_string(), "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar");
//!
//! let gcp: Resolver = "deployment:gcp-lb".parse().unwrap();
//! assert_eq!(gcp.to_string(), "x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16");
//! // The older spelling means the same.
//! assert_eq!("preset:gcp-lb".parse::<Resolver>().unwrap(), gcp);
//!
//! let err = "x-forwarded-for; trust=10.0.0.0/33".parse::<Resolver>().unwrap_err();
//! assert!(err.to_string().contains("10.0.0.0/33"));
//!
//! let typo = "x-forwarded-fro; trust=10.0.0.0/8".parse::<Resolver>().unwrap_err();
//! assert!(typo.to_string().contains("did you mean x-forwarded-for?"));
//!
//! let custom: Resolver = "header:x-my-ip; trust=10.0.0.0/8".parse().unwrap();
//! assert_eq!(custom.to_string(), "header:x-my-ip; trust=10.0.0.0/8");
//! ```
//!
//! # Files (feature `serde`)
//!
//! The same settings as a table; unknown keys are refused:
//!
//! ```toml
//! [realip]
//! source = "x-forwarded-for"          # or deployment = "gcp-lb"
//! trust = ["10.0.0.0/8", "istio-sidecar"]   # or one string "10.0.0.0/8, istio-sidecar"
//! hops = 1                            # optional
//! any_peer = false
//! all_trusted = "leftmost"
//! max_hops = 32
//! unix_peer = false
//! proto = "x-forwarded-proto"         # optional, with host, align, allowed_hosts
//! ```
//!
//! The key `preset` is the older name of `deployment` and is still read;
//! a table that gives both is refused.

mod deployment;
#[cfg(feature = "serde")]
mod serde;
mod text;

pub use deployment::Deployment;

use http::HeaderName;

use crate::identity::Identity;
use crate::resolver::{Align, AllTrusted, ConfigError, Resolver, Source, ValueSource};
use crate::scheme_host::AllowedHosts;
use crate::trust::ProxySet;

/// Settings for a [`Resolver`], each optional: what the text form and
/// configuration files hold before they are checked.
///
/// ```
/// use realip::config::{Deployment, ResolverConfig};
///
/// let config: ResolverConfig = "deployment:aws-alb; trust=10.0.0.0/16".parse().unwrap();
/// assert_eq!(config.deployment, Some(Deployment::AwsAlb));
/// assert_eq!(config.hops, None); // the deployment's hop count applies at build
/// let resolver = config.build().unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; hops=1; trust=10.0.0.0/16");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// A deployment the other settings refine.
    pub deployment: Option<Deployment>,
    /// What to read (default: the peer).
    pub source: Option<Source>,
    /// Trusted proxies, or with `hops` the peers allowed to send the header.
    pub trust: Option<ProxySet>,
    /// Trust by count: this many nearest proxies, the peer included.
    pub hops: Option<usize>,
    /// With `hops`: accept the header from any peer.
    pub any_peer: bool,
    /// The answer when every hop is trusted.
    pub all_trusted: Option<AllTrusted>,
    /// The most hops walked.
    pub max_hops: Option<usize>,
    /// Trust a Unix-socket peer.
    pub unix_peer: bool,
    /// Where the original scheme is read (`proto=`).
    pub proto: Option<ValueSource>,
    /// Where the original host is read (`host=`).
    pub host: Option<ValueSource>,
    /// How value headers line up with the source (`align=`).
    pub align: Option<Align>,
    /// The hosts accepted as the original host (`allowed-hosts=`).
    pub allowed_hosts: Option<AllowedHosts>,
    /// The caller identities trusted as proxies (`identity=`, repeatable);
    /// when given, they replace the deployment's.
    pub identities: Option<Vec<Identity>>,
    /// The header the caller identity is read from (`identity-header=`).
    pub identity_header: Option<HeaderName>,
    /// The sidecar appends its caller's address to the source
    /// (`sidecar-appends`).
    pub sidecar_appends: bool,
}

impl ResolverConfig {
    /// Applies the deployment (if any) under the explicit settings, checks
    /// the result and makes the resolver.
    pub fn build(&self) -> Result<Resolver, ConfigError> {
        let base = self.deployment.map(Deployment::config).unwrap_or_default();
        let source = self.source.clone().or(base.source).unwrap_or(Source::Peer);
        let trust = self.trust.clone().or(base.trust);
        let hops = self.hops.or(base.hops);
        let mut builder = Resolver::builder().source(source);
        match (hops, self.any_peer) {
            (Some(_), true) if self.trust.is_some() => {
                return Err(ConfigError::AnyPeerWithTrust);
            }
            (Some(n), true) => builder = builder.trusted_hops_from_any_peer(n),
            (Some(n), false) => builder = builder.trusted_hops(n, trust.unwrap_or_default()),
            (None, true) => return Err(ConfigError::AnyPeerWithoutHops),
            (None, false) => {
                if let Some(set) = trust {
                    builder = builder.trusted_proxies(set);
                }
            }
        }
        if let Some(policy) = self.all_trusted {
            builder = builder.all_trusted(policy);
        }
        if let Some(max) = self.max_hops {
            builder = builder.max_hops(max);
        }
        if let Some(source) = &self.proto {
            builder = builder.proto(source.clone());
        }
        if let Some(source) = &self.host {
            builder = builder.host(source.clone());
        }
        if let Some(align) = self.align {
            builder = builder.align(align);
        }
        if let Some(hosts) = &self.allowed_hosts {
            builder = builder.allowed_hosts(hosts.clone());
        }
        let identities = self.identities.as_ref().or(base.identities.as_ref());
        for identity in identities.into_iter().flatten() {
            builder = builder.identity(identity.clone());
        }
        if let Some(name) = &self.identity_header {
            builder = builder.identity_header(name.clone());
        }
        builder
            .sidecar_appends(self.sidecar_appends)
            .trust_unix_peer(self.unix_peer)
            .build()
    }
}
