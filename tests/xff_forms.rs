//! Conformance: the `X-Forwarded-For` element forms of
//! reference/PROTOCOLS.md §2.3, and the headers the producers of §2.2 write,
//! through the full resolver.
//!
//! Positions count from the right (0 = newest element);
//! `trusted_proxies()` counts the peer.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderValue};
use realip::{Error, HopError, Origin, ProxySet, Resolution, Resolver};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn xff_lines(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    map
}

fn xff(value: &str) -> HeaderMap {
    xff_lines(&[value])
}

fn trusting(trust: &str) -> Resolver {
    Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trust.parse::<ProxySet>().unwrap())
        .build()
        .unwrap()
}

fn counting(hops: usize, peers: &str) -> Resolver {
    Resolver::builder()
        .x_forwarded_for()
        .trusted_hops(hops, peers.parse::<ProxySet>().unwrap())
        .build()
        .unwrap()
}

fn at(index: usize) -> Origin {
    Origin::header(&http::HeaderName::from_static("x-forwarded-for"), index)
        .expect("a well-known header")
}

type Outcome = Result<(IpAddr, Option<u16>), Error>;

fn outcome(r: Result<Resolution, Error>) -> Outcome {
    r.map(|r| (r.ip(), r.port()))
}

/// §2.3: each form as the newest element, read from a trusted gateway.
#[test]
fn xff_element_forms() {
    let bad = |reason| Err(Error::MalformedHop { index: 0, reason });
    type Row = (&'static str, Result<(&'static str, Option<u16>), Error>);
    let table: &[Row] = &[
        ("1.2.3.4", Ok(("1.2.3.4", None))),
        // IPv6, any case, compressed or not.
        ("2001:db8::1", Ok(("2001:db8::1", None))),
        ("2001:DB8::1", Ok(("2001:db8::1", None))),
        (
            "2001:0DB8:0000:0000:0000:0000:0000:0001",
            Ok(("2001:db8::1", None)),
        ),
        // IPv4-mapped, either case, becomes IPv4.
        ("::ffff:1.2.3.4", Ok(("1.2.3.4", None))),
        ("::FFFF:1.2.3.4", Ok(("1.2.3.4", None))),
        // Ports.
        ("1.2.3.4:5678", Ok(("1.2.3.4", Some(5678)))),
        ("[2001:db8::1]:5678", Ok(("2001:db8::1", Some(5678)))),
        ("[2001:db8::1]", Ok(("2001:db8::1", None))),
        // CloudFront's unbracketed v6:port is ambiguous in a list header:
        // when it spells an IPv6 address it is read as that address, never
        // split; when it cannot be one, it is malformed.
        ("2001:db8::1:5678", Ok(("2001:db8::1:5678", None))),
        ("2001:db8::1:56789", bad(HopError::InvalidAddress)),
        // Identifiers without an address stop the walk.
        ("unknown", Err(Error::UnknownHop { index: 0 })),
        ("_obf", Err(Error::ObfuscatedHop { index: 0 })),
        // Quoted (an old MDN example) is not an XFF form.
        ("\"[2001:db8::1]\"", bad(HopError::InvalidCharacters)),
        // Two addresses without a comma.
        ("1.2.3.4 5.6.7.8", bad(HopError::InvalidCharacters)),
        // Empty elements are ignored.
        (",1.2.3.4,", Ok(("1.2.3.4", None))),
        (" , 1.2.3.4 , , ", Ok(("1.2.3.4", None))),
        ("", Err(Error::EmptyHeader)),
        (" , ,", Err(Error::EmptyHeader)),
    ];
    let resolver = trusting("10.0.0.0/8");
    for (value, expected) in table {
        let got = outcome(resolver.resolve(sock("10.0.0.3:41000"), &xff(value)));
        assert_eq!(got, expected.map(|(a, p)| (ip(a), p)), "{value:?}");
    }
    // A quoted IPv4 address is malformed too (the reason given is
    // "not an IP address": a quote is a printable character).
    let got = resolver.resolve(sock("10.0.0.3:41000"), &xff("\"1.2.3.4\""));
    assert!(
        matches!(got, Err(Error::MalformedHop { index: 0, .. })),
        "{got:?}"
    );
}

/// The same forms as a trusted proxy's hop: each must be recognised as the
/// proxy it names, so that the walk steps past it.
#[test]
fn xff_element_forms_of_trusted_hops() {
    let resolver = trusting("10.0.0.0/8, fd00::/8");
    for proxy in [
        "10.0.0.2",
        "10.0.0.2:443",
        "::ffff:10.0.0.2",
        "::FFFF:10.0.0.2",
        "[::ffff:10.0.0.2]:443",
        "fd00::2",
        "FD00::2",
        "[fd00::2]",
        "[fd00::2]:443",
    ] {
        let value = format!("203.0.113.7, {proxy}");
        let r = resolver
            .resolve(sock("10.0.0.3:41000"), &xff(&value))
            .unwrap();
        assert_eq!(r.ip(), ip("203.0.113.7"), "{value}");
        assert_eq!(r.origin(), &at(1), "{value}");
    }
}

