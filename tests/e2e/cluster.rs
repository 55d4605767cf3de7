//! The cluster: addresses, apps, the proxies' configurations, and the
//! namespaces, links and processes that make it.
//!
//! The gateway and the app's sidecar are Envoy, configured as Istio
//! configures them; nginx is a second ingress implementation beside the
//! Envoy gateway; HAProxy is the cloud's L4 balancer.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::example_binary;
use crate::envoy::{
    bootstrap, downstream_tls, from_sources, http_chain, http_connection_manager, listener,
    original_dst, original_dst_cluster, original_src, proxy_protocol_listener,
    proxy_protocol_upstream, route, set_xfcc, static_cluster, tcp_chain, tls_inspector,
    upstream_mtls,
};
use crate::lab::{Lab, program, run};
use crate::pki::{APP_DNS, APP_ID, MeshPki, mesh_pki};

/// The external client: an RFC 5737 documentation address, never routed on
/// the internet, so that it reads as an internet client (not a private
/// one) and `non_public_client` can tell the SNAT case apart.
pub const EXT: &str = "203.0.113.10";
/// The balancer: its address facing clients, and facing the gateway.
pub const LB_FRONT: &str = "203.0.113.1";
pub const LB_BACK: &str = "10.99.1.1";
/// The ingress gateway: facing the balancer, and in the pod network.
pub const GW_FRONT: &str = "10.99.1.2";
pub const GW_POD_NET: &str = "10.99.2.2";
/// The application pod.
pub const POD: &str = "10.99.3.2";
pub const POD6: &str = "fd99:3::2";
/// The in-mesh client pod.
pub const MESH: &str = "10.99.4.2";
pub const MESH6: &str = "fd99:4::2";
/// An address a client would like to be.
pub const FORGED: &str = "198.51.100.66";
/// The port of realip's own PROXY-protocol listener in the pod (the
/// `proxy_protocol` example), not intercepted by the sidecar.
pub const PROXY_APP_PORT: u16 = 8090;

/// The sidecar's inbound listener for REDIRECTed connections (Istio's
/// `virtualInbound`, 15006).
pub const SIDECAR_INBOUND_PORT: u16 = 15006;
/// The sidecar's transparent listener, where the `TPROXY` target delivers.
/// A pod in Istio's TPROXY mode has it on 15006 too; this pod has both
/// interception modes, one per app port, so it has a port of its own.
pub const SIDECAR_TPROXY_PORT: u16 = 15016;
/// The mark Istio's TPROXY mode uses (`--tproxy-mark`, `original_src`),
/// and the routing table of its local route.
pub const TPROXY_MARK: u32 = 1337;
pub const TPROXY_TABLE: u32 = 133;
/// The gateway's listener on its own loopback, for the measured fact that
/// Envoy appends its own address for a downstream of 127.0.0.1 or ::1.
pub const GW_LOOPBACK_PORT: u16 = 8000;
/// nginx, the second ingress, beside the Envoy gateway.
pub const NGINX_GW_PORT: u16 = 81;
/// The gateway's TCP listeners that write PROXY v1 and v2 to the app's
/// PROXY listener (the second one reads the balancer's PROXY v2 first).
pub const GW_PROXY_V1_PORT: u16 = 9001;
pub const GW_PROXY_V2_PORT: u16 = 9002;
/// The same as `GW_PROXY_V2_PORT`, passing every TLV on: the pinned fact
/// that Envoy copies the balancer's CRC32C without recomputing it.
pub const GW_PROXY_V2_ALL_TLVS_PORT: u16 = 9003;

/// The application ports in the pod, each behind its own sidecar
/// behaviour (`sidecar_behaviour`), and the realip configuration of its
/// httpbin.
pub const APPS: [(u16, &str, &str); 7] = [
    (8081, "app-redirect", "peer"),
    (
        8082,
        "app-sidecar-xff",
        "x-forwarded-for; trust=istio-sidecar",
    ),
    (8083, "app-tproxy", "peer"),
    (
        8084,
        "app-behind-gateway",
        "x-forwarded-for; trust=istio-sidecar; proto=x-forwarded-proto; host=x-forwarded-host; \
         align=single",
    ),
    (
        8085,
        "app-behind-gateway-xff",
        "x-forwarded-for; trust=istio-sidecar, 10.99.2.2",
    ),
    // The gateway deployment, which trusts the gateway by its identity
    // (`x-forwarded-for; trust=istio-sidecar; identity=<GATEWAY_ID>`).
    (8086, "app-gateway-identity", "deployment:istio-gateway"),
    (
        8087,
        "app-gateway-identity-xff",
        "x-forwarded-for; trust=istio-sidecar; \
         identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account; \
         sidecar-appends",
    ),
];

