//! The cost of one resolution, per source and trust mode, and of the pieces
//! it is made of (one hop's parse, measured through the smallest resolution
//! that parses one hop; one trust lookup).
//!
//! Every resolver, header map and peer is built before timing starts, and
//! each setup is checked to take the path its name promises (the right
//! client, or the expected error), so a number never measures an unintended
//! early return. Targets and results are in `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench --bench resolve
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use realip::{Error, ProxySet, Resolver, SharedProxySet, Source};

/// The five trusted ranges of a typical private deployment.
const TRUSTED: &str = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7";

/// A gateway in the private network, as the application's socket sees it.
const GATEWAY: &str = "10.0.0.3:41000";

fn trusted() -> ProxySet {
    TRUSTED.parse().expect("the trusted ranges parse")
}

fn peer(text: &str) -> SocketAddr {
    text.parse().expect("the peer parses")
}

fn headers(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("a valid header value"),
    );
    headers
}

fn xff_resolver() -> Resolver {
    Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .expect("a valid configuration")
}

/// Times `resolver.resolve(peer, headers)` after checking that it resolves
/// `expected`.
fn bench_resolve(
    c: &mut Criterion,
    id: &str,
    resolver: &Resolver,
    peer: SocketAddr,
    headers: &HeaderMap,
    expected: &str,
) {
    let client = resolver
        .resolve(peer, headers)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .client();
    assert_eq!(client.to_string(), expected, "{id}");
    c.bench_function(id, |b| {
        b.iter(|| resolver.resolve(black_box(peer), black_box(headers)))
    });
}

fn resolve(c: &mut Criterion) {
    bench_resolve(
        c,
        "peer_only",
        &Resolver::default(),
        peer("203.0.113.9:5000"),
        &headers("x-forwarded-for", "198.51.100.1"),
        "203.0.113.9",
    );
    bench_resolve(
        c,
        "xff_3_hops",
        &xff_resolver(),
        peer(GATEWAY),
        &headers("x-forwarded-for", "203.0.113.7, 10.0.0.1, 10.0.0.2"),
        "203.0.113.7",
    );
    bench_resolve(
        c,
        "ipv6_chain",
        &xff_resolver(),
        peer("[fd00::3]:41000"),
        &headers("x-forwarded-for", "2001:db8:cafe::17, fd00::1, fd00::2"),
        "2001:db8:cafe::17",
    );
    let forwarded = Resolver::builder()
        .forwarded()
        .trusted_proxies(trusted())
        .build()
        .expect("a valid configuration");
    bench_resolve(
        c,
        "forwarded_3_elements",
        &forwarded,
        peer(GATEWAY),
        &headers(
            "forwarded",
            r#"for=203.0.113.7;proto=https, for=10.0.0.1, for="[fd00::2]:8080""#,
        ),
        "203.0.113.7",
    );
    let x_real_ip = Resolver::builder()
        .source(Source::x_real_ip())
        .trusted_proxies(trusted())
        .build()
        .expect("a valid configuration");
    bench_resolve(
        c,
        "x_real_ip",
        &x_real_ip,
        peer(GATEWAY),
        &headers("x-real-ip", "203.0.113.7"),
        "203.0.113.7",
    );
    // The peer and the newest element are the two counted proxies; the
    // counted hop is read too (it must be an address, rule 4).
    let hop_count = Resolver::builder()
        .x_forwarded_for()
        .trusted_hops(2, trusted())
        .build()
        .expect("a valid configuration");
    bench_resolve(
        c,
        "hop_count_2",
        &hop_count,
        peer(GATEWAY),
        &headers("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.1"),
        "203.0.113.7",
    );
    // xff_3_hops with the same ranges behind a SharedProxySet: the cost of
    // loading a set that can be replaced (once per resolution).
    let shared = Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(SharedProxySet::new(trusted()))
        .build()
        .expect("a valid configuration");
    bench_resolve(
        c,
        "xff_3_hops_shared_set",
        &shared,
        peer(GATEWAY),
        &headers("x-forwarded-for", "203.0.113.7, 10.0.0.1, 10.0.0.2"),
        "203.0.113.7",
    );
}

/// A hostile header: ~60 KB of trusted addresses. The walk must stop at
/// `max_hops` (32 by default), so the cost is bounded whatever the length.
fn xff_60kb_all_trusted(c: &mut Criterion) {
    let mut value = String::with_capacity(61_500);
    let mut i = 0u32;
    while value.len() < 60 * 1024 {
        if i > 0 {
            value.push_str(", ");
        }
        value.push_str(&Ipv4Addr::from(0x0a00_0000 + i).to_string());
        i += 1;
    }
    let headers = headers("x-forwarded-for", &value);
    let resolver = xff_resolver();
    let peer = peer(GATEWAY);
    assert!(
        matches!(
            resolver.resolve(peer, &headers),
            Err(Error::TooManyHops { limit: 32 })
        ),
        "xff_60kb_all_trusted must stop at max_hops"
    );
    c.bench_function("xff_60kb_all_trusted", |b| {
        b.iter(|| resolver.resolve(black_box(peer), black_box(&headers)))
    });
}