/// The separators producers use: `,` (Envoy, Cloudflare, GCP), `, `
/// (nginx, ALB), any OWS around the comma (RFC 9110).
#[test]
fn xff_separators() {
    let resolver = trusting("10.0.0.0/8");
    for value in [
        "198.51.100.1,203.0.113.7,10.0.0.2",
        "198.51.100.1, 203.0.113.7, 10.0.0.2",
        "198.51.100.1 ,203.0.113.7 , 10.0.0.2",
        "198.51.100.1,\t203.0.113.7\t,\t10.0.0.2",
        "  198.51.100.1,   203.0.113.7,   10.0.0.2  ",
    ] {
        let r = resolver
            .resolve(sock("10.0.0.3:41000"), &xff(value))
            .unwrap();
        assert_eq!(
            (r.ip(), r.origin()),
            (ip("203.0.113.7"), &at(1)),
            "{value:?}"
        );
    }
}

/// Envoy (use_remote_address): appends a bare address with `,` and no
/// space; with `represent_ipv4_remote_address_as_ipv4_mapped_ipv6` it
/// writes `::FFFF:a.b.c.d`.
#[test]
fn xff_producer_envoy() {
    // The Istio docs' example: the gateway (peer 10.244.0.5) received
    // "56.5.6.7, 72.9.5.6, 98.1.2.3" and appended its peer, a node.
    let gateway = sock("10.244.0.5:41000");
    let value = "56.5.6.7, 72.9.5.6, 98.1.2.3,10.244.0.1";
    let resolver = trusting("10.244.0.0/16");
    let r = resolver.resolve(gateway, &xff(value)).unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("98.1.2.3"), &at(1)));

    // The same by hop count: the gateway (the peer) and the hop it
    // appended are the N = 2 nearest.
    let r = counting(2, "10.244.0.0/16")
        .resolve(gateway, &xff(value))
        .unwrap();
    assert_eq!(r.ip(), ip("98.1.2.3"));

    // The mapped representation, uppercase.
    let r = resolver
        .resolve(gateway, &xff("6.6.6.6,::FFFF:50.0.0.1"))
        .unwrap();
    assert_eq!(r.ip(), ip("50.0.0.1"));
    assert!(r.ip().is_ipv4());
    let r = resolver
        .resolve(gateway, &xff("::FFFF:50.0.0.1,::FFFF:10.244.0.1"))
        .unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("50.0.0.1"), &at(1)));
}

/// nginx `$proxy_add_x_forwarded_for`: the incoming lines joined with
/// `", "`, then `", "` and `$remote_addr` (a bare address; IPv6 unbracketed).
#[test]
fn xff_producer_nginx() {
    let resolver = trusting("10.0.0.0/8");
    let nginx = sock("10.0.0.3:41000");
    // The client sent two lines of its own; nginx merged them and appended.
    let r = resolver
        .resolve(nginx, &xff("1.1.1.1, 2.2.2.2, 203.0.113.7"))
        .unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("203.0.113.7"), &at(0)));
    let r = resolver.resolve(nginx, &xff("2001:db8::7")).unwrap();
    assert_eq!(r.ip(), ip("2001:db8::7"));
    // Two nginx in a row.
    let r = resolver
        .resolve(nginx, &xff("1.1.1.1, 203.0.113.7, 10.0.0.9"))
        .unwrap();
    assert_eq!((r.ip(), r.trusted_proxies()), (ip("203.0.113.7"), 2));
}

/// HAProxy `option forwardfor`: a new header line per hop; IPv6 unbracketed,
/// IPv4-mapped written as `::ffff:a.b.c.d`.
#[test]
fn xff_producer_haproxy_one_line_per_hop() {
    let resolver = trusting("10.0.0.0/8");
    let haproxy_b = sock("10.0.0.2:41000");
    // client 203.0.113.7 (forging "1.1.1.1") -> HAProxy A 10.0.0.1 ->
    // HAProxy B 10.0.0.2 -> app.
    let lines = ["1.1.1.1", "203.0.113.7", "10.0.0.1"];
    let r = resolver.resolve(haproxy_b, &xff_lines(&lines)).unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("203.0.113.7"), &at(1)));
    assert_eq!(r.trusted_proxies(), 2);
    // Reading only one of the lines would be wrong either way.
    assert_ne!(
        resolver.resolve(haproxy_b, &xff("1.1.1.1")).unwrap().ip(),
        r.ip()
    );
    assert_ne!(
        resolver.resolve(haproxy_b, &xff("10.0.0.1")).unwrap().ip(),
        r.ip()
    );

    let lines = ["2001:db8::7", "::ffff:10.0.0.1"];
    let r = resolver.resolve(haproxy_b, &xff_lines(&lines)).unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("2001:db8::7"), &at(1)));
    let lines = ["::ffff:203.0.113.7"];
    let r = resolver.resolve(haproxy_b, &xff_lines(&lines)).unwrap();
    assert_eq!(r.ip(), ip("203.0.113.7"));
}

