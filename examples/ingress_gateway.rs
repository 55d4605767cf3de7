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
//! Configuration: `deployment:istio-gateway`, that is `x-forwarded-for;
//! trust=istio-sidecar; identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`.
//! The app's sidecar verified its caller's mTLS certificate and names it in
//! `X-Forwarded-Client-Cert`; when that caller is the gateway, the hop the
//! gateway appended is believed. Any other caller in the mesh (or one
//! without mTLS) writes nothing the app believes: the answer is the
//! sidecar's `127.0.0.6`, with a `caller_not_trusted` diagnostic (DESIGN
//! rule 15). Without `identity=` an in-mesh caller could write its own
//! `X-Forwarded-For`.
//!
//! Run it: `cargo run --example ingress_gateway`.

use std::net::SocketAddr;

use http::HeaderMap;
use realip::{Peer, Resolver};

/// What the app's sidecar appends to `X-Forwarded-Client-Cert` for a caller
/// whose certificate it verified.
fn xfcc(caller: &str) -> String {
    format!(
        "By=spiffe://cluster.local/ns/shop/sa/web;\
         Hash=9b1f0c3e5a7d2b4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809;Subject=\"\";URI={caller}"
    )
}

const GATEWAY: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

fn resolve(title: &str, resolver: &Resolver, xff: Option<&str>, caller: Option<&str>) -> String {
    let peer: SocketAddr = "127.0.0.6:40312".parse().expect("a socket address");
    let mut headers = HeaderMap::new();
    if let Some(xff) = xff {
        headers.insert("x-forwarded-for", xff.parse().expect("a header value"));
    }
    if let Some(caller) = caller {
        let value = xfcc(caller).parse().expect("a header value");
        headers.insert("x-forwarded-client-cert", value);
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
        Some(GATEWAY),
    );
    assert_eq!(local, "120.244.8.9");

    let forged = resolve(
        "externalTrafficPolicy: Local, the client forges X-Forwarded-For",
        &resolver,
        Some("1.1.1.1, 8.8.8.8,120.244.8.9"),
        Some(GATEWAY),
    );
    assert_eq!(forged, "120.244.8.9");

    let cluster = resolve(
        "externalTrafficPolicy: Cluster (source NAT)",
        &resolver,
        Some("10.0.0.93"),
        Some(GATEWAY),
    );
    assert_eq!(cluster, "10.0.0.93");

    // A pod of the mesh that skips the gateway and forges the header: its
    // sidecar names it, and it is not the gateway.
    let in_mesh = resolve(
        "an in-mesh caller skips the gateway and forges X-Forwarded-For",
        &resolver,
        Some("120.244.8.9"),
        Some("spiffe://cluster.local/ns/shop/sa/frontend"),
    );
    assert_eq!(in_mesh, "127.0.0.6");
    let plaintext = resolve(
        "a caller without mTLS (the sidecar names none) forges X-Forwarded-For",
        &resolver,
        Some("120.244.8.9"),
        None,
    );
    assert_eq!(plaintext, "127.0.0.6");

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
        None,
    );
    assert_eq!(behind_l7, "120.244.8.9");
}
