//! The readers of providers' published ranges, on fixture files in the
//! published formats (`tests/fixtures/published/`), and on broken ones.

use std::net::IpAddr;

use realip::trust::{PublishedListError, TrustParseError};
use realip::{Preset, ProxySet};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/published/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn cloudflare_text_lists_read_as_the_built_in_list() {
    let text = format!(
        "{}{}",
        fixture("cloudflare-ips-v4.txt"),
        fixture("cloudflare-ips-v6.txt")
    );
    let set = ProxySet::from_lines(&text).unwrap();
    let nets: Vec<_> = set.nets().collect();
    assert_eq!(nets, Preset::Cloudflare.networks());
    for (addr, inside) in [
        ("173.245.48.1", true),
        ("131.0.75.255", true),
        ("2a06:98c7:ffff::1", true),
        ("203.0.113.5", false),
    ] {
        assert_eq!(set.contains(ip(addr)), inside, "{addr}");
    }
}

#[test]
fn a_text_list_names_the_line_it_cannot_read() {
    let err = ProxySet::from_lines(&fixture("cloudflare-garbage.txt")).unwrap_err();
    assert!(
        matches!(
            err,
            PublishedListError::Line {
                line: 3,
                reason: TrustParseError::NotAnAddress(_)
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("line 3: "), "{err}");
    // Files of one's own: comments, blank lines and presets, as in trust=.
    let set =
        ProxySet::from_lines("# the balancers\n10.0.0.0/8  # VPC\n\nistio-sidecar\n").unwrap();
    assert_eq!(set.to_string(), "10.0.0.0/8, istio-sidecar");
    for (text, line) in [
        ("10.0.0.0/8\n0.0.0.0/0\n", None),
        ("::/80\n", None),
        ("10.0.0.1/8", Some(1)),
    ] {
        let err = ProxySet::from_lines(text).unwrap_err();
        match line {
            Some(n) => assert!(
                matches!(err, PublishedListError::Line { line, .. } if line == n),
                "{text:?}: {err:?}"
            ),
            None => assert!(
                matches!(
                    err,
                    PublishedListError::Line { .. } | PublishedListError::Meaningless(_)
                ),
                "{text:?}: {err:?}"
            ),
        }
    }
}

#[test]
fn an_empty_list_is_an_error_never_an_empty_set() {
    for text in ["", "\n\n", "# only a comment\n", "   \n\t\n"] {
        assert!(
            matches!(
                ProxySet::from_lines(text),
                Err(PublishedListError::Empty(_))
            ),
            "{text:?}"
        );
    }
}

#[test]
fn aws_ip_ranges_are_filtered_by_service_and_region() {
    let json = fixture("aws-ip-ranges.json");
    let all = ProxySet::from_aws_ip_ranges(&json, "CLOUDFRONT_ORIGIN_FACING", None).unwrap();
    assert_eq!(
        all.to_string(),
        "120.52.22.96/27, 13.124.199.0/24, 15.158.0.0/16, 2600:9000:ddd::/48"
    );
    let one =
        ProxySet::from_aws_ip_ranges(&json, "CLOUDFRONT_ORIGIN_FACING", Some("us-east-1")).unwrap();
    assert_eq!(one.to_string(), "15.158.0.0/16");
    assert!(
        !one.contains(ip("52.95.0.1")),
        "another service in the same region"
    );
    let err = ProxySet::from_aws_ip_ranges(&json, "CLOUDFRONT_ORIGIN_FACING", Some("mars-1"))
        .unwrap_err();
    assert!(matches!(err, PublishedListError::Empty(_)), "{err:?}");
    assert!(err.to_string().contains("\"mars-1\""), "{err}");
    let err = ProxySet::from_aws_ip_ranges(&json, "CLOUDFRONT", None).unwrap_err();
    assert!(matches!(err, PublishedListError::Empty(_)), "{err:?}");
}

#[test]
fn aws_ip_ranges_name_the_entry_they_cannot_read() {
    let err = ProxySet::from_aws_ip_ranges(
        &fixture("aws-bad-prefix.json"),
        "CLOUDFRONT_ORIGIN_FACING",
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PublishedListError::Entry {
                field: "prefixes",
                index: 1,
                reason: TrustParseError::HostBitsSet { .. }
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("prefixes[1]: "), "{err}");
    for broken in ["", "{}", "[]", "{\"prefixes\": 3}", "not json"] {
        assert!(
            matches!(
                ProxySet::from_aws_ip_ranges(broken, "AMAZON", None),
                Err(PublishedListError::Document(_))
            ),
            "{broken:?}"
        );
    }
}

#[test]
fn google_ranges_read_both_families_and_filter_by_scope() {
    let cloud = fixture("google-cloud.json");
    let all = ProxySet::from_google_ranges(&cloud, None).unwrap();
    assert_eq!(
        all.to_string(),
        "34.1.208.0/20, 2600:1900:8000::/44, 34.76.0.0/14, 2600:1900:4010::/44"
    );
    let west = ProxySet::from_google_ranges(&cloud, Some("europe-west1")).unwrap();
    assert_eq!(west.to_string(), "34.76.0.0/14, 2600:1900:4010::/44");
    assert!(matches!(
        ProxySet::from_google_ranges(&cloud, Some("mars-1")),
        Err(PublishedListError::Empty(_))
    ));
    let goog = ProxySet::from_google_ranges(&fixture("google-goog.json"), None).unwrap();
    assert!(goog.contains(ip("8.8.8.8")) && goog.contains(ip("2001:4860::8888")));
}

#[test]
fn google_ranges_refuse_what_means_more_than_it_says() {
    assert!(matches!(
        ProxySet::from_google_ranges(&fixture("google-whole-space.json"), None),
        Err(PublishedListError::Entry { .. } | PublishedListError::Meaningless(_))
    ));
    assert!(matches!(
        ProxySet::from_google_ranges(&fixture("google-not-a-list.json"), None),
        Err(PublishedListError::Document(_))
    ));
    let both = r#"{"prefixes": [{"ipv4Prefix": "8.8.8.0/24", "ipv6Prefix": "2001:4860::/32"}]}"#;
    assert!(matches!(
        ProxySet::from_google_ranges(both, None),
        Err(PublishedListError::Document(_))
    ));
    let preset = r#"{"prefixes": [{"ipv4Prefix": "private"}]}"#;
    assert!(matches!(
        ProxySet::from_google_ranges(preset, None),
        Err(PublishedListError::Entry { index: 0, .. })
    ));
}
