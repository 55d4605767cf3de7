//! `resolve` answers common requests on a one-pass fast path and leaves
//! everything else to the walk; `explain` always walks. The two must agree
//! on every request, and the requests where they could differ are the ones
//! *near* the common case: a valid chain with one element slightly off
//! (a leading zero, a port where none belongs, whitespace, an empty
//! element, an escape, a repeated parameter, the unspecified address, a
//! chain that runs past `max_hops` or out of counted hops).
//!
//! This generates exactly those: chains of elements drawn from common and
//! near-common forms, joined by the separators real producers (and
//! careless ones) write, read by resolvers of every trust mode.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use proptest::sample::select;
use realip::Resolver;

/// `X-Forwarded-For` (and single-IP) elements: common forms first, then
/// the near misses.
const LIST_ELEMENTS: &[&str] = &[
    "203.0.113.7",
    "198.51.100.1",
    "10.0.0.1",
    "10.0.0.2",
    "10.255.255.255",
    "192.168.1.1",
    "255.255.255.255",
    "1.2.3.4",
    "2001:db8:cafe::17",
    "fd00::1",
    "[fd00::2]",
    "[fd00::2]:8080",
    "::ffff:10.0.0.9",
    "::ffff:203.0.113.9",
    "10.0.0.3:41000",
    "203.0.113.7:443",
    // near misses
    "0.0.0.0",
    "::",
    "010.0.0.1",
    "10.0.0.01",
    "10.0.0.256",
    "10.0.0",
    "10.0.0.1.",
    "10.0.0.1:",
    "10.0.0.1:65536",
    "10.0.0.1:0080",
    "10.0.0.1 ",
    " 10.0.0.1",
    "10.0.0.1 10.0.0.2",
    "10.0.0.1x",
    "x10.0.0.1",
    "1234.0.0.1",
    "2001:db8::1:443",
    "fe80::1%eth0",
    "[fd00::2",
    "unknown",
    "UNKNOWN",
    "_hidden",
    "\"10.0.0.1\"",
    "",
    " ",
];

const LIST_SEPARATORS: &[&str] = &[",", ", ", " , ", ",\t", ",,", ", ,"];

/// `Forwarded` pairs and whole elements.
const FOR_VALUES: &[&str] = &[
    "203.0.113.7",
    "10.0.0.1",
    "10.0.0.2",
    "\"10.0.0.1:80\"",
    "\"[fd00::2]:8080\"",
    "\"[2001:db8:cafe::17]\"",
    "\"[::ffff:10.0.0.1]\"",
    "\"_p\"",
    // near misses
    "0.0.0.0",
    "010.0.0.1",
    "10.0.0.1:80",
    "[fd00::2]",
    "\"[fd00::2]:8080",
    "\"\\[fd00::2\\]:8080\"",
    "\"10.0.0.1\\\"\"",
    "unknown",
    "_hidden",
    "\"\"",
    "",
];

const OTHER_PAIRS: &[&str] = &[
    "proto=https",
    "PROTO=http",
    "by=10.0.0.9",
    "by=\"[fd00::9]:80\"",
    "host=example.com",
    "host=\"a,b;c\"",
    "ext=1",
    "proto=",
    "proto=\"unterminated",
    "proto=ht\\tp",
    // near misses of the names the fast path knows
    "proto:https",
    "protos=https",
    "pr=https",
    "b=10.0.0.9",
    "hosts=example.com",
];

/// The name of the `for` pair, near misses last.
const FOR_NAMES: &[&str] = &["for", "FOR", "For", "fOr", "fo", "forr", "xfor"];

/// What joins the `for` name to its value, near misses last.
const FOR_EQUALS: &[&str] = &["=", "=", "=", ":", " =", "= "];

const PAIR_SEPARATORS: &[&str] = &[";", ";", ";", " ; ", ";;"];

fn list_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(select(LIST_ELEMENTS), 1..6),
        prop::collection::vec(select(LIST_SEPARATORS), 6),
        any::<bool>(),
    )
        .prop_map(|(elements, separators, pad)| {
            let mut line = String::new();
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    line.push_str(separators[i]);
                }
                line.push_str(element);
            }
            if pad { format!(" {line} ") } else { line }
        })
}

