//! `Resolver::resolve` never touches the heap: not to resolve, not to fail,
//! and not when the `Resolution` it returns is dropped. Nor does the tower
//! layer's telemetry (features `tracing` and `metrics`), whoever listens.
//!
//! A counting global allocator wraps the system one. Counting is per thread
//! and only between `start` and `stop`, so the test harness's own threads
//! (and other tests running in parallel) cannot add to a count. Every
//! resolver, header map and peer is built before counting starts, and each
//! case checks outside the counted region that it takes the path its name
//! promises.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use realip::{Error, Origin, Peer, ProxySet, Resolution, Resolver};

struct Counting;

thread_local! {
    /// Whether this thread is inside a counted region.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Allocations, reallocations and frees seen while active.
    static EVENTS: Cell<usize> = const { Cell::new(0) };
}

fn record() {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let _ = EVENTS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping touches only `const`-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record();
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many heap events (allocations, reallocations, frees) `f` causes on
/// this thread.
fn heap_events(f: impl FnOnce()) -> usize {
    EVENTS.with(|n| n.set(0));
    ACTIVE.with(|a| a.set(true));
    f();
    ACTIVE.with(|a| a.set(false));
    EVENTS.with(Cell::get)
}

/// Resolves a few times inside a counted region, dropping every result
/// there too, and returns the last result (resolved again, uncounted).
fn assert_no_heap(
    case: &str,
    resolver: &Resolver,
    peer: impl Into<Peer> + Copy,
    headers: &HeaderMap,
) -> Result<Resolution, Error> {
    let events = heap_events(|| {
        for _ in 0..4 {
            let result = resolver.resolve(black_box(peer), black_box(headers));
            drop(black_box(result));
        }
    });
    assert_eq!(events, 0, "{case}: resolve used the heap {events} times");
    resolver.resolve(peer, headers)
}

/// The five trusted ranges of a typical private deployment.
fn trusted() -> ProxySet {
    "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7"
        .parse()
        .unwrap()
}

fn gateway() -> SocketAddr {
    "10.0.0.3:41000".parse().unwrap()
}

fn headers(name: HeaderName, lines: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append(name.clone(), HeaderValue::from_str(line).unwrap());
    }
    headers
}

fn client(result: &Result<Resolution, Error>) -> String {
    result.as_ref().unwrap().client().to_string()
}

#[test]
fn the_counter_sees_this_thread_only() {
    let events = heap_events(|| drop(black_box(vec![1u8; 16])));
    assert_eq!(events, 2, "one allocation and one free");
    let other = std::thread::spawn(|| drop(black_box(vec![1u8; 16])));
    let events = heap_events(|| {});
    other.join().unwrap();
    assert_eq!(events, 0);
}

/// What would allocate is visible to the counter: an explanation, and the
/// first clone of a header name made at run time (a resolution never clones
/// one: it names its header by the copy `ResolverBuilder::build` interned).
#[test]
fn the_counter_sees_what_would_allocate() {
    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(HeaderName::from_static("x-forwarded-for"), &["203.0.113.7"]);
    assert!(heap_events(|| drop(black_box(resolver.explain(gateway(), &headers)))) > 0);

    let name = HeaderName::from_bytes(b"x-client-chain").unwrap();
    assert!(heap_events(|| drop(black_box(name.clone()))) > 0);
    assert_eq!(heap_events(|| drop(black_box(name.clone()))), 0);
}

#[test]
fn x_forwarded_for_three_hops() {
    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(
        HeaderName::from_static("x-forwarded-for"),
        &["203.0.113.7, 10.1.2.3", "[fd00::1]:8080"],
    );
    let result = assert_no_heap("x-forwarded-for", &resolver, gateway(), &headers);
    assert_eq!(client(&result), "203.0.113.7");
    assert_eq!(result.unwrap().trusted_proxies(), 3);
}

#[test]
fn forwarded_three_elements() {
    let resolver = Resolver::builder()
        .forwarded()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(
        http::header::FORWARDED,
        &[
            r#"for="[2001:db8:cafe::17]:4711";proto=https, for="\[fd00::2\]";by=_gw"#,
            "For=10.0.0.2",
        ],
    );
    let result = assert_no_heap("forwarded", &resolver, gateway(), &headers);
    assert_eq!(client(&result), "2001:db8:cafe::17");
    assert_eq!(result.unwrap().port(), Some(4711));
}

