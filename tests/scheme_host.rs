//! DESIGN rule 14: the original scheme and host come from the same trusted
//! hop as the client, one table per case of the rule.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use realip::explain::Diagnostic;
use realip::{ConfigError, Resolver};

fn gateway() -> SocketAddr {
    "10.0.0.3:41000".parse().unwrap()
}

/// Headers from `name: value` lines, in order (a name may repeat).
fn headers(lines: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("name: value");
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    headers
}

/// One row: configuration, peer, header lines, then the client, scheme
/// and host expected (`None`: absent), and the diagnostic expected about
/// them (a word of its message), if any.
struct Row {
    config: &'static str,
    peer: &'static str,
    lines: &'static [&'static str],
    client: &'static str,
    scheme: Option<&'static str>,
    host: Option<&'static str>,
    diagnostic: Option<&'static str>,
}

fn check(rows: &[Row]) {
    for row in rows {
        let resolver: Resolver = row
            .config
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", row.config));
        let peer: SocketAddr = row.peer.parse().unwrap();
        let headers = headers(row.lines);
        let (resolution, url) = resolver
            .resolve_url(peer, &headers)
            .unwrap_or_else(|e| panic!("{} {:?}: {e}", row.config, row.lines));
        let what = format!("{} {:?}", row.config, row.lines);
        assert_eq!(resolution.client().to_string(), row.client, "{what}");
        assert_eq!(url.scheme().map(|s| s.as_str()), row.scheme, "{what}");
        assert_eq!(url.host().map(|h| h.as_str()), row.host, "{what}");
        // `resolve` and `explain` agree with `resolve_url`.
        assert_eq!(
            resolver.resolve(peer, &headers).unwrap(),
            resolution,
            "{what}"
        );
        let explanation = resolver.explain(peer, &headers);
        assert_eq!(explanation.url, url, "{what}");
        let absent: Vec<String> = explanation
            .diagnostics
            .iter()
            .filter(|d| matches!(d, Diagnostic::ValueAbsent { .. }))
            .map(ToString::to_string)
            .collect();
        match row.diagnostic {
            None => assert!(absent.is_empty(), "{what}: {absent:?}"),
            Some(word) => assert!(
                absent.iter().any(|d| d.contains(word)),
                "{what}: no diagnostic with {word:?} in {absent:?}"
            ),
        }
    }
}

const FWD: &str = "forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded";