/// The app whose httpbin also writes its access log (`--access-log`, one
/// JSON line per request in its log file): scenario 3's, behind the
/// sidecar that appends `X-Forwarded-For`. `deployments` checks the
/// addresses of every line after the scenarios.
pub const ACCESS_LOG_APP: (u16, &str) = (8082, "app-sidecar-xff");

/// The actix-web apps (the `actix` example, feature `actix`): each runs
/// the configuration of the httpbin app it mirrors, behind the sidecar
/// behaviour of that app's port; the gateway reaches 8089 at `/actix-m2/`.
pub const ACTIX_APPS: [(u16, &str, u16); 2] = [
    (8088, "actix-sidecar-xff", 8082),
    (8089, "actix-behind-gateway-xff", 8085),
];

/// The actix-web apps of this build: none without feature `actix`.
pub fn actix_apps() -> &'static [(u16, &'static str, u16)] {
    if cfg!(feature = "actix") {
        &ACTIX_APPS
    } else {
        &[]
    }
}

/// Every application port in the pod, httpbin's and actix-web's.
pub fn app_ports() -> Vec<u16> {
    APPS.iter()
        .map(|a| a.0)
        .chain(actix_apps().iter().map(|a| a.0))
        .collect()
}

/// How the app's sidecar treats one app port.
#[derive(Clone, Copy, PartialEq)]
pub enum Sidecar {
    /// REDIRECT interception, the connection re-opened from 127.0.0.6
    /// (`::6`), XFF untouched: Istio's default (>= 1.10).
    Default,
    /// The same, with `use_remote_address: true` on the inbound HTTP
    /// connection manager, so the sidecar appends its downstream to XFF:
    /// "Method 2", an EnvoyFilter.
    Appends,
    /// TPROXY interception: the connection re-opened from the caller's
    /// own address (`original_src`): "Method 1".
    Tproxy,
}

/// The apps whose port also takes mTLS (PERMISSIVE: plaintext and mTLS on
/// the app's port, told apart by the TLS inspector): scenario 8.
pub const MTLS_APPS: [u16; 2] = [8086, 8087];

/// The sidecar behaviour of an app port (an actix-web app's is its
/// httpbin twin's).
pub fn sidecar_behaviour(port: u16) -> Sidecar {
    let port = actix_apps()
        .iter()
        .find(|a| a.0 == port)
        .map_or(port, |a| a.2);
    match port {
        8082 | 8085 | 8087 => Sidecar::Appends,
        8083 => Sidecar::Tproxy,
        _ => Sidecar::Default,
    }
}

