//! Conformance: every row of the RFC 7239 edge-case table
//! (reference/PROTOCOLS.md §1.5), through the full resolver. The rows about
//! parsing are also checked at the parser level, beside the parser
//! (`src/forwarded/rfc7239_tests.rs`).
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
use realip::explain::Diagnostic;
use realip::{ElementError, Error, HopError, Origin, ProxySet, Resolution, Resolver};

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
