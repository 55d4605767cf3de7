//! Conformance: the behaviour rules of DESIGN.md §1, one test (or a few) per
//! rule, each a table of requests and the answer the rule demands.
//!
//! Conventions, as in the crate: a hop's `index` counts from the right (0 is
//! the newest header element); `trusted_proxies()` counts the peer.
//! Rule 12 (PROXY protocol) is not covered here.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use http::{HeaderMap, HeaderName, HeaderValue};
use realip::explain::{Diagnostic, Position, Verdict};
use realip::resolver::{ConfigError, DEFAULT_MAX_HOPS, MAX_EMPTY_ELEMENTS};
use realip::{
    AllTrusted, ElementError, Error, HopError, Origin, Peer, Preset, ProxySet, Resolution,
    Resolver, ResolverBuilder, Source,
};

/// The ingress gateway, as the application's socket sees it.
const GATEWAY: &str = "10.0.0.3:41000";
/// A client straight from the internet.
const STRANGER: &str = "203.0.113.66:5555";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn set(s: &str) -> ProxySet {
    s.parse().unwrap()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> HeaderName {
    HeaderName::from_bytes(s.as_bytes()).unwrap()
}

/// A header map from `(name, value)` lines, appended in order (a repeated
/// name makes several lines).
fn headers(lines: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in lines {
        map.append(name(n), HeaderValue::from_bytes(v.as_bytes()).unwrap());
    }
    map
}

fn xff(value: &str) -> HeaderMap {
    headers(&[("x-forwarded-for", value)])
}

fn xff_lines(values: &[&str]) -> HeaderMap {
    let lines: Vec<_> = values.iter().map(|v| ("x-forwarded-for", *v)).collect();
    headers(&lines)
}

fn xff_trusting(trust: &str) -> Resolver {
    Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(set(trust))
        .build()
        .unwrap()
}

/// The resolver of most tables: X-Forwarded-For behind proxies in 10/8.
fn xff_private() -> Resolver {
    xff_trusting("10.0.0.0/8")
}

fn build(b: ResolverBuilder) -> Resolver {
    b.build().unwrap()
}

/// The client address, or the error.
fn client(r: Result<Resolution, Error>) -> Result<IpAddr, Error> {
    r.map(|r| r.ip())
}

/// The client address and port, or the error.
fn client_port(r: Result<Resolution, Error>) -> Result<(IpAddr, Option<u16>), Error> {
    r.map(|r| (r.ip(), r.port()))
}

fn header_origin(n: &str, index: usize) -> Origin {
    Origin::header(&name(n), index).expect("a header some resolver reads")
}

fn has(diagnostics: &[Diagnostic], code: &str) -> bool {
    diagnostics.iter().any(|d| d.code() == code)
}

// ---------------------------------------------------------------------------
// Rule 1. Peer first.
// ---------------------------------------------------------------------------

#[test]
fn rule1_peer_first_untrusted_peer_is_the_client_whatever_the_headers() {
    let long_garbage = "x".repeat(100_000);
    // (peer, X-Forwarded-For, expected client)
    let table: &[(&str, &str, &str)] = &[
        // Untrusted peer: the header is never read, whatever it holds.
        (STRANGER, "1.2.3.4", "203.0.113.66"),
        (STRANGER, "10.0.0.1", "203.0.113.66"),
        (STRANGER, "1.2.3.4, 10.0.0.2", "203.0.113.66"),
        (STRANGER, "garbage", "203.0.113.66"),
        (STRANGER, "unknown", "203.0.113.66"),
        (STRANGER, "_hidden", "203.0.113.66"),
        (STRANGER, ",,,,", "203.0.113.66"),
        (STRANGER, &long_garbage, "203.0.113.66"),
        // A trusted peer: the header is read.
        (GATEWAY, "1.2.3.4", "1.2.3.4"),
        (GATEWAY, "1.2.3.4, 10.0.0.2", "1.2.3.4"),
    ];
    let resolver = xff_private();
    for (peer, value, expected) in table {
        let got = resolver.resolve(sock(peer), &xff(value));
        assert_eq!(
            client(got),
            Ok(ip(expected)),
            "peer {peer}, xff {value:.40}"
        );
    }

    // The untrusted peer's answer says where it came from.
    let r = resolver.resolve(sock(STRANGER), &xff("1.2.3.4")).unwrap();
    assert_eq!(r.origin(), &Origin::Peer);
    assert_eq!(r.trusted_proxies(), 0);
    assert_eq!(r.port(), Some(5555));
    assert_eq!(r.peer(), Peer::from(sock(STRANGER)));
}

#[test]
fn rule1_peer_first_for_every_source_and_trust_mode() {
    let request = headers(&[
        ("forwarded", "for=garbage"),
        ("x-forwarded-for", "garbage"),
        ("x-custom-chain", "garbage"),
        ("x-real-ip", "garbage"),
        ("cloudfront-viewer-address", "garbage"),
    ]);
    let resolvers = [
        build(
            Resolver::builder()
                .forwarded()
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        xff_private(),
        build(
            Resolver::builder()
                .list_header(name("x-custom-chain"))
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        build(
            Resolver::builder()
                .source(Source::x_real_ip())
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        build(
            Resolver::builder()
                .single_header(name("cloudfront-viewer-address"))
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        build(
            Resolver::builder()
                .x_forwarded_for()
                .trusted_hops(2, set("10.0.0.0/8")),
        ),
    ];
    for resolver in &resolvers {
        // Untrusted peer: the (unreadable) headers are not even looked at.
        assert_eq!(
            client(resolver.resolve(sock(STRANGER), &request)),
            Ok(ip("203.0.113.66")),
            "{resolver}"
        );
        // Trusted peer: they are, and they fail.
        assert!(
            resolver.resolve(sock(GATEWAY), &request).is_err(),
            "{resolver}"
        );
    }
}

#[test]
fn rule1_peer_first_explain_notes_headers_from_an_untrusted_peer() {
    let resolver = xff_private();

    let e = resolver.explain(sock(STRANGER), &xff("1.2.3.4, 10.0.0.2"));
    assert_eq!(e.result, resolver.resolve(sock(STRANGER), &xff("1.2.3.4")));
    // Only the peer was looked at.
    assert_eq!(e.steps.len(), 1);
    assert_eq!(e.steps[0].position, Position::Peer);
    assert_eq!(e.steps[0].verdict, Verdict::Client);
    assert!(
        e.diagnostics
            .contains(&Diagnostic::ForwardingHeadersFromUntrustedPeer {
                headers: vec!["x-forwarded-for".to_owned()],
            })
    );

    // Other forwarding headers count as well.
    let e = resolver.explain(sock(STRANGER), &headers(&[("x-real-ip", "1.2.3.4")]));
    assert!(
        e.diagnostics
            .contains(&Diagnostic::ForwardingHeadersFromUntrustedPeer {
                headers: vec!["x-real-ip".to_owned()],
            })
    );

    // No forwarding header: nothing to note.
    let e = resolver.explain(sock(STRANGER), &HeaderMap::new());
    assert!(!has(
        &e.diagnostics,
        "forwarding_headers_from_untrusted_peer"
    ));

    // A trusted peer's headers are expected.
    let e = resolver.explain(sock(GATEWAY), &xff("1.2.3.4"));
    assert!(!has(
        &e.diagnostics,
        "forwarding_headers_from_untrusted_peer"
    ));
}

// ---------------------------------------------------------------------------
// Rule 2. One configured source.
// ---------------------------------------------------------------------------

/// A request carrying every kind of forwarding header, each naming a
/// different client.
fn every_header() -> Vec<(&'static str, &'static str)> {
    vec![
        ("forwarded", "for=192.0.2.1"),
        ("x-forwarded-for", "192.0.2.2"),
        ("x-real-ip", "192.0.2.3"),
        ("cf-connecting-ip", "192.0.2.4"),
        ("true-client-ip", "192.0.2.5"),
        ("fly-client-ip", "192.0.2.6"),
        ("x-envoy-external-address", "192.0.2.7"),
        ("cloudfront-viewer-address", "192.0.2.8:4444"),
        ("x-custom-chain", "192.0.2.9, 10.0.0.2"),
        ("x-my-client", "192.0.2.10"),
    ]
}

/// The resolvers of rule 2: (the header each reads, or "" for the peer;
/// the resolver; the client it must answer, and the port).
fn one_per_source() -> Vec<(&'static str, Resolver, &'static str, Option<u16>)> {
    let private = || set("10.0.0.0/8");
    let single = |h: &str| {
        build(
            Resolver::builder()
                .single_header(name(h))
                .trusted_proxies(private()),
        )
    };
    vec![
        ("", Resolver::default(), "10.0.0.3", Some(41000)),
        (
            "forwarded",
            build(Resolver::builder().forwarded().trusted_proxies(private())),
            "192.0.2.1",
            None,
        ),
        ("x-forwarded-for", xff_private(), "192.0.2.2", None),
        ("x-real-ip", single("X-Real-IP"), "192.0.2.3", None),
        (
            "cf-connecting-ip",
            single("CF-Connecting-IP"),
            "192.0.2.4",
            None,
        ),
        (
            "true-client-ip",
            single("True-Client-IP"),
            "192.0.2.5",
            None,
        ),
        ("fly-client-ip", single("Fly-Client-IP"), "192.0.2.6", None),
        (
            "x-envoy-external-address",
            single("X-Envoy-External-Address"),
            "192.0.2.7",
            None,
        ),
        (
            "cloudfront-viewer-address",
            single("CloudFront-Viewer-Address"),
            "192.0.2.8",
            Some(4444),
        ),
        (
            "x-custom-chain",
            build(
                Resolver::builder()
                    .list_header(name("X-Custom-Chain"))
                    .trusted_proxies(private()),
            ),
            "192.0.2.9",
            None,
        ),
        ("x-my-client", single("X-My-Client"), "192.0.2.10", None),
    ]
}

#[test]
fn rule2_one_configured_source_reads_only_its_header() {
    let request = headers(&every_header());
    for (header, resolver, expected, port) in one_per_source() {
        let got = client_port(resolver.resolve(sock(GATEWAY), &request));
        assert_eq!(got, Ok((ip(expected), port)), "source {header:?}");
        if !header.is_empty() {
            let r = resolver.resolve(sock(GATEWAY), &request).unwrap();
            assert!(
                matches!(r.origin(), Origin::Header { name, .. } if name.as_str() == header),
                "{header}: {:?}",
                r.origin()
            );
        }
    }
}

#[test]
fn rule2_one_configured_source_never_falls_back_to_another_header() {
    for (header, resolver, _, _) in one_per_source() {
        if header.is_empty() {
            continue;
        }
        // Every forwarding header but the configured one.
        let others: Vec<_> = every_header()
            .into_iter()
            .filter(|(n, _)| *n != header)
            .collect();
        let request = headers(&others);

        // The peer is a trusted proxy and the configured header is absent:
        // the peer is the only (leftmost) hop (rule 5), never another
        // header's address.
        let r = resolver.resolve(sock(GATEWAY), &request).unwrap();
        assert_eq!(r.ip(), ip("10.0.0.3"), "source {header}");
        assert_eq!(r.origin(), &Origin::Peer, "source {header}");

        // The explanation names the header that is absent.
        let e = resolver.explain(sock(GATEWAY), &request);
        assert!(
            e.diagnostics.iter().any(|d| matches!(
                d,
                Diagnostic::ConfiguredHeaderAbsent { configured, .. } if configured == header
            )),
            "source {header}: {:?}",
            e.diagnostics
        );
    }
}

#[test]
fn rule2_one_configured_source_an_unreadable_header_is_not_replaced() {
    // The configured header fails; a readable one next to it is not used.
    type Row = (Resolver, &'static [(&'static str, &'static str)], Error);
    let table: &[Row] = &[
        (
            xff_private(),
            &[("x-forwarded-for", "garbage"), ("x-real-ip", "192.0.2.3")],
            Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidAddress,
            },
        ),
        (
            xff_private(),
            &[
                ("x-forwarded-for", "unknown"),
                ("forwarded", "for=192.0.2.1"),
            ],
            Error::UnknownHop { index: 0 },
        ),
        (
            build(
                Resolver::builder()
                    .forwarded()
                    .trusted_proxies(set("10.0.0.0/8")),
            ),
            &[("forwarded", "for=_x"), ("x-forwarded-for", "192.0.2.2")],
            Error::ObfuscatedHop { index: 0 },
        ),
        (
            build(
                Resolver::builder()
                    .source(Source::x_real_ip())
                    .trusted_proxies(set("10.0.0.0/8")),
            ),
            &[("x-real-ip", ""), ("x-forwarded-for", "192.0.2.2")],
            Error::EmptyHeader,
        ),
    ];
    for (resolver, lines, expected) in table {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &headers(lines))),
            Err(*expected),
            "{resolver} {lines:?}"
        );
    }
}

#[test]
fn rule2_one_configured_source_single_headers_hold_one_address() {
    let resolver = |h: &str| {
        build(
            Resolver::builder()
                .single_header(name(h))
                .trusted_proxies(set("10.0.0.0/8")),
        )
    };
    type Row = (
        &'static str,
        &'static str,
        Result<(&'static str, Option<u16>), Error>,
    );
    let table: &[Row] = &[
        ("x-real-ip", "203.0.113.7", Ok(("203.0.113.7", None))),
        ("x-real-ip", " 203.0.113.7 ", Ok(("203.0.113.7", None))),
        ("cf-connecting-ip", "2001:db8::1", Ok(("2001:db8::1", None))),
        ("true-client-ip", "203.0.113.7", Ok(("203.0.113.7", None))),
        ("fly-client-ip", "203.0.113.7", Ok(("203.0.113.7", None))),
        (
            "x-envoy-external-address",
            "203.0.113.7",
            Ok(("203.0.113.7", None)),
        ),
        // A single-address header is never split on commas.
        (
            "x-real-ip",
            "203.0.113.7, 10.0.0.2",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidCharacters,
            }),
        ),
        (
            "x-real-ip",
            "203.0.113.7,10.0.0.2",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidAddress,
            }),
        ),
        ("x-real-ip", "unknown", Err(Error::UnknownHop { index: 0 })),
        ("x-real-ip", "", Err(Error::EmptyHeader)),
        // CloudFront-Viewer-Address is ip:port, IPv6 unbracketed, split at
        // the last colon; the port is required.
        (
            "cloudfront-viewer-address",
            "198.51.100.10:46532",
            Ok(("198.51.100.10", Some(46532))),
        ),
        (
            "cloudfront-viewer-address",
            "2001:db8::1:52384",
            Ok(("2001:db8::1", Some(52384))),
        ),
        (
            "cloudfront-viewer-address",
            "2001:db8:cafe::17:443",
            Ok(("2001:db8:cafe::17", Some(443))),
        ),
        (
            "cloudfront-viewer-address",
            "::ffff:198.51.100.10:1",
            Ok(("198.51.100.10", Some(1))),
        ),
        (
            "cloudfront-viewer-address",
            "198.51.100.10",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidPort,
            }),
        ),
        (
            "cloudfront-viewer-address",
            "2001:db8::1:x",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidPort,
            }),
        ),
        (
            "cloudfront-viewer-address",
            "198.51.100.10:65536",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidPort,
            }),
        ),
        // The last-colon split is CloudFront's alone: the same text in
        // another header is the IPv6 address it spells, without a port.
        (
            "x-real-ip",
            "2001:db8::1:443",
            Ok(("2001:db8::1:443", None)),
        ),
        (
            "x-real-ip",
            "2001:db8::1:52384",
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidAddress,
            }),
        ),
    ];
    for (header, value, expected) in table {
        let got = resolver(header).resolve(sock(GATEWAY), &headers(&[(header, value)]));
        let expected = expected.map(|(a, p)| (ip(a), p));
        assert_eq!(client_port(got), expected, "{header}: {value:?}");
    }
}