#[test]
fn rule14_forwarded_values_come_from_the_clients_own_element() {
    check(&[
        // The client's element carries them; a forged proto= to its left,
        // and the proxies' own values to its right, are never used.
        Row {
            config: FWD,
            peer: "10.0.0.3:41000",
            lines: &[
                r#"forwarded: for=6.6.6.6;proto=http;host=evil.example, for=203.0.113.7;proto=https;host="shop.example.com:8443", for=10.0.0.2;proto=http;host=internal"#,
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: Some("shop.example.com:8443"),
            diagnostic: None,
        },
        // Across lines, and scheme lower-cased.
        Row {
            config: FWD,
            peer: "10.0.0.3:41000",
            lines: &[
                "forwarded: for=203.0.113.7;proto=HTTPS;host=shop.example.com",
                "forwarded: for=10.0.0.2;proto=http",
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: Some("shop.example.com"),
            diagnostic: None,
        },
        // Every hop trusted: the leftmost element is the client's.
        Row {
            config: FWD,
            peer: "10.0.0.3:41000",
            lines: &["forwarded: for=10.0.0.9;proto=https;host=a.example, for=10.0.0.2;proto=http"],
            client: "10.0.0.9",
            scheme: Some("https"),
            host: Some("a.example"),
            diagnostic: None,
        },
        // The client's element carries no proto=: none, never another
        // element's.
        Row {
            config: FWD,
            peer: "10.0.0.3:41000",
            lines: &[
                "forwarded: for=6.6.6.6;proto=https, for=203.0.113.7, for=10.0.0.2;proto=https",
            ],
            client: "203.0.113.7",
            scheme: None,
            host: None,
            diagnostic: Some("carried none"),
        },
        // Values that cannot be read are absent; the client stays.
        Row {
            config: FWD,
            peer: "10.0.0.3:41000",
            lines: &[r#"forwarded: for=203.0.113.7;proto="ht tp";host="a.example/path""#],
            client: "203.0.113.7",
            scheme: None,
            host: None,
            diagnostic: Some("not a URI scheme"),
        },
        // An untrusted peer: neither, whatever it sends.
        Row {
            config: FWD,
            peer: "198.51.100.66:5555",
            lines: &["forwarded: for=1.2.3.4;proto=https;host=bank.example"],
            client: "198.51.100.66",
            scheme: None,
            host: None,
            diagnostic: None,
        },
    ]);
}

const XFF: &str =
    "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; host=x-forwarded-host";

#[test]
fn rule14_symmetric_value_headers_line_up_with_the_source() {
    check(&[
        // Every proxy appends to all three: the element at the client's
        // position (1 from the right).
        Row {
            config: XFF,
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 6.6.6.6, 203.0.113.7, 10.0.0.2",
                "x-forwarded-proto: http, https, http",
                "x-forwarded-host: evil.example, shop.example.com, internal",
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: Some("shop.example.com"),
            diagnostic: None,
        },
        // Lines joined and empty elements dropped, exactly as for the
        // source.
        Row {
            config: XFF,
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 203.0.113.7,, 10.0.0.2",
                "x-forwarded-proto: https",
                "x-forwarded-proto: , http",
                "x-forwarded-host: shop.example.com, internal",
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: Some("shop.example.com"),
            diagnostic: None,
        },
        // A client that adds a proto element of its own shifts the count:
        // absent, with both counts named.
        Row {
            config: XFF,
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 203.0.113.7, 10.0.0.2",
                "x-forwarded-proto: https, https, http",
                "x-forwarded-host: shop.example.com, internal",
            ],
            client: "203.0.113.7",
            scheme: None,
            host: Some("shop.example.com"),
            diagnostic: Some("holds 3 elements and the source 2"),
        },
        // No value header at all.
        Row {
            config: XFF,
            peer: "10.0.0.3:41000",
            lines: &["x-forwarded-for: 203.0.113.7, 10.0.0.2"],
            client: "203.0.113.7",
            scheme: None,
            host: None,
            diagnostic: Some("carried none"),
        },
        // Counted hops line up the same way.
        Row {
            config: "x-forwarded-for; hops=2; trust=10.0.0.0/8; proto=x-forwarded-proto",
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 6.6.6.6, 203.0.113.7, 10.0.0.2",
                "x-forwarded-proto: http, https, http",
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: None,
            diagnostic: None,
        },
        // The peer is the client: nothing is read.
        Row {
            config: XFF,
            peer: "198.51.100.66:5555",
            lines: &[
                "x-forwarded-for: 1.2.3.4",
                "x-forwarded-proto: https",
                "x-forwarded-host: bank.example",
            ],
            client: "198.51.100.66",
            scheme: None,
            host: None,
            diagnostic: None,
        },
    ]);
}

#[test]
fn rule14_single_value_headers_hold_exactly_one_element() {
    let single = "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
                  host=x-forwarded-host; align=single";
    check(&[
        Row {
            config: single,
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 6.6.6.6, 203.0.113.7",
                "x-forwarded-proto: https",
                "x-forwarded-host: shop.example.com",
            ],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: Some("shop.example.com"),
            diagnostic: None,
        },
        Row {
            config: single,
            peer: "10.0.0.3:41000",
            lines: &[
                "x-forwarded-for: 203.0.113.7",
                "x-forwarded-proto: http, https",
                "x-forwarded-host: shop.example.com",
            ],
            client: "203.0.113.7",
            scheme: None,
            host: Some("shop.example.com"),
            diagnostic: Some("exactly one element"),
        },
        // With a single-address source too.
        Row {
            config: "x-real-ip; trust=10.0.0.0/8; proto=x-forwarded-proto; align=single",
            peer: "10.0.0.3:41000",
            lines: &["x-real-ip: 203.0.113.7", "x-forwarded-proto: https"],
            client: "203.0.113.7",
            scheme: Some("https"),
            host: None,
            diagnostic: None,
        },
    ]);
}

#[test]
fn rule14_hosts_outside_the_allow_list_are_absent() {
    let config = "x-forwarded-for; trust=10.0.0.0/8; host=x-forwarded-host; align=single; \
                  allowed-hosts=shop.example.com, *.cdn.example.com";
    let table: [(&str, Option<&str>); 5] = [
        ("shop.example.com", Some("shop.example.com")),
        ("SHOP.example.com:443", Some("SHOP.example.com:443")),
        ("img.cdn.example.com", Some("img.cdn.example.com")),
        ("cdn.example.com", None),
        ("evil.example", None),
    ];
    let resolver: Resolver = config.parse().unwrap();
    for (host, want) in table {
        let line = format!("x-forwarded-host: {host}");
        let headers = headers(&["x-forwarded-for: 203.0.113.7", &line]);
        let (_, url) = resolver.resolve_url(gateway(), &headers).unwrap();
        assert_eq!(url.host().map(|h| h.as_str()), want, "{host}");
        let refused = resolver
            .explain(gateway(), &headers)
            .diagnostics
            .iter()
            .any(|d| d.to_string().contains("not one of the allowed hosts"));
        assert_eq!(refused, want.is_none(), "{host}");
    }
}

#[test]
fn rule14_configurations_that_mix_sources_are_errors() {
    let table = [
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=forwarded",
            "ValueNeedsForwarded",
        ),
        (
            "forwarded; trust=10.0.0.0/8; host=x-forwarded-host",
            "ValueBesideForwarded",
        ),
        ("peer; proto=x-forwarded-proto", "ValueWithoutHop"),
        (
            "x-forwarded-for; trust=10.0.0.0/8; align=single",
            "AlignWithoutValueHeader",
        ),
        (
            "forwarded; trust=10.0.0.0/8; proto=forwarded; align=single",
            "AlignWithoutValueHeader",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; allowed-hosts=a.example",
            "AllowedHostsWithoutHost",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-protocol",
            "InvalidValue",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; align=diagonal",
            "InvalidValue",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; host=x-forwarded-host; allowed-hosts=a.example:80",
            "InvalidValue",
        ),
    ];
    for (text, variant) in table {
        let err = text.parse::<Resolver>().unwrap_err();
        assert!(format!("{err:?}").starts_with(variant), "{text}: {err:?}");
        assert!(!matches!(err, ConfigError::NoTrust { .. }), "{text}");
    }
}

