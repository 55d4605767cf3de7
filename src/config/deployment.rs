//! Deployments: the topologies realip knows by name, and the configuration
//! each starts from.
//!
//! A deployment is a starting point, never a guess: it names what the
//! topology's proxies write, and leaves out what only the operator knows
//! (the addresses of their own balancer, their CDN's ranges). A deployment
//! that needs those ranges does not build until `trust=` gives them.

use http::HeaderName;

use super::ResolverConfig;
use crate::resolver::Source;
use crate::trust::{Preset, ProxySet};

/// A deployment: a starting configuration for a common topology, written
/// `deployment:NAME` in the text form and `deployment = "NAME"` in files.
///
/// Later settings refine it: `deployment:aws-alb; trust=10.0.0.0/16` is
/// the AWS configuration with the VPC range the balancer connects from.
///
/// ```
/// use realip::config::Deployment;
///
/// let gcp: Deployment = "gcp-lb".parse().unwrap();
/// assert_eq!(gcp, Deployment::GcpLb);
/// let resolver = gcp.config().build().unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deployment {
    /// Nothing in front of the application: the peer.
    Direct,
    /// An Istio sidecar in TPROXY mode: the peer is the caller.
    IstioTproxy,
    /// An Istio sidecar that appends `X-Forwarded-For`.
    IstioSidecarXff,
    /// An Istio ingress gateway that appends `X-Forwarded-For`, reached
    /// through the application's sidecar in REDIRECT mode, which vouches
    /// for its caller in `x-forwarded-client-cert` (mTLS): the gateway is
    /// trusted by its identity, Istio's default ingress gateway service
    /// account in `istio-system`
    /// ([`ISTIO_GATEWAY_IDENTITY`](Self::ISTIO_GATEWAY_IDENTITY)), so no
    /// other workload of the mesh can write the header the application
    /// believes. A gateway under another service account, namespace or
    /// trust domain says so with `identity=` (which replaces this one):
    /// `deployment:istio-gateway; identity=spiffe://example.org/ns/ingress/sa/gateway`.
    IstioGateway,
    /// Google Cloud's external Application Load Balancer, which appends
    /// `<client>,<lb-ip>` and connects from its front ends.
    GcpLb,
    /// An AWS Application Load Balancer (one appended hop); add `trust=` with
    /// the VPC range the balancer connects from.
    AwsAlb,
    /// Cloudflare's `CF-Connecting-IP`, from Cloudflare's published ranges
    /// (the built-in, dated [`Preset::Cloudflare`](crate::Preset::Cloudflare);
    /// a `trust=` of your own, such as a list you refresh, replaces it).
    Cloudflare,
    /// nginx with `real_ip_recursive on`; add `trust=` with what
    /// `set_real_ip_from` lists.
    Nginx,
}

impl Deployment {
    /// The identity of Istio's default ingress gateway (its service
    /// account in `istio-system`, trust domain `cluster.local`), which
    /// [`Deployment::IstioGateway`] trusts.
    pub const ISTIO_GATEWAY_IDENTITY: &'static str =
        "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

    /// Every deployment.
    pub const ALL: [Deployment; 8] = [
        Deployment::Direct,
        Deployment::IstioTproxy,
        Deployment::IstioSidecarXff,
        Deployment::IstioGateway,
        Deployment::GcpLb,
        Deployment::AwsAlb,
        Deployment::Cloudflare,
        Deployment::Nginx,
    ];

    /// The deployment's name, as the text form and files write it.
    ///
    /// ```
    /// use realip::config::Deployment;
    ///
    /// assert_eq!(Deployment::IstioSidecarXff.name(), "istio-sidecar-xff");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Deployment::Direct => "direct",
            Deployment::IstioTproxy => "istio-tproxy",
            Deployment::IstioSidecarXff => "istio-sidecar-xff",
            Deployment::IstioGateway => "istio-gateway",
            Deployment::GcpLb => "gcp-lb",
            Deployment::AwsAlb => "aws-alb",
            Deployment::Cloudflare => "cloudflare",
            Deployment::Nginx => "nginx",
        }
    }

    /// The configuration the deployment starts from.
    pub fn config(self) -> ResolverConfig {
        let xff = Some(Source::x_forwarded_for());
        let set = |s: &str| Some(s.parse::<ProxySet>().expect("deployment ranges are valid"));
        let base = ResolverConfig::default();
        match self {
            Deployment::Direct | Deployment::IstioTproxy => ResolverConfig {
                source: Some(Source::Peer),
                ..base
            },
            Deployment::IstioSidecarXff => ResolverConfig {
                source: xff,
                trust: set("istio-sidecar"),
                ..base
            },
            Deployment::IstioGateway => ResolverConfig {
                source: xff,
                trust: set("istio-sidecar"),
                identities: Some(vec![
                    Self::ISTIO_GATEWAY_IDENTITY
                        .parse()
                        .expect("the gateway's identity is a SPIFFE id"),
                ]),
                ..base
            },
            Deployment::GcpLb => ResolverConfig {
                source: xff,
                hops: Some(2),
                // The ranges themselves, written out as before, from the
                // one dated list.
                trust: Some(Preset::GcpLb.networks().iter().copied().collect()),
                ..base
            },
            Deployment::AwsAlb => ResolverConfig {
                source: xff,
                hops: Some(1),
                ..base
            },
            Deployment::Cloudflare => ResolverConfig {
                source: Some(Source::Single(HeaderName::from_static("cf-connecting-ip"))),
                trust: Some(ProxySet::preset(Preset::Cloudflare)),
                ..base
            },
            Deployment::Nginx => ResolverConfig {
                source: xff,
                ..base
            },
        }
    }
}