// ---------------------------------------------------------------------------
// Rule 3. All lines, in order.
// ---------------------------------------------------------------------------

#[test]
fn rule3_all_lines_in_order() {
    // (X-Forwarded-For lines, first first; client; its index)
    let table: &[(&[&str], &str, usize)] = &[
        (&["203.0.113.7", "10.0.0.2"], "203.0.113.7", 1),
        (&["203.0.113.7, 10.0.0.1", "10.0.0.2"], "203.0.113.7", 2),
        (
            &["198.51.100.1, 203.0.113.7", "10.0.0.1", "10.0.0.2"],
            "203.0.113.7",
            2,
        ),
        // The last line is the newest.
        (&["203.0.113.7", "198.51.100.1"], "198.51.100.1", 0),
        (&["10.0.0.1", "203.0.113.7"], "203.0.113.7", 0),
        // A line may be empty; it holds no hop.
        (&["203.0.113.7", "", "10.0.0.2"], "203.0.113.7", 1),
    ];
    let resolver = xff_private();
    for (lines, expected, index) in table {
        let r = resolver.resolve(sock(GATEWAY), &xff_lines(lines)).unwrap();
        assert_eq!(r.ip(), ip(expected), "{lines:?}");
        assert_eq!(
            r.origin(),
            &header_origin("x-forwarded-for", *index),
            "{lines:?}"
        );
        assert_eq!(r.trusted_proxies(), index + 1, "{lines:?}");
    }

    // Forwarded lines combine the same way (RFC 7239 §7.1).
    let forwarded = build(
        Resolver::builder()
            .forwarded()
            .trusted_proxies(set("10.0.0.0/8")),
    );
    let r = forwarded
        .resolve(
            sock(GATEWAY),
            &headers(&[
                ("forwarded", "for=203.0.113.7"),
                ("forwarded", "for=10.0.0.2"),
            ]),
        )
        .unwrap();
    assert_eq!(r.ip(), ip("203.0.113.7"));
    assert_eq!(r.origin(), &header_origin("forwarded", 1));
}

