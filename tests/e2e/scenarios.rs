//! The scenarios: each request path, the proxies on it, and what the app
//! must answer and receive.

use serde_json::Value;

use crate::cluster::{
    EXT, FORGED, GW_POD_NET, LB_BACK, LB_FRONT, MESH, MESH6, POD, POD6, actix_apps,
};
use crate::lab::Versions;
use crate::pki::{APP_ID, GATEWAY_ID, MeshPki, SLEEP_ID, Workload};
use realip::explain::FORWARDING_HEADERS;

/// One request path through the cluster and what the app must answer.
pub struct Scenario {
    pub name: &'static str,
    /// The proxies on the path, by name (`with_versions` adds versions).
    pub hops: &'static str,
    pub client: Client,
    /// The URL of `/ip`; `/ip/explain` is the same with `/explain` added.
    pub url: String,
    pub origin: &'static str,
    /// The honest request's diagnostics.
    pub diagnostics: &'static [&'static str],
    /// The explanation's `caller_identity`, whatever the client forges:
    /// the SPIFFE ID read from the trusted sidecar's XFCC, or `None` (null).
    pub identity: Option<&'static str>,
    /// What the app receives from an honest client where the scenario
    /// depends on it: a header's exact value, or its absence. For the
    /// PROXY app, what its `/connection` says (`header`, `unique_id`).
    pub sees: Vec<(&'static str, Option<String>)>,
}

impl Scenario {
    fn sees(mut self, name: &'static str, value: Option<&str>) -> Scenario {
        self.sees.push((name, value.map(str::to_owned)));
        self
    }

    /// Where the app says what it received: the httpbin and actix apps'
    /// `/headers`, the PROXY app's `/connection`.
    pub fn seen_url(&self) -> String {
        let base = self.url.strip_suffix("/ip").expect("a URL of /ip");
        if self.is_proxy_app() {
            format!("{base}/connection")
        } else {
            format!("{base}/headers")
        }
    }

    /// Whether the app is the `proxy_protocol` example (no `/headers`).
    pub fn is_proxy_app(&self) -> bool {
        self.hops.ends_with("PROXY app")
    }
}

pub enum Client {
    External,
    /// The in-mesh pod, in plaintext.
    Mesh,
    /// The in-mesh pod, over mTLS with its workload certificate (`sleep`).
    MeshWithCert,
}

/// The headers of what the app sees, recorded for every scenario.
pub const SEEN_HEADERS: [&str; 5] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-client-cert",
    "x-envoy-external-address",
];

/// What the PROXY app's `/connection` says, recorded for its scenarios.
pub const SEEN_CONNECTION: [&str; 4] = ["header", "socket_peer", "source", "unique_id"];

