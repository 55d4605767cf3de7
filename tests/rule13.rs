//! Conformance: DESIGN rule 13, applied after merging. A configuration
//! never silently means something else, whichever way it is written
//! (builder, text, file, a shared set's store, a reload, a PROXY listener's
//! senders, an access list):
//!
//! - a set is judged merged: ranges that together hold a whole address
//!   family, or more public space than any proxies connect from, are
//!   refused, and every preset the crate ships passes;
//! - an option the chosen source (or a hop count) does not read is an
//!   error that says so;
//! - a header name with a meaning of its own is refused where it is
//!   configured for another, with what to write instead;
//! - prefix lengths are plain decimal;
//! - no message echoes more than a bounded part of what was configured.

use std::io;
use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;
use realip::access::{AccessPolicy, AccessPolicyError};
use realip::config::{Deployment, ResolverConfig};
use realip::proxy_protocol::ProxyProtocolListener;
use realip::trust::{AddressFamily, ReloadError, TrustParseError};
use realip::{
    AllTrusted, ConfigError, Preset, ProxySet, Resolver, ResolverBuilder, SharedProxySet, Source,
    ValueSource,
};

/// A set built range by range, as a program builds one: nothing refused
/// until it is given somewhere.
fn built(text: &str) -> ProxySet {
    text.split(", ")
        .map(|n| n.parse::<IpNet>().unwrap())
        .collect()
}

fn xff(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
    headers
}

/// Whether `e` is a refusal of a set as a whole.
fn whole_set_refusal(e: &TrustParseError) -> bool {
    matches!(
        e,
        TrustParseError::CoversFamily { .. } | TrustParseError::TooManyPublicAddresses { .. }
    )
}

// ---------------------------------------------------------------------------
// Unions.
// ---------------------------------------------------------------------------

/// Sets each of whose ranges means what it says, and which together do not.
const UNIONS: &[(&str, &str)] = &[
    ("0.0.0.0/1, 128.0.0.0/1", "every IPv4 address"),
    (
        "::ffff:0.0.0.0/97, ::ffff:128.0.0.0/97",
        "every IPv4 address",
    ),
    (
        "0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2, 192.0.0.0/2",
        "every IPv4 address",
    ),
    ("0.0.0.0/1", "public IPv4 addresses"),
    ("::ffff:0.0.0.0/97", "public IPv4 addresses"),
    ("8000::/1", "public IPv6 addresses"),
    ("2000::/3", "public IPv6 addresses"),
    (
        "11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 10.0.0.0/8",
        "public IPv4 addresses",
    ),
];