#[test]
fn rule3_all_lines_in_order_empty_elements_are_not_hops() {
    let table: &[(&str, usize)] = &[
        ("203.0.113.7,,10.0.0.2", 1),
        ("203.0.113.7, ,\t, 10.0.0.2,", 1),
        (",203.0.113.7", 0),
        ("203.0.113.7,", 0),
        (",,203.0.113.7,,10.0.0.1,,10.0.0.2,,", 2),
    ];
    let resolver = xff_private();
    for (value, index) in table {
        let r = resolver.resolve(sock(GATEWAY), &xff(value)).unwrap();
        assert_eq!(r.ip(), ip("203.0.113.7"), "{value:?}");
        assert_eq!(
            r.origin(),
            &header_origin("x-forwarded-for", *index),
            "{value:?}"
        );
        assert_eq!(r.trusted_proxies(), index + 1, "{value:?}");
    }

    // Hop counting does not count them either.
    let counted = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(2, set("10.0.0.0/8")),
    );
    let r = counted
        .resolve(sock(GATEWAY), &xff("198.51.100.1, 203.0.113.7,,, 10.0.0.2"))
        .unwrap();
    assert_eq!(r.ip(), ip("203.0.113.7"));
    assert_eq!(r.origin(), &header_origin("x-forwarded-for", 1));

    // The explanation has no step for them.
    let e = resolver.explain(sock(GATEWAY), &xff("203.0.113.7,,,10.0.0.2"));
    let positions: Vec<_> = e.steps.iter().map(|s| s.position).collect();
    assert_eq!(
        positions,
        [Position::Peer, Position::Hop(0), Position::Hop(1)]
    );
}

#[test]
fn rule3_all_lines_in_order_single_header_repeated_uses_the_last_line() {
    let resolver = build(
        Resolver::builder()
            .source(Source::x_real_ip())
            .trusted_proxies(set("10.0.0.0/8")),
    );
    let real_ip = |values: &[&str]| {
        let lines: Vec<_> = values.iter().map(|v| ("x-real-ip", *v)).collect();
        headers(&lines)
    };
    let table: &[(&[&str], Result<&str, Error>)] = &[
        (&["198.51.100.66", "203.0.113.7"], Ok("203.0.113.7")),
        (&["garbage", "203.0.113.7"], Ok("203.0.113.7")),
        (&["a", "b", "203.0.113.7"], Ok("203.0.113.7")),
        // The last line is unreadable: an error, not the line before it.
        (
            &["203.0.113.7", "garbage"],
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidAddress,
            }),
        ),
        (&["203.0.113.7", ""], Err(Error::EmptyHeader)),
    ];
    for (values, expected) in table {
        let got = client(resolver.resolve(sock(GATEWAY), &real_ip(values)));
        assert_eq!(got, expected.map(ip), "{values:?}");
    }

    let e = resolver.explain(sock(GATEWAY), &real_ip(&["198.51.100.66", "203.0.113.7"]));
    assert!(e.diagnostics.contains(&Diagnostic::DuplicateSingleHeader {
        header: "x-real-ip".to_owned(),
        lines: 2,
    }));
    let e = resolver.explain(sock(GATEWAY), &real_ip(&["203.0.113.7"]));
    assert!(!has(&e.diagnostics, "duplicate_single_header"));
    // Repeated lines of a list header are normal (HAProxy).
    let e = xff_private().explain(sock(GATEWAY), &xff_lines(&["203.0.113.7", "10.0.0.2"]));
    assert!(!has(&e.diagnostics, "duplicate_single_header"));
}

// ---------------------------------------------------------------------------
// Rule 4. Never skip what cannot be read.
// ---------------------------------------------------------------------------

#[test]
fn rule4_never_skip_unreadable_hops() {
    let malformed = |index, reason| Error::MalformedHop { index, reason };
    let table: &[(&str, Error)] = &[
        (
            "203.0.113.7, garbage, 10.0.0.2",
            malformed(1, HopError::InvalidAddress),
        ),
        (
            "203.0.113.7, unknown, 10.0.0.2",
            Error::UnknownHop { index: 1 },
        ),
        ("203.0.113.7, Unknown", Error::UnknownHop { index: 0 }),
        (
            "203.0.113.7, _hidden, 10.0.0.2",
            Error::ObfuscatedHop { index: 1 },
        ),
        ("203.0.113.7, _SEVKISEK", Error::ObfuscatedHop { index: 0 }),
        ("203.0.113.7, 010.0.0.2", malformed(0, HopError::LegacyIpv4)),
        (
            "203.0.113.7, 10.0.0.2:99999",
            malformed(0, HopError::InvalidPort),
        ),
        (
            "203.0.113.7, 1.2.3.4 5.6.7.8, 10.0.0.2",
            malformed(1, HopError::InvalidCharacters),
        ),
        ("203.0.113.7, fe80::1%eth0", malformed(0, HopError::ZoneId)),
        (
            "203.0.113.7, 0.0.0.0, 10.0.0.1, 10.0.0.2",
            malformed(2, HopError::Unspecified),
        ),
        ("203.0.113.7, _", malformed(0, HopError::InvalidCharacters)),
        // Everything else trusted: still an error, never the leftmost hop
        // nor the nearest proxy.
        ("10.0.0.1, _x, 10.0.0.2", Error::ObfuscatedHop { index: 1 }),
        ("10.0.0.1, unknown", Error::UnknownHop { index: 0 }),
    ];
    let resolver = xff_private();
    for (value, expected) in table {
        let got = resolver.resolve(sock(GATEWAY), &xff(value));
        assert_eq!(client(got), Err(*expected), "{value:?}");
        assert!(expected.hop_index().is_some());

        // The explanation stops at that hop, with its verdict.
        let e = resolver.explain(sock(GATEWAY), &xff(value));
        let last = e.steps.last().unwrap();
        assert_eq!(last.position, Position::Hop(expected.hop_index().unwrap()));
        let verdict_ok = match expected {
            Error::MalformedHop { reason, .. } => last.verdict == Verdict::Malformed(*reason),
            Error::UnknownHop { .. } => last.verdict == Verdict::Unknown,
            Error::ObfuscatedHop { .. } => last.verdict == Verdict::Obfuscated,
            _ => false,
        };
        assert!(verdict_ok, "{value:?}: {:?}", last.verdict);
    }
}

#[test]
fn rule4_never_skip_unreadable_hops_inside_a_hop_count() {
    // The proxies inside the count vouch for their position, not for
    // text nobody can read: every counted hop must be an address, or the
    // result is the error CIDR mode gives, at that position.
    let two = |b: ResolverBuilder| build(b.trusted_hops(2, set("10.0.0.0/8")));
    let xff2 = two(Resolver::builder().x_forwarded_for());
    let fwd2 = two(Resolver::builder().forwarded());
    let table: Vec<(&Resolver, HeaderMap, Error)> = vec![
        (
            &xff2,
            xff("6.6.6.6, unknown"),
            Error::UnknownHop { index: 0 },
        ),
        (
            &xff2,
            xff("6.6.6.6, _hidden"),
            Error::ObfuscatedHop { index: 0 },
        ),
        (
            &xff2,
            xff("6.6.6.6, garbage"),
            Error::MalformedHop {
                index: 0,
                reason: HopError::InvalidAddress,
            },
        ),
        (
            &xff2,
            xff_lines(&["6.6.6.6", "0.0.0.0"]),
            Error::MalformedHop {
                index: 0,
                reason: HopError::Unspecified,
            },
        ),
        (
            &fwd2,
            headers(&[("forwarded", "for=6.6.6.6, for=_hidden")]),
            Error::ObfuscatedHop { index: 0 },
        ),
        (
            &fwd2,
            headers(&[("forwarded", "for=6.6.6.6, for=unknown")]),
            Error::UnknownHop { index: 0 },
        ),
        (
            &fwd2,
            headers(&[("forwarded", "for=6.6.6.6, proto=http")]),
            Error::MissingFor { index: 0 },
        ),
    ];
    for (resolver, request, expected) in &table {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), request)),
            Err(*expected),
            "{resolver}: {request:?}"
        );
        let e = resolver.explain(sock(GATEWAY), request);
        assert_eq!(e.result, Err(*expected));
        assert_eq!(e.steps.last().unwrap().position, Position::Hop(0));
    }
    // `for=[junk`: not an RFC 7239 element at all, at position 0.
    let junk = headers(&[("forwarded", "for=6.6.6.6, for=[junk")]);
    let err = fwd2.resolve(sock(GATEWAY), &junk).unwrap_err();
    assert_eq!(err.hop_index(), Some(0), "{err:?}");

    // Counted hops that are addresses are read and shown as trusted by
    // count, with their address.
    let e = xff2.explain(sock(GATEWAY), &xff("6.6.6.6, 10.9.9.9"));
    assert_eq!(client(e.result.clone()), Ok(ip("6.6.6.6")));
    assert_eq!(e.steps[1].verdict, Verdict::TrustedByCount);
    assert_eq!(e.steps[1].addr, Some(ip("10.9.9.9")));
    assert_eq!(e.steps[2].verdict, Verdict::Client);
}