/// The app's sidecar: Envoy, as Istio configures the inbound side.
///
/// - `virtualInbound` (15006) takes the REDIRECTed ports: the
///   `original_dst` listener filter recovers the app port, the TLS
///   inspector tells mTLS from plaintext, and one filter chain per port
///   (two on the PERMISSIVE ports) holds that port's HTTP connection
///   manager. Its cluster re-opens each connection to the original
///   destination from 127.0.0.6, or ::6 for IPv6 (`upstream_bind_config`
///   with `extra_source_addresses`, as Istio's dual-stack pods have).
/// - `virtualInboundTproxy` (15016) is transparent, takes what the
///   `TPROXY` target delivers, and re-opens each connection from the
///   caller's address (`original_src`).
/// - Every connection manager has Istio's XFCC settings: `APPEND_FORWARD`
///   with the subject, URI and DNS of the caller's certificate; Envoy
///   removes the XFCC of a caller without mTLS.
pub fn sidecar_envoy(pki: &MeshPki) -> Value {
    let hcm = |port: u16, behaviour: Sidecar, cluster: &str| {
        let mut hcm =
            http_connection_manager(&format!("inbound_{port}"), vec![route("/", cluster, None)]);
        hcm["use_remote_address"] = json!(behaviour == Sidecar::Appends);
        set_xfcc(&mut hcm, "APPEND_FORWARD");
        hcm
    };
    let mut redirect_chains = Vec::new();
    let mut tproxy_chains = Vec::new();
    for port in app_ports() {
        match sidecar_behaviour(port) {
            Sidecar::Tproxy => tproxy_chains.push(http_chain(
                json!({ "destination_port": port }),
                hcm(port, Sidecar::Tproxy, "inbound-tproxy"),
                None,
            )),
            behaviour if MTLS_APPS.contains(&port) => {
                let tls = downstream_tls(&pki.sidecar.cert, &pki.sidecar.key, Some(&pki.ca.cert));
                redirect_chains.push(http_chain(
                    json!({ "destination_port": port, "transport_protocol": "tls" }),
                    hcm(port, behaviour, "inbound-passthrough"),
                    Some(tls),
                ));
                redirect_chains.push(http_chain(
                    json!({ "destination_port": port, "transport_protocol": "raw_buffer" }),
                    hcm(port, behaviour, "inbound-passthrough"),
                    None,
                ));
            }
            behaviour => redirect_chains.push(http_chain(
                json!({ "destination_port": port }),
                hcm(port, behaviour, "inbound-passthrough"),
                None,
            )),
        }
    }
    let mut tproxy = listener(
        "virtualInboundTproxy",
        &[
            ("0.0.0.0", SIDECAR_TPROXY_PORT),
            ("::", SIDECAR_TPROXY_PORT),
        ],
        vec![original_dst(), original_src(TPROXY_MARK)],
        tproxy_chains,
    );
    tproxy["transparent"] = json!(true);
    bootstrap(
        vec![
            listener(
                "virtualInbound",
                &[
                    ("0.0.0.0", SIDECAR_INBOUND_PORT),
                    ("::", SIDECAR_INBOUND_PORT),
                ],
                vec![original_dst(), tls_inspector()],
                redirect_chains,
            ),
            tproxy,
        ],
        vec![
            original_dst_cluster("inbound-passthrough", Some(("127.0.0.6", "::6"))),
            original_dst_cluster("inbound-tproxy", None),
        ],
    )
}