/// `hops` with each proxy's version: "Envoy" becomes "Envoy 1.40.0".
pub fn with_versions(hops: &str, v: &Versions) -> String {
    hops.split(" > ")
        .map(|hop| match hop.split_once(' ') {
            Some(("Envoy", role)) => format!("Envoy {} {role}", v.envoy),
            Some(("nginx", role)) => format!("nginx {} {role}", v.nginx),
            Some(("HAProxy", role)) => format!("HAProxy {} {role}", v.haproxy),
            _ => hop.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Headers a client sends: none, or forgeries.
pub fn header_sets() -> Vec<(&'static str, Vec<(String, String)>)> {
    let every = |plain: &str, forwarded: &str, xff: &str| -> Vec<(String, String)> {
        FORWARDING_HEADERS
            .iter()
            .map(|&name| {
                let value = match name {
                    "forwarded" => forwarded.to_owned(),
                    "x-forwarded-for" => xff.to_owned(),
                    "cloudfront-viewer-address" => format!("{plain}:443"),
                    _ => plain.to_owned(),
                };
                (name.to_owned(), value)
            })
            .collect()
    };
    let mut junk = every(
        "not-an-address",
        "for=unknown;for=_x, for=\"[zz]\"",
        "unknown, _hidden",
    );
    junk.push((
        "X-Forwarded-For".into(),
        "010.0.0.1, 1.2.3.4 5.6.7.8".into(),
    ));
    // And the identity the apps of scenario 8 trust, as the app's sidecar
    // would write it for the gateway.
    let identity = (
        "X-Forwarded-Client-Cert".to_owned(),
        format!("By={APP_ID};URI={GATEWAY_ID}"),
    );
    let mut public = every(
        FORGED,
        &format!("for={FORGED};proto=https"),
        &format!("{FORGED}, {FORGED}"),
    );
    public.push(identity.clone());
    let mut trusted = every(
        "127.0.0.6",
        &format!("for={FORGED}, for=127.0.0.6, for=\"[::6]\""),
        &format!("{FORGED}, 127.0.0.6, {GW_POD_NET}, ::6"),
    );
    trusted.push(identity);
    vec![
        ("honest", Vec::new()),
        ("forges a public address", public),
        ("forges trusted addresses", trusted),
        ("sends junk", junk),
    ]
}

/// The element Envoy's sidecar appends to XFCC for a caller over mTLS
/// (`APPEND_FORWARD`, subject, URI and DNS: the lab's callers have no DNS
/// SAN, so no `DNS=`).
pub fn xfcc_element(caller: &Workload, subject: &str) -> String {
    format!(
        "By={APP_ID};Hash={};Subject=\"{subject}\";URI={}",
        caller.sha256, caller.spiffe_id
    )
}

/// The subjects of the gateway's and `sleep`'s certificates, RFC 2253.
pub const GATEWAY_SUBJECT: &str = "CN=istio-ingressgateway,OU=istio-system,O=cluster.local";
pub const SLEEP_SUBJECT: &str = "CN=sleep,OU=default,O=cluster.local";

pub fn scenarios(pki: &MeshPki) -> Vec<Scenario> {
    let pod = |port: u16| format!("http://{POD}:{port}/ip");
    let pod6 = |port: u16| format!("http://[{POD6}]:{port}/ip");
    let lb = |scheme: &str, port: u16, path: &str| format!("{scheme}://{LB_FRONT}:{port}{path}");
    let new = |name, hops, client, url, origin, diagnostics| Scenario {
        name,
        hops,
        client,
        url,
        origin,
        diagnostics,
        identity: None,
        sees: Vec::new(),
    };
    let mesh = |name, url, origin, diagnostics| {
        new(
            name,
            "Envoy sidecar > httpbin",
            Client::Mesh,
            url,
            origin,
            diagnostics,
        )
    };
    // Through the balancer and Envoy's gateway to the app's Envoy sidecar.
    let ext = |name, url, origin, diagnostics| {
        new(
            name,
            "HAProxy balancer > Envoy gateway > Envoy sidecar > httpbin",
            Client::External,
            url,
            origin,
            diagnostics,
        )
    };
    let xff = "x-forwarded-for";
    let xfcc = "x-forwarded-client-cert";
    let xfp = "x-forwarded-proto";
    let through_gateway = format!("{EXT},{GW_POD_NET}");
    let mut all = vec![
        mesh(
            "1 east-west, REDIRECT, no XFF (peer)",
            pod(8081),
            "127.0.0.6",
            &["sidecar_hides_client"],
        )
        .sees(xff, None)
        .sees(xfcc, None),
        mesh(
            "1 east-west, REDIRECT, no XFF, IPv6 (peer)",
            pod6(8081),
            "::6",
            &["sidecar_hides_client"],
        )
        .sees(xff, None),
        Scenario {
            hops: "Envoy sidecar (TPROXY) > httpbin",
            ..mesh(
                "2 east-west, TPROXY (peer)",
                pod(8083),
                MESH,
                &["non_public_client"],
            )
        }
        .sees(xff, None),
        Scenario {
            hops: "Envoy sidecar (TPROXY) > httpbin",
            ..mesh(
                "2 east-west, TPROXY, IPv6 (peer)",
                pod6(8083),
                MESH6,
                &["non_public_client"],
            )
        }
        .sees(xff, None),
        mesh(
            "3 east-west, sidecar appends XFF",
            pod(8082),
            MESH,
            &["non_public_client"],
        )
        .sees(xff, Some(MESH)),
        mesh(
            "3 east-west, sidecar appends XFF, IPv6",
            pod6(8082),
            MESH6,
            &["non_public_client"],
        )
        .sees(xff, Some(MESH6)),
        ext(
            "4 north-south HTTP, SNAT balancer",
            lb("http", 8001, "/ip"),
            LB_BACK,
            &["non_public_client"],
        )
        .sees(xff, Some(LB_BACK)),
        ext(
            "5 north-south HTTP, source-preserving balancer",
            lb("http", 8002, "/ip"),
            EXT,
            &[],
        )
        .sees(xff, Some(EXT))
        .sees(xfp, Some("http"))
        .sees(xfcc, None),
        ext(
            "5 ... and the app's sidecar appends XFF too",
            lb("http", 8002, "/m2/ip"),
            EXT,
            &[],
        )
        .sees(xff, Some(&through_gateway)),
        Scenario {
            hops: "HAProxy balancer > nginx gateway > Envoy sidecar > httpbin",
            ..ext(
                "5 ... nginx as the ingress gateway",
                lb("http", 8005, "/ip"),
                EXT,
                &[],
            )
        }
        .sees(xff, Some(EXT)),
        Scenario {
            hops: "HAProxy balancer > nginx gateway > Envoy sidecar > httpbin",
            ..ext(
                "5 ... nginx as the gateway, the sidecar appends too",
                lb("http", 8005, "/m2/ip"),
                EXT,
                &[],
            )
        }
        .sees(xff, Some(&through_gateway)),
        ext(
            "6 north-south HTTPS at the gateway",
            lb("https", 8443, "/ip"),
            EXT,
            &[],
        )
        .sees(xff, Some(EXT))
        .sees(xfp, Some("https"))
        .sees("x-forwarded-host", Some(&format!("{LB_FRONT}:8443"))),
        ext(
            "7a north-south, PROXY v2 to the gateway",
            lb("http", 8003, "/ip"),
            EXT,
            &[],
        )
        .sees(xff, Some(EXT)),
        new(
            "7b north-south, PROXY v2 straight to the app (peer)",
            "HAProxy balancer > PROXY app",
            Client::External,
            lb("http", 8004, "/ip"),
            EXT,
            &[],
        )
        .sees("header", Some("v2")),
        new(
            "7c north-south, the gateway's Envoy writes PROXY v1",
            "HAProxy balancer > Envoy gateway (TCP) > PROXY app",
            Client::External,
            lb("http", 8006, "/ip"),
            EXT,
            &[],
        )
        .sees("header", Some("v1")),
        new(
            "7c ... PROXY v2 in and out, TLVs passed on",
            "HAProxy balancer > Envoy gateway (TCP) > PROXY app",
            Client::External,
            lb("http", 8007, "/ip"),
            EXT,
            &[],
        )
        .sees("header", Some("v2"))
        .sees("unique_id", Some("lab-unique-id")),
    ];
    // What the gateway deployments trusted by address rely on (README):
    // every path to the app passes the gateway. An in-mesh caller that
    // skips it cannot choose its address when the app's sidecar appends too
    // (the default sidecar's weakness is pinned separately, in
    // `deployments`; scenario 8 removes it).
    all.push(
        mesh(
            "caveat: in-mesh caller skips the gateway, sidecar appends",
            pod(8085),
            MESH,
            &["non_public_client"],
        )
        .sees(xff, Some(MESH)),
    );

    // 8. The gateway trusted by its identity (DESIGN rule 15): it reaches
    // the app's sidecar over mTLS, which appends its SPIFFE ID to XFCC.
    // Through it, the client it appended; any other caller, with a
    // certificate of its own or none, is not a proxy of the chain. The
    // sidecar takes plaintext and mTLS on the app's port (PERMISSIVE).
    let mtls = |port: u16| format!("https://{POD}:{port}/ip");
    let hidden: &[&str] = &["sidecar_hides_client", "caller_not_trusted"];
    let own: &[&str] = &["non_public_client", "caller_not_trusted"];
    let gateway_element = xfcc_element(&pki.gateway, GATEWAY_SUBJECT);
    let sleep_element = xfcc_element(&pki.sleep, SLEEP_SUBJECT);
    all.extend([
        Scenario {
            identity: Some(GATEWAY_ID),
            hops: "HAProxy balancer > Envoy gateway > mTLS > Envoy sidecar > httpbin",
            ..ext(
                "8 north-south, gateway to sidecar over mTLS (identity=)",
                lb("http", 8002, "/mtls/ip"),
                EXT,
                &[],
            )
        }
        .sees(xff, Some(EXT))
        .sees(xfcc, Some(&gateway_element)),
        Scenario {
            identity: Some(GATEWAY_ID),
            hops: "HAProxy balancer > Envoy gateway > mTLS > Envoy sidecar > httpbin",
            ..ext(
                "8 ... and the app's sidecar appends XFF (sidecar-appends)",
                lb("http", 8002, "/mtls-m2/ip"),
                EXT,
                &[],
            )
        }
        .sees(xff, Some(&through_gateway))
        .sees(xfcc, Some(&gateway_element)),
        Scenario {
            identity: Some(SLEEP_ID),
            hops: "mTLS > Envoy sidecar > httpbin",
            ..new(
                "8 in-mesh caller with its certificate skips the gateway",
                "",
                Client::MeshWithCert,
                mtls(8086),
                "127.0.0.6",
                hidden,
            )
        }
        .sees(xfcc, Some(&sleep_element)),
        Scenario {
            identity: Some(SLEEP_ID),
            hops: "mTLS > Envoy sidecar > httpbin",
            ..new(
                "8 ... with its certificate, sidecar-appends",
                "",
                Client::MeshWithCert,
                mtls(8087),
                MESH,
                own,
            )
        }
        .sees(xfcc, Some(&sleep_element)),
        mesh(
            "8 in-mesh caller without mTLS skips the gateway",
            pod(8086),
            "127.0.0.6",
            hidden,
        )
        .sees(xfcc, None),
        mesh("8 ... without mTLS, sidecar-appends", pod(8087), MESH, own).sees(xfcc, None),
    ]);
    // The same deployments with actix-web as the application: the same
    // answers, whatever the client forges.
    if !actix_apps().is_empty() {
        let actix = |s: Scenario| Scenario {
            hops: if s.hops.starts_with("HAProxy") {
                "HAProxy balancer > Envoy gateway > Envoy sidecar > actix-web"
            } else {
                "Envoy sidecar > actix-web"
            },
            ..s
        };
        all.extend([
            actix(mesh(
                "3 east-west, sidecar appends XFF (actix-web)",
                pod(8088),
                MESH,
                &["non_public_client"],
            ))
            .sees(xff, Some(MESH)),
            actix(mesh(
                "3 east-west, sidecar appends XFF, IPv6 (actix-web)",
                pod6(8088),
                MESH6,
                &["non_public_client"],
            )),
            actix(ext(
                "5 ... and the app's sidecar appends XFF too (actix-web)",
                lb("http", 8002, "/actix-m2/ip"),
                EXT,
                &[],
            ))
            .sees(xff, Some(&through_gateway)),
            actix(mesh(
                "caveat: in-mesh caller skips the gateway (actix-web)",
                pod(8089),
                MESH,
                &["non_public_client"],
            )),
        ]);
    }
    all
}

/// The codes of an explanation's diagnostics.
pub fn codes(explanation: &Value) -> Vec<String> {
    explanation["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no diagnostics in {explanation}"))
        .iter()
        .map(|d| d["code"].as_str().expect("a code").to_owned())
        .collect()
}

pub fn json(body: &str, what: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body:?}"))
}
