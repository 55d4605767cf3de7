//! The header names a process keeps are bounded: resolvers built from
//! configuration name at most `MAX_CUSTOM_NAMES` custom headers, and
//! `Origin::header` looks names up without keeping any. (A test binary of
//! its own: filling the table would fail other tests of the process.)

use http::HeaderName;
use realip::resolver::MAX_CUSTOM_NAMES;
use realip::{ConfigError, Origin, Resolver};

#[test]
fn origin_header_keeps_no_name_and_builds_keep_a_bounded_number() {
    // Names a request could carry: looked up, never kept, however many.
    for i in 0..10 * MAX_CUSTOM_NAMES {
        let name = HeaderName::from_bytes(format!("x-from-a-request-{i}").as_bytes()).unwrap();
        assert_eq!(Origin::header(&name, 0), None);
    }
    // Well-known names need no resolver.
    assert!(Origin::header(&HeaderName::from_static("x-real-ip"), 1).is_some());

    // Resolvers for distinct custom headers: the first MAX_CUSTOM_NAMES
    // build, and the next is refused with a message that says why.
    let build = |i: usize| {
        Resolver::builder()
            .single_header(HeaderName::from_bytes(format!("x-configured-{i}").as_bytes()).unwrap())
            .trusted_proxies("10.0.0.0/8".parse::<realip::ProxySet>().unwrap())
            .build()
    };
    for i in 0..MAX_CUSTOM_NAMES {
        build(i).unwrap_or_else(|e| panic!("name {i}: {e}"));
    }
    let err = build(MAX_CUSTOM_NAMES).unwrap_err();
    assert_eq!(
        err,
        ConfigError::TooManyHeaderNames {
            header: format!("x-configured-{MAX_CUSTOM_NAMES}")
        }
    );
    assert!(err.to_string().contains("never from request data"), "{err}");
    // A name already kept, and the well-known ones, still build.
    build(0).unwrap();
    assert!(
        Resolver::builder()
            .x_forwarded_for()
            .trusted_proxies("10.0.0.0/8".parse::<realip::ProxySet>().unwrap())
            .build()
            .is_ok()
    );
    // And a resolver's header is what `Origin::header` finds.
    let name = HeaderName::from_static("x-configured-0");
    assert!(Origin::header(&name, 0).is_some());
}