#[test]
fn x_real_ip() {
    let resolver = Resolver::builder()
        .source(realip::Source::x_real_ip())
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(HeaderName::from_static("x-real-ip"), &["203.0.113.7"]);
    let result = assert_no_heap("x-real-ip", &resolver, gateway(), &headers);
    assert_eq!(client(&result), "203.0.113.7");
}

/// A header named in configuration is made at run time (reference-counted
/// bytes). A resolution names it by the one copy `build` interned, so it
/// neither clones nor drops a name, and nothing is allocated or freed.
#[test]
fn list_header_named_at_run_time() {
    let configured = HeaderName::from_bytes(b"X-Client-Chain").unwrap();
    let resolver = Resolver::builder()
        .list_header(configured)
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    // The request's header name is a separate run-time value, as a server
    // would parse it.
    let headers = headers(
        HeaderName::from_bytes(b"x-client-chain").unwrap(),
        &["198.51.100.1, 203.0.113.7, 10.0.0.9"],
    );
    let result = assert_no_heap("list header", &resolver, gateway(), &headers);
    assert_eq!(client(&result), "203.0.113.7");
    assert!(
        matches!(result.unwrap().origin(), Origin::Header { index: 1, name } if name.as_str() == "x-client-chain")
    );
}

#[test]
fn single_header_named_at_run_time() {
    let resolver = Resolver::builder()
        .single_header(HeaderName::from_bytes(b"cloudfront-viewer-address").unwrap())
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(
        HeaderName::from_bytes(b"cloudfront-viewer-address").unwrap(),
        &["2001:db8::1:52384"],
    );
    let result = assert_no_heap("cloudfront", &resolver, gateway(), &headers);
    assert_eq!(client(&result), "2001:db8::1");
}

