//! North-south traffic: an internet client, a cloud load balancer, the
//! Istio ingress gateway, the application's sidecar, the application.
//!
//! ```text
//! client 120.244.8.9 ─► cloud L4 LB ─► node 10.0.0.93 ─► ingress gateway ─► app sidecar ─► app
//!                                     (kube-proxy)       (Envoy, appends     (REDIRECT:      (peer
//!                                                         XFF)                from 127.0.0.6)  127.0.0.6)
//! ```
//!
//! The gateway runs with `use_remote_address: true` and appends the address
//! it received the connection from to `X-Forwarded-For`. Which address that
//! is depends on the Service's `externalTrafficPolicy`:
//!
//! - **`Local`**: the balancer passes the client's address through; the
//!   gateway appends `120.244.8.9`. The app sees
//!   `X-Forwarded-For: [what the client sent,]120.244.8.9`, peer `127.0.0.6`.
//! - **`Cluster`**: kube-proxy source-NATs to a node address; the gateway
//!   appends `10.0.0.93`. The client is lost before any proxy could record
//!   it; realip answers the node address and its `non_public_client`
//!   diagnostic says why. Use `Local`, or the PROXY protocol.
//! - HTTPS terminated at the gateway changes nothing here: an L4 balancer
//!   adds no header.
//!
//! Configuration: `x-forwarded-for; trust=istio-sidecar` (the deployment
//! `deployment:istio-gateway`). It trusts the one hop the app's sidecar vouches
//! for — the gateway's append — which is sound only when every path to the
//! app goes through the gateway: enforce it with an `AuthorizationPolicy`
//! that admits only the gateway's identity, or an in-mesh caller could write
//! its own `X-Forwarded-For`.
//!
//! Run it: `cargo run --example ingress_gateway`.

use std::net::SocketAddr;

use http::HeaderMap;
use realip::{Peer, Resolver};

fn resolve(title: &str, resolver: &Resolver, xff: Option<&str>) -> String {
    let peer: SocketAddr = "127.0.0.6:40312".parse().expect("a socket address");
    let mut headers = HeaderMap::new();
    if let Some(xff) = xff {
        headers.insert("x-forwarded-for", xff.parse().expect("a header value"));
    }
    let explanation = resolver.explain(Peer::from(peer), &headers);
    println!("## {title}\n{explanation}");
    explanation
        .result
        .map(|r| r.client().to_string())
        .unwrap_or_else(|e| format!("error: {e}"))
}

fn main() {
    let resolver: Resolver = "deployment:istio-gateway"
        .parse()
        .expect("a valid configuration");
    println!("configuration: {resolver}\n");

    let local = resolve(
        "externalTrafficPolicy: Local",
        &resolver,
        Some("120.244.8.9"),
    );
    assert_eq!(local, "120.244.8.9");

    let forged = resolve(
        "externalTrafficPolicy: Local, the client forges X-Forwarded-For",
        &resolver,
        Some("1.1.1.1, 8.8.8.8,120.244.8.9"),
    );
    assert_eq!(forged, "120.244.8.9");

    let cluster = resolve(
        "externalTrafficPolicy: Cluster (source NAT)",
        &resolver,
        Some("10.0.0.93"),
    );
    assert_eq!(cluster, "10.0.0.93");

    // Behind an L7 balancer instead (GCP appends "<client>,<lb-ip>" and the
    // gateway then appends the front end it saw), count the hops: sidecar's
    // peer check, gateway, and the balancer's two entries.
    let l7: Resolver = "x-forwarded-for; hops=3; trust=istio-sidecar"
        .parse()
        .expect("a valid configuration");
    let behind_l7 = resolve(
        "GCP L7 balancer in front of the gateway (3 counted hops)",
        &l7,
        Some("6.6.6.6,120.244.8.9,34.120.1.1,35.191.0.7"),
    );
    assert_eq!(behind_l7, "120.244.8.9");
}