fn forwarded_element() -> impl Strategy<Value = String> {
    (
        (select(FOR_NAMES), select(FOR_EQUALS)),
        select(FOR_VALUES),
        prop::collection::vec(select(OTHER_PAIRS), 0..3),
        select(PAIR_SEPARATORS),
        0usize..4,
        any::<bool>(),
    )
        .prop_map(|((name, equals), value, others, separator, at, twice)| {
            let mut pairs: Vec<String> = others.iter().map(|p| p.to_string()).collect();
            let for_pair = format!("{name}{equals}{value}");
            pairs.insert(at.min(pairs.len()), for_pair.clone());
            if twice {
                pairs.push(for_pair);
            }
            pairs.join(separator)
        })
}

fn forwarded_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(forwarded_element(), 1..5),
        prop::collection::vec(select(&[",", ", ", " , ", ",,"][..]), 5),
    )
        .prop_map(|(elements, separators)| {
            let mut line = String::new();
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    line.push_str(separators[i]);
                }
                line.push_str(element);
            }
            line
        })
}

/// A resolver's text form: source, trust mode and limits.
fn config(source: &'static str) -> impl Strategy<Value = String> {
    (
        select(
            &[
                "trust=10.0.0.0/8",
                "trust=10.0.0.0/8, fd00::/8",
                "trust=10.0.0.0/8, fd00::/8, ::ffff:203.0.113.0/120",
                "trust=0.0.0.0/1, 128.0.0.0/1, ::/96, 2000::/3, 8000::/1",
                "hops=1; any-peer",
                "hops=2; any-peer",
                "hops=3; any-peer",
                "hops=2; trust=10.0.0.0/8",
                "hops=3; trust=10.0.0.0/8, fd00::/8",
            ][..],
        ),
        select(&["", "; all-trusted=error"][..]),
        select(&["", "; max-hops=1", "; max-hops=2", "; max-hops=3"][..]),
    )
        .prop_map(move |(trust, all_trusted, max_hops)| {
            let all_trusted = if trust.starts_with("hops") {
                ""
            } else {
                all_trusted
            };
            format!("{source}; {trust}{all_trusted}{max_hops}")
        })
}

fn peer() -> impl Strategy<Value = SocketAddr> {
    select(
        &[
            "10.0.0.3:41000",
            "[fd00::3]:41000",
            "[::ffff:10.0.0.3]:41000",
            "198.51.100.66:41000",
            "0.0.0.0:41000",
        ][..],
    )
    .prop_map(|text| text.parse().unwrap())
}

fn headers(name: &str, lines: &[String]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(value) = HeaderValue::from_str(line) {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value,
            );
        }
    }
    headers
}

fn agree(config: &str, peer: SocketAddr, headers: &HeaderMap) -> Result<(), TestCaseError> {
    // Some mixes are refused by the builder (a hop count above max_hops,
    // a hop count on a single-IP header): proptest draws again.
    let parsed = config.parse::<Resolver>();
    prop_assume!(parsed.is_ok(), "refused: {}", config);
    let resolver = parsed.unwrap();
    let resolved = resolver.resolve(peer, headers);
    let explained = resolver.explain(peer, headers).result;
    prop_assert_eq!(
        &resolved,
        &explained,
        "config {:?}, peer {}, headers {:?}",
        config,
        peer,
        headers
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        max_global_rejects: 1 << 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn x_forwarded_for(
        config in config("x-forwarded-for"),
        peer in peer(),
        lines in prop::collection::vec(list_line(), 0..3),
    ) {
        agree(&config, peer, &headers("x-forwarded-for", &lines))?;
    }

    #[test]
    fn single_ip_header(
        config in config("x-real-ip"),
        peer in peer(),
        lines in prop::collection::vec(select(LIST_ELEMENTS).prop_map(String::from), 0..3),
    ) {
        agree(&config, peer, &headers("x-real-ip", &lines))?;
    }

    #[test]
    fn cloudfront_viewer_address(
        config in config("cloudfront-viewer-address"),
        peer in peer(),
        lines in prop::collection::vec(
            select(&["198.51.100.10:46532", "2001:db8::1:52384", "198.51.100.10", "10.0.0.1:80"][..])
                .prop_map(String::from)
                .prop_union(select(LIST_ELEMENTS).prop_map(String::from)),
            0..3,
        ),
    ) {
        agree(&config, peer, &headers("cloudfront-viewer-address", &lines))?;
    }

    #[test]
    fn forwarded(
        config in config("forwarded"),
        peer in peer(),
        lines in prop::collection::vec(forwarded_line(), 0..3),
    ) {
        agree(&config, peer, &headers("forwarded", &lines))?;
    }
}

/// The fast path does answer: a common request gets the walk's answer with
/// its origin, through `resolve` as through `explain`.
#[test]
fn common_requests_resolve_as_explained() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "x-forwarded-for",
            "203.0.113.7, 10.0.0.1, 10.0.0.2",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "x-forwarded-for",
            "10.0.0.1, 10.0.0.2",
        ),
        (
            "x-forwarded-for; hops=2; trust=10.0.0.0/8",
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.1",
        ),
        (
            "forwarded; trust=10.0.0.0/8, fd00::/8",
            "forwarded",
            "for=203.0.113.7;proto=https, for=10.0.0.1, for=\"[fd00::2]:8080\"",
        ),
        ("x-real-ip; trust=10.0.0.0/8", "x-real-ip", "203.0.113.7"),
    ];
    let peer: SocketAddr = "10.0.0.3:41000".parse().unwrap();
    for (config, name, line) in cases {
        let resolver: Resolver = config.parse().unwrap();
        let headers = headers(name, &[line.to_string()]);
        let resolved = resolver.resolve(peer, &headers).unwrap();
        assert_eq!(
            Ok(resolved),
            resolver.explain(peer, &headers).result,
            "{config}"
        );
    }
}

