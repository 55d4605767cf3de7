//! # realip: the real client IP, behind sidecars, gateways and load balancers
//!
//! An application behind proxies does not see its clients. In a service
//! mesh, the Istio sidecar re-opens every inbound connection, so the socket
//! says `127.0.0.6`; behind a cloud load balancer and an ingress gateway,
//! the socket says the gateway's or a node's address. The client's address
//! survives only in what the proxies write down: `X-Forwarded-For`,
//! `Forwarded` (RFC 7239), `X-Real-IP` and its cousins, or the PROXY
//! protocol.
//!
//! ## The threat model
//!
//! **Every header can be written by the client.** A proxy *appends* the
//! address it received a connection from; it does not remove what the
//! client already put there. So the only addresses worth believing are
//! those written by proxies you run, and those are the *rightmost* ones.
//!
//! realip therefore walks the chain **from the right**: it starts at the
//! socket peer (the one address nobody can forge); while the current hop is
//! one of your proxies, it steps one hop to the left; the first hop that is
//! not your proxy is the client. It never falls back from one header to
//! another, never skips a hop it cannot read, and reads headers only when
//! the peer itself is a trusted proxy. The rules are listed on
//! [`Resolver`] and in the README.
//!
//! ## Quick start
//!
//! ```
//! use realip::{ProxySet, Resolver};
//! use http::HeaderMap;
//!
//! // Behind an ingress gateway in 10.0.0.0/8 that appends X-Forwarded-For.
//! let resolver = Resolver::builder()
//!     .x_forwarded_for()
//!     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>()?)
//!     .build()?;
//!
//! let mut headers = HeaderMap::new();
//! // The client forged "1.1.1.1"; the gateway (peer 10.0.0.3) appended the
//! // address it really saw.
//! headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.7".parse()?);
//! let peer: std::net::SocketAddr = "10.0.0.3:41000".parse()?;
//!
//! let resolution = resolver.resolve(peer, &headers)?;
//! assert_eq!(resolution.client().to_string(), "203.0.113.7");
//!
//! // A request straight from the internet, forging the same header:
//! let attacker: std::net::SocketAddr = "198.51.100.66:5555".parse()?;
//! assert_eq!(resolver.resolve(attacker, &headers)?.client().to_string(), "198.51.100.66");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How it is built
//!
//! One function defines a resolution: the walk (`src/walk.rs`), from the
//! peer leftwards through the one configured header while the hop is a
//! trusted proxy. [`Resolver::resolve`] runs it and records nothing;
//! [`Resolver::explain`] runs the same walk and records every step, so
//! the two cannot disagree. Below the walk are the readers (one hop's
//! address, comma lists, RFC 7239 elements, the peer, trusted sets) and
//! the vocabulary (the configuration and its one check, the errors, the
//! verdicts); above it, the resolver, the explanation and the text form;
//! then the integrations. Imports point down only.
//!
//! ## Modules
//!
//! - [`trust`]: sets of trusted proxies ([`ProxySet`]), presets (among
//!   them dated lists a provider publishes, such as Cloudflare's), readers
//!   of the lists providers publish, and [`SharedProxySet`], a set that
//!   is replaced while requests are resolved (from a file that is watched,
//!   or a list you fetch).
//! - [`resolver`]: the [`Resolver`], its builder and configuration types;
//!   [`Resolver::resolve_url`] also reads the scheme and host the client
//!   used ([`OriginalUrl`]), beside the hop that named it.
//! - Caller identity (DESIGN rule 15): with `identity=`, the caller a
//!   trusted sidecar vouches for in `X-Forwarded-Client-Cert` is a proxy
//!   by its SPIFFE id, not its address ([`Identity`]);
//!   [`Resolver::caller`] says who it was ([`Caller`]).
//! - [`explain`]: a step-by-step account of a resolution with diagnostics.
//! - `tower` (feature `tower`): [`ClientIpLayer`](crate::tower::ClientIpLayer),
//!   resolving once per request; `axum` (feature `axum`): extractors for
//!   [`ClientIp`], [`Resolution`] and the original URL.
//! - [`access`]: access control by the resolved client, never a header:
//!   allow and deny lists of ranges ([`AccessPolicy`](access::AccessPolicy),
//!   text form `allow=10.0.0.0/8; deny=10.66.0.0/16`, lists that reload),
//!   and with feature `tower` a layer that answers refused clients `403`
//!   inside `ClientIpLayer`.
//! - `telemetry` (features `tracing`, `metrics`): what the layer records
//!   for each request, so that traces, logs and dashboards show the client
//!   rather than the proxy: a span with OpenTelemetry's `client.address`,
//!   `network.peer.address`, … (also filled into the application's own
//!   request span when it declares them), and counters of resolutions,
//!   errors and diagnostics (`realip_diagnostics_total{code=
//!   "forwarding_headers_from_untrusted_peer"}`: spoofing attempts) through
//!   the `metrics` facade.
//! - `governor` (feature `governor`): a key extractor for tower_governor's
//!   rate limits, keyed by the resolved client's network (IPv4 `/32`, IPv6
//!   `/64`, an embedded IPv4 as IPv4; [`RateLimitPrefixes`]), never by a
//!   header the client writes.
//! - `actix` (feature `actix`): the same for actix-web 4, whose headers
//!   are `http` 0.2's: a middleware, the extractors, and `resolve` over
//!   actix's own header map, read in place.
//! - `proxy_protocol` (feature `proxy-protocol`): PROXY protocol v1/v2
//!   decoding and a tokio listener that accepts it only from configured
//!   senders; its source becomes the peer.
//! - `tonic` (feature `tonic`): gRPC; the layer for tonic's server, its
//!   connection info as the peer, `request.client_ip()` in handlers, and
//!   the PROXY listener as tonic's incoming stream.
//! - [`config`]: the text form (`REALIP="x-forwarded-for; trust=10.0.0.0/8"`),
//!   deployments (`deployment:gcp-lb`, …) and, with feature `serde`,
//!   configuration files. Every configuration mistake, whichever way it was
//!   written, is a [`ConfigError`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod access;
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
// The readers (one hop's address, comma lists, RFC 7239) are internal: users
// name resolvers, not parsers. Fuzz targets drive them directly, so they are
// public when cargo-fuzz builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
pub mod addr;
#[cfg(not(fuzzing))]
mod addr;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
pub mod config;
mod echo;
mod error;
pub mod explain;
#[cfg(fuzzing)]
pub mod forwarded;
#[cfg(not(fuzzing))]
mod forwarded;
#[cfg(feature = "governor")]
#[cfg_attr(docsrs, doc(cfg(feature = "governor")))]
pub mod governor;
mod header_names;
mod headers;
mod identity;
#[cfg(fuzzing)]
pub mod list;
#[cfg(not(fuzzing))]
mod list;
mod peer;
#[cfg(feature = "proxy-protocol")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy-protocol")))]
pub mod proxy_protocol;
mod resolution;
pub mod resolver;
mod scheme_host;
mod settings;
// Public with `tracing` or `metrics` (field and metric names); with `tower`
// and neither, it only names the layer's span type, a value of no size.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tracing", feature = "metrics"))))]
pub mod telemetry;
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
mod telemetry;
#[cfg(test)]
mod test_soup;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
pub mod trust;
mod verdict;
mod walk;
#[cfg(fuzzing)]
pub mod xfcc;
#[cfg(not(fuzzing))]
mod xfcc;

pub use addr::HopError;
pub use error::Error;
pub use forwarded::ElementError;
pub use identity::{Caller, Identity, IdentityError};
pub use peer::Peer;
pub use resolution::{ClientIp, Origin, Resolution};
pub use resolution::{PrefixError, RateLimitPrefixes};
pub use resolver::{
    Align, AllTrusted, ConfigError, Resolver, ResolverBuilder, Source, Trust, ValueSource,
};
pub use scheme_host::{AllowedHosts, Host, OriginalUrl, Scheme, ValueError};
pub use trust::{Preset, ProxySet, SharedProxySet};