#[test]
fn errors() {
    let xff = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let name = HeaderName::from_static("x-forwarded-for");
    let table: &[(&str, Error)] = &[
        (
            "evil, 10.0.0.2",
            Error::MalformedHop {
                index: 1,
                reason: realip::HopError::InvalidAddress,
            },
        ),
        ("unknown, 10.0.0.2", Error::UnknownHop { index: 1 }),
        (", ,", Error::EmptyHeader),
    ];
    for (line, expected) in table {
        let headers = headers(name.clone(), &[line]);
        let result = assert_no_heap(line, &xff, gateway(), &headers);
        assert_eq!(result.unwrap_err(), *expected, "{line}");
    }

    let forwarded = Resolver::builder()
        .forwarded()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(http::header::FORWARDED, &[r#"for="evil, for=10.0.0.2;by"#]);
    let result = assert_no_heap("malformed element", &forwarded, gateway(), &headers);
    assert!(matches!(
        result,
        Err(Error::MalformedElement { index: 0, .. })
    ));
}

/// A 60 KB `X-Forwarded-For` of trusted hops only: walked to its bound
/// (an error), and walked to its end (the leftmost hop) with the largest
/// bound and long hops.
#[test]
fn sixty_kilobytes_all_trusted() {
    let name = HeaderName::from_static("x-forwarded-for");
    let short = "10.0.0.1, ".repeat(6_000);
    let headers_short = headers(name.clone(), &[short.trim_end_matches(", ")]);
    assert!(short.len() >= 60_000);
    let bounded = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let result = assert_no_heap("60 KB, default bound", &bounded, gateway(), &headers_short);
    assert_eq!(result.unwrap_err(), Error::TooManyHops { limit: 32 });

    let long: Vec<String> = (0..realip::resolver::MAX_HOPS_LIMIT)
        .map(|i| format!("[fd00:0000:0000:0000:0000:0000:0000:{i:04x}]:65535"))
        .collect();
    let long = long.join(",            ");
    assert!(long.len() >= 60_000, "{}", long.len());
    let headers_long = headers(name, &[&long]);
    let unbounded = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .max_hops(realip::resolver::MAX_HOPS_LIMIT)
        .build()
        .unwrap();
    let result = assert_no_heap("60 KB, walked", &unbounded, gateway(), &headers_long);
    let result = result.unwrap();
    assert_eq!(result.client().to_string(), "fd00::");
    assert_eq!(result.trusted_proxies(), realip::resolver::MAX_HOPS_LIMIT);
}

#[test]
fn hop_count() {
    let xff = Resolver::builder()
        .x_forwarded_for()
        .trusted_hops(3, trusted())
        .build()
        .unwrap();
    let headers_xff = headers(
        HeaderName::from_static("x-forwarded-for"),
        &["1.1.1.1, 203.0.113.7, 35.191.0.1, 10.0.0.2"],
    );
    let result = assert_no_heap("hop count", &xff, gateway(), &headers_xff);
    assert_eq!(client(&result), "203.0.113.7");

    let forwarded = Resolver::builder()
        .forwarded()
        .trusted_hops_from_any_peer(2)
        .build()
        .unwrap();
    let headers_fwd = headers(
        http::header::FORWARDED,
        &["for=198.51.100.9, for=203.0.113.7, for=10.0.0.2"],
    );
    let peer: SocketAddr = "192.0.2.1:443".parse().unwrap();
    let result = assert_no_heap("hop count, any peer", &forwarded, peer, &headers_fwd);
    assert_eq!(client(&result), "203.0.113.7");

    let short = assert_no_heap(
        "chain too short",
        &xff,
        gateway(),
        &headers(HeaderName::from_static("x-forwarded-for"), &["10.0.0.2"]),
    );
    assert_eq!(
        short.unwrap_err(),
        Error::ChainTooShort {
            needed: 3,
            found: 1
        }
    );
}

#[test]
fn untrusted_peer_and_peer_only() {
    let xff = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(HeaderName::from_static("x-forwarded-for"), &["1.2.3.4"]);
    let attacker: SocketAddr = "198.51.100.66:5555".parse().unwrap();
    let result = assert_no_heap("untrusted peer", &xff, attacker, &headers);
    assert_eq!(client(&result), "198.51.100.66");
    let result = assert_no_heap("peer only", &Resolver::default(), attacker, &headers);
    assert_eq!(client(&result), "198.51.100.66");
}

/// `resolve_url` reads the original scheme and host without the heap too:
/// from the client's own `Forwarded` element (quoted and escaped values
/// included) and from value headers lined up with `X-Forwarded-For`.
#[test]
fn scheme_and_host_beside_the_client() {
    let cases = [
        (
            "forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded",
            http::header::FORWARDED,
            vec![r#"for=203.0.113.7;proto=HTTPS;host="shop\.example.com:8443", for=10.0.0.2"#],
            vec![],
            ("https", "shop.example.com:8443"),
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; host=x-forwarded-host",
            HeaderName::from_static("x-forwarded-for"),
            vec!["203.0.113.7, 10.0.0.2"],
            vec![
                ("x-forwarded-proto", "https, http"),
                ("x-forwarded-host", "shop.example.com, internal.svc"),
            ],
            ("https", "shop.example.com"),
        ),
    ];
    for (config, name, lines, values, (scheme, host)) in cases {
        let resolver: Resolver = config.parse().unwrap();
        let mut headers = headers(name, &lines);
        for (value_name, line) in values {
            headers.append(value_name, HeaderValue::from_str(line).unwrap());
        }
        let events = heap_events(|| {
            for _ in 0..4 {
                let result = resolver.resolve_url(black_box(gateway()), black_box(&headers));
                drop(black_box(result));
            }
        });
        assert_eq!(
            events, 0,
            "{config}: resolve_url used the heap {events} times"
        );
        let (resolution, url) = resolver.resolve_url(gateway(), &headers).unwrap();
        assert_eq!(resolution.client().to_string(), "203.0.113.7", "{config}");
        assert_eq!(url.scheme().map(|s| s.as_str()), Some(scheme), "{config}");
        assert_eq!(url.host().map(|h| h.as_str()), Some(host), "{config}");
    }
}

/// A set that can be replaced while requests are resolved is loaded once
/// per resolution without the heap, before and after it is replaced.
/// (arc-swap registers a thread the first time it loads from any handle,
/// which allocates once: a cost per thread, not per resolution, shown and
/// paid here before counting.)
#[test]
fn shared_set() {
    let shared = realip::SharedProxySet::new(trusted());
    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(shared.clone())
        .build()
        .unwrap();
    let name = HeaderName::from_static("x-forwarded-for");
    let three_hops = headers(name.clone(), &["203.0.113.7, 10.1.2.3", "[fd00::1]:8080"]);
    let first = heap_events(|| drop(black_box(resolver.resolve(gateway(), &three_hops))));
    assert!(first <= 1, "the thread's first load: {first} heap events");

    let result = assert_no_heap("shared set", &resolver, gateway(), &three_hops);
    assert_eq!(client(&result), "203.0.113.7");
    assert_eq!(result.unwrap().trusted_proxies(), 3);
    let attacker: SocketAddr = "198.51.100.66:5555".parse().unwrap();
    let result = assert_no_heap(
        "shared set, untrusted peer",
        &resolver,
        attacker,
        &three_hops,
    );
    assert_eq!(client(&result), "198.51.100.66");
    let malformed = headers(name, &["evil, 10.0.0.2"]);
    let result = assert_no_heap(
        "shared set, malformed hop",
        &resolver,
        gateway(),
        &malformed,
    );
    assert_eq!(
        result.unwrap_err(),
        Error::MalformedHop {
            index: 1,
            reason: realip::HopError::InvalidAddress,
        }
    );

    // Replaced (outside the count: a store allocates the new set's
    // reference count), then resolved with the new set, still without the
    // heap: 10.1.2.3 is no longer a proxy.
    assert!(
        shared
            .store("10.0.0.0/16, fc00::/7".parse().unwrap())
            .unwrap()
    );
    let result = assert_no_heap("shared set, replaced", &resolver, gateway(), &three_hops);
    assert_eq!(client(&result), "10.1.2.3");
}

// ---------------------------------------------------------------------------
// Rule 15: caller identities.

const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

/// The element an Istio sidecar appends for its mTLS caller.
fn xfcc_element(uri: &str) -> String {
    format!(
        "By=spiffe://cluster.local/ns/shop/sa/web;\
         Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
         Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI={uri}"
    )
}

fn sidecar() -> SocketAddr {
    "127.0.0.6:40000".parse().unwrap()
}

/// A request through the sidecar: `X-Forwarded-For` and the identity
/// header's lines.
fn through_sidecar(xff: &str, identity_header: &str, identity: &[&str]) -> HeaderMap {
    let mut map = headers(HeaderName::from_static("x-forwarded-for"), &[xff]);
    for line in identity {
        map.append(
            HeaderName::from_bytes(identity_header.as_bytes()).unwrap(),
            HeaderValue::from_str(line).unwrap(),
        );
    }
    map
}

/// A request through the sidecar: (case, resolver, peer, headers, the
/// client, trusted proxies).
type IdentityCase<'r> = (
    &'static str,
    &'r Resolver,
    Peer,
    HeaderMap,
    Result<&'static str, Error>,
    usize,
);

/// With identities configured the walk also reads the caller's identity,
/// trusted or not, present or not, in every mode, without the heap.
#[test]
fn caller_identities() {
    let gateway: Resolver = "deployment:istio-gateway".parse().unwrap();
    let custom_header: Resolver = format!(
        "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/ingress/, \
         {GATEWAY_ID}; identity-header=X-Client-Cert"
    )
    .parse()
    .unwrap();
    let appends: Resolver = format!(
        "x-forwarded-for; trust=istio-sidecar, 10.0.0.0/8; identity={GATEWAY_ID}; sidecar-appends"
    )
    .parse()
    .unwrap();
    let unix: Resolver = format!("x-forwarded-for; unix-peer; identity={GATEWAY_ID}")
        .parse()
        .unwrap();
    let trusted = xfcc_element(GATEWAY_ID);
    let sleep = xfcc_element("spiffe://cluster.local/ns/default/sa/sleep");
    let forged = format!(
        "URI={GATEWAY_ID},By=x;Subject=\"a\\\", URI={GATEWAY_ID}\";URI=spiffe://cluster.local/ns/default/sa/sleep"
    );
    let xfcc = "x-forwarded-client-cert";
    let cases: Vec<IdentityCase> = vec![
        (
            "trusted caller",
            &gateway,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7", xfcc, &[&trusted]),
            Ok("203.0.113.7"),
            2,
        ),
        (
            "trusted caller, IPv6 and ports (the exact reader)",
            &gateway,
            "[::6]:40000".parse().unwrap(),
            through_sidecar("6.6.6.6, [2001:db8::7]:443, 127.0.0.6", xfcc, &[&trusted]),
            Ok("2001:db8::7"),
            3,
        ),
        (
            "untrusted caller",
            &gateway,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7", xfcc, &[&sleep]),
            Ok("127.0.0.6"),
            0,
        ),
        (
            "untrusted caller, the gateway forged left and in quotes",
            &gateway,
            sidecar().into(),
            through_sidecar("203.0.113.7", xfcc, &[&forged]),
            Ok("127.0.0.6"),
            0,
        ),
        (
            "absent identity",
            &gateway,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7", xfcc, &[]),
            Ok("127.0.0.6"),
            0,
        ),
        (
            "identity on two lines",
            &gateway,
            sidecar().into(),
            through_sidecar("203.0.113.7", xfcc, &[&trusted, &trusted]),
            Ok("127.0.0.6"),
            0,
        ),
        (
            "identity header named at run time, a namespace",
            &custom_header,
            sidecar().into(),
            through_sidecar(
                "203.0.113.7",
                "x-client-cert",
                &[&xfcc_element("spiffe://cluster.local/ns/ingress/sa/gw")],
            ),
            Ok("203.0.113.7"),
            2,
        ),
        (
            "sidecar-appends, trusted caller",
            &appends,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7, 10.1.2.3", xfcc, &[&trusted]),
            Ok("203.0.113.7"),
            2,
        ),
        (
            "sidecar-appends, untrusted caller",
            &appends,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7, 10.1.2.3", xfcc, &[&sleep]),
            Ok("10.1.2.3"),
            1,
        ),
        (
            "sidecar-appends, absent identity",
            &appends,
            sidecar().into(),
            through_sidecar("6.6.6.6, 203.0.113.7, 10.1.2.3", xfcc, &[]),
            Ok("10.1.2.3"),
            1,
        ),
        (
            "Unix-socket sidecar, untrusted caller",
            &unix,
            Peer::Unix,
            through_sidecar("203.0.113.7", xfcc, &[&sleep]),
            Err(Error::UnixPeerCallerNotTrusted),
            0,
        ),
    ];
    for (case, resolver, peer, headers, client, proxies) in cases {
        let result = assert_no_heap(case, resolver, peer, &headers);
        match (&result, client) {
            (Ok(r), Ok(client)) => {
                assert_eq!(r.client().to_string(), client, "{case}");
                assert_eq!(r.trusted_proxies(), proxies, "{case}");
            }
            (result, client) => assert_eq!(result.as_ref().err(), client.err().as_ref(), "{case}"),
        }
    }
}

/// `Resolver::caller` borrows the identity from the request: reading it
/// allocates nothing; keeping it past the request (`into_owned`) does.
#[test]
fn the_caller_is_read_without_the_heap() {
    let resolver: Resolver = "deployment:istio-gateway".parse().unwrap();
    let xfcc = "x-forwarded-client-cert";
    let sleep = xfcc_element("spiffe://cluster.local/ns/default/sa/sleep");
    let stranger: SocketAddr = "10.1.2.3:5000".parse().unwrap();
    let cases = [
        (
            "trusted caller",
            sidecar(),
            xfcc_element(GATEWAY_ID),
            Some(true),
        ),
        ("untrusted caller", sidecar(), sleep.clone(), Some(false)),
        (
            "two URIs",
            sidecar(),
            format!("URI={GATEWAY_ID};URI={GATEWAY_ID}"),
            None,
        ),
        ("untrusted peer", stranger, xfcc_element(GATEWAY_ID), None),
    ];
    for (case, peer, line, trusted) in cases {
        let headers = through_sidecar("203.0.113.7", xfcc, &[&line]);
        let events = heap_events(|| {
            for _ in 0..4 {
                let caller = resolver.caller(black_box(peer), black_box(&headers));
                drop(black_box(caller));
            }
        });
        assert_eq!(
            events, 0,
            "{case}: Resolver::caller used the heap {events} times"
        );
        let caller = resolver.caller(peer, &headers);
        assert_eq!(caller.as_ref().map(|c| c.is_trusted()), trusted, "{case}");
        if let Some(caller) = caller {
            assert!(
                heap_events(|| drop(black_box(caller.into_owned()))) > 0,
                "{case}"
            );
        }
    }
    let absent = through_sidecar("203.0.113.7", xfcc, &[]);
    assert_eq!(
        heap_events(|| drop(black_box(resolver.caller(black_box(sidecar()), &absent)))),
        0
    );
    assert_eq!(resolver.caller(sidecar(), &absent), None);
}

/// actix-web's header map (feature `actix`), read in place through
/// `realip::actix`: no heap either, not to find the peer and not to look up
/// a name that `http` 0.2 does not know by heart (`x-forwarded-for`, which
/// actix-web's `get_all(&str)` would copy to the heap on every call).
#[cfg(feature = "actix")]
#[test]
fn actix_header_map() {
    use actix_web::test::TestRequest;

    let gateway_id =
        "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
    let xfcc = format!("By=spiffe://cluster.local/ns/default/sa/app;URI={gateway_id}");
    /// Configuration, peer, header lines, and the client or the error kind.
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Result<&'a str, &'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "x-forwarded-for; trust=10.0.0.0/8, fc00::/7",
            "10.0.0.3:41000",
            vec![
                ("x-forwarded-for", "203.0.113.7, 10.1.2.3"),
                ("X-Forwarded-For", "[fd00::1]:8080"),
            ],
            Ok("203.0.113.7"),
        ),
        (
            "forwarded; trust=10.0.0.0/8",
            "10.0.0.3:41000",
            vec![(
                "forwarded",
                r#"for="[2001:db8:cafe::17]:4711", for=10.0.0.2"#,
            )],
            Ok("2001:db8:cafe::17"),
        ),
        (
            "x-real-ip; trust=10.0.0.0/8",
            "10.0.0.3:41000",
            vec![("x-real-ip", "203.0.113.7")],
            Ok("203.0.113.7"),
        ),
        (
            "list:x-client-chain; trust=10.0.0.0/8",
            "10.0.0.3:41000",
            vec![("x-client-chain", "203.0.113.7, 10.0.0.2")],
            Ok("203.0.113.7"),
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
             host=x-forwarded-host; align=single",
            "10.0.0.3:41000",
            vec![
                ("x-forwarded-for", "203.0.113.7, 10.0.0.2"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "shop.example.com"),
            ],
            Ok("203.0.113.7"),
        ),
        (
            "deployment:istio-gateway",
            "127.0.0.6:41000",
            vec![
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-client-cert", &xfcc),
            ],
            Ok("203.0.113.7"),
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "198.51.100.66:5555",
            vec![("x-forwarded-for", "203.0.113.7")],
            Ok("198.51.100.66"),
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8",
            "10.0.0.3:41000",
            vec![("x-forwarded-for", "203.0.113.7, unknown")],
            Err("unknown_hop"),
        ),
    ];
    for (config, peer, lines, expected) in cases {
        let resolver: Resolver = config.parse().unwrap();
        let mut request = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in lines {
            request = request.append_header((name, value));
        }
        let request = request.to_http_request();
        let events = heap_events(|| {
            for _ in 0..4 {
                drop(black_box(realip::actix::resolve(
                    black_box(&resolver),
                    black_box(&request),
                )));
                drop(black_box(realip::actix::resolve_url(&resolver, &request)));
                drop(black_box(realip::actix::caller(&resolver, &request)));
            }
        });
        assert_eq!(
            events, 0,
            "{config}: actix resolution used the heap {events} times"
        );
        let answer = realip::actix::resolve(&resolver, &request);
        assert_eq!(
            answer
                .as_ref()
                .map(|r| r.client().to_string())
                .map_err(|e| e.kind()),
            expected.map(str::to_owned),
            "{config}"
        );
    }
}