/// Quoted-strings decide where `Forwarded` elements split: a quoted-pair
/// can hide a quote, a quoted-string a comma. The fast path leaves any line
/// with a backslash or an open quote to the walk; these cases hold it to
/// the walk's split. Dropping either exit from `fast::forwarded_line` fails
/// here (checked by removing each).
#[test]
fn quotes_and_escapes_split_forwarded_as_the_walk_does() {
    let peer: SocketAddr = "10.0.0.3:41000".parse().unwrap();
    // Header lines are separated by `|`; `None`: the walk's error.
    let cases: &[(&str, &str, Option<&str>)] = &[
        // The escaped quote keeps the comma inside the `host` string: one
        // element before the proxy's.
        (
            "forwarded; trust=10.0.0.0/8",
            r#"for=192.0.2.1;host="a\",for=6.6.6.6", for=10.0.0.1"#,
            Some("192.0.2.1"),
        ),
        // Read from the right, the last element is `for=6.6.6.6;by="x"`:
        // the client. What lies left of it (malformed when read from the
        // left) is never read, as for any hop beyond the client.
        (
            "forwarded; trust=10.0.0.0/8",
            r#"for=192.0.2.1;host="a\",for=6.6.6.6;by="x""#,
            Some("6.6.6.6"),
        ),
        // Under a hop count the elements inside the count are skipped
        // unread, so only the split sees their quotes. Taking the escaped
        // quotes for real ones would count the last element as two and
        // name 2.2.2.2.
        (
            "forwarded; hops=3; trust=10.0.0.0/8",
            r#"for=1.1.1.1, for=2.2.2.2, for=9.9.9.9;host="p\"q,r\"s""#,
            Some("1.1.1.1"),
        ),
        (
            "forwarded; hops=3; trust=10.0.0.0/8",
            r#"for=1.1.1.1, for=2.2.2.2, for=9.9.9.9;host="a,b""#,
            Some("1.1.1.1"),
        ),
        (
            "forwarded; hops=3; trust=10.0.0.0/8",
            r#"for=1.1.1.1, for=2.2.2.2, for=9.9.9.9;host="a"#,
            None,
        ),
        // An open quote on a line of its own: not one element to skip and
        // go on from to the line before.
        (
            "forwarded; hops=3; trust=10.0.0.0/8",
            r#"for=1.1.1.1, for=2.2.2.2|for=9.9.9.9;host="a"#,
            None,
        ),
    ];
    for (config, text, client) in cases {
        let resolver: Resolver = config.parse().unwrap();
        let lines: Vec<String> = text.split('|').map(str::to_owned).collect();
        let headers = headers("forwarded", &lines);
        let explained = resolver.explain(peer, &headers).result;
        assert_eq!(resolver.resolve(peer, &headers), explained, "{text}");
        let got = explained.ok().map(|r| r.ip().to_string());
        assert_eq!(got.as_deref(), *client, "{text}");
    }
}
