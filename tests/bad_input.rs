//! Conformance: hostile and broken input gets a clear error, never a panic,
//! and errors never echo what the client sent.
//!
//! Every request here comes from a trusted gateway (10.0.0.3), so the
//! headers are read. Positions count from the right (0 = newest element).

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use realip::explain::MAX_RAW_LEN;
use realip::resolver::{DEFAULT_MAX_HOPS, MAX_EMPTY_ELEMENTS};
use realip::{ElementError, Error, HopError, ProxySet, Resolution, Resolver, Source};

const TOO_MANY_EMPTIES: Error = Error::TooManyEmptyElements {
    limit: MAX_EMPTY_ELEMENTS,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gateway() -> SocketAddr {
    "10.0.0.3:41000".parse().unwrap()
}

fn private() -> ProxySet {
    "10.0.0.0/8".parse().unwrap()
}

/// One header line from raw bytes (anything `HeaderValue` admits: 0x20 to
/// 0xff except DEL, and tab).
fn header(name: &str, value: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.append(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_bytes(value).unwrap(),
    );
    map
}

/// The resolvers under test, one per kind of source, with the header each
/// reads.
fn resolvers() -> Vec<(&'static str, Resolver)> {
    let b = || Resolver::builder();
    vec![
        (
            "x-forwarded-for",
            b().x_forwarded_for()
                .trusted_proxies(private())
                .build()
                .unwrap(),
        ),
        (
            "forwarded",
            b().forwarded().trusted_proxies(private()).build().unwrap(),
        ),
        (
            "x-real-ip",
            b().source(Source::x_real_ip())
                .trusted_proxies(private())
                .build()
                .unwrap(),
        ),
        (
            "cloudfront-viewer-address",
            b().single_header(HeaderName::from_static("cloudfront-viewer-address"))
                .trusted_proxies(private())
                .build()
                .unwrap(),
        ),
        (
            "x-forwarded-for",
            b().x_forwarded_for()
                .trusted_hops(2, private())
                .build()
                .unwrap(),
        ),
    ]
}

fn resolver_for(name: &str) -> Resolver {
    resolvers()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| r)
        .unwrap()
}

fn resolve(source: &str, value: &[u8]) -> Result<IpAddr, Error> {
    resolver_for(source)
        .resolve(gateway(), &header(source, value))
        .map(|r| r.ip())
}

fn hop(index: usize, reason: HopError) -> Error {
    Error::MalformedHop { index, reason }
}

fn element(index: usize, reason: ElementError) -> Error {
    Error::MalformedElement { index, reason }
}