/// A gRPC handler's one call (`realip::tonic::RequestExt`): reading what
/// the layer stored, and resolving on the spot from tonic's connection
/// info and the call's metadata.
#[test]
fn tonic_handler() {
    use realip::tonic::RequestExt;

    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let mut request = tonic::Request::new(());
    request
        .metadata_mut()
        .insert("x-forwarded-for", "203.0.113.7, 10.1.2.3".parse().unwrap());
    // What tonic's server records about a TCP connection.
    request
        .extensions_mut()
        .insert(tonic::transport::server::TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(gateway()),
        });
    let resolution = request.resolve_with(&resolver).unwrap();
    assert_eq!(resolution.client().to_string(), "203.0.113.7");
    assert_eq!(resolution.peer(), realip::Peer::from(gateway()));
    request.extensions_mut().insert(resolution);

    let events = heap_events(|| {
        for _ in 0..4 {
            drop(black_box(black_box(&request).resolve_with(&resolver)));
            let _ = black_box(black_box(&request).client_ip());
        }
    });
    assert_eq!(events, 0, "the handler's call used the heap {events} times");
}

// ---------------------------------------------------------------------------
// Access control (`realip::access`): the allow path.

/// A policy decides without the heap, with fixed lists and with shared
/// ones (loaded once per list and decision), allowed or refused.
#[test]
fn access_policy_decisions() {
    use realip::access::{AccessDecision, AccessPolicy};
    use std::net::IpAddr;

    let fixed: AccessPolicy = "allow=203.0.113.0/24, 2001:db8::/32; deny=203.0.113.128/25"
        .parse()
        .unwrap();
    let shared = AccessPolicy::new()
        .allow_shared(realip::SharedProxySet::new(
            "203.0.113.0/24, 2001:db8::/32".parse().unwrap(),
        ))
        .unwrap()
        .deny_shared(realip::SharedProxySet::new(
            "203.0.113.128/25".parse().unwrap(),
        ))
        .unwrap();
    // A thousand ranges: lookups bisect.
    let many: ProxySet = (0..1_000u32)
        .map(|i| {
            let net = format!("10.{}.{}.0/24", i / 256, i % 256);
            net.parse::<ipnet::IpNet>().unwrap()
        })
        .collect();
    let large = AccessPolicy::new().allow(many).unwrap();
    // The thread's first arc-swap load registers it, once per thread.
    let _ = shared.decide("203.0.113.7".parse::<IpAddr>().unwrap());
    let cases = [
        (&fixed, "203.0.113.7", AccessDecision::Allowed),
        (&fixed, "2001:db8::7", AccessDecision::Allowed),
        (&fixed, "::ffff:203.0.113.7", AccessDecision::Allowed),
        (&fixed, "203.0.113.200", AccessDecision::Denied),
        (&fixed, "198.51.100.7", AccessDecision::NotAllowed),
        (&shared, "203.0.113.7", AccessDecision::Allowed),
        (&shared, "203.0.113.200", AccessDecision::Denied),
        (&shared, "198.51.100.7", AccessDecision::NotAllowed),
        (&large, "10.3.231.9", AccessDecision::Allowed),
        (&large, "10.3.232.9", AccessDecision::NotAllowed),
    ];
    for (policy, client, expected) in cases {
        let client: IpAddr = client.parse().unwrap();
        let events = heap_events(|| {
            for _ in 0..4 {
                black_box(black_box(policy).decide(black_box(client)));
            }
        });
        assert_eq!(events, 0, "{policy:?} {client}: {events} heap events");
        assert_eq!(policy.decide(client), expected, "{policy:?} {client}");
    }
}