#[test]
fn rule14_configuration_round_trips() {
    for text in [
        FWD,
        XFF,
        "x-forwarded-for; trust=10.0.0.0/8; proto=header:x-scheme; align=single",
        "x-forwarded-for; trust=10.0.0.0/8; host=x-forwarded-host; allowed-hosts=a.example, *.b.example",
    ] {
        let resolver: Resolver = text.parse().unwrap();
        assert_eq!(resolver.to_string(), text);
        assert_eq!(resolver.to_string().parse::<Resolver>().unwrap(), resolver);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever a client writes to the left of its own hop, or sends from
    /// an untrusted peer, never becomes the scheme or host.
    #[test]
    fn rule14_forged_values_never_appear(
        forged_hops in 0usize..4,
        trusted_hops in 0usize..3,
        untrusted in any::<bool>(),
    ) {
        let forged = "evil";
        let mut fwd = Vec::new();
        let mut xff = Vec::new();
        let mut proto = Vec::new();
        let mut host = Vec::new();
        for i in 0..forged_hops {
            fwd.push(format!("for=6.6.6.{i};proto={forged};host={forged}.example"));
            xff.push(format!("6.6.6.{i}"));
            proto.push(forged.to_owned());
            host.push(format!("{forged}.example"));
        }
        fwd.push("for=203.0.113.7".to_owned());
        xff.push("203.0.113.7".to_owned());
        proto.push("https".to_owned());
        host.push("shop.example.com".to_owned());
        for i in 0..trusted_hops {
            fwd.push(format!("for=10.0.0.{i};proto={forged};host={forged}.example"));
            xff.push(format!("10.0.0.{i}"));
            proto.push(forged.to_owned());
            host.push(format!("{forged}.example"));
        }
        let peer: SocketAddr = if untrusted { "198.51.100.66:5555" } else { "10.0.0.3:41000" }
            .parse()
            .unwrap();
        let mut map = HeaderMap::new();
        map.insert("forwarded", fwd.join(", ").parse().unwrap());
        map.insert("x-forwarded-for", xff.join(", ").parse().unwrap());
        map.insert("x-forwarded-proto", proto.join(", ").parse().unwrap());
        map.insert("x-forwarded-host", host.join(", ").parse().unwrap());
        for config in [FWD, XFF] {
            let resolver: Resolver = config.parse().unwrap();
            let (_, url) = resolver.resolve_url(peer, &map).unwrap();
            let scheme = url.scheme().map(|s| s.as_str().to_owned());
            let host = url.host().map(|h| h.as_str().to_owned());
            prop_assert!(!scheme.as_deref().unwrap_or("").contains(forged), "{}: {:?}", config, scheme);
            prop_assert!(!host.as_deref().unwrap_or("").contains(forged), "{}: {:?}", config, host);
            if untrusted {
                prop_assert_eq!((scheme, host), (None, None));
            }
        }
    }
}