#[test]
fn rule4_unreadable_hops_left_of_the_client_are_never_reached() {
    let resolver = xff_private();
    for value in [
        "garbage, 203.0.113.7, 10.0.0.2",
        "unknown, 203.0.113.7",
        "_hidden, 203.0.113.7",
        "010.0.0.1, 203.0.113.7",
        "\"[::1]\", 203.0.113.7",
    ] {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &xff(value))),
            Ok(ip("203.0.113.7")),
            "{value:?}"
        );
    }
}

#[test]
fn rule4_never_skip_unreadable_forwarded_elements() {
    let resolver = build(
        Resolver::builder()
            .forwarded()
            .trusted_proxies(set("10.0.0.0/8")),
    );
    let table: &[(&str, Error)] = &[
        (
            "for=203.0.113.7, for=unknown, for=10.0.0.2",
            Error::UnknownHop { index: 1 },
        ),
        (
            "for=203.0.113.7, for=_hidden;by=_gw",
            Error::ObfuscatedHop { index: 0 },
        ),
        (
            "for=203.0.113.7, proto=https, for=10.0.0.2",
            Error::MissingFor { index: 1 },
        ),
        (
            "for=203.0.113.7, for=\"[::1\", for=10.0.0.2",
            Error::MalformedHop {
                index: 1,
                reason: HopError::InvalidAddress,
            },
        ),
        (
            "for=203.0.113.7, for=10.0.0.1;for=10.0.0.9, for=10.0.0.2",
            Error::MalformedElement {
                index: 1,
                reason: ElementError::DuplicateParameter,
            },
        ),
        (
            "for=203.0.113.7, for=\"10.0.0.1, for=10.0.0.2",
            Error::MalformedElement {
                index: 1,
                reason: ElementError::UnterminatedQuote,
            },
        ),
    ];
    for (value, expected) in table {
        let got = resolver.resolve(sock(GATEWAY), &headers(&[("forwarded", value)]));
        assert_eq!(client(got), Err(*expected), "{value:?}");
    }
}

// ---------------------------------------------------------------------------
// Rule 5. Everything trusted.
// ---------------------------------------------------------------------------

#[test]
fn rule5_everything_trusted_leftmost_by_default() {
    let resolver = xff_private();
    assert_eq!(resolver.all_trusted(), AllTrusted::Leftmost);

    // (header, client, origin index, trusted proxies)
    let table: &[(&str, &str, usize, usize)] = &[
        ("10.0.0.1, 10.0.0.2", "10.0.0.1", 1, 2),
        ("10.0.0.1", "10.0.0.1", 0, 1),
        ("10.9.9.9,, 10.0.0.1,", "10.9.9.9", 1, 2),
    ];
    for (value, expected, index, trusted) in table {
        let request = xff(value);
        let r = resolver.resolve(sock(GATEWAY), &request).unwrap();
        assert_eq!(r.ip(), ip(expected), "{value:?}");
        assert_eq!(
            r.origin(),
            &header_origin("x-forwarded-for", *index),
            "{value:?}"
        );
        assert_eq!(r.trusted_proxies(), *trusted, "{value:?}");

        let e = resolver.explain(sock(GATEWAY), &request);
        assert_eq!(
            e.diagnostics,
            [
                Diagnostic::AllHopsTrusted,
                Diagnostic::NonPublicClient {
                    client: ip(expected)
                }
            ],
            "{value:?}"
        );
        assert_eq!(e.steps[0].verdict, Verdict::TrustedProxy, "{value:?}");
        assert_eq!(
            e.steps.last().unwrap().verdict,
            Verdict::Client,
            "{value:?}"
        );
    }

    // No header: the trusted peer is the only hop, and the answer. It is
    // a trusted proxy that sent no header, never "a peer that is not
    // trusted" (the forwarding headers present did not come from a
    // stranger).
    for request in [HeaderMap::new(), headers(&[("x-real-ip", "6.6.6.6")])] {
        let r = resolver.resolve(sock(GATEWAY), &request).unwrap();
        assert_eq!(r.ip(), ip("10.0.0.3"));
        assert_eq!(r.origin(), &Origin::Peer);
        assert_eq!(r.trusted_proxies(), 0);
        let e = resolver.explain(sock(GATEWAY), &request);
        let mut expected = Vec::new();
        if !request.is_empty() {
            expected.push(Diagnostic::ConfiguredHeaderAbsent {
                configured: "x-forwarded-for".into(),
                present: vec!["x-real-ip".into()],
            });
        }
        expected.extend([
            Diagnostic::TrustedPeerSentNoHeader {
                configured: "x-forwarded-for".into(),
            },
            Diagnostic::NonPublicClient {
                client: ip("10.0.0.3"),
            },
        ]);
        assert_eq!(e.diagnostics, expected, "{request:?}");
        assert_eq!(e.steps.len(), 1);
        assert_eq!(e.steps[0].verdict, Verdict::TrustedWithoutHeader);
    }

    // An untrusted client is not "everything trusted".
    let e = resolver.explain(sock(GATEWAY), &xff("203.0.113.7, 10.0.0.2"));
    assert!(!e.diagnostics.contains(&Diagnostic::AllHopsTrusted));
}

#[test]
fn rule5_everything_trusted_error_policy() {
    let strict = |b: ResolverBuilder| build(b.all_trusted(AllTrusted::Error));
    let private = || set("10.0.0.0/8");
    let resolvers = [
        strict(
            Resolver::builder()
                .x_forwarded_for()
                .trusted_proxies(private()),
        ),
        strict(Resolver::builder().forwarded().trusted_proxies(private())),
        strict(
            Resolver::builder()
                .source(Source::x_real_ip())
                .trusted_proxies(private()),
        ),
    ];
    let request = headers(&[
        ("x-forwarded-for", "10.0.0.1, 10.0.0.2"),
        ("forwarded", "for=10.0.0.1, for=10.0.0.2"),
        ("x-real-ip", "10.0.0.1"),
    ]);
    for resolver in &resolvers {
        assert_eq!(resolver.all_trusted(), AllTrusted::Error);
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &request)),
            Err(Error::AllHopsTrusted),
            "{resolver}"
        );
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &HeaderMap::new())),
            Err(Error::AllHopsTrusted),
            "{resolver}"
        );
        // An untrusted hop is still the client.
        let mixed = headers(&[
            ("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
            ("forwarded", "for=203.0.113.7, for=10.0.0.2"),
            ("x-real-ip", "203.0.113.7"),
        ]);
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &mixed)),
            Ok(ip("203.0.113.7")),
            "{resolver}"
        );
    }
}

// ---------------------------------------------------------------------------
// Rule 6. Hop counting.
// ---------------------------------------------------------------------------

#[test]
fn rule6_hop_counting_n_counts_the_peer() {
    let value = "198.51.100.1, 198.51.100.2, 198.51.100.3";
    // (N, client, its index)
    type Row = (usize, Result<(&'static str, usize), Error>);
    let table: &[Row] = &[
        (1, Ok(("198.51.100.3", 0))),
        (2, Ok(("198.51.100.2", 1))),
        (3, Ok(("198.51.100.1", 2))),
        (
            4,
            Err(Error::ChainTooShort {
                needed: 4,
                found: 3,
            }),
        ),
        (
            7,
            Err(Error::ChainTooShort {
                needed: 7,
                found: 3,
            }),
        ),
    ];
    for (n, expected) in table {
        let resolver = build(
            Resolver::builder()
                .x_forwarded_for()
                .trusted_hops(*n, set("10.0.0.0/8")),
        );
        let got = resolver.resolve(sock(GATEWAY), &xff(value));
        match expected {
            Ok((addr, index)) => {
                let r = got.unwrap();
                assert_eq!(r.ip(), ip(addr), "N={n}");
                assert_eq!(
                    r.origin(),
                    &header_origin("x-forwarded-for", *index),
                    "N={n}"
                );
                assert_eq!(r.trusted_proxies(), *n, "N={n}");
            }
            Err(e) => assert_eq!(got, Err(*e), "N={n}"),
        }
    }

    // N = 0 would mean the peer is the client: that is the peer-only
    // resolver, and N = 0 is refused in every combination.
    for builder in [
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(0, set("10.0.0.0/8")),
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops_from_any_peer(0),
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(0, ProxySet::new())
            .trust_unix_peer(true),
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(0, set("10.0.0.0/8"))
            .trust_unix_peer(true),
        Resolver::builder().trusted_hops(0, ProxySet::new()),
    ] {
        assert_eq!(builder.build(), Err(ConfigError::ZeroHops));
    }
    assert_eq!(
        client(Resolver::default().resolve(sock(GATEWAY), &xff(value))),
        Ok(ip("10.0.0.3"))
    );
}

#[test]
fn rule6_hop_counting_judges_header_hops_by_position_only() {
    // In count mode the answer is the Nth hop whatever its address, even
    // one inside the peer set.
    let resolver = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(1, set("10.0.0.0/8")),
    );
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff("203.0.113.7, 10.0.0.5"))),
        Ok(ip("10.0.0.5"))
    );
    // The hop at the client position must still be readable (rule 4).
    let two = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(2, set("10.0.0.0/8")),
    );
    let table: &[(&str, Error)] = &[
        (
            "203.0.113.7, garbage, 10.0.0.2",
            Error::MalformedHop {
                index: 1,
                reason: HopError::InvalidAddress,
            },
        ),
        ("unknown, 10.0.0.2", Error::UnknownHop { index: 1 }),
        ("_x, 10.0.0.2", Error::ObfuscatedHop { index: 1 }),
        (
            "0.0.0.0, 10.0.0.2",
            Error::MalformedHop {
                index: 1,
                reason: HopError::Unspecified,
            },
        ),
    ];
    for (value, expected) in table {
        assert_eq!(
            client(two.resolve(sock(GATEWAY), &xff(value))),
            Err(*expected),
            "{value:?}"
        );
    }
}

