//! Conformance: every row of the RFC 7239 edge-case table
//! (reference/PROTOCOLS.md §1.5), through the full resolver and, where the
//! row is about parsing, through `forwarded::Element` and
//! `forwarded::RevElements`.
//!
//! The resolver of the table reads `Forwarded` from a trusted peer
//! (10.0.0.3, in 10.0.0.0/8) and also trusts 198.51.100.17 and 192.0.2.2, so
//! that rows with a chain show the walk going left. Positions count from
//! the right (0 = newest element).
//!
//! Two rows are pinned to DESIGN.md rather than to strict RFC 7239: rows 33
//! and 34 (whitespace around `=` and `;`) are accepted with their plain
//! meaning, the leniency of DESIGN rule 10; and row 43 (`:080`) reads the
//! port as 80, as `port = 1*5DIGIT` allows.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderValue};
use realip::addr::{HopAddr, HopError, Node};
use realip::explain::Diagnostic;
use realip::forwarded::{Element, ElementError, RevElements};
use realip::{Error, Origin, ProxySet, Resolution, Resolver};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gateway() -> SocketAddr {
    "10.0.0.3:41000".parse().unwrap()
}

fn resolver() -> Resolver {
    Resolver::builder()
        .forwarded()
        .trusted_proxies(
            "10.0.0.0/8, 198.51.100.17, 192.0.2.2"
                .parse::<ProxySet>()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// `Forwarded` lines, first first.
fn forwarded(lines: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        map.append(
            "forwarded",
            HeaderValue::from_bytes(line.as_bytes()).unwrap(),
        );
    }
    map
}

/// What a row must resolve to.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The client, its port, and the element it was read from.
    Client(&'static str, Option<u16>, usize),
    /// The error.
    Fails(Error),
}

use Expect::{Client, Fails};

fn element(index: usize, reason: ElementError) -> Expect {
    Fails(Error::MalformedElement { index, reason })
}

fn hop(index: usize, reason: HopError) -> Expect {
    Fails(Error::MalformedHop { index, reason })
}

fn check(row: u32, lines: &[&str], expected: Expect) {
    let got = resolver().resolve(gateway(), &forwarded(lines));
    match expected {
        Client(addr, port, index) => {
            let r: Resolution = got.unwrap_or_else(|e| panic!("row {row} {lines:?}: {e:?}"));
            assert_eq!(r.ip(), ip(addr), "row {row} {lines:?}");
            assert_eq!(r.port(), port, "row {row} {lines:?}");
            assert_eq!(
                r.origin(),
                &Origin::header(&http::header::FORWARDED, index).unwrap(),
                "row {row} {lines:?}"
            );
        }
        Fails(e) => assert_eq!(got, Err(e), "row {row} {lines:?}"),
    }
}

/// Every row of PROTOCOLS.md §1.5 (row 48, two headers, is its own test
/// below). A row with several values ("A or B") has one line per value.
#[test]
fn rfc7239_table_through_the_resolver() {
    use ElementError::{DuplicateParameter, InvalidParameter, InvalidValue, UnterminatedQuote};
    let table: &[(u32, &[&str], Expect)] = &[
        // 1: the RFC §4 example.
        (
            1,
            &["for=192.0.2.60;proto=http;by=203.0.113.43"],
            Client("192.0.2.60", None, 0),
        ),
        // 2: parameter names are case-insensitive.
        (
            2,
            &["For=192.0.2.60;PROTO=http"],
            Client("192.0.2.60", None, 0),
        ),
        // 3: quoted, bracketed IPv6 with a port.
        (
            3,
            &["For=\"[2001:db8:cafe::17]:4711\""],
            Client("2001:db8:cafe::17", Some(4711), 0),
        ),
        // 4: IPv6 without a port.
        (
            4,
            &["for=\"[2001:db8::1]\""],
            Client("2001:db8::1", None, 0),
        ),
        // 5-7: IPv6 must be quoted and bracketed.
        (5, &["for=[2001:db8::1]"], element(0, InvalidValue)),
        (6, &["for=2001:db8::1"], element(0, InvalidValue)),
        (
            7,
            &["for=\"2001:db8::1\""],
            hop(0, HopError::InvalidAddress),
        ),
        // 8: an obfuscated port carries no port number.
        (
            8,
            &["for=\"[2001:db8::1]:_p1\""],
            Client("2001:db8::1", None, 0),
        ),
        // 9: IPv4 with a port.
        (
            9,
            &["for=\"192.0.2.43:47011\""],
            Client("192.0.2.43", Some(47011), 0),
        ),
        // 10: a port requires quoting.
        (10, &["for=192.0.2.43:47011"], element(0, InvalidValue)),
        // 11: a chain; the rightmost element is the newest.
        (
            11,
            &["for=192.0.2.43, for=198.51.100.17"],
            Client("192.0.2.43", None, 1),
        ),
        // 12: lines are concatenated in order: the newest is `for=unknown`.
        (
            12,
            &["for=192.0.2.43", "for=\"[2001:db8:cafe::17]\", for=unknown"],
            Fails(Error::UnknownHop { index: 0 }),
        ),
        // 12, with the unknown hop replaced by a trusted proxy: the walk
        // crosses from the second line into the first.
        (
            12,
            &["for=192.0.2.43", "for=198.51.100.17"],
            Client("192.0.2.43", None, 1),
        ),
        // 13: no whitespace is needed between elements.
        (
            13,
            &["for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"],
            Fails(Error::UnknownHop { index: 0 }),
        ),
        (
            13,
            &["for=192.0.2.43,for=198.51.100.17,for=192.0.2.2"],
            Client("192.0.2.43", None, 2),
        ),
        // 14-17: valid, but no IP: the walk stops there with an error.
        (14, &["for=unknown"], Fails(Error::UnknownHop { index: 0 })),
        (15, &["for=UNKNOWN"], Fails(Error::UnknownHop { index: 0 })),
        (
            15,
            &["for=\"unknown\""],
            Fails(Error::UnknownHop { index: 0 }),
        ),
        (15, &["for=Unknown"], Fails(Error::UnknownHop { index: 0 })),
        (
            16,
            &["for=\"unknown:8080\""],
            Fails(Error::UnknownHop { index: 0 }),
        ),
        (16, &["for=unknown:8080"], element(0, InvalidValue)),
        (
            17,
            &["for=_hidden"],
            Fails(Error::ObfuscatedHop { index: 0 }),
        ),
        (
            17,
            &["for=_SEVKISEK"],
            Fails(Error::ObfuscatedHop { index: 0 }),
        ),
        (
            17,
            &["for=\"_gazonk\""],
            Fails(Error::ObfuscatedHop { index: 0 }),
        ),
        // 18-23: not a node.
        (18, &["for=_"], hop(0, HopError::InvalidCharacters)),
        (19, &["for=_a+b"], hop(0, HopError::InvalidCharacters)),
        (20, &["for=x-foo"], hop(0, HopError::InvalidAddress)),
        (21, &["for=010.0.0.1"], hop(0, HopError::LegacyIpv4)),
        (22, &["for=127.1"], hop(0, HopError::LegacyIpv4)),
        (22, &["for=2130706433"], hop(0, HopError::LegacyIpv4)),
        (23, &["for=192.0.2.256"], hop(0, HopError::InvalidAddress)),
        // 24-25: a parameter repeated in one element.
        (
            24,
            &["for=192.0.2.1;for=192.0.2.2"],
            element(0, DuplicateParameter),
        ),
        (
            25,
            &["for=192.0.2.1;FOR=192.0.2.2"],
            element(0, DuplicateParameter),
        ),
        // 26-27: empty elements are ignored and are not hops.
        (
            26,
            &["for=192.0.2.1,,for=192.0.2.2"],
            Client("192.0.2.1", None, 1),
        ),
        (27, &["for=192.0.2.1,"], Client("192.0.2.1", None, 0)),
        (27, &[", for=192.0.2.1"], Client("192.0.2.1", None, 0)),
        // 28: no element at all: fail closed.
        (28, &[""], Fails(Error::EmptyHeader)),
        (28, &[","], Fails(Error::EmptyHeader)),
        (28, &[", ,"], Fails(Error::EmptyHeader)),
        // 29-30: empty pairs are allowed.
        (
            29,
            &["for=192.0.2.1;;proto=https"],
            Client("192.0.2.1", None, 0),
        ),
        (30, &["for=192.0.2.1;"], Client("192.0.2.1", None, 0)),
        // 31-32: an element without `for` is an unknown hop.
        (31, &[";"], Fails(Error::MissingFor { index: 0 })),
        (
            32,
            &["proto=https;by=203.0.113.43"],
            Fails(Error::MissingFor { index: 0 }),
        ),
        // 33-34: whitespace around `=` and `;` (DESIGN rule 10 leniency).
        (33, &["for = 192.0.2.1"], Client("192.0.2.1", None, 0)),
        (
            34,
            &["for=192.0.2.1; proto=https"],
            Client("192.0.2.1", None, 0),
        ),
        // 35: quoted-pairs are unescaped before the node is read.
        (
            35,
            &["for=\"\\[2001:db8::1\\]:4711\""],
            Client("2001:db8::1", Some(4711), 0),
        ),
        // 36: unterminated quoted-strings.
        (36, &["for=\"192.0.2.1"], element(0, UnterminatedQuote)),
        (36, &["for=\"192.0.2.1\\\""], element(0, UnterminatedQuote)),
        // 37: one element whose value is `a,b`, not two elements.
        (37, &["for=\"a,b\""], hop(0, HopError::InvalidAddress)),
        // 38: an extension parameter with `;` and `,` inside quotes.
        (
            38,
            &["for=192.0.2.1;ext=\"x;y,z\""],
            Client("192.0.2.1", None, 0),
        ),
        // 39: IPv6 has no zone.
        (39, &["for=\"[fe80::1%25eth0]\""], hop(0, HopError::ZoneId)),
        (39, &["for=\"[fe80::1%eth0]\""], hop(0, HopError::ZoneId)),
        // 40: IPv4-mapped becomes IPv4, in the answer…
        (
            40,
            &["for=\"[::ffff:192.0.2.1]\""],
            Client("192.0.2.1", None, 0),
        ),
        // …and for the trust check (192.0.2.2 is trusted).
        (
            40,
            &["for=203.0.113.9, for=\"[::ffff:192.0.2.2]\""],
            Client("203.0.113.9", None, 1),
        ),
        // 41: uppercase IPv6.
        (
            41,
            &["for=\"[2001:DB8::1]\""],
            Client("2001:db8::1", None, 0),
        ),
        // 42-43: ports out of range.
        (
            42,
            &["for=\"[2001:db8::1]:65536\""],
            hop(0, HopError::InvalidPort),
        ),
        (
            43,
            &["for=\"192.0.2.1:080\""],
            Client("192.0.2.1", Some(80), 0),
        ),
        (
            43,
            &["for=\"192.0.2.1:123456\""],
            hop(0, HopError::InvalidPort),
        ),
        // 44: an empty node.
        (44, &["for=\"\""], hop(0, HopError::Empty)),
        (44, &["for="], element(0, InvalidValue)),
        // 45: an empty name, a pair without `=`.
        (45, &["=192.0.2.1"], element(0, InvalidParameter)),
        (45, &["for=192.0.2.1;by"], element(0, InvalidParameter)),
        // 46: a quoted host with a port.
        (
            46,
            &["for=192.0.2.1;host=\"example.com:8443\";proto=https"],
            Client("192.0.2.1", None, 0),
        ),
        // 47: invalid IPv6.
        (
            47,
            &["for=\"[2001:db8:::1]\""],
            hop(0, HopError::InvalidAddress),
        ),
        (
            47,
            &["for=\"[1:2:3:4:5:6:7:8:9]\""],
            hop(0, HopError::InvalidAddress),
        ),
    ];
    let mut rows: Vec<u32> = table.iter().map(|(row, _, _)| *row).collect();
    for (row, lines, expected) in table {
        check(*row, lines, *expected);
    }
    // Every row but 48 is in the table.
    rows.dedup();
    assert_eq!(rows, (1..=47).collect::<Vec<_>>());
}

/// The malformed rows stay errors when a well-formed client stands to
/// their left: the walk never skips them.
#[test]
fn rfc7239_malformed_rows_are_never_skipped() {
    let bad = [
        "for=[2001:db8::1]",
        "for=2001:db8::1",
        "for=\"2001:db8::1\"",
        "for=192.0.2.43:47011",
        "for=unknown",
        "for=_hidden",
        "for=_",
        "for=x-foo",
        "for=010.0.0.1",
        "for=192.0.2.1;for=192.0.2.9",
        ";",
        "proto=https",
        "for=\"a,b\"",
        "for=\"[fe80::1%eth0]\"",
        "for=\"\"",
        "for=",
        "=192.0.2.1",
    ];
    for value in bad {
        let line = format!("for=203.0.113.9, {value}, for=10.0.0.2");
        let got = resolver().resolve(gateway(), &forwarded(&[&line]));
        let err = got.expect_err(&line);
        assert_eq!(err.hop_index(), Some(1), "{line}: {err:?}");
    }
}

/// Row 48: `Forwarded` and `X-Forwarded-For` disagree. Only the configured
/// one is read; they are never merged, and the explanation notes both.
#[test]
fn rfc7239_row48_forwarded_and_x_forwarded_for_never_merge() {
    let mut request = forwarded(&["for=192.0.2.43"]);
    request.append("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));

    assert_eq!(
        resolver().resolve(gateway(), &request).map(|r| r.ip()),
        Ok(ip("192.0.2.43"))
    );
    let xff = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
        .build()
        .unwrap();
    assert_eq!(
        xff.resolve(gateway(), &request).map(|r| r.ip()),
        Ok(ip("198.51.100.9"))
    );
    for r in [resolver(), xff.clone()] {
        let e = r.explain(gateway(), &request);
        assert!(
            e.diagnostics
                .contains(&Diagnostic::ForwardedAndXForwardedFor)
        );
    }

    // The configured header being unreadable does not bring in the other.
    let mut request = forwarded(&["for=unknown"]);
    request.append("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));
    assert_eq!(
        resolver().resolve(gateway(), &request),
        Err(Error::UnknownHop { index: 0 })
    );
    let mut request = forwarded(&["for=192.0.2.43"]);
    request.append("x-forwarded-for", HeaderValue::from_static("unknown"));
    assert_eq!(
        xff.resolve(gateway(), &request),
        Err(Error::UnknownHop { index: 0 })
    );
}

// ---------------------------------------------------------------------------
// The same rows at the parser level.
// ---------------------------------------------------------------------------

fn v(raw: Option<realip::forwarded::Value<'_>>) -> Option<&[u8]> {
    raw.map(|v| v.as_raw())
}

fn node_ip(addr: &str, port: Option<u16>) -> Option<Result<Node, HopError>> {
    Some(Ok(Node::Ip(HopAddr { ip: ip(addr), port })))
}

#[test]
fn rfc7239_elements_parse_by_the_grammar() {
    // Row 1: every parameter is available.
    let e = Element::parse(b"for=192.0.2.60;proto=http;by=203.0.113.43").unwrap();
    assert_eq!(e.for_node(), node_ip("192.0.2.60", None));
    assert_eq!(v(e.proto()), Some(&b"http"[..]));
    assert_eq!(e.by_node(), node_ip("203.0.113.43", None));
    assert_eq!(v(e.host()), None);

    // Row 2: names in any case.
    let e = Element::parse(b"For=192.0.2.60;PROTO=http").unwrap();
    assert_eq!(e.for_node(), node_ip("192.0.2.60", None));
    assert_eq!(v(e.proto()), Some(&b"http"[..]));

    // Rows 29-32: empty pairs; elements without for.
    let e = Element::parse(b"for=192.0.2.1;;proto=https").unwrap();
    assert_eq!(e.for_node(), node_ip("192.0.2.1", None));
    assert_eq!(v(e.proto()), Some(&b"https"[..]));
    assert_eq!(
        Element::parse(b"for=192.0.2.1;").unwrap().for_node(),
        node_ip("192.0.2.1", None)
    );
    assert_eq!(Element::parse(b";").unwrap().for_node(), None);
    let e = Element::parse(b"proto=https;by=203.0.113.43").unwrap();
    assert_eq!(e.for_node(), None);
    assert_eq!(e.by_node(), node_ip("203.0.113.43", None));

    // Row 35: the raw value keeps the escapes; the node is read unescaped.
    let e = Element::parse(br#"for="\[2001:db8::1\]:4711""#).unwrap();
    assert_eq!(v(e.for_value()), Some(&br"\[2001:db8::1\]:4711"[..]));
    assert!(e.for_value().unwrap().is_quoted());
    assert_eq!(e.for_value().unwrap().unescaped(), b"[2001:db8::1]:4711");
    assert_eq!(e.for_node(), node_ip("2001:db8::1", Some(4711)));

    // Row 38: the extension parameter is skipped, quotes and all.
    let e = Element::parse(br#"for=192.0.2.1;ext="x;y,z""#).unwrap();
    assert_eq!(e.for_node(), node_ip("192.0.2.1", None));
    assert_eq!((v(e.host()), v(e.proto()), v(e.by())), (None, None, None));

    // Row 46: host is quoted because of its colon.
    let e = Element::parse(br#"for=192.0.2.1;host="example.com:8443";proto=https"#).unwrap();
    assert_eq!(v(e.host()), Some(&b"example.com:8443"[..]));
    assert!(e.host().unwrap().is_quoted());
    assert_eq!(v(e.proto()), Some(&b"https"[..]));

    // Rows 33-34: whitespace is tolerated and changes nothing.
    for s in [
        "for = 192.0.2.1",
        "for=192.0.2.1; proto=https",
        "for=192.0.2.1 ;proto=https",
    ] {
        let e = Element::parse(s.as_bytes()).unwrap();
        assert_eq!(e.for_node(), node_ip("192.0.2.1", None), "{s:?}");
    }

    // The grammar errors of rows 5, 6, 10, 16, 24, 25, 36, 44, 45.
    let bad: &[(u32, &str, ElementError)] = &[
        (5, "for=[2001:db8::1]", ElementError::InvalidValue),
        (6, "for=2001:db8::1", ElementError::InvalidValue),
        (10, "for=192.0.2.43:47011", ElementError::InvalidValue),
        (16, "for=unknown:8080", ElementError::InvalidValue),
        (
            24,
            "for=192.0.2.1;for=192.0.2.2",
            ElementError::DuplicateParameter,
        ),
        (
            25,
            "for=192.0.2.1;FOR=192.0.2.2",
            ElementError::DuplicateParameter,
        ),
        (
            25,
            "proto=http;Proto=https",
            ElementError::DuplicateParameter,
        ),
        (36, "for=\"192.0.2.1", ElementError::UnterminatedQuote),
        (36, "for=\"192.0.2.1\\\"", ElementError::UnterminatedQuote),
        (44, "for=", ElementError::InvalidValue),
        (45, "=192.0.2.1", ElementError::InvalidParameter),
        (45, "for=192.0.2.1;by", ElementError::InvalidParameter),
    ];
    for (row, s, err) in bad {
        assert_eq!(Element::parse(s.as_bytes()), Err(*err), "row {row}: {s:?}");
    }
}

#[test]
fn rfc7239_nodes_after_unescaping() {
    let table: &[(u32, &str, Result<Node, HopError>)] = &[
        (
            3,
            "For=\"[2001:db8:cafe::17]:4711\"",
            Ok(Node::Ip(HopAddr {
                ip: ip("2001:db8:cafe::17"),
                port: Some(4711),
            })),
        ),
        (7, "for=\"2001:db8::1\"", Err(HopError::InvalidAddress)),
        (
            8,
            "for=\"[2001:db8::1]:_p1\"",
            Ok(Node::Ip(HopAddr {
                ip: ip("2001:db8::1"),
                port: None,
            })),
        ),
        (14, "for=unknown", Ok(Node::Unknown)),
        (15, "for=UNKNOWN", Ok(Node::Unknown)),
        (15, "for=\"unknown\"", Ok(Node::Unknown)),
        (16, "for=\"unknown:8080\"", Ok(Node::Unknown)),
        (17, "for=_hidden", Ok(Node::Obfuscated)),
        (17, "for=\"_gazonk\"", Ok(Node::Obfuscated)),
        (18, "for=_", Err(HopError::InvalidCharacters)),
        (19, "for=_a+b", Err(HopError::InvalidCharacters)),
        (20, "for=x-foo", Err(HopError::InvalidAddress)),
        (21, "for=010.0.0.1", Err(HopError::LegacyIpv4)),
        (23, "for=192.0.2.256", Err(HopError::InvalidAddress)),
        (37, "for=\"a,b\"", Err(HopError::InvalidAddress)),
        (39, "for=\"[fe80::1%25eth0]\"", Err(HopError::ZoneId)),
        (
            40,
            "for=\"[::ffff:192.0.2.1]\"",
            Ok(Node::Ip(HopAddr {
                ip: ip("192.0.2.1"),
                port: None,
            })),
        ),
        (
            42,
            "for=\"[2001:db8::1]:65536\"",
            Err(HopError::InvalidPort),
        ),
        (43, "for=\"192.0.2.1:123456\"", Err(HopError::InvalidPort)),
        (44, "for=\"\"", Err(HopError::Empty)),
        (
            47,
            "for=\"[1:2:3:4:5:6:7:8:9]\"",
            Err(HopError::InvalidAddress),
        ),
    ];
    for (row, s, expected) in table {
        let e = Element::parse(s.as_bytes()).unwrap_or_else(|e| panic!("row {row}: {e}"));
        assert_eq!(e.for_node(), Some(*expected), "row {row}: {s:?}");
    }
}

/// Rows 35 and 38 combined: quoted-pairs inside a quoted-string that also
/// holds a comma. Splitting from the right must honour the escapes.
const ESCAPES: &[(u32, &[&str], &[&str])] = &[
    (
        38,
        &[r#"for=192.0.2.1;ext="x\",y", for=192.0.2.2"#],
        &["for=192.0.2.2", r#"for=192.0.2.1;ext="x\",y""#],
    ),
    (
        38,
        &[r#"for=192.0.2.1;ext="x\\", for=192.0.2.2"#],
        &["for=192.0.2.2", r#"for=192.0.2.1;ext="x\\""#],
    ),
    (
        35,
        &[r#"for="\"a,b", for=192.0.2.2"#],
        &["for=192.0.2.2", r#"for="\"a,b""#],
    ),
];

/// The raw elements of a field, newest first, across lines.
fn rev(lines: &[&str]) -> Vec<Result<String, ElementError>> {
    RevElements::new(lines.iter().rev().map(|l| l.as_bytes()))
        .map(|e| e.map(|b| String::from_utf8(b.to_vec()).unwrap()))
        .collect()
}

#[test]
fn rfc7239_list_splitting() {
    type Row = (u32, &'static [&'static str], &'static [&'static str]);
    let table: &[Row] = &[
        (
            11,
            &["for=192.0.2.43, for=198.51.100.17"],
            &["for=198.51.100.17", "for=192.0.2.43"],
        ),
        (
            12,
            &["for=192.0.2.43", "for=\"[2001:db8:cafe::17]\", for=unknown"],
            &[
                "for=unknown",
                "for=\"[2001:db8:cafe::17]\"",
                "for=192.0.2.43",
            ],
        ),
        (
            13,
            &["for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"],
            &[
                "for=unknown",
                "for=\"[2001:db8:cafe::17]\"",
                "for=192.0.2.43",
            ],
        ),
        (
            26,
            &["for=192.0.2.1,,for=192.0.2.2"],
            &["for=192.0.2.2", "", "for=192.0.2.1"],
        ),
        (27, &["for=192.0.2.1,"], &["", "for=192.0.2.1"]),
        (27, &[", for=192.0.2.1"], &["for=192.0.2.1", ""]),
        (28, &[", ,"], &["", "", ""]),
        (37, &["for=\"a,b\""], &["for=\"a,b\""]),
        (
            38,
            &["for=192.0.2.1;ext=\"x;y,z\""],
            &["for=192.0.2.1;ext=\"x;y,z\""],
        ),
    ];
    for (row, lines, expected) in table.iter().chain(ESCAPES) {
        let expected: Vec<_> = expected.iter().map(|s| Ok(s.to_string())).collect();
        assert_eq!(rev(lines), expected, "row {row}: {lines:?}");
    }
    // Row 36: an unbalanced quote is reported, and cannot swallow what a
    // proxy appended after it.
    assert_eq!(
        rev(&["for=\"192.0.2.1"]),
        [Err(ElementError::UnterminatedQuote)]
    );
    assert_eq!(
        rev(&["for=\"192.0.2.1, for=192.0.2.9"]),
        [
            Ok("for=192.0.2.9".to_owned()),
            Err(ElementError::UnterminatedQuote)
        ]
    );
}