/// The ingress gateway: Envoy, as Istio configures it.
///
/// `use_remote_address: true` and `xff_num_trusted_hops: 0`
/// (`numTrustedProxies`' default), so it appends its downstream to XFF and
/// overwrites `X-Forwarded-Proto`; XFCC `SANITIZE_SET` (its clients
/// present no certificate, so their XFCC is removed). HTTP on `:80`, HTTPS
/// on `:443` (the lab's certificate), the PROXY listener filter on
/// `:8080` (`gatewayTopology.proxyProtocol`). It sets `X-Forwarded-Host`
/// to the authority the client asked for (`request_headers_to_add`: Istio
/// does not by default; an EnvoyFilter does). Its routes: `/` to the app
/// with the default sidecar, `/m2/` to the one whose sidecar appends too,
/// `/mtls/` and `/mtls-m2/` to the same two behaviours over mTLS with the
/// gateway's workload certificate, the sidecar's checked by its SPIFFE ID
/// (scenario 8), `/actix-m2/` to the actix-web twin of `/m2/`.
///
/// Two TCP listeners write PROXY to the app's own PROXY listener: `:9001`
/// v1 (its downstream is the client, the balancer preserving sources), and
/// `:9002` v2, after reading the balancer's PROXY v2, whose TLVs it passes
/// on. And `127.0.0.1:8000`/`[::1]:8000` serve the loopback fact.
pub fn gateway_envoy(cert: &Path, key: &Path, pki: &MeshPki) -> Value {
    let mut routes = vec![
        route("/m2/", "app-8085", Some("/")),
        route("/mtls/", "app-8086-mtls", Some("/")),
        route("/mtls-m2/", "app-8087-mtls", Some("/")),
    ];
    if !actix_apps().is_empty() {
        routes.push(route("/actix-m2/", "app-8089", Some("/")));
    }
    routes.push(route("/", "app-8084", None));
    let gateway_hcm = |name: &str| {
        let mut hcm = http_connection_manager(name, routes.clone());
        hcm["use_remote_address"] = json!(true);
        hcm["xff_num_trusted_hops"] = json!(0);
        set_xfcc(&mut hcm, "SANITIZE_SET");
        hcm["route_config"]["virtual_hosts"][0]["request_headers_to_add"] = json!([{
            "header": { "key": "x-forwarded-host", "value": "%REQ(:authority)%" },
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"
        }]);
        hcm
    };
    let http = |name: &str, addrs: &[(&str, u16)], filters: Vec<Value>, tls: Option<Value>| {
        // The PROXY listener believes the balancer alone (nginx's
        // `set_real_ip_from`): a connection from anywhere else matches no
        // chain and is closed.
        let sources: &[&str] = if filters.is_empty() { &[] } else { &[LB_BACK] };
        listener(
            name,
            addrs,
            filters,
            vec![http_chain(from_sources(sources), gateway_hcm(name), tls)],
        )
    };
    let mtls_cluster = |name: &str, port: u16| {
        let mut cluster = static_cluster(name, POD, port);
        cluster["transport_socket"] = upstream_mtls(
            &pki.gateway.cert,
            &pki.gateway.key,
            &pki.ca.cert,
            APP_ID,
            APP_DNS,
        );
        cluster
    };
    let proxy_cluster = |name: &str, version: &str, more: Value| {
        let mut cluster = static_cluster(name, POD, PROXY_APP_PORT);
        cluster["transport_socket"] = proxy_protocol_upstream(version, more);
        cluster
    };
    // v2 passes the balancer's unique ID on (PP2_TYPE_UNIQUE_ID, 0x05); and,
    // for the fact the lab pins, every TLV, its CRC32C (0x03) included.
    let unique_id = json!({ "pass_through_tlvs": { "match_type": "INCLUDE", "tlv_type": [5] } });
    let every_tlv = json!({ "pass_through_tlvs": { "match_type": "INCLUDE_ALL" } });
    bootstrap(
        vec![
            http("http", &[(GW_FRONT, 80)], vec![], None),
            http(
                "https",
                &[(GW_FRONT, 443)],
                vec![],
                Some(downstream_tls(cert, key, None)),
            ),
            http(
                "proxy",
                &[(GW_FRONT, 8080)],
                vec![proxy_protocol_listener()],
                None,
            ),
            http(
                "loopback",
                &[("127.0.0.1", GW_LOOPBACK_PORT), ("::1", GW_LOOPBACK_PORT)],
                vec![],
                None,
            ),
            listener(
                "proxy-v1-to-app",
                &[(GW_FRONT, GW_PROXY_V1_PORT)],
                vec![],
                vec![tcp_chain("app-proxy-v1", &[])],
            ),
            listener(
                "proxy-v2-to-app",
                &[(GW_FRONT, GW_PROXY_V2_PORT)],
                vec![proxy_protocol_listener()],
                vec![tcp_chain("app-proxy-v2", &[LB_BACK])],
            ),
            listener(
                "proxy-v2-all-tlvs-to-app",
                &[(GW_FRONT, GW_PROXY_V2_ALL_TLVS_PORT)],
                vec![proxy_protocol_listener()],
                vec![tcp_chain("app-proxy-v2-all-tlvs", &[LB_BACK])],
            ),
        ],
        vec![
            static_cluster("app-8084", POD, 8084),
            static_cluster("app-8085", POD, 8085),
            static_cluster("app-8089", POD, 8089),
            mtls_cluster("app-8086-mtls", 8086),
            mtls_cluster("app-8087-mtls", 8087),
            proxy_cluster("app-proxy-v1", "V1", json!({})),
            proxy_cluster("app-proxy-v2", "V2", unique_id),
            proxy_cluster("app-proxy-v2-all-tlvs", "V2", every_tlv),
        ],
    )
}