/// `AccessControlLayer` on the allow path adds no heap event to a request:
/// it reads the `Resolution` `ClientIpLayer` stored, decides, and calls
/// the inner service, whose future it returns unboxed. The inner service
/// here hands the request back in its response, so that dropping the
/// request's extensions (allocated when the resolution was stored, before
/// the layer) happens outside the count.
#[test]
fn access_layer_allow_path() {
    use http::{Request, Response};
    use realip::access::{AccessControlLayer, AccessPolicy};
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower::{Layer, Service};

    struct Echo(Option<Request<()>>);
    impl From<&'static str> for Echo {
        fn from(_: &'static str) -> Self {
            Echo(None)
        }
    }
    let inner = tower::service_fn(|request: Request<()>| {
        std::future::ready(Ok::<_, std::convert::Infallible>(Response::new(Echo(
            Some(request),
        ))))
    });
    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let headers = headers(
        HeaderName::from_static("x-forwarded-for"),
        &["203.0.113.7, 10.1.2.3"],
    );
    let request = || {
        let mut request = Request::new(());
        let resolution = resolver.resolve(gateway(), &headers).unwrap();
        request.extensions_mut().insert(resolution);
        request
    };
    let shared = realip::SharedProxySet::new("203.0.113.0/24".parse().unwrap());
    let policies: [AccessPolicy; 3] = [
        "allow=203.0.113.0/24; deny=198.51.100.0/24"
            .parse()
            .unwrap(),
        "deny=198.51.100.0/24".parse().unwrap(),
        AccessPolicy::new().allow_shared(shared).unwrap(),
    ];
    let mut cx = Context::from_waker(Waker::noop());
    for policy in policies {
        let text = policy.to_string();
        let mut service = AccessControlLayer::new(policy).layer(inner);
        // Warm up: the thread's first load of a shared set.
        drop(black_box(service.call(request())));
        let mut responses = Vec::with_capacity(4);
        let mut requests: Vec<_> = (0..4).map(|_| request()).collect();
        // `drain`: the vectors' buffers are freed outside the count.
        let events = heap_events(|| {
            for request in requests.drain(..) {
                let mut future = std::pin::pin!(service.call(black_box(request)));
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(Ok(response)) => responses.push(response),
                    other => panic!("{text}: not ready: {}", other.is_ready()),
                }
            }
        });
        assert_eq!(
            events, 0,
            "{text}: the allow path used the heap {events} times"
        );
        for response in responses {
            assert_eq!(response.status(), 200, "{text}");
            assert!(
                response.body().0.is_some(),
                "{text}: the inner service answered"
            );
        }
    }
}

