//! East-west traffic in an Istio mesh: which configuration gives the
//! application its caller's address, and why.
//!
//! ```text
//!  caller pod 10.244.1.7                      app pod 10.244.2.9
//! ┌──────────────────────────┐             ┌────────────────────────────────────┐
//! │ app ──► sidecar (Envoy) ─┼──── mTLS ──►│ sidecar (Envoy) ──► app (this code)│
//! └──────────────────────────┘             └────────────────────────────────────┘
//! ```
//!
//! The app's sidecar terminates the connection and opens a new one to the
//! app. What the app's socket and headers show depends on how it does so:
//!
//! 1. **REDIRECT interception (the default).** The new connection comes
//!    from `127.0.0.6` (Istio 1.10 and later; `::6` on IPv6 pods,
//!    `127.0.0.1` before 1.10). No header carries the caller: the address is
//!    lost, and realip says so with the `sidecar_hides_client` diagnostic.
//! 2. **TPROXY interception** (`sidecar.istio.io/interceptionMode: TPROXY`).
//!    The sidecar connects from the caller's own address: the socket peer is
//!    the caller. Configuration: `peer` (the default).
//! 3. **The sidecar appends `X-Forwarded-For`** (an EnvoyFilter setting
//!    `use_remote_address: true` on the inbound HTTP connection manager). The
//!    peer stays `127.0.0.6`, and the rightmost XFF element is the caller.
//!    Configuration: `x-forwarded-for; trust=istio-sidecar`. The caller's own
//!    XFF, if it sent one, stays to the left and is never believed.
//!
//! Run it: `cargo run --example istio_sidecar`. It resolves the requests of
//! each case and prints the explanation of each.

use std::net::SocketAddr;

use http::HeaderMap;
use realip::{Peer, Resolver};

fn request(peer: &str, headers: &[(&'static str, &str)]) -> (Peer, HeaderMap) {
    let peer: SocketAddr = peer.parse().expect("a socket address");
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, value.parse().expect("a header value"));
    }
    (Peer::from(peer), map)
}

fn show(title: &str, config: &str, peer: &str, headers: &[(&'static str, &str)]) -> String {
    let resolver: Resolver = config.parse().expect("a valid configuration");
    let (peer, headers) = request(peer, headers);
    let explanation = resolver.explain(peer, &headers);
    println!("## {title}\n{explanation}");
    explanation
        .result
        .map(|r| r.client().to_string())
        .unwrap_or_else(|e| format!("error: {e}"))
}

fn main() {
    // 1. REDIRECT: the peer is the sidecar; the caller is lost.
    let redirect = show(
        "REDIRECT interception, default configuration",
        "peer",
        "127.0.0.6:46512",
        &[],
    );
    assert_eq!(redirect, "127.0.0.6");

    // 2. TPROXY: the peer is the caller pod.
    let tproxy = show("TPROXY interception", "peer", "10.244.1.7:51000", &[]);
    assert_eq!(tproxy, "10.244.1.7");

    // 3. The sidecar appends XFF; the caller pod tried to forge its address.
    let xff = show(
        "sidecar appends X-Forwarded-For (use_remote_address: true)",
        "x-forwarded-for; trust=istio-sidecar",
        "127.0.0.6:46512",
        &[
            ("x-forwarded-for", "203.0.113.66,10.244.1.7"),
            ("x-real-ip", "203.0.113.66"),
        ],
    );
    assert_eq!(xff, "10.244.1.7");

    // Without an appended hop, the sidecar itself is the oldest trusted hop:
    // realip answers 127.0.0.6 and warns that the client is hidden.
    let missing = show(
        "XFF configured but the sidecar did not append (EnvoyFilter missing)",
        "x-forwarded-for; trust=istio-sidecar",
        "127.0.0.6:46512",
        &[],
    );
    assert_eq!(missing, "127.0.0.6");
}