#[test]
fn rule6_hop_counting_checks_the_peer() {
    let resolver = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(1, set("10.0.0.0/8")),
    );
    // A peer outside the set is the client; its header is never read.
    assert_eq!(
        client(resolver.resolve(sock(STRANGER), &xff("1.2.3.4"))),
        Ok(ip("203.0.113.66"))
    );
    assert_eq!(
        client(resolver.resolve(sock(STRANGER), &HeaderMap::new())),
        Ok(ip("203.0.113.66"))
    );
    // A peer in the set: the header is required.
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &HeaderMap::new())),
        Err(Error::ChainTooShort {
            needed: 1,
            found: 0
        })
    );
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff(",, ,"))),
        Err(Error::EmptyHeader)
    );

    // "Any peer" must be asked for by name, and then any peer may send it.
    let any = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops_from_any_peer(1),
    );
    assert_eq!(
        client(any.resolve(sock(STRANGER), &xff("1.2.3.4"))),
        Ok(ip("1.2.3.4"))
    );
    assert_eq!(
        client(any.resolve(sock(STRANGER), &HeaderMap::new())),
        Err(Error::ChainTooShort {
            needed: 1,
            found: 0
        })
    );
    let e = any.explain(sock(STRANGER), &xff("1.2.3.4"));
    assert_eq!(e.steps[0].verdict, Verdict::TrustedByCount);
}

#[test]
fn rule6_hop_counting_deployments() {
    // GCP external Application LB: it appends "<client>,<lb-ip>" and the
    // backend's peer is a GFE: the client is second from the right.
    let gcp = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_hops(2, set("130.211.0.0/22, 35.191.0.0/16")),
    );
    let r = gcp
        .resolve(
            sock("35.191.3.4:5000"),
            &xff("6.6.6.6,203.0.113.7,34.120.1.2"),
        )
        .unwrap();
    assert_eq!(r.ip(), ip("203.0.113.7"));
    assert_eq!(r.trusted_proxies(), 2);

    // Forwarded is counted the same way.
    let forwarded = build(
        Resolver::builder()
            .forwarded()
            .trusted_hops(2, set("10.0.0.0/8")),
    );
    assert_eq!(
        client(forwarded.resolve(
            sock(GATEWAY),
            &headers(&[("forwarded", "for=6.6.6.6, for=203.0.113.7, for=10.0.0.9")])
        )),
        Ok(ip("203.0.113.7"))
    );
    // A single-address header holds one hop: N = 1 reads it.
    let single = build(
        Resolver::builder()
            .source(Source::x_real_ip())
            .trusted_hops(1, set("10.0.0.0/8")),
    );
    assert_eq!(
        client(single.resolve(sock(GATEWAY), &headers(&[("x-real-ip", "203.0.113.7")]))),
        Ok(ip("203.0.113.7"))
    );
}

// ---------------------------------------------------------------------------
// Rule 7. Bounded work.
// ---------------------------------------------------------------------------

#[test]
fn rule7_bounded_work_max_hops() {
    let resolver = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_proxies(set("10.0.0.0/8"))
            .max_hops(3),
    );
    let table: &[(&str, Result<&str, Error>)] = &[
        ("203.0.113.7, 10.0.0.1, 10.0.0.2", Ok("203.0.113.7")),
        ("10.0.0.1, 10.0.0.2, 10.0.0.4", Ok("10.0.0.1")),
        (
            "203.0.113.7, 10.0.0.1, 10.0.0.2, 10.0.0.4",
            Err(Error::TooManyHops { limit: 3 }),
        ),
        (
            "10.0.0.1, 10.0.0.2, 10.0.0.4, 10.0.0.5",
            Err(Error::TooManyHops { limit: 3 }),
        ),
        // Empty elements are not hops, so they do not count against it.
        ("203.0.113.7,,, 10.0.0.1,,, 10.0.0.2", Ok("203.0.113.7")),
    ];
    for (value, expected) in table {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &xff(value))),
            expected.map(ip),
            "{value:?}"
        );
    }
    let e = resolver.explain(
        sock(GATEWAY),
        &xff("203.0.113.7, 10.0.0.1, 10.0.0.2, 10.0.0.4"),
    );
    assert_eq!(e.steps.last().unwrap().verdict, Verdict::BeyondLimit);
    assert_eq!(e.steps.last().unwrap().position, Position::Hop(3));
}

#[test]
fn rule7_bounded_work_default_limit() {
    let resolver = xff_private();
    assert_eq!(resolver.max_hops(), DEFAULT_MAX_HOPS);
    assert!((16..=64).contains(&DEFAULT_MAX_HOPS), "around 32");

    let chain = |trusted_hops: usize| {
        let mut hops = vec!["203.0.113.7".to_owned()];
        hops.extend((0..trusted_hops).map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1)));
        hops.join(", ")
    };
    // The client at the last index the limit allows, then one past it.
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff(&chain(DEFAULT_MAX_HOPS - 1)))),
        Ok(ip("203.0.113.7"))
    );
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff(&chain(DEFAULT_MAX_HOPS)))),
        Err(Error::TooManyHops {
            limit: DEFAULT_MAX_HOPS
        })
    );
}

#[test]
fn rule7_bounded_work_60_kb_headers() {
    let resolver = xff_private();

    // 60 KB of trusted hops: the walk gives up at the limit.
    let all_trusted = "10.0.0.1, ".repeat(6_000) + "10.0.0.2";
    assert!(all_trusted.len() >= 60_000);
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff(&all_trusted))),
        Err(Error::TooManyHops {
            limit: DEFAULT_MAX_HOPS
        })
    );

    // 60 KB of anything left of a client near the right: only the hops the
    // walk needs are read, so the hostile part cannot matter.
    let hostile_left = [
        "garbage, ".repeat(7_000),
        ",".repeat(60_000),
        "\"".repeat(60_000),
        "10.0.0.1, ".repeat(6_000),
    ];
    for left in &hostile_left {
        let value = format!("{left}, 203.0.113.7, 10.0.0.2");
        assert!(value.len() >= 60_000);
        let r = resolver.resolve(sock(GATEWAY), &xff(&value)).unwrap();
        assert_eq!(r.ip(), ip("203.0.113.7"));
        assert_eq!(r.origin(), &header_origin("x-forwarded-for", 1));
        let e = resolver.explain(sock(GATEWAY), &xff(&value));
        assert_eq!(e.steps.len(), 3, "peer and two hops");
    }

    // The same for Forwarded, including an unbalanced quote on the left.
    let forwarded = build(
        Resolver::builder()
            .forwarded()
            .trusted_proxies(set("10.0.0.0/8")),
    );
    for left in [
        "for=\"".to_owned() + &"x".repeat(60_000),
        "for=garbage;".repeat(5_000),
        "for=10.0.0.1, ".repeat(5_000),
    ] {
        let value = format!("{left}, for=203.0.113.7, for=10.0.0.2");
        let got = forwarded.resolve(sock(GATEWAY), &headers(&[("forwarded", &value)]));
        assert_eq!(client(got), Ok(ip("203.0.113.7")));
    }
}