/// A subscriber that enables everything and formats every value it is
/// given (into nothing), with room reserved up front for its spans.
struct Formatting {
    /// Each span's metadata, by id - 1.
    spans: std::sync::Mutex<Vec<&'static tracing::Metadata<'static>>>,
    /// The entered spans' ids.
    entered: std::sync::Mutex<Vec<u64>>,
}

/// Formats each value into nothing, as a subscriber that records it would.
struct Sink;

impl tracing::field::Visit for Sink {
    fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::io::Write as _;
        let _ = write!(std::io::sink(), "{value:?}");
    }
}

impl tracing::Subscriber for Formatting {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        attributes.record(&mut Sink);
        let mut spans = self.spans.lock().unwrap();
        assert!(spans.len() < spans.capacity(), "room for every span");
        spans.push(attributes.metadata());
        tracing::span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Sink);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Sink);
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.entered.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.entered.lock().unwrap().pop();
    }
    fn current_span(&self) -> tracing_core::span::Current {
        match self.entered.lock().unwrap().last() {
            Some(&id) => {
                let metadata = self.spans.lock().unwrap()[id as usize - 1];
                tracing_core::span::Current::new(tracing::span::Id::from_u64(id), metadata)
            }
            None => tracing_core::span::Current::none(),
        }
    }
}