/// `ProxySet::contains` over 10,000 disjoint ranges of each family.
fn trust_membership(c: &mut Criterion) {
    let v4 = (0..10_000u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i * 512), 24).unwrap()));
    // /48s spaced two apart, so that no two merge.
    let v6 = (0..10_000u128).map(|i| {
        let base = 0x2001_0db8_u128 << 96 | (i * 2) << 80;
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), 48).unwrap())
    });
    let large: ProxySet = v4.chain(v6).collect();
    assert_eq!(large.range_count(), 20_000);
    let small = trusted();

    let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
    // Hits land in the middle of the sets, misses in the gaps between ranges.
    let probes = [
        ("v4_hit", ip("10.19.136.7"), true),
        ("v4_miss", ip("10.19.137.7"), false),
        ("v6_hit", ip("2001:db8:2710::1"), true),
        ("v6_miss", ip("2001:db8:2711::1"), false),
    ];
    let mut group = c.benchmark_group("trust_membership_10000_ranges");
    for (name, addr, expected) in probes {
        assert_eq!(large.contains(addr), expected, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| black_box(&large).contains(black_box(addr)))
        });
    }
    group.finish();

    // The same lookups in the five-range set a resolver usually holds.
    let probes = [
        ("v4_hit", ip("10.0.0.1"), true),
        ("v4_miss", ip("203.0.113.7"), false),
        ("v6_hit", ip("fd00::1"), true),
        ("v6_miss", ip("2001:db8::1"), false),
    ];
    let mut group = c.benchmark_group("trust_membership_5_ranges");
    for (name, addr, expected) in probes {
        assert_eq!(small.contains(addr), expected, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| black_box(&small).contains(black_box(addr)))
        });
    }
    group.finish();
}

/// One hop's text to an address.
///
/// The address reader is internal, so it is timed through the smallest
/// resolution that runs it once: `X-Real-IP` from a peer trusted as the
/// only proxy, whose one hop is the answer. Until the readers became
/// private these ids timed `addr::parse_list_node` alone; they now also
/// include a header lookup (`baseline/header_lookup_custom_name`) and the
/// walk's fixed cost around the parse.
fn parse(c: &mut Criterion) {
    let inputs = [
        ("v4", "203.0.113.7", "203.0.113.7"),
        ("v6", "2001:db8:cafe::17", "2001:db8:cafe::17"),
        (
            "v6_bracketed_port",
            "[2001:db8:cafe::17]:4711",
            "2001:db8:cafe::17",
        ),
    ];
    let peer = peer(GATEWAY);
    let resolver = Resolver::builder()
        .source(Source::x_real_ip())
        .trusted_proxies(
            peer.ip()
                .to_string()
                .parse::<ProxySet>()
                .expect("the peer's address"),
        )
        .build()
        .expect("a valid configuration");
    let mut group = c.benchmark_group("parse");
    for (name, input, expected) in inputs {
        let headers = headers("x-real-ip", input);
        let client = resolver
            .resolve(peer, &headers)
            .unwrap_or_else(|e| panic!("parse/{name}: {e}"))
            .client();
        assert_eq!(client.to_string(), expected, "parse/{name} parses");
        group.bench_function(name, |b| {
            b.iter(|| resolver.resolve(black_box(peer), black_box(&headers)))
        });
    }
    group.finish();
}

/// What realip cannot make cheaper: finding the header's lines in the
/// `HeaderMap`. A custom name (`x-forwarded-for`, `x-real-ip`) is hashed byte
/// by byte; a standard one (`forwarded`) by its index.
fn baseline(c: &mut Criterion) {
    let cases = [
        ("header_lookup_custom_name", "x-forwarded-for"),
        ("header_lookup_standard_name", "forwarded"),
    ];
    let mut group = c.benchmark_group("baseline");
    for (id, name) in cases {
        let headers = headers(name, "203.0.113.7");
        let name = HeaderName::from_static(name);
        group.bench_function(id, |b| {
            b.iter(|| {
                black_box(&headers)
                    .get_all(black_box(&name))
                    .iter()
                    .next_back()
            })
        });
    }
    // The standard library's parse of one IPv4 hop (from a `&str`, so no
    // UTF-8 check), for scale against `parse/v4` (less the header lookup).
    group.bench_function("std_ipv4_parse", |b| {
        b.iter(|| black_box("203.0.113.7").parse::<std::net::Ipv4Addr>())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = resolve, xff_60kb_all_trusted, trust_membership, parse, baseline
}
criterion_main!(benches);
