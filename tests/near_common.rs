//! Requests near the common case, resolved through the public API with
//! the answers pinned: quoted-strings and quoted-pairs that decide where
//! `Forwarded` elements split, and the common forms the quick readers take.
//! (The quick readers themselves are compared with the exact ones in
//! `src/walk/quick_readers.rs`.)

use std::net::SocketAddr;

use http::{HeaderMap, HeaderValue};
use realip::Resolver;

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

/// Common requests, which the quick readers read, get the answer and
/// origin of the rules, through `resolve` as through `explain`.
#[test]
fn common_requests_resolve_as_explained() {
    // (configuration, header, value, client, index of the client's hop)
    let cases: &[(&str, &str, &str, &str, usize)] = &[
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "x-forwarded-for",
            "203.0.113.7, 10.0.0.1, 10.0.0.2",
            "203.0.113.7",
            2,
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "x-forwarded-for",
            "10.0.0.1, 10.0.0.2",
            "10.0.0.1",
            1,
        ),
        (
            "x-forwarded-for; hops=2; trust=10.0.0.0/8",
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.1",
            "203.0.113.7",
            1,
        ),
        (
            "forwarded; trust=10.0.0.0/8, fd00::/8",
            "forwarded",
            "for=203.0.113.7;proto=https, for=10.0.0.1, for=\"[fd00::2]:8080\"",
            "203.0.113.7",
            2,
        ),
        (
            "x-real-ip; trust=10.0.0.0/8",
            "x-real-ip",
            "203.0.113.7",
            "203.0.113.7",
            0,
        ),
    ];
    let peer: SocketAddr = "10.0.0.3:41000".parse().unwrap();
    for (config, name, line, client, index) in cases {
        let resolver: Resolver = config.parse().unwrap();
        let headers = headers(name, &[line.to_string()]);
        let resolved = resolver.resolve(peer, &headers).unwrap();
        assert_eq!(resolved.client().to_string(), *client, "{config}");
        assert_eq!(
            *resolved.origin(),
            realip::Origin::header(&http::HeaderName::from_static(name), *index).unwrap(),
            "{config}"
        );
        assert_eq!(
            Ok(resolved),
            resolver.explain(peer, &headers).result,
            "{config}"
        );
    }
}

/// Quoted-strings decide where `Forwarded` elements split: a quoted-pair
/// can hide a quote, a quoted-string a comma.
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