#[test]
fn rule7_bounded_work_empty_elements() {
    let resolver = xff_private();
    let many = ",".repeat(10_000);
    let table: Vec<(String, Result<&str, Error>)> = vec![
        // Left of the client: never reached.
        (format!("{many}203.0.113.7, 10.0.0.2"), Ok("203.0.113.7")),
        (format!("{many}, 203.0.113.7"), Ok("203.0.113.7")),
        // Between the trusted hops: reached, and refused.
        (
            format!("203.0.113.7{many}10.0.0.2"),
            Err(Error::TooManyEmptyElements {
                limit: MAX_EMPTY_ELEMENTS,
            }),
        ),
        (
            format!("203.0.113.7, 10.0.0.2{many}"),
            Err(Error::TooManyEmptyElements {
                limit: MAX_EMPTY_ELEMENTS,
            }),
        ),
        (
            many.clone(),
            Err(Error::TooManyEmptyElements {
                limit: MAX_EMPTY_ELEMENTS,
            }),
        ),
        // The bound itself is tolerated; one more is not.
        (
            format!("203.0.113.7{}10.0.0.2", ",".repeat(MAX_EMPTY_ELEMENTS + 1)),
            Ok("203.0.113.7"),
        ),
        (
            format!("203.0.113.7{}10.0.0.2", ",".repeat(MAX_EMPTY_ELEMENTS + 2)),
            Err(Error::TooManyEmptyElements {
                limit: MAX_EMPTY_ELEMENTS,
            }),
        ),
    ];
    for (value, expected) in &table {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &xff(value))),
            expected.map(ip),
            "{:.40}… ({} bytes)",
            value,
            value.len()
        );
    }
    // Spread over lines, they add up.
    let lines: Vec<String> = (0..MAX_EMPTY_ELEMENTS + 1).map(|_| String::new()).collect();
    let mut values: Vec<&str> = vec!["203.0.113.7"];
    values.extend(lines.iter().map(String::as_str));
    values.push("10.0.0.2");
    assert_eq!(
        client(resolver.resolve(sock(GATEWAY), &xff_lines(&values))),
        Err(Error::TooManyEmptyElements {
            limit: MAX_EMPTY_ELEMENTS
        })
    );
}

// ---------------------------------------------------------------------------
// Rule 8. Addresses are numbers, not text.
// ---------------------------------------------------------------------------