/// nginx as a second ingress gateway (scenario 5), on `:81`: it appends its
/// peer to XFF (`$proxy_add_x_forwarded_for`, with `", "` where Envoy
/// writes `","`), overwrites `X-Forwarded-Proto` and `X-Forwarded-Host`,
/// and removes its clients' XFCC as Envoy's gateway does. It speaks
/// HTTP/1.1 upstream: nginx's default, 1.0, gets `426 Upgrade Required`
/// from Envoy (and Istio's sidecars), which refuse HTTP/1.0 unless told.
pub fn nginx_gateway_http() -> String {
    format!(
        "server {{ listen {GW_FRONT}:{NGINX_GW_PORT}; proxy_http_version 1.1; \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; \
         proxy_set_header X-Forwarded-Proto $scheme; \
         proxy_set_header X-Forwarded-Host $http_host; \
         proxy_set_header X-Forwarded-Client-Cert \"\"; \
         location / {{ proxy_pass http://{POD}:8084; }} \
         location /m2/ {{ proxy_pass http://{POD}:8085/; }} }}\n"
    )
}

/// The balancer: HAProxy in TCP mode, one frontend per variant.
pub fn haproxy_cfg() -> String {
    let mut cfg = String::from(
        "global\n\
         \x20   log stderr format raw local0 info\n\
         defaults\n\
         \x20   mode tcp\n\
         \x20   log global\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 30s\n\
         \x20   timeout server 30s\n",
    );
    // (name, port, comment, server, options): `usesrc` is
    // `externalTrafficPolicy: Local` (the client's address, transparent),
    // none is `Cluster` (source NAT).
    let usesrc = "source 0.0.0.0 usesrc clientip";
    let frontends: [(&str, u16, &str, String, &str); 9] = [
        ("snat", 8001, "source NAT", format!("{GW_FRONT}:80"), ""),
        (
            "local",
            8002,
            "source preserved",
            format!("{GW_FRONT}:80"),
            usesrc,
        ),
        (
            "local_tls",
            8443,
            "source preserved, TLS passed through",
            format!("{GW_FRONT}:443"),
            usesrc,
        ),
        (
            "proxy_v2",
            8003,
            "PROXY v2 (and source NAT)",
            format!("{GW_FRONT}:8080 send-proxy-v2"),
            "",
        ),
        (
            "proxy_v2_app",
            8004,
            "PROXY v2 straight to the app's own PROXY listener",
            format!("{POD}:{PROXY_APP_PORT} send-proxy-v2"),
            "",
        ),
        (
            "local_nginx",
            8005,
            "source preserved, to nginx, the second ingress",
            format!("{GW_FRONT}:{NGINX_GW_PORT}"),
            usesrc,
        ),
        (
            "local_proxy_v1",
            8006,
            "source preserved, to the gateway's Envoy that writes PROXY v1",
            format!("{GW_FRONT}:{GW_PROXY_V1_PORT}"),
            usesrc,
        ),
        (
            "proxy_v2_tlvs",
            8007,
            "PROXY v2 with TLVs, to the gateway's Envoy that writes PROXY v2",
            format!(
                "{GW_FRONT}:{GW_PROXY_V2_PORT} send-proxy-v2 proxy-v2-options unique-id,crc32c"
            ),
            "unique-id-format lab-unique-id",
        ),
        (
            "proxy_v2_all_tlvs",
            8008,
            "the same, to the gateway's Envoy that passes every TLV on",
            format!(
                "{GW_FRONT}:{GW_PROXY_V2_ALL_TLVS_PORT} send-proxy-v2 proxy-v2-options unique-id,crc32c"
            ),
            "unique-id-format lab-unique-id",
        ),
    ];
    for (name, port, comment, server, options) in frontends {
        // HAProxy takes the unique ID's format from the frontend.
        let (frontend, backend) = if options.starts_with("unique-id-format") {
            (options, "")
        } else {
            ("", options)
        };
        cfg.push_str(&format!(
            "# {comment}\nfrontend {name}\n\x20   bind {LB_FRONT}:{port}\n\x20   default_backend {name}\n"
        ));
        for (section, option) in [("", frontend), ("backend", backend)] {
            if !section.is_empty() {
                cfg.push_str(&format!("{section} {name}\n"));
            }
            if !option.is_empty() {
                cfg.push_str(&format!("\x20   {option}\n"));
            }
        }
        cfg.push_str(&format!("\x20   server hop {server}\n"));
    }
    cfg
}

/// What the scenarios need of a running cluster.
pub struct Cluster {
    /// The external client's namespace.
    pub ext: String,
    /// The in-mesh client pod's namespace.
    pub mesh: String,
    /// The gateway's namespace.
    pub gw: String,
    /// The mesh's certificates (the in-mesh client's is `sleep`).
    pub pki: MeshPki,
}