#[test]
fn rule13_unions_are_judged_merged_whichever_way_a_set_is_given() {
    for &(ranges, says) in UNIONS {
        let set = built(ranges);
        let refusal = set.check().unwrap_err();
        assert!(whole_set_refusal(&refusal), "{ranges}: {refusal:?}");
        assert!(refusal.to_string().contains(says), "{ranges}: {refusal}");

        // Text, alone and in a resolver's text form.
        assert_eq!(ranges.parse::<ProxySet>(), Err(refusal.clone()), "{ranges}");
        let text = format!("x-forwarded-for; trust={ranges}");
        assert_eq!(
            text.parse::<Resolver>(),
            Err(ConfigError::Trust(refusal.clone())),
            "{text}"
        );
        // The builder, by address, by count, and with a shared set.
        let reads_xff = || Resolver::builder().x_forwarded_for();
        let builders: [ResolverBuilder; 3] = [
            reads_xff().trusted_proxies(set.clone()),
            reads_xff().trusted_hops(1, set.clone()),
            reads_xff().trusted_shared_proxies(SharedProxySet::new(set.clone())),
        ];
        for builder in builders {
            assert_eq!(
                builder.build(),
                Err(ConfigError::Trust(refusal.clone())),
                "{ranges}"
            );
        }
        // A file, as one string and as a list of strings.
        let list: Vec<&str> = ranges.split(", ").collect();
        for trust in [serde_json::json!(ranges), serde_json::json!(list)] {
            let file = serde_json::json!({"source": "x-forwarded-for", "trust": trust});
            let err = serde_json::from_value::<Resolver>(file.clone()).unwrap_err();
            assert!(err.to_string().contains(says), "{file}: {err}");
            let err = serde_json::from_value::<ProxySet>(trust).unwrap_err();
            assert!(err.to_string().contains(says), "{ranges}: {err}");
        }
        // A published list, one range per line.
        let lines = ranges.replace(", ", "\n");
        let err = ProxySet::from_lines(&lines).unwrap_err();
        assert!(err.to_string().contains(says), "{ranges}: {err}");
        // A shared set's store: refused, the last good set kept.
        let shared = SharedProxySet::new("10.0.0.0/8".parse::<ProxySet>().unwrap());
        let resolver = reads_xff()
            .trusted_shared_proxies(shared.clone())
            .build()
            .unwrap();
        assert!(
            matches!(shared.store(set.clone()), Err(ReloadError::Refused(e)) if e == refusal),
            "{ranges}"
        );
        assert_eq!(shared.current().to_string(), "10.0.0.0/8");
        // A direct client's forged header is still not the answer.
        let direct: SocketAddr = "198.51.100.9:5000".parse().unwrap();
        let r = resolver.resolve(direct, &xff("198.51.100.66")).unwrap();
        assert_eq!(r.client().to_string(), "198.51.100.9", "{ranges}");
        // Access lists, as text, as sets and as shared sets.
        for list in ["allow", "deny"] {
            let text = format!("{list}={ranges}");
            let err = text.parse::<AccessPolicy>().unwrap_err();
            assert!(
                matches!(&err, AccessPolicyError::Ranges { list: l, reason } if *l == list && *reason == refusal),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
        let table = serde_json::json!({"deny": ranges.split(", ").collect::<Vec<_>>()});
        let err = serde_json::from_value::<AccessPolicy>(table).unwrap_err();
        assert!(err.to_string().contains(says), "{ranges}: {err}");
        assert!(AccessPolicy::new().allow(set.clone()).is_err(), "{ranges}");
        assert!(AccessPolicy::new().deny(set.clone()).is_err(), "{ranges}");
        let shared = SharedProxySet::new(set.clone());
        assert!(AccessPolicy::new().allow_shared(shared.clone()).is_err());
        assert!(AccessPolicy::new().deny_shared(shared).is_err());
    }
}

/// The PROXY listener's senders are a set like any other: a listener is
/// never built on one that a resolver refuses.
#[tokio::test]
async fn rule13_unions_are_judged_merged_for_proxy_senders() {
    for &(ranges, _) in UNIONS {
        let expect_refused = |result: io::Result<ProxyProtocolListener>| {
            let err = result.expect_err("refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{ranges}");
            let inner = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<TrustParseError>());
            assert!(inner.is_some_and(whole_set_refusal), "{ranges}: {err}");
        };
        expect_refused(ProxyProtocolListener::bind("127.0.0.1:0", built(ranges)).await);
        let shared = SharedProxySet::new(built(ranges));
        expect_refused(
            ProxyProtocolListener::builder(shared)
                .bind("127.0.0.1:0")
                .await,
        );
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        expect_refused(ProxyProtocolListener::builder(built(ranges)).build(tcp));
    }
    // Sound senders build as before.
    let listener = ProxyProtocolListener::bind("127.0.0.1:0", "10.0.0.0/24".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(listener.trusted_senders().to_string(), "10.0.0.0/24");
}

/// What the bounds let through: every preset and deployment, private
/// space however large, and public space up to the bound.
#[test]
fn rule13_every_preset_and_deployment_passes() {
    for preset in Preset::ALL {
        let set = ProxySet::preset(preset);
        assert_eq!(set.check(), Ok(()), "{preset}");
        let text = format!("x-forwarded-for; trust={preset}");
        assert!(text.parse::<Resolver>().is_ok(), "{text}");
        assert!(format!("allow={preset}").parse::<AccessPolicy>().is_ok());
        assert!(SharedProxySet::new(ProxySet::new()).store(set).is_ok());
    }
    let all: ProxySet = Preset::ALL.into_iter().collect();
    assert_eq!(all.check(), Ok(()));
    for deployment in Deployment::ALL {
        // Those that need the operator's ranges are given one.
        let bare = format!("deployment:{deployment}");
        let refined = format!("{bare}; trust=10.0.0.0/16");
        assert!(
            bare.parse::<Resolver>().is_ok() || refined.parse::<Resolver>().is_ok(),
            "{deployment}"
        );
    }
    for ranges in [
        "private, loopback, link-local, 100.64.0.0/10, fc00::/7",
        // Sixteen public /8s: exactly 2^28 public addresses.
        "11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/5, 24.0.0.0/7, 26.0.0.0/8",
        "2000::/8",
    ] {
        assert!(ranges.parse::<ProxySet>().is_ok(), "{ranges}");
    }
    assert_eq!(
        "0.0.0.0/1, 128.0.0.0/1".parse::<ProxySet>().unwrap_err(),
        TrustParseError::CoversFamily {
            family: AddressFamily::Ipv4,
            ranges: "0.0.0.0/1, 128.0.0.0/1".into(),
        }
    );
}

// ---------------------------------------------------------------------------
// Options a source does not read.
// ---------------------------------------------------------------------------

/// (text form, the same as a builder, the option refused, what makes it
/// unread).
fn unread_options() -> Vec<(&'static str, ResolverBuilder, &'static str, &'static str)> {
    let ten = || "10.0.0.0/8".parse::<ProxySet>().unwrap();
    let xff = || Resolver::builder().x_forwarded_for();
    let real_ip = || Resolver::builder().source(Source::x_real_ip());
    vec![
        (
            "peer; hops=1",
            Resolver::builder().trusted_hops(1, ProxySet::new()),
            "hops=",
            "peer (hops=1)",
        ),
        (
            "peer; max-hops=64",
            Resolver::builder().max_hops(64),
            "max-hops=",
            "peer",
        ),
        (
            "peer; all-trusted=error",
            Resolver::builder().all_trusted(AllTrusted::Error),
            "all-trusted=",
            "peer",
        ),
        (
            "peer; all-trusted=leftmost",
            Resolver::builder().all_trusted(AllTrusted::Leftmost),
            "all-trusted=",
            "peer",
        ),
        (
            "x-real-ip; trust=10.0.0.0/8; max-hops=4",
            real_ip().trusted_proxies(ten()).max_hops(4),
            "max-hops=",
            "x-real-ip",
        ),
        (
            "header:x-my-ip; hops=1; any-peer; max-hops=2",
            Resolver::builder()
                .single_header(HeaderName::from_static("x-my-ip"))
                .trusted_hops_from_any_peer(1)
                .max_hops(2),
            "max-hops=",
            "hops=1",
        ),
        (
            "cloudfront-viewer-address; trust=10.0.0.0/8; max-hops=32",
            Resolver::builder()
                .single_header(HeaderName::from_static("cloudfront-viewer-address"))
                .trusted_proxies(ten())
                .max_hops(32),
            "max-hops=",
            "cloudfront-viewer-address",
        ),
        (
            "x-forwarded-for; hops=2; trust=10.0.0.0/8; max-hops=8",
            xff().trusted_hops(2, ten()).max_hops(8),
            "max-hops=",
            "hops=2",
        ),
        (
            "forwarded; hops=1; any-peer; max-hops=32",
            Resolver::builder()
                .forwarded()
                .trusted_hops_from_any_peer(1)
                .max_hops(32),
            "max-hops=",
            "hops=1",
        ),
        (
            "x-forwarded-for; hops=2; trust=10.0.0.0/8; all-trusted=error",
            xff().trusted_hops(2, ten()).all_trusted(AllTrusted::Error),
            "all-trusted=",
            "hops=2",
        ),
        (
            "list:x-custom; hops=3; any-peer; all-trusted=leftmost",
            Resolver::builder()
                .list_header(HeaderName::from_static("x-custom"))
                .trusted_hops_from_any_peer(3)
                .all_trusted(AllTrusted::Leftmost),
            "all-trusted=",
            "hops=3",
        ),
        (
            "x-real-ip; hops=1; trust=10.0.0.0/8; all-trusted=error",
            real_ip()
                .trusted_hops(1, ten())
                .all_trusted(AllTrusted::Error),
            "all-trusted=",
            "hops=1",
        ),
    ]
}

#[test]
fn rule13_options_a_source_does_not_read_are_errors() {
    for (text, builder, option, configured) in unread_options() {
        let from_text = text.parse::<Resolver>().unwrap_err();
        let from_builder = builder.build().unwrap_err();
        assert_eq!(from_text, from_builder, "{text}");
        match &from_text {
            ConfigError::OptionNotRead {
                option: o,
                configured: c,
                ..
            } => assert_eq!((*o, c.as_str()), (option, configured), "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        let message = from_text.to_string();
        assert!(
            message.starts_with(&format!("{option} has no effect with {configured}: "))
                && message.ends_with("; remove it"),
            "{text}: {message}"
        );
    }
    // Deployments: the options they do not read are refused too.
    for text in [
        "deployment:direct; max-hops=8",
        "deployment:istio-tproxy; all-trusted=error",
        "deployment:gcp-lb; max-hops=4",
        "deployment:aws-alb; trust=10.0.0.0/16; all-trusted=error",
        "deployment:cloudflare; max-hops=4",
    ] {
        assert!(
            matches!(
                text.parse::<Resolver>(),
                Err(ConfigError::OptionNotRead { .. })
            ),
            "{text}"
        );
    }
}

/// Every option that is read is still accepted with every source that
/// reads it.
#[test]
fn rule13_options_a_source_reads_are_accepted() {
    for text in [
        "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error; max-hops=8; unix-peer",
        "forwarded; trust=10.0.0.0/8; all-trusted=leftmost; max-hops=1024",
        "list:x-custom; trust=10.0.0.0/8; max-hops=2",
        "x-real-ip; trust=10.0.0.0/8; all-trusted=error; unix-peer",
        "x-real-ip; hops=1; trust=10.0.0.0/8",
        "x-real-ip; hops=1; any-peer; unix-peer",
        "x-forwarded-for; hops=40; trust=10.0.0.0/8",
        "x-forwarded-for; hops=1024; any-peer",
        "peer",
    ] {
        let resolver: Resolver = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(resolver.to_string(), text);
    }
    assert_eq!(
        "x-forwarded-for; hops=1025; any-peer".parse::<Resolver>(),
        Err(ConfigError::HopsExceedLimit {
            hops: 1025,
            max_hops: 1024
        })
    );
}

// ---------------------------------------------------------------------------
// Header names with a meaning of their own.
// ---------------------------------------------------------------------------

#[test]
fn rule13_header_names_with_a_meaning_of_their_own_are_refused() {
    // (text form, what the message says to write)
    let table = [
        (
            "header:host; trust=10.0.0.0/8",
            "header:host: host is a field HTTP defines",
        ),
        (
            "list:host; trust=10.0.0.0/8",
            "list:host: host is a field HTTP defines",
        ),
        (
            "header:content-length; trust=10.0.0.0/8",
            "x-forwarded-for, forwarded, x-real-ip",
        ),
        (
            "header:Content-Type; trust=10.0.0.0/8",
            "header:content-type",
        ),
        ("list:cookie; trust=10.0.0.0/8", "list:cookie"),
        ("header:set-cookie; trust=10.0.0.0/8", "header:set-cookie"),
        (
            "header:authorization; trust=10.0.0.0/8",
            "authorization is a field",
        ),
        (
            "header:proxy-authorization; trust=10.0.0.0/8",
            "proxy-authorization",
        ),
        ("list:connection; trust=10.0.0.0/8", "connection"),
        (
            "list:transfer-encoding; trust=10.0.0.0/8",
            "transfer-encoding",
        ),
        ("header:te; trust=10.0.0.0/8", "header:te"),
        ("header:trailer; trust=10.0.0.0/8", "header:trailer"),
        ("header:upgrade; trust=10.0.0.0/8", "header:upgrade"),
        ("header:keep-alive; trust=10.0.0.0/8", "keep-alive"),
        (
            "header:proxy-connection; trust=10.0.0.0/8",
            "proxy-connection",
        ),
        ("header:expect; trust=10.0.0.0/8", "expect"),
        ("list:via; trust=10.0.0.0/8", "list:via"),
        ("header:forwarded; trust=10.0.0.0/8", "; write forwarded"),
        ("list:forwarded; trust=10.0.0.0/8", "; write forwarded"),
        (
            "header:x-forwarded-for; trust=10.0.0.0/8",
            "; write x-forwarded-for",
        ),
        ("list:x-real-ip; trust=10.0.0.0/8", "; write x-real-ip"),
        (
            "list:cf-connecting-ip; trust=10.0.0.0/8",
            "; write cf-connecting-ip",
        ),
        (
            "list:cloudfront-viewer-address; hops=1; any-peer",
            "; write cloudfront-viewer-address",
        ),
        (
            "header:x-forwarded-proto; trust=10.0.0.0/8",
            "proto=x-forwarded-proto",
        ),
        (
            "list:x-forwarded-host; trust=10.0.0.0/8",
            "host=x-forwarded-host",
        ),
        (
            "header:x-forwarded-client-cert; trust=10.0.0.0/8",
            "identity=",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:x-forwarded-for",
            "proto=header:x-forwarded-for: x-forwarded-for carries client addresses",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; host=header:host",
            "host=header:host: Host names the host this request was sent to",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:cookie",
            "proto=header:cookie: cookie is a field",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; host=header:x-forwarded-proto",
            "x-forwarded-proto carries the original scheme",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:x-forwarded-host",
            "x-forwarded-host carries the original host",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:forwarded",
            "write proto=forwarded",
        ),
        (
            "list:x-custom; trust=10.0.0.0/8; host=header:x-custom",
            "x-custom is the source the client is read from",
        ),
        (
            "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/a/sa/b; \
             identity-header=authorization",
            "identity-header=authorization: authorization is a field",
        ),
        (
            "x-forwarded-for; trust=istio-sidecar; identity=spiffe://cluster.local/ns/a/sa/b; \
             identity-header=x-real-ip",
            "identity-header=x-real-ip: x-real-ip carries client addresses",
        ),
    ];
    for (text, says) in table {
        let err = text.parse::<Resolver>().unwrap_err();
        assert!(
            matches!(err, ConfigError::HeaderWithOwnMeaning { .. }),
            "{text}: {err:?}"
        );
        assert!(err.to_string().contains(says), "{text}: {err}");
        // A file says the same.
        let config: ResolverConfig = text.parse().unwrap();
        assert_eq!(config.build(), Err(err), "{text}");
    }
    // The builder is judged by the same check: a source built from a name.
    let ten = || "10.0.0.0/8".parse::<ProxySet>().unwrap();
    for builder in [
        Resolver::builder().source(Source::Single(HeaderName::from_static("host"))),
        Resolver::builder().single_header(HeaderName::from_static("forwarded")),
        Resolver::builder().list_header(HeaderName::from_static("x-real-ip")),
        Resolver::builder()
            .x_forwarded_for()
            .host(ValueSource::Header(HeaderName::from_static("host"))),
    ] {
        let err = builder.trusted_proxies(ten()).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::HeaderWithOwnMeaning { .. }),
            "{err:?}"
        );
    }
    // Names free to be what they are configured as, and the one that
    // is what it says: list:x-forwarded-for is x-forwarded-for.
    for (text, shown) in [
        (
            "list:x-forwarded-for; trust=10.0.0.0/8",
            "x-forwarded-for; trust=10.0.0.0/8",
        ),
        (
            "header:x-real-ip; trust=10.0.0.0/8",
            "x-real-ip; trust=10.0.0.0/8",
        ),
        (
            "header:x-my-ip; trust=10.0.0.0/8",
            "header:x-my-ip; trust=10.0.0.0/8",
        ),
        (
            "list:x-hosts-chain; trust=10.0.0.0/8",
            "list:x-hosts-chain; trust=10.0.0.0/8",
        ),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:x-scheme; host=x-forwarded-host",
            "x-forwarded-for; trust=10.0.0.0/8; proto=header:x-scheme; host=x-forwarded-host",
        ),
    ] {
        let resolver: Resolver = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(resolver.to_string(), shown);
    }
}

// ---------------------------------------------------------------------------
// Numbers.
// ---------------------------------------------------------------------------

#[test]
fn rule13_prefix_lengths_are_plain_decimal() {
    for ranges in [
        "10.0.0.0/08",
        "10.0.0.0/+8",
        "192.0.2.1/032",
        "2001:db8::/032",
        "::/00",
    ] {
        let refusal = TrustParseError::InvalidPrefix(ranges.into());
        assert_eq!(ranges.parse::<ProxySet>(), Err(refusal.clone()), "{ranges}");
        assert_eq!(
            format!("x-forwarded-for; trust={ranges}").parse::<Resolver>(),
            Err(ConfigError::Trust(refusal.clone()))
        );
        assert_eq!(
            format!("allow={ranges}").parse::<AccessPolicy>(),
            Err(AccessPolicyError::Ranges {
                list: "allow",
                reason: refusal.clone()
            })
        );
        let err = ProxySet::from_lines(&format!("10.0.0.0/8\n{ranges}\n")).unwrap_err();
        assert!(err.to_string().starts_with("line 2: "), "{err}");
        let json = format!(
            r#"{{"prefixes": [{{"ip_prefix": "{ranges}", "region": "GLOBAL", "service": "S"}}], "ipv6_prefixes": []}}"#
        );
        let err = ProxySet::from_aws_ip_ranges(&json, "S", None).unwrap_err();
        assert!(err.to_string().contains("not a plain decimal"), "{err}");
    }
    assert!("10.0.0.0/8, ::/0".parse::<ProxySet>().is_err());
    assert!("10.0.0.0/8, 0.0.0.0/0".parse::<ProxySet>().is_err());
}

// ---------------------------------------------------------------------------
// Echoes.
// ---------------------------------------------------------------------------

/// Configuration errors quote at most 64 characters of what was written,
/// whatever its length (a header name may be 64 KiB long).
#[test]
fn rule13_errors_quote_a_bounded_part_of_the_configuration() {
    let long = format!("x-{}", "a".repeat(60_000));
    let name = HeaderName::from_bytes(long.as_bytes()).unwrap();
    let ten = || "10.0.0.0/8".parse::<ProxySet>().unwrap();
    let errors = [
        // NoTrust quotes the source.
        Resolver::builder()
            .single_header(name.clone())
            .build()
            .unwrap_err(),
        Resolver::builder()
            .list_header(name.clone())
            .build()
            .unwrap_err(),
        // SingleHeaderHops quotes the header.
        Resolver::builder()
            .single_header(name.clone())
            .trusted_hops_from_any_peer(2)
            .build()
            .unwrap_err(),
        // OptionNotRead quotes the source.
        Resolver::builder()
            .single_header(name.clone())
            .trusted_proxies(ten())
            .max_hops(4)
            .build()
            .unwrap_err(),
        // ValueNeedsForwarded quotes the source.
        Resolver::builder()
            .list_header(name.clone())
            .trusted_proxies(ten())
            .proto(ValueSource::Forwarded)
            .build()
            .unwrap_err(),
        // ValueBesideForwarded quotes the value header.
        Resolver::builder()
            .forwarded()
            .trusted_proxies(ten())
            .proto(ValueSource::Header(name.clone()))
            .build()
            .unwrap_err(),
        // The value header is the source.
        Resolver::builder()
            .list_header(name.clone())
            .trusted_proxies(ten())
            .host(ValueSource::Header(name.clone()))
            .build()
            .unwrap_err(),
        // SidecarAppendsToSingleHeader and IdentityHeaderIsSource.
        Resolver::builder()
            .single_header(name.clone())
            .trusted_proxies(ten())
            .identity("spiffe://cluster.local/ns/a/sa/b".parse().unwrap())
            .sidecar_appends(true)
            .build()
            .unwrap_err(),
        Resolver::builder()
            .list_header(name.clone())
            .trusted_proxies(ten())
            .identity("spiffe://cluster.local/ns/a/sa/b".parse().unwrap())
            .identity_header(name.clone())
            .build()
            .unwrap_err(),
    ];
    for err in errors {
        let message = err.to_string();
        assert!(message.len() < 1_000, "{} bytes: {:?}", message.len(), err);
        assert!(message.contains("x-aaaa"), "{message}");
    }
}
