//! Conformance at the parser level: the rows of the RFC 7239 edge-case table
//! (reference/PROTOCOLS.md §1.5) that are about parsing, through
//! [`Element`] and [`RevElements`]. The whole table, through the resolver,
//! is `tests/forwarded_rfc7239.rs`.
//!
//! Rows 33 and 34 (whitespace around `=` and `;`) are pinned to DESIGN.md
//! rather than to strict RFC 7239: they are accepted with their plain
//! meaning, the leniency of DESIGN rule 10.

use std::net::IpAddr;

use super::{Element, ElementError, RevElements, Value};
use crate::addr::{HopAddr, HopError, Node};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v(raw: Option<Value<'_>>) -> Option<&[u8]> {
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