/// Builds the namespaces, links, routes and packet rules, makes the mesh's
/// certificates, and starts every process.
pub fn build_cluster(lab: &mut Lab) -> Cluster {
    let ext = lab.netns("ext");
    let lb = lab.netns("lb");
    let gw = lab.netns("gw");
    let net = lab.netns("net");
    let pod = lab.netns("pod");
    let mesh = lab.netns("mesh");

    lab.link(
        (&ext, "eth0", &["203.0.113.10/24"]),
        (&lb, "front", &["203.0.113.1/24"]),
    );
    lab.link(
        (&lb, "back", &["10.99.1.1/24"]),
        (&gw, "front", &["10.99.1.2/24"]),
    );
    lab.link(
        (&gw, "podnet", &["10.99.2.2/24"]),
        (&net, "gw", &["10.99.2.1/24"]),
    );
    lab.link(
        (&pod, "eth0", &["10.99.3.2/24", "fd99:3::2/64"]),
        (&net, "pod", &["10.99.3.1/24", "fd99:3::1/64"]),
    );
    lab.link(
        (&mesh, "eth0", &["10.99.4.2/24", "fd99:4::2/64"]),
        (&net, "mesh", &["10.99.4.1/24", "fd99:4::1/64"]),
    );

    // `net` routes the pod network. The gateway reaches pods through it,
    // and answers the clients a transparent balancer passes on through the
    // balancer. The balancer also reaches pods directly (like an NLB with
    // IP targets) for scenario 7b, routed by the gateway's node.
    lab.sh(&net, "sysctl -qw net.ipv4.ip_forward=1");
    lab.sh(&net, "sysctl -qw net.ipv6.conf.all.forwarding=1");
    lab.sh(&net, "ip route add 10.99.1.0/24 via 10.99.2.2");
    lab.sh(&gw, "sysctl -qw net.ipv4.ip_forward=1");
    lab.sh(&gw, "ip route add 10.99.0.0/16 via 10.99.2.1");
    lab.sh(&gw, "ip route add 203.0.113.0/24 via 10.99.1.1");
    lab.sh(&lb, "ip route add 10.99.3.0/24 via 10.99.1.2");
    for (ns, router) in [(&pod, 3), (&mesh, 4)] {
        lab.sh(ns, &format!("ip -4 route add default via 10.99.{router}.1"));
        lab.sh(ns, &format!("ip -6 route add default via fd99:{router}::1"));
    }

    // The balancer's transparent mode: replies to the client's address
    // come back to HAProxy's socket instead of being forwarded.
    lab.sh(
        &lb,
        "iptables -t mangle -A PREROUTING -i back -p tcp -m socket --transparent -j MARK --set-mark 1",
    );
    lab.sh(&lb, "ip rule add fwmark 1 lookup 100");
    lab.sh(&lb, "ip route add local 0.0.0.0/0 dev lo table 100");

    capture_inbound(lab, &pod);

    // The gateway's certificate.
    let cert = lab.dir.0.join("gateway.crt");
    let key = lab.dir.0.join("gateway.key");
    run(Command::new(program("openssl").expect("openssl")).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=gateway.realip.test",
        "-keyout",
        &key.to_string_lossy(),
        "-out",
        &cert.to_string_lossy(),
    ]));

    // The mesh's workload certificates (scenario 8).
    let pki = mesh_pki(&lab.dir);

    // Processes.
    let httpbin = example_binary("httpbin");
    for (port, name, config) in APPS {
        let listen = format!("[::]:{port}");
        let mut args = vec!["--listen", &listen, "--config", config];
        if port == ACCESS_LOG_APP.0 {
            args.push("--access-log");
        }
        lab.start(&pod, name, &httpbin, &args);
    }
    for &(port, name, twin) in actix_apps() {
        let listen = format!("[::]:{port}");
        let (.., config) = APPS.iter().find(|a| a.0 == twin).expect("a twin");
        lab.start(
            &pod,
            name,
            &example_binary("actix"),
            &["--listen", &listen, "--config", config],
        );
    }
    let listen = format!("0.0.0.0:{PROXY_APP_PORT}");
    // PROXY senders: the balancer (7b) and the gateway's Envoy (7c).
    let senders = format!("{LB_BACK}, {GW_POD_NET}");
    lab.start(
        &pod,
        "app-proxy-protocol",
        &example_binary("proxy_protocol"),
        &[
            "--listen",
            &listen,
            "--senders",
            &senders,
            "--config",
            "peer",
        ],
    );
    lab.start_envoy(&pod, "sidecar-envoy", &sidecar_envoy(&pki));
    lab.start_envoy(&gw, "gateway-envoy", &gateway_envoy(&cert, &key, &pki));
    lab.start_nginx(&gw, "gateway-nginx", &nginx_gateway_http());
    let cfg = lab.dir.write("lb.cfg", &haproxy_cfg());
    let haproxy = lab.tools.haproxy.clone();
    lab.start(
        &lb,
        "haproxy",
        &haproxy,
        &["-db", "-f", &cfg.to_string_lossy()],
    );

    let mut pod_ports: Vec<u16> = app_ports();
    pod_ports.extend([PROXY_APP_PORT, SIDECAR_INBOUND_PORT, SIDECAR_TPROXY_PORT]);
    lab.wait_listening(&pod, &pod_ports);
    lab.wait_listening(
        &gw,
        &[
            80,
            443,
            8080,
            GW_LOOPBACK_PORT,
            NGINX_GW_PORT,
            GW_PROXY_V1_PORT,
            GW_PROXY_V2_PORT,
            GW_PROXY_V2_ALL_TLVS_PORT,
        ],
    );
    lab.wait_listening(&lb, &[8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008, 8443]);
    Cluster { ext, mesh, gw, pki }
}