#[test]
fn rule8_addresses_are_numbers_in_headers() {
    let malformed = |reason| Err(Error::MalformedHop { index: 0, reason });
    let table: &[(&str, Result<&str, Error>)] = &[
        // IPv4-mapped becomes IPv4, in results…
        ("::ffff:203.0.113.7", Ok("203.0.113.7")),
        ("::FFFF:203.0.113.7", Ok("203.0.113.7")),
        ("::ffff:cb00:7107", Ok("203.0.113.7")),
        ("[::ffff:203.0.113.7]:80", Ok("203.0.113.7")),
        // …and before trust checks.
        ("203.0.113.7, ::ffff:10.0.0.2", Ok("203.0.113.7")),
        ("203.0.113.7, [::ffff:10.0.0.2]:443", Ok("203.0.113.7")),
        // IPv4-compatible and NAT64 stay IPv6, and are not the IPv4 range.
        ("::203.0.113.7", Ok("::cb00:7107")),
        ("64:ff9b::203.0.113.7", Ok("64:ff9b::cb00:7107")),
        ("203.0.113.7, ::10.0.0.2", Ok("::a00:2")),
        ("203.0.113.7, 64:ff9b::10.0.0.2", Ok("64:ff9b::a00:2")),
        // Any case, compressed or not.
        ("2001:DB8::1", Ok("2001:db8::1")),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", Ok("2001:db8::1")),
        // Legacy IPv4 forms are refused, never reinterpreted.
        ("010.0.0.1", malformed(HopError::LegacyIpv4)),
        ("10.0.0.010", malformed(HopError::LegacyIpv4)),
        ("127.1", malformed(HopError::LegacyIpv4)),
        ("10.1", malformed(HopError::LegacyIpv4)),
        ("2130706433", malformed(HopError::LegacyIpv4)),
        ("0x7f.0.0.1", malformed(HopError::LegacyIpv4)),
        ("0177.0.0.1", malformed(HopError::LegacyIpv4)),
        ("::ffff:010.0.0.1", malformed(HopError::InvalidAddress)),
        // Zone ids are refused.
        ("fe80::1%eth0", malformed(HopError::ZoneId)),
        ("fe80::1%2", malformed(HopError::ZoneId)),
        ("[fe80::1%25eth0]:80", malformed(HopError::ZoneId)),
        // The unspecified address is never a client.
        ("0.0.0.0", malformed(HopError::Unspecified)),
        ("::", malformed(HopError::Unspecified)),
        ("::ffff:0.0.0.0", malformed(HopError::Unspecified)),
        ("[::]:80", malformed(HopError::Unspecified)),
        ("0.0.0.0:80", malformed(HopError::Unspecified)),
    ];
    let resolver = xff_private();
    for (value, expected) in table {
        let got = client(resolver.resolve(sock(GATEWAY), &xff(value)));
        assert_eq!(got, expected.map(ip), "{value:?}");
        if let Ok(addr) = got {
            // Mapped forms never reach a result.
            if let IpAddr::V6(v6) = addr {
                assert!(v6.to_ipv4_mapped().is_none(), "{value:?} gave {addr}");
            }
        }
    }

    // Every source refuses the unspecified address.
    let unspecified = headers(&[
        ("forwarded", "for=0.0.0.0"),
        ("x-real-ip", "0.0.0.0"),
        ("cloudfront-viewer-address", "0.0.0.0:80"),
    ]);
    for resolver in [
        build(
            Resolver::builder()
                .forwarded()
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        build(
            Resolver::builder()
                .source(Source::x_real_ip())
                .trusted_proxies(set("10.0.0.0/8")),
        ),
        build(
            Resolver::builder()
                .single_header(name("cloudfront-viewer-address"))
                .trusted_proxies(set("10.0.0.0/8")),
        ),
    ] {
        assert_eq!(
            client(resolver.resolve(sock(GATEWAY), &unspecified)),
            Err(Error::MalformedHop {
                index: 0,
                reason: HopError::Unspecified
            }),
            "{resolver}"
        );
    }
    // Even when the unspecified addresses are inside the trusted ranges
    // (a set that trusts every address is refused, rule 13).
    let trust_all = xff_trusting("0.0.0.0/8, private, ::/96");
    assert_eq!(
        client(trust_all.resolve(sock(GATEWAY), &xff("0.0.0.0, 10.0.0.2"))),
        Err(Error::MalformedHop {
            index: 1,
            reason: HopError::Unspecified
        })
    );
}

#[test]
fn rule8_addresses_are_numbers_in_trusted_sets() {
    // A range written in the mapped form covers the IPv4 range.
    let mapped_set = xff_trusting("::ffff:10.0.0.0/104");
    let r = mapped_set
        .resolve(sock(GATEWAY), &xff("203.0.113.7, 10.0.0.2"))
        .unwrap();
    assert_eq!(r.ip(), ip("203.0.113.7"));
    assert_eq!(r.trusted_proxies(), 2);
    let single_mapped = xff_trusting("::ffff:10.0.0.3, ::ffff:10.0.0.2");
    assert_eq!(
        client(single_mapped.resolve(sock(GATEWAY), &xff("203.0.113.7, 10.0.0.2"))),
        Ok(ip("203.0.113.7"))
    );
    // Lookups in a set see the mapped form as IPv4, and a mapped range
    // matches IPv4 addresses.
    let table: &[(&str, &str, bool)] = &[
        ("10.0.0.0/8", "::ffff:10.1.2.3", true),
        ("10.0.0.0/8", "::FFFF:a01:203", true),
        ("10.0.0.0/8", "::ffff:11.1.2.3", false),
        ("::ffff:10.0.0.0/104", "10.1.2.3", true),
        ("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true),
        ("10.0.0.0/8", "::10.1.2.3", false),
        ("10.0.0.0/8", "64:ff9b::10.1.2.3", false),
    ];
    for (proxies, addr, expected) in table {
        assert_eq!(
            set(proxies).contains(ip(addr)),
            *expected,
            "{proxies} {addr}"
        );
    }
    // An IPv4-compatible range is IPv6 and does not.
    let compat = xff_trusting("::10.0.0.0/104");
    assert_eq!(
        client(compat.resolve(sock(GATEWAY), &xff("203.0.113.7"))),
        Ok(ip("10.0.0.3"))
    );
    // Legacy forms are not accepted in configuration either.
    for text in ["010.0.0.0/8", "10.1", "127.1/32", "fe80::1%eth0"] {
        assert!(text.parse::<ProxySet>().is_err(), "{text}");
    }
}

#[test]
fn rule8_addresses_are_numbers_for_the_peer() {
    let resolver = xff_private();
    let h = xff("203.0.113.7");
    // A dual-stack socket reports IPv4 peers as mapped: trusted as IPv4.
    assert_eq!(
        client(resolver.resolve(sock("[::ffff:10.0.0.3]:41000"), &h)),
        Ok(ip("203.0.113.7"))
    );
    // And an untrusted mapped peer is answered as IPv4, with its port.
    let r = resolver
        .resolve(sock("[::ffff:198.51.100.9]:5000"), &h)
        .unwrap();
    assert_eq!((r.ip(), r.port()), (ip("198.51.100.9"), Some(5000)));
    assert_eq!(r.origin(), &Origin::Peer);
    assert_eq!(r.peer().ip(), Some(ip("198.51.100.9")));
    assert_eq!(
        Peer::from(sock("[::ffff:198.51.100.9]:5000")).ip(),
        Some(ip("198.51.100.9"))
    );
    assert_eq!(
        Peer::from(ip("::ffff:198.51.100.9")).ip(),
        Some(ip("198.51.100.9"))
    );
    // Built by hand, too.
    let by_hand = Peer::Ip {
        ip: ip("::ffff:10.0.0.3"),
        port: None,
    };
    assert_eq!(client(resolver.resolve(by_hand, &h)), Ok(ip("203.0.113.7")));
    let by_hand = Peer::Ip {
        ip: ip("::ffff:198.51.100.9"),
        port: None,
    };
    assert_eq!(
        client(Resolver::default().resolve(by_hand, &h)),
        Ok(ip("198.51.100.9"))
    );

    // A socket's scope id is ignored, for trust and in the answer.
    let scoped = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 8080, 0, 7));
    let link_local = xff_trusting("fe80::/10");
    assert_eq!(
        client(link_local.resolve(scoped, &h)),
        Ok(ip("203.0.113.7"))
    );
    let exact = xff_trusting("fe80::1");
    assert_eq!(client(exact.resolve(scoped, &h)), Ok(ip("203.0.113.7")));
    let r = Resolver::default().resolve(scoped, &h).unwrap();
    assert_eq!((r.ip(), r.port()), (ip("fe80::1"), Some(8080)));

    // An unspecified peer is refused, by every resolver.
    for peer in ["0.0.0.0:80", "[::]:80", "[::ffff:0.0.0.0]:80"] {
        for resolver in [
            Resolver::default(),
            xff_trusting("0.0.0.0/8, private, ::/96"),
        ] {
            assert_eq!(
                client(resolver.resolve(sock(peer), &h)),
                Err(Error::UnspecifiedPeer),
                "{peer} {resolver}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Rule 9. Ports.
// ---------------------------------------------------------------------------

#[test]
fn rule9_ports_in_list_headers() {
    let bad = |reason| Err(Error::MalformedHop { index: 0, reason });
    type Row = (&'static str, Result<(&'static str, Option<u16>), Error>);
    let table: &[Row] = &[
        ("203.0.113.7", Ok(("203.0.113.7", None))),
        ("203.0.113.7:54321", Ok(("203.0.113.7", Some(54321)))),
        ("203.0.113.7:0", Ok(("203.0.113.7", Some(0)))),
        ("203.0.113.7:65535", Ok(("203.0.113.7", Some(65535)))),
        ("2001:db8::1", Ok(("2001:db8::1", None))),
        ("[2001:db8::1]", Ok(("2001:db8::1", None))),
        ("[2001:db8::1]:443", Ok(("2001:db8::1", Some(443)))),
        ("[::ffff:203.0.113.7]:443", Ok(("203.0.113.7", Some(443)))),
        // A trusted hop may carry a port too (Azure, IIS).
        ("203.0.113.7:1, 10.0.0.2:443", Ok(("203.0.113.7", Some(1)))),
        ("203.0.113.7, [fd00::2]:443", Ok(("fd00::2", Some(443)))),
        // Rejected port forms.
        ("203.0.113.7:", bad(HopError::InvalidPort)),
        ("203.0.113.7:65536", bad(HopError::InvalidPort)),
        ("203.0.113.7:123456", bad(HopError::InvalidPort)),
        ("203.0.113.7:+80", bad(HopError::InvalidPort)),
        ("203.0.113.7:8a", bad(HopError::InvalidPort)),
        ("203.0.113.7:_p1", bad(HopError::InvalidPort)),
        ("[2001:db8::1]:", bad(HopError::InvalidPort)),
        ("[2001:db8::1]:x", bad(HopError::InvalidPort)),
        ("[2001:db8::1]443", bad(HopError::InvalidAddress)),
        ("[203.0.113.7]:443", bad(HopError::InvalidAddress)),
        // A bare v6:port is not an address when it cannot be one…
        ("2001:db8:0:0:0:0:0:1:443", bad(HopError::InvalidAddress)),
        ("::ffff:203.0.113.7:443", bad(HopError::InvalidAddress)),
        // …and when it spells a valid IPv6 address it is that address,
        // never split into address and port.
        ("2001:db8::1:443", Ok(("2001:db8::1:443", None))),
    ];
    let resolver = xff_private();
    for (value, expected) in table {
        let got = client_port(resolver.resolve(sock(GATEWAY), &xff(value)));
        assert_eq!(got, expected.map(|(a, p)| (ip(a), p)), "{value:?}");
    }

    let r = resolver
        .resolve(sock(GATEWAY), &xff("[2001:db8::1]:443"))
        .unwrap();
    assert_eq!(r.socket_addr(), Some(sock("[2001:db8::1]:443")));
    let r = resolver
        .resolve(sock(GATEWAY), &xff("203.0.113.7"))
        .unwrap();
    assert_eq!(r.socket_addr(), None);
}

#[test]
fn rule9_ports_reported_from_every_source() {
    let private = || set("10.0.0.0/8");
    type Row = (Resolver, HeaderMap, (&'static str, Option<u16>));
    let table: Vec<Row> = vec![
        // The peer's own port when the peer is the client.
        (
            Resolver::default(),
            HeaderMap::new(),
            ("10.0.0.3", Some(41000)),
        ),
        (
            build(Resolver::builder().forwarded().trusted_proxies(private())),
            headers(&[("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")]),
            ("2001:db8:cafe::17", Some(4711)),
        ),
        (
            build(Resolver::builder().forwarded().trusted_proxies(private())),
            headers(&[("forwarded", "for=\"192.0.2.43:_p1\"")]),
            ("192.0.2.43", None),
        ),
        (
            build(
                Resolver::builder()
                    .single_header(name("cloudfront-viewer-address"))
                    .trusted_proxies(private()),
            ),
            headers(&[("cloudfront-viewer-address", "2001:db8::1:52384")]),
            ("2001:db8::1", Some(52384)),
        ),
        (
            build(
                Resolver::builder()
                    .source(Source::x_real_ip())
                    .trusted_proxies(private()),
            ),
            headers(&[("x-real-ip", "203.0.113.7:8080")]),
            ("203.0.113.7", Some(8080)),
        ),
        (
            build(
                Resolver::builder()
                    .x_forwarded_for()
                    .trusted_hops(2, private()),
            ),
            xff("203.0.113.7:9, 10.0.0.2:443"),
            ("203.0.113.7", Some(9)),
        ),
    ];
    for (resolver, request, (addr, port)) in table {
        let got = client_port(resolver.resolve(sock(GATEWAY), &request));
        assert_eq!(got, Ok((ip(addr), port)), "{resolver}");
    }
}

// ---------------------------------------------------------------------------
// Rule 10. Forwarded is parsed by the RFC (the full table of RFC 7239 edge
// cases is tests/forwarded_rfc7239.rs).
// ---------------------------------------------------------------------------

#[test]
fn rule10_forwarded_by_the_rfc() {
    let resolver = build(
        Resolver::builder()
            .forwarded()
            .trusted_proxies(set("10.0.0.0/8")),
    );
    let table: &[(&str, Result<&str, Error>)] = &[
        // Quote-aware splitting on ',' and ';'.
        (
            "for=203.0.113.7;ext=\"a,b;c\", for=10.0.0.2",
            Ok("203.0.113.7"),
        ),
        // An escaped quote does not end the quoted-string, so the comma
        // after it is text too.
        (
            "for=203.0.113.7;ext=\"a\\\",b\", for=10.0.0.2",
            Ok("203.0.113.7"),
        ),
        (
            "for=203.0.113.7;ext=\"a\\\\\", for=10.0.0.2",
            Ok("203.0.113.7"),
        ),
        // Quoted-pair unescaping before the node is read.
        ("for=\"\\[2001:db8::1\\]\"", Ok("2001:db8::1")),
        // Case-insensitive parameter names.
        ("FOR=203.0.113.7;Proto=https", Ok("203.0.113.7")),
        // A duplicate parameter makes the element malformed.
        (
            "for=203.0.113.7;For=203.0.113.8",
            Err(Error::MalformedElement {
                index: 0,
                reason: ElementError::DuplicateParameter,
            }),
        ),
        // Unknown parameters are ignored.
        ("secret=x;for=203.0.113.7;v=\"1\"", Ok("203.0.113.7")),
        // for values.
        ("for=203.0.113.7", Ok("203.0.113.7")),
        ("for=\"203.0.113.7:80\"", Ok("203.0.113.7")),
        ("for=\"[2001:db8::1]:_x\"", Ok("2001:db8::1")),
        ("for=uNkNoWn", Err(Error::UnknownHop { index: 0 })),
        ("for=_obf", Err(Error::ObfuscatedHop { index: 0 })),
        // An element without for is an unknown hop.
        ("proto=https", Err(Error::MissingFor { index: 0 })),
        // Optional whitespace around ';' and '=' is tolerated, and means
        // nothing new.
        ("for = 203.0.113.7 ; proto = https", Ok("203.0.113.7")),
        (
            "for=203.0.113.7 10.0.0.2",
            Err(Error::MalformedElement {
                index: 0,
                reason: ElementError::InvalidValue,
            }),
        ),
    ];
    for (value, expected) in table {
        let got = resolver.resolve(sock(GATEWAY), &headers(&[("forwarded", value)]));
        assert_eq!(client(got), expected.map(ip), "{value:?}");
    }
}

// ---------------------------------------------------------------------------
// Rule 11. Unix sockets.
// ---------------------------------------------------------------------------

#[test]
fn rule11_unix_sockets() {
    let h = xff("203.0.113.7, 10.0.0.2");
    let none = HeaderMap::new();
    let trusting_unix = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_proxies(set("10.0.0.0/8"))
            .trust_unix_peer(true),
    );
    let table: Vec<(Resolver, Peer, &HeaderMap, Result<&str, Error>)> = vec![
        // Not configured: a Unix peer has no address to answer with.
        (xff_private(), Peer::Unix, &h, Err(Error::NoPeerAddress)),
        (
            Resolver::default(),
            Peer::Unix,
            &h,
            Err(Error::NoPeerAddress),
        ),
        // Configured: it is a trusted proxy.
        (trusting_unix.clone(), Peer::Unix, &h, Ok("203.0.113.7")),
        // …but an unknown peer never is.
        (
            trusting_unix.clone(),
            Peer::Unknown,
            &h,
            Err(Error::NoPeerAddress),
        ),
        (
            trusting_unix.clone(),
            Peer::from(None::<SocketAddr>),
            &h,
            Err(Error::NoPeerAddress),
        ),
        // Configured, but there is no header: nothing names the client,
        // and the request (not the server) is at fault.
        (
            trusting_unix.clone(),
            Peer::Unix,
            &none,
            Err(Error::UnixPeerSentNoHeader),
        ),
        // IP peers are judged as before.
        (
            trusting_unix.clone(),
            sock(STRANGER).into(),
            &h,
            Ok("203.0.113.66"),
        ),
    ];
    for (resolver, peer, request, expected) in table {
        assert_eq!(
            client(resolver.resolve(peer, request)),
            expected.map(ip),
            "{resolver} {peer}"
        );
    }
    assert!(Error::NoPeerAddress.is_configuration_error());
    assert!(!Error::UnixPeerSentNoHeader.is_configuration_error());
    let e = trusting_unix.explain(Peer::Unix, &none);
    assert_eq!(e.steps.len(), 1);
    assert_eq!(e.steps[0].verdict, Verdict::TrustedUnixPeer);
    assert_eq!(e.result, Err(Error::UnixPeerSentNoHeader));
    assert_eq!(
        e.diagnostics,
        [Diagnostic::TrustedPeerSentNoHeader {
            configured: "x-forwarded-for".into()
        }]
    );

    // The peer-only resolver cannot be told to trust a Unix peer: there is
    // no header it would vouch for.
    assert_eq!(
        Resolver::builder().trust_unix_peer(true).build(),
        Err(ConfigError::TrustWithoutHeader)
    );

    // Trusting the Unix peer alone is a complete configuration.
    let unix_only = build(Resolver::builder().x_forwarded_for().trust_unix_peer(true));
    let r = unix_only.resolve(Peer::Unix, &xff("10.0.0.2")).unwrap();
    assert_eq!(r.ip(), ip("10.0.0.2"));
    assert_eq!(r.origin(), &header_origin("x-forwarded-for", 0));
    assert_eq!(r.trusted_proxies(), 1);
    assert_eq!(r.peer(), Peer::Unix);
    assert_eq!(
        client(unix_only.resolve(sock(GATEWAY), &xff("203.0.113.7"))),
        Ok(ip("10.0.0.3"))
    );

    let e = trusting_unix.explain(Peer::Unix, &h);
    assert_eq!(e.steps[0].verdict, Verdict::TrustedUnixPeer);
    let e = xff_private().explain(Peer::Unix, &h);
    assert_eq!(e.steps[0].verdict, Verdict::NoAddress);
}

// ---------------------------------------------------------------------------
// DESIGN §0: the Istio scenarios, as the application sees them.
// ---------------------------------------------------------------------------

#[test]
fn istio_redirect_mode_the_sidecar_hides_the_client() {
    for (peer, sidecar) in [("127.0.0.6:51234", "127.0.0.6"), ("[::6]:51234", "::6")] {
        for request in [HeaderMap::new(), xff("10.2.6.77")] {
            let resolver = Resolver::default();
            let r = resolver.resolve(sock(peer), &request).unwrap();
            assert_eq!(r.ip(), ip(sidecar));
            assert_eq!(r.origin(), &Origin::Peer);
            let e = resolver.explain(sock(peer), &request);
            assert!(
                e.diagnostics
                    .contains(&Diagnostic::SidecarHidesClient { peer: ip(sidecar) }),
                "{peer}: {:?}",
                e.diagnostics
            );
        }
    }
    // Before Istio 1.10 the sidecar connected from 127.0.0.1: just a peer.
    let e = Resolver::default().explain(sock("127.0.0.1:51234"), &HeaderMap::new());
    assert!(!has(&e.diagnostics, "sidecar_hides_client"));
}

#[test]
fn istio_sidecar_appends_x_forwarded_for() {
    // Method 2: an EnvoyFilter sets use_remote_address on the inbound
    // listener; the sidecar appends the caller, and only that append is
    // believed.
    let resolver = build(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_proxies(ProxySet::preset(Preset::IstioSidecar)),
    );
    let sidecar = sock("127.0.0.6:51234");
    let table: &[(Option<&str>, &str)] = &[
        (Some("10.2.6.77"), "10.2.6.77"),
        // The caller forged its own XFF; the sidecar appended after it.
        (Some("6.6.6.6,10.2.6.77"), "10.2.6.77"),
        (Some("127.0.0.6, 6.6.6.6,10.2.6.77"), "10.2.6.77"),
    ];
    for (value, expected) in table {
        let request = value.map(xff).unwrap_or_default();
        assert_eq!(
            client(resolver.resolve(sidecar, &request)),
            Ok(ip(expected)),
            "{value:?}"
        );
        let e = resolver.explain(sidecar, &request);
        assert!(!has(&e.diagnostics, "sidecar_hides_client"));
    }
    // Over IPv6 the sidecar is ::6.
    assert_eq!(
        client(resolver.resolve(sock("[::6]:51234"), &xff("fd00::77"))),
        Ok(ip("fd00::77"))
    );
    // Without the append, the sidecar is all there is, and it says so.
    let e = resolver.explain(sidecar, &HeaderMap::new());
    assert_eq!(e.result.as_ref().map(Resolution::ip), Ok(ip("127.0.0.6")));
    assert!(has(&e.diagnostics, "sidecar_hides_client"));
    // A peer that is not the sidecar is the client, whatever it sends.
    let r = resolver
        .resolve(sock("10.2.6.99:4000"), &xff("10.2.6.77"))
        .unwrap();
    assert_eq!(r.ip(), ip("10.2.6.99"));
    let e = resolver.explain(sock("10.2.6.99:4000"), &xff("10.2.6.77"));
    assert!(has(
        &e.diagnostics,
        "forwarding_headers_from_untrusted_peer"
    ));
}

#[test]
fn istio_tproxy_the_peer_is_the_caller() {
    // Method 1: TPROXY interception keeps the caller's address on the socket.
    let resolver = Resolver::default();
    let caller = sock("10.2.6.77:38000");
    let r = resolver.resolve(caller, &HeaderMap::new()).unwrap();
    assert_eq!((r.ip(), r.port()), (ip("10.2.6.77"), Some(38000)));
    let e = resolver.explain(caller, &HeaderMap::new());
    assert!(!has(&e.diagnostics, "sidecar_hides_client"));
}

#[test]
fn istio_north_south_through_the_gateway_and_an_appending_sidecar() {
    // client -> L4 LB (externalTrafficPolicy: Local) -> ingress gateway
    // (appends the client) -> sidecar with use_remote_address (appends the
    // gateway pod) -> app. Trust the sidecar and the gateway pods.
    let resolver = xff_trusting("istio-sidecar, 10.244.0.0/16");
    let r = resolver
        .resolve(
            sock("127.0.0.6:51234"),
            &xff("6.6.6.6,120.244.1.2,10.244.0.17"),
        )
        .unwrap();
    assert_eq!(r.ip(), ip("120.244.1.2"));
    assert_eq!(r.origin(), &header_origin("x-forwarded-for", 1));
    assert_eq!(r.trusted_proxies(), 2);
}