/// AWS ALB: `", "`-separated, IPv6 bare (AWS's example is uppercase and not
/// RFC 5952), the client port appended when `xff_client_port` is enabled.
#[test]
fn xff_producer_aws_alb() {
    let resolver = trusting("10.0.0.0/8");
    let alb = sock("10.0.1.20:41000");
    let table: &[(&str, &str, Option<u16>)] = &[
        ("198.51.100.1, 203.0.113.7", "203.0.113.7", None),
        (
            "198.51.100.1, 203.0.113.7:54321",
            "203.0.113.7",
            Some(54321),
        ),
        (
            "2001:DB8::21f:5bff:febf:ce22:8a2e",
            "2001:db8:0:21f:5bff:febf:ce22:8a2e",
            None,
        ),
        ("[2001:db8::1]:54321", "2001:db8::1", Some(54321)),
    ];
    for (value, addr, port) in table {
        let got = outcome(resolver.resolve(alb, &xff(value)));
        assert_eq!(got, Ok((ip(addr), *port)), "{value:?}");
    }
}

/// Azure Application Gateway and App Service: `IP:port` always.
#[test]
fn xff_producer_azure() {
    let resolver = trusting("10.1.0.0/16");
    let appgw = sock("10.1.0.4:41000");
    let table: &[(&str, &str, Option<u16>, usize)] = &[
        ("203.0.113.7:54321", "203.0.113.7", Some(54321), 0),
        (
            "203.0.113.7:54321, 10.1.0.9:443",
            "203.0.113.7",
            Some(54321),
            1,
        ),
        (
            "1.1.1.1:1, 203.0.113.7:54321",
            "203.0.113.7",
            Some(54321),
            0,
        ),
        ("[2001:db8::7]:54321", "2001:db8::7", Some(54321), 0),
    ];
    for (value, addr, port, index) in table {
        let r = resolver.resolve(appgw, &xff(value)).unwrap();
        assert_eq!((r.ip(), r.port()), (ip(addr), *port), "{value:?}");
        assert_eq!(r.origin(), &at(*index), "{value:?}");
    }
}

/// IIS ARR / ASP.NET Core Module: `existing + ", " + addr`, IPv6 always
/// bracketed, the port included by default.
#[test]
fn xff_producer_iis() {
    let resolver = trusting("10.0.0.0/8");
    let iis = sock("10.0.0.3:41000");
    let table: &[(&str, &str, Option<u16>)] = &[
        ("203.0.113.7:54321", "203.0.113.7", Some(54321)),
        ("1.1.1.1, [2001:db8::1]:54321", "2001:db8::1", Some(54321)),
        ("1.1.1.1, [2001:db8::1]", "2001:db8::1", None),
        (
            "[2001:db8::1]:54321, 10.0.0.2:80",
            "2001:db8::1",
            Some(54321),
        ),
        (
            "[2001:db8::1]:54321, [::ffff:10.0.0.2]:80",
            "2001:db8::1",
            Some(54321),
        ),
    ];
    for (value, addr, port) in table {
        let got = outcome(resolver.resolve(iis, &xff(value)));
        assert_eq!(got, Ok((ip(addr), *port)), "{value:?}");
    }
}

/// GCP external Application LB appends `<client>,<lb-ip>`; Fly.io puts its
/// app IP last: the client is second from the right.
#[test]
fn xff_producer_second_from_the_right() {
    let gcp = counting(2, "130.211.0.0/22, 35.191.0.0/16");
    let gfe = sock("35.191.10.1:41000");
    let table: &[(&str, Result<&str, Error>)] = &[
        ("203.0.113.7,34.120.1.2", Ok("203.0.113.7")),
        ("6.6.6.6,203.0.113.7,34.120.1.2", Ok("203.0.113.7")),
        ("6.6.6.6, 7.7.7.7,203.0.113.7,34.120.1.2", Ok("203.0.113.7")),
        (
            "34.120.1.2",
            Err(Error::ChainTooShort {
                needed: 2,
                found: 1,
            }),
        ),
    ];
    for (value, expected) in table {
        let got = gcp.resolve(gfe, &xff(value)).map(|r| r.ip());
        assert_eq!(got, expected.map(ip), "{value:?}");
    }
    // A request that did not come through a GFE is its own client.
    assert_eq!(
        gcp.resolve(sock("203.0.113.66:5000"), &xff("6.6.6.6,1.2.3.4"))
            .map(|r| r.ip()),
        Ok(ip("203.0.113.66"))
    );

    let fly = counting(2, "172.16.0.0/12");
    let r = fly
        .resolve(
            sock("172.16.5.5:41000"),
            &xff("6.6.6.6, 203.0.113.7, 137.66.1.1"),
        )
        .unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("203.0.113.7"), &at(1)));
}

/// Cloudflare appends the address that connected to it with `,`, no space.
#[test]
fn xff_producer_cloudflare() {
    let resolver = trusting("173.245.48.0/20");
    let edge = sock("173.245.48.10:41000");
    let r = resolver
        .resolve(edge, &xff("203.0.113.1,198.51.100.101,198.51.100.102"))
        .unwrap();
    assert_eq!((r.ip(), r.origin()), (ip("198.51.100.102"), &at(0)));
}