/// A metrics recorder with one counter for every key.
#[derive(Default)]
struct OneCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl metrics::Recorder for OneCounter {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.0.clone())
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// The layer's telemetry (features `tracing` and `metrics`) allocates
/// nothing of its own: a request through `ClientIpLayer` causes as many
/// heap events with a subscriber that formats every value, inside an
/// application span that declares the layer's fields, and a metrics
/// recorder, as with neither. (The layer itself allocates: the request's
/// extensions hold the resolution.) Warnings are worded once per cause,
/// which allocates, so each request is sent once before counting.
#[test]
fn the_layers_telemetry_allocates_nothing() {
    use std::convert::Infallible;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower::{Layer, Service};

    let resolver = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(trusted())
        .build()
        .unwrap();
    let mut service = realip::tower::ClientIpLayer::new(resolver).layer(tower::service_fn(
        |_: http::Request<()>| std::future::ready(Ok::<_, Infallible>(http::Response::new(""))),
    ));
    let stranger: SocketAddr = "198.51.100.66:4000".parse().unwrap();
    let cases: [(&str, SocketAddr, &str); 3] = [
        ("proxied", gateway(), "203.0.113.7, 10.0.0.2"),
        ("forged by a stranger", stranger, "1.1.1.1"),
        ("unreadable", gateway(), "unknown"),
    ];
    let request = |peer: SocketAddr, xff: &str| {
        let mut request = http::Request::new(());
        *request.headers_mut() = headers(HeaderName::from_static("x-forwarded-for"), &[xff]);
        request.extensions_mut().insert(Peer::from(peer));
        request
    };
    let mut call = |request: http::Request<()>| {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(service.poll_ready(&mut cx).is_ready());
        let future = std::pin::pin!(service.call(request));
        assert!(matches!(future.poll(&mut cx), Poll::Ready(Ok(_))));
    };
    let subscriber = Formatting {
        spans: std::sync::Mutex::new(Vec::with_capacity(64)),
        entered: std::sync::Mutex::new(Vec::with_capacity(16)),
    };
    let recorder = OneCounter::default();
    let counted = recorder.0.clone();
    let dispatch = tracing::Dispatch::new(subscriber);
    for (case, peer, xff) in cases {
        call(request(peer, xff));
        let once_more = request(peer, xff);
        let plain = heap_events(|| call(once_more));
        let observed = tracing::dispatcher::with_default(&dispatch, || {
            metrics::with_local_recorder(&recorder, || {
                let in_span = |call: &mut dyn FnMut(http::Request<()>), counted: bool| {
                    let span = tracing::info_span!(
                        "request",
                        client.address = tracing::field::Empty,
                        network.peer.address = tracing::field::Empty,
                        realip.diagnostics = tracing::field::Empty,
                    );
                    let request = request(peer, xff);
                    let send = || span.in_scope(|| call(request));
                    if counted {
                        heap_events(send)
                    } else {
                        send();
                        0
                    }
                };
                in_span(&mut call, false);
                in_span(&mut call, true)
            })
        });
        assert_eq!(
            observed, plain,
            "{case}: with telemetry {observed} heap events, without {plain}"
        );
    }
    assert!(
        counted.load(std::sync::atomic::Ordering::Relaxed) >= 6,
        "the recorder counted"
    );
}
