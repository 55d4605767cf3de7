//! End to end: the deployments of DESIGN section 0, rebuilt with real
//! proxies — Envoy as the ingress gateway and as the app's sidecar, as
//! Istio configures them — and realip checked against the decisions of
//! nginx's `real_ip_recursive` and Envoy's own original-IP detection.
//!
//! `deployments` builds a small cluster out of Linux network namespaces
//! joined by veth pairs, so every hop has its own address:
//!
//! ```text
//!  ext 203.0.113.10 ── lb (HAProxy, TCP) ── gw (Envoy gateway; nginx) ── net (router) ── pod
//!                                                                            │         Envoy sidecar
//!                                                          mesh 10.99.4.2 ───┘         + httpbin apps
//! ```
//!
//! and sends each scenario's request through it with curl, checking the
//! `origin` the `httpbin` example answers, the diagnostics and the
//! `caller_identity` of its `/ip/explain`, what the app received
//! (`X-Forwarded-For`, `X-Forwarded-Proto`, XFCC, from its `/headers`),
//! and that a client forging every forwarding header (and a caller
//! identity) changes nothing. README.md (Deployments, reproduced) draws
//! each deployment; docs/e2e.md describes the lab.
//!
//! The app of scenario 3 also writes its access log (`--access-log`), and
//! every line must name the in-mesh client as `client.address` and the
//! sidecar as `network.peer.address`.
//!
//! Scenario 8 trusts the gateway by its identity (DESIGN rule 15): a test
//! mesh CA, made with `openssl` at each run, issues SPIFFE certificates to
//! the gateway, the in-mesh client and the app's sidecar; the gateway
//! reaches the sidecar over mTLS, and the sidecar writes
//! `X-Forwarded-Client-Cert` (Envoy's `APPEND_FORWARD`).
//!
//! `nginx_differential` sends random forwarding chains through a real nginx
//! (`set_real_ip_from`, `real_ip_header X-Forwarded-For`,
//! `real_ip_recursive on`) on loopback and compares its `$remote_addr` with
//! what realip resolves for the same chain and trusted set; then it pins
//! the documented, intended differences. `envoy_differential` does the
//! same with Envoy's `xff_num_trusted_hops` and its XFF original-IP
//! detection with `xff_trusted_cidrs`, and classifies every disagreement.
//!
//! Needs: root, `ip`, `iptables`, `ip6tables`, `ss`, `envoy`, `nginx` (with
//! the realip and ssl modules), `haproxy`, `curl`, `openssl`:
//! `.ci/e2e-deps.sh` installs them. Without them each test prints
//! `SKIPPED: <why>` and passes, unless `REALIP_REQUIRE_E2E=1`, which makes
//! that a failure. The `httpbin` example must be built (`cargo test`
//! builds it; `cargo test --test e2e` alone does not: run `cargo build
//! --example httpbin` first).
//!
//! With feature `actix`, the `actix` example (actix-web) also serves two of
//! the deployments, with the configuration and sidecar of the httpbin app
//! it mirrors (`ACTIX_APPS`), and must answer as httpbin does: build it
//! with `cargo build --all-features --examples`.
//!
//! Everything the tests create is named after the test process
//! (`rip-<pid>-<role>` namespaces, a `realip-e2e-<pid>` temporary
//! directory) and removed by drop guards, on failure too. Traffic stays
//! between those namespaces and loopback. `REALIP_E2E_SEED` replays a
//! differential run; `REALIP_E2E_CASES` changes its number of cases.
//!
//! The modules under `tests/e2e/` hold the lab's parts, for scenarios to
//! come: `lab` (namespaces, processes, curl), `envoy` (the binary and the
//! pieces of its configuration), `pki` (a CA and certificates with any
//! SPIFFE ID), `cluster` (the topology and each proxy's configuration),
//! `scenarios`, and the differentials with their random `chains`.

mod common;

#[path = "e2e/chains.rs"]
mod chains;
#[path = "e2e/cluster.rs"]
mod cluster;
#[path = "e2e/deployments.rs"]
mod deployments;
#[path = "e2e/envoy.rs"]
mod envoy;
#[path = "e2e/envoy_diff.rs"]
mod envoy_diff;
#[path = "e2e/lab.rs"]
mod lab;
#[path = "e2e/nginx_diff.rs"]
mod nginx_diff;
#[path = "e2e/pki.rs"]
mod pki;
#[path = "e2e/scenarios.rs"]
mod scenarios;

#[test]
fn deployments() {
    let _serial = lab::serial();
    deployments::run();
}

#[test]
fn nginx_differential() {
    let _serial = lab::serial();
    nginx_diff::run();
}

#[test]
fn envoy_differential() {
    let _serial = lab::serial();
    envoy_diff::run();
}