#[test]
fn bad_input_non_utf8_bytes() {
    for b in 0x80..=0xffu8 {
        let alone = [b];
        let rows: Vec<(&str, Vec<u8>, Result<&str, Error>)> = vec![
            (
                "x-forwarded-for",
                alone.to_vec(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "x-forwarded-for",
                [b"203.0.113.7, ".as_slice(), &alone].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "x-forwarded-for",
                [b"1.2.3.".as_slice(), &alone].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "x-forwarded-for",
                [b"[2001:db8::".as_slice(), &alone, b"]"].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            // Left of the client: never read.
            (
                "x-forwarded-for",
                [&alone, b", 203.0.113.7".as_slice()].concat(),
                Ok("203.0.113.7"),
            ),
            (
                "forwarded",
                [b"for=\"".as_slice(), &alone, b"\""].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "forwarded",
                [b"for=\"[".as_slice(), &alone, b"]\""].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "forwarded",
                [b"for=".as_slice(), &alone].concat(),
                Err(element(0, ElementError::InvalidValue)),
            ),
            (
                "forwarded",
                [&alone, b"=1, for=203.0.113.7".as_slice()].concat(),
                Ok("203.0.113.7"),
            ),
            // Obs-text inside an unknown parameter's quoted-string is legal.
            (
                "forwarded",
                [b"for=203.0.113.7;ext=\"".as_slice(), &alone, b"\""].concat(),
                Ok("203.0.113.7"),
            ),
            (
                "x-real-ip",
                alone.to_vec(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "cloudfront-viewer-address",
                [&alone, b":443".as_slice()].concat(),
                Err(hop(0, HopError::InvalidCharacters)),
            ),
            (
                "cloudfront-viewer-address",
                [b"203.0.113.7:".as_slice(), &alone].concat(),
                Err(hop(0, HopError::InvalidPort)),
            ),
        ];
        for (source, value, expected) in rows {
            assert_eq!(
                resolve(source, &value),
                expected.map(ip),
                "{source}: {value:x?}"
            );
        }
    }
    // Valid UTF-8 that is not ASCII is no better.
    assert_eq!(
        resolve("x-forwarded-for", "203.0.113.7\u{e9}".as_bytes()),
        Err(hop(0, HopError::InvalidCharacters))
    );
    assert_eq!(
        resolve("x-forwarded-for", "２０３.0.113.7".as_bytes()),
        Err(hop(0, HopError::InvalidCharacters))
    );
}

#[test]
fn bad_input_non_utf8_bytes_are_escaped_in_explanations() {
    let resolver = resolver_for("x-forwarded-for");
    let e = resolver.explain(gateway(), &header("x-forwarded-for", b"\xff\x80x"));
    assert_eq!(e.steps[1].raw.as_deref(), Some("\\xff\\x80x"));
}

#[test]
fn bad_input_100_kb_headers() {
    let kb100 = 100 * 1024;
    let escaped = "\\x".repeat(kb100 / 2);
    let rows: Vec<(&str, String, Error)> = vec![
        (
            "x-forwarded-for",
            "10.0.0.1,".repeat(kb100 / 9),
            Error::TooManyHops {
                limit: DEFAULT_MAX_HOPS,
            },
        ),
        (
            "x-forwarded-for",
            "x".repeat(kb100),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "x-forwarded-for",
            "1:".repeat(kb100 / 2),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "x-forwarded-for",
            "[".repeat(kb100),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "x-forwarded-for",
            format!("203.0.113.7:{}", "9".repeat(kb100)),
            hop(0, HopError::InvalidPort),
        ),
        (
            "forwarded",
            format!("for=\"{}\"", "x".repeat(kb100)),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "forwarded",
            format!("for={}", "x".repeat(kb100)),
            hop(0, HopError::InvalidAddress),
        ),
        // A long value that needs unescaping is bounded too.
        (
            "forwarded",
            format!("for=\"{escaped}\""),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "forwarded",
            format!("for=1.2.3.4{}", ";a=1".repeat(kb100 / 4)),
            element(0, ElementError::DuplicateParameter),
        ),
        (
            "forwarded",
            format!(
                "for=1.2.3.4{}",
                (0..kb100 / 8)
                    .map(|i| format!(";p{i}=1"))
                    .collect::<String>()
            ),
            element(0, ElementError::TooManyParameters),
        ),
        (
            "forwarded",
            "for=10.0.0.1,".repeat(kb100 / 13),
            Error::TooManyHops {
                limit: DEFAULT_MAX_HOPS,
            },
        ),
        (
            "x-real-ip",
            "x".repeat(kb100),
            hop(0, HopError::InvalidAddress),
        ),
        (
            "cloudfront-viewer-address",
            format!("{}:443", "x".repeat(kb100)),
            hop(0, HopError::InvalidAddress),
        ),
    ];
    for (source, value, expected) in rows {
        assert!(value.len() >= 99 * 1024, "{source}: {}", value.len());
        assert_eq!(
            resolve(source, value.as_bytes()),
            Err(expected),
            "{source}: {:.30}…",
            value
        );
    }
}

#[test]
fn bad_input_10_000_empty_elements() {
    let commas = ",".repeat(10_000);
    let spaced = ", ".repeat(10_000);
    let rows: Vec<(&str, String, Result<&str, Error>)> = vec![
        ("x-forwarded-for", commas.clone(), Err(TOO_MANY_EMPTIES)),
        ("x-forwarded-for", spaced.clone(), Err(TOO_MANY_EMPTIES)),
        (
            "x-forwarded-for",
            format!("203.0.113.7{commas}10.0.0.2"),
            Err(TOO_MANY_EMPTIES),
        ),
        (
            "x-forwarded-for",
            format!("{commas}203.0.113.7"),
            Ok("203.0.113.7"),
        ),
        ("forwarded", commas.clone(), Err(TOO_MANY_EMPTIES)),
        ("forwarded", spaced.clone(), Err(TOO_MANY_EMPTIES)),
        (
            "forwarded",
            format!("for=203.0.113.7{commas}for=10.0.0.2"),
            Err(TOO_MANY_EMPTIES),
        ),
        (
            "forwarded",
            format!("{commas}for=203.0.113.7"),
            Ok("203.0.113.7"),
        ),
        // Semicolons are empty pairs of one element, bounded by nothing but
        // the element's length; they are not elements.
        (
            "forwarded",
            format!("for=203.0.113.7{}", ";".repeat(10_000)),
            Ok("203.0.113.7"),
        ),
        // A single-address header is never split: commas are not an address.
        (
            "x-real-ip",
            commas.clone(),
            Err(hop(0, HopError::InvalidAddress)),
        ),
    ];
    for (source, value, expected) in rows {
        assert_eq!(
            resolve(source, value.as_bytes()),
            expected.map(ip),
            "{source}: {:.30}…",
            value
        );
    }
}

#[test]
fn bad_input_unbalanced_quotes() {
    let rows: &[(&str, &str, Result<&str, Error>)] = &[
        (
            "forwarded",
            "for=\"203.0.113.7",
            Err(element(0, ElementError::UnterminatedQuote)),
        ),
        (
            "forwarded",
            "for=\"203.0.113.7\\\"",
            Err(element(0, ElementError::UnterminatedQuote)),
        ),
        (
            "forwarded",
            "for=203.0.113.7\"",
            Err(element(0, ElementError::UnterminatedQuote)),
        ),
        (
            "forwarded",
            "\"",
            Err(element(0, ElementError::UnterminatedQuote)),
        ),
        (
            "forwarded",
            "for=203.0.113.7;ext=\"a",
            Err(element(0, ElementError::UnterminatedQuote)),
        ),
        // A client's open quote swallows nothing a proxy appended after it…
        (
            "forwarded",
            "for=\"evil, for=203.0.113.7",
            Ok("203.0.113.7"),
        ),
        // …and is an error when the walk reaches it.
        (
            "forwarded",
            "for=\"evil, for=10.0.0.2",
            Err(element(1, ElementError::UnterminatedQuote)),
        ),
        (
            "forwarded",
            "for=\"evil\\\", for=10.0.0.2",
            Err(element(1, ElementError::UnterminatedQuote)),
        ),
        // A quote in a list header is just a wrong character.
        (
            "x-forwarded-for",
            "\"203.0.113.7",
            Err(hop(0, HopError::InvalidCharacters)),
        ),
        (
            "x-forwarded-for",
            "\"[2001:db8::1]",
            Err(hop(0, HopError::InvalidCharacters)),
        ),
        ("x-forwarded-for", "\"evil, 203.0.113.7", Ok("203.0.113.7")),
        (
            "x-real-ip",
            "\"203.0.113.7",
            Err(hop(0, HopError::InvalidCharacters)),
        ),
    ];
    for (source, value, expected) in rows {
        assert_eq!(
            resolve(source, value.as_bytes()),
            expected.map(ip),
            "{source}: {value:?}"
        );
    }
}

#[test]
fn bad_input_invalid_ports() {
    let port = |index| Err(hop(index, HopError::InvalidPort));
    let rows: &[(&str, &str, Result<&str, Error>)] = &[
        ("x-forwarded-for", "203.0.113.7:", port(0)),
        ("x-forwarded-for", "203.0.113.7:65536", port(0)),
        ("x-forwarded-for", "203.0.113.7:99999", port(0)),
        ("x-forwarded-for", "203.0.113.7:123456", port(0)),
        ("x-forwarded-for", "203.0.113.7:-1", port(0)),
        ("x-forwarded-for", "203.0.113.7:+80", port(0)),
        ("x-forwarded-for", "203.0.113.7:0x50", port(0)),
        ("x-forwarded-for", "203.0.113.7:8 0", port(0)),
        ("x-forwarded-for", "[2001:db8::1]:", port(0)),
        ("x-forwarded-for", "[2001:db8::1]:65536", port(0)),
        ("x-forwarded-for", "[2001:db8::1]:http", port(0)),
        ("x-forwarded-for", "203.0.113.7, 10.0.0.2:65536", port(0)),
        ("x-forwarded-for", "203.0.113.7:65536, 10.0.0.2", port(1)),
        ("forwarded", "for=\"203.0.113.7:\"", port(0)),
        ("forwarded", "for=\"203.0.113.7:65536\"", port(0)),
        ("forwarded", "for=\"[2001:db8::1]:123456\"", port(0)),
        ("forwarded", "for=\"203.0.113.7:_\"", port(0)),
        ("forwarded", "for=\"203.0.113.7:_a+b\"", port(0)),
        ("forwarded", "for=\"unknown:65536\"", port(0)),
        ("x-real-ip", "203.0.113.7:65536", port(0)),
        ("cloudfront-viewer-address", "203.0.113.7:", port(0)),
        ("cloudfront-viewer-address", "203.0.113.7:65536", port(0)),
        ("cloudfront-viewer-address", "2001:db8::1:65536", port(0)),
        ("cloudfront-viewer-address", "203.0.113.7", port(0)),
    ];
    for (source, value, expected) in rows {
        assert_eq!(
            resolve(source, value.as_bytes()),
            expected.map(ip),
            "{source}: {value:?}"
        );
    }
}

#[test]
fn bad_input_addressless_and_forbidden_hops() {
    let rows: &[(&str, &str, Error)] = &[
        ("x-forwarded-for", "unknown", Error::UnknownHop { index: 0 }),
        ("x-forwarded-for", "UNKNOWN", Error::UnknownHop { index: 0 }),
        (
            "x-forwarded-for",
            "_hidden",
            Error::ObfuscatedHop { index: 0 },
        ),
        ("x-forwarded-for", "_", hop(0, HopError::InvalidCharacters)),
        (
            "x-forwarded-for",
            "_a:b",
            hop(0, HopError::InvalidCharacters),
        ),
        (
            "x-forwarded-for",
            "unknown:80",
            hop(0, HopError::InvalidAddress),
        ),
        ("x-forwarded-for", "fe80::1%eth0", hop(0, HopError::ZoneId)),
        (
            "x-forwarded-for",
            "fe80::1%25eth0",
            hop(0, HopError::ZoneId),
        ),
        (
            "x-forwarded-for",
            "[fe80::1%eth0]:80",
            hop(0, HopError::ZoneId),
        ),
        ("x-forwarded-for", "0.0.0.0", hop(0, HopError::Unspecified)),
        ("x-forwarded-for", "::", hop(0, HopError::Unspecified)),
        ("x-forwarded-for", "[::]", hop(0, HopError::Unspecified)),
        (
            "x-forwarded-for",
            "::ffff:0.0.0.0",
            hop(0, HopError::Unspecified),
        ),
        ("forwarded", "for=unknown", Error::UnknownHop { index: 0 }),
        (
            "forwarded",
            "for=_hidden",
            Error::ObfuscatedHop { index: 0 },
        ),
        (
            "forwarded",
            "for=\"[fe80::1%25eth0]\"",
            hop(0, HopError::ZoneId),
        ),
        ("forwarded", "for=0.0.0.0", hop(0, HopError::Unspecified)),
        (
            "forwarded",
            "for=\"[::]:80\"",
            hop(0, HopError::Unspecified),
        ),
        ("x-real-ip", "unknown", Error::UnknownHop { index: 0 }),
        ("x-real-ip", "_hidden", Error::ObfuscatedHop { index: 0 }),
        ("x-real-ip", "fe80::1%eth0", hop(0, HopError::ZoneId)),
        ("x-real-ip", "0.0.0.0", hop(0, HopError::Unspecified)),
        (
            "cloudfront-viewer-address",
            "fe80::1%eth0:443",
            hop(0, HopError::ZoneId),
        ),
        (
            "cloudfront-viewer-address",
            "0.0.0.0:443",
            hop(0, HopError::Unspecified),
        ),
        (
            "cloudfront-viewer-address",
            ":::443",
            hop(0, HopError::Unspecified),
        ),
        (
            "cloudfront-viewer-address",
            "unknown:443",
            hop(0, HopError::InvalidAddress),
        ),
    ];
    for (source, value, expected) in rows {
        assert_eq!(
            resolve(source, value.as_bytes()),
            Err(*expected),
            "{source}: {value:?}"
        );
    }
}

/// Every error message is a fixed sentence with numbers: the header's text
/// never appears in it, however long or strange.
#[test]
fn bad_input_errors_never_echo_the_header() {
    const MARKER: &str = "EVIL-MARKER";
    let huge = format!("{MARKER}{}", "A".repeat(100 * 1024));
    let values: Vec<String> = vec![
        MARKER.to_owned(),
        format!("{MARKER}, 10.0.0.2"),
        format!("for={MARKER}"),
        format!("for=\"{MARKER}\""),
        format!("for=\"[{MARKER}]:80\""),
        format!("for=\"{MARKER}"),
        format!("for=1.2.3.4;{MARKER}"),
        format!("for=1.2.3.4;for={MARKER}"),
        format!("{MARKER}:443"),
        format!("[{MARKER}]:443"),
        format!("1.2.3.4:{MARKER}"),
        format!("fe80::1%{MARKER}"),
        format!("_{MARKER}:x"),
        huge.clone(),
        format!("for=\"{huge}\""),
        format!("for={huge}"),
    ];
    let mut errors = 0;
    for (source, resolver) in resolvers() {
        for value in &values {
            let request = header(source, value.as_bytes());
            let Err(e) = resolver.resolve(gateway(), &request) else {
                continue;
            };
            errors += 1;
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(MARKER), "{source}: {text}");
                assert!(!text.contains("AAAA"), "{source}: {text}");
                assert!(text.len() < 300, "{source}: {} bytes", text.len());
            }
        }
    }
    // Every value fails for every source that reads it.
    assert_eq!(errors, values.len() * resolvers().len());

    // An explanation shows what it read, but boundedly.
    let resolver = resolver_for("x-forwarded-for");
    let e = resolver.explain(gateway(), &header("x-forwarded-for", huge.as_bytes()));
    let raw = e.steps[1].raw.as_deref().unwrap();
    assert!(raw.len() <= MAX_RAW_LEN + '…'.len_utf8(), "{}", raw.len());
    assert!(e.to_string().len() < 4096);
}

/// A deterministic sweep over short strings of the characters that matter
/// to the parsers: every source answers, none panics, and any answer is a
/// real, canonical address.
#[test]
fn bad_input_byte_soup_never_panics() {
    const ALPHABET: &[u8] = b"0123456789abcdefABCDEFxunkow.:[]_-,;=\" \t\\%/+\x80\xff";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let resolvers = resolvers();
    for _ in 0..5_000 {
        let len = (next() % 40) as usize;
        let value: Vec<u8> = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        for (source, resolver) in &resolvers {
            let request = header(source, &value);
            let result: Result<Resolution, Error> = resolver.resolve(gateway(), &request);
            match result {
                Ok(r) => {
                    assert!(!r.ip().is_unspecified(), "{source}: {value:x?}");
                    assert_eq!(r.ip(), r.ip().to_canonical(), "{source}: {value:x?}");
                }
                // The peer is a trusted IP proxy: only the header can be at
                // fault, and a hop it names is one the header holds.
                Err(e) => {
                    assert!(
                        !e.is_configuration_error()
                            && !matches!(e, Error::UnspecifiedPeer | Error::UnixPeerSentNoHeader),
                        "{source}: {value:x?}: {e:?}"
                    );
                    let elements = value.iter().filter(|&&b| b == b',').count() + 1;
                    assert!(
                        e.hop_index().is_none_or(|i| i < elements),
                        "{source}: {value:x?}: {e:?}"
                    );
                }
            }
            // The explanation runs the same walk and agrees.
            let explanation = resolver.explain(gateway(), &request);
            assert_eq!(
                explanation.result,
                resolver.resolve(gateway(), &request),
                "{source}: {value:x?}"
            );
        }
    }
}