/// The pod's packet rules, as `istio-iptables` writes them for each
/// interception mode.
///
/// - REDIRECT: each app port but 8083 arriving on `eth0` goes to the
///   sidecar's `virtualInbound` (nat `PREROUTING`).
/// - TPROXY, for 8083: the `TPROXY` target delivers the connection to the
///   transparent listener unchanged (its destination is still the app
///   port) and marks it; the mark routes it to the local socket. The
///   sidecar's upstream leaves from the caller's address with the mark
///   (`original_src`); `CONNMARK` saves it on that connection and puts it
///   back on the app's replies, whose destination (the caller's address)
///   is not local, so that the mark's route delivers them to the sidecar's
///   socket instead of the wire — Istio's TPROXY return path.
/// - `::6` is on the pod's loopback, as Istio adds it (127.0.0.6 is there
///   already).
pub fn capture_inbound(lab: &Lab, pod: &str) {
    lab.sh(pod, "ip addr add ::6/128 dev lo");
    for (tables, family, any, everything) in [
        ("iptables", "-4", "0.0.0.0", "0.0.0.0/0"),
        ("ip6tables", "-6", "::", "::/0"),
    ] {
        for port in app_ports() {
            let rule = if sidecar_behaviour(port) == Sidecar::Tproxy {
                format!(
                    "{tables} -t mangle -A PREROUTING -i eth0 -p tcp --dport {port} -j TPROXY \
                     --on-port {SIDECAR_TPROXY_PORT} --on-ip {any} --tproxy-mark {TPROXY_MARK}"
                )
            } else {
                format!(
                    "{tables} -t nat -A PREROUTING -i eth0 -p tcp --dport {port} -j REDIRECT \
                     --to-ports {SIDECAR_INBOUND_PORT}"
                )
            };
            lab.sh(pod, &rule);
        }
        lab.sh(
            pod,
            &format!(
                "{tables} -t mangle -A OUTPUT -p tcp -m connmark --mark {TPROXY_MARK} -j CONNMARK --restore-mark"
            ),
        );
        lab.sh(
            pod,
            &format!(
                "{tables} -t mangle -A OUTPUT -p tcp -m mark --mark {TPROXY_MARK} -j CONNMARK --save-mark"
            ),
        );
        lab.sh(
            pod,
            &format!("ip {family} rule add fwmark {TPROXY_MARK} lookup {TPROXY_TABLE}"),
        );
        lab.sh(
            pod,
            &format!("ip {family} route add local {everything} dev lo table {TPROXY_TABLE}"),
        );
    }
}
