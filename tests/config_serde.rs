//! Configuration files (feature `serde`) and the text form, as a user's
//! configuration meets them: TOML through the `toml` crate, JSON through
//! `serde_json`, and `REALIP=` text through `FromStr`/`Display`.
//!
//! Every table row says what a file holds and what it must mean, written as
//! the equivalent text form; every error row names the word the message must
//! contain so that an operator can find the mistake.

use std::net::SocketAddr;

use http::HeaderMap;
use realip::config::{Deployment, ResolverConfig};
use realip::resolver::MAX_HOPS_LIMIT;
use realip::{ClientIp, ConfigError, Preset, ProxySet, Resolver, Source};
use serde_json::json;

fn from_toml(text: &str) -> Result<Resolver, String> {
    toml::from_str::<Resolver>(text).map_err(|e| e.to_string())
}

fn from_json(text: &str) -> Result<Resolver, String> {
    serde_json::from_str::<Resolver>(text).map_err(|e| e.to_string())
}

fn text(config: &str) -> Resolver {
    config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid text form: {e}"))
}

// ---------------------------------------------------------------------------
// Files: valid tables.

/// (TOML table, the same table in JSON, the text form it means).
const VALID: &[(&str, &str, &str)] = &[
    ("", "{}", "peer"),
    (r#"source = "peer""#, r#"{"source": "peer"}"#, "peer"),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["10.0.0.0/8", "istio-sidecar"]
        "#,
        r#"{"source": "x-forwarded-for", "trust": ["10.0.0.0/8", "istio-sidecar"]}"#,
        "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8, istio-sidecar"
        "#,
        r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8, istio-sidecar"}"#,
        "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar",
    ),
    // List entries are trimmed; sources are case-insensitive.
    (
        r#"
        source = "X-Forwarded-For"
        trust = [" 10.0.0.0/8 ", "::ffff:192.168.0.0/112", "2001:db8::/32"]
        "#,
        r#"{"source": "X-Forwarded-For", "trust": [" 10.0.0.0/8 ", "::ffff:192.168.0.0/112", "2001:db8::/32"]}"#,
        "x-forwarded-for; trust=10.0.0.0/8, 192.168.0.0/16, 2001:db8::/32",
    ),
    (
        r#"
        source = "forwarded"
        trust = "private"
        "#,
        r#"{"source": "forwarded", "trust": "private"}"#,
        "forwarded; trust=private",
    ),
    (
        r#"
        source = "x-real-ip"
        trust = ["127.0.0.1"]
        "#,
        r#"{"source": "x-real-ip", "trust": ["127.0.0.1"]}"#,
        "x-real-ip; trust=127.0.0.1",
    ),
    (
        r#"
        source = "header:x-forwarded-by"
        trust = "loopback"
        "#,
        r#"{"source": "header:x-forwarded-by", "trust": "loopback"}"#,
        "header:x-forwarded-by; trust=loopback",
    ),
    (
        r#"
        deployment = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
        r#"{"deployment": "aws-alb", "trust": "10.0.0.0/16"}"#,
        "x-forwarded-for; hops=1; trust=10.0.0.0/16",
    ),
    (
        r#"deployment = "gcp-lb""#,
        r#"{"deployment": "gcp-lb"}"#,
        "x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16",
    ),
    (
        r#"
        deployment = "istio-sidecar-xff"
        all_trusted = "error"
        "#,
        r#"{"deployment": "istio-sidecar-xff", "all_trusted": "error"}"#,
        "x-forwarded-for; trust=istio-sidecar; all-trusted=error",
    ),
    // Explicit settings refine the deployment.
    (
        r#"
        deployment = "cloudflare"
        source = "true-client-ip"
        trust = ["173.245.48.0/20"]
        "#,
        r#"{"deployment": "cloudflare", "source": "true-client-ip", "trust": ["173.245.48.0/20"]}"#,
        "true-client-ip; trust=173.245.48.0/20",
    ),
    // `preset`, the older name of `deployment`, is still read.
    (
        r#"
        preset = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
        r#"{"preset": "aws-alb", "trust": "10.0.0.0/16"}"#,
        "x-forwarded-for; hops=1; trust=10.0.0.0/16",
    ),
    (
        r#"
        preset = "cloudflare"
        source = "true-client-ip"
        trust = ["173.245.48.0/20"]
        "#,
        r#"{"preset": "cloudflare", "source": "true-client-ip", "trust": ["173.245.48.0/20"]}"#,
        "true-client-ip; trust=173.245.48.0/20",
    ),
    (
        r#"
        source = "x-forwarded-for"
        hops = 2
        trust = ["10.0.0.0/8"]
        "#,
        r#"{"source": "x-forwarded-for", "hops": 2, "trust": ["10.0.0.0/8"]}"#,
        "x-forwarded-for; hops=2; trust=10.0.0.0/8",
    ),
    (
        r#"
        source = "list:x-custom"
        hops = 2
        any_peer = true
        "#,
        r#"{"source": "list:x-custom", "hops": 2, "any_peer": true}"#,
        "list:x-custom; hops=2; any-peer",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        all_trusted = "leftmost"
        max_hops = 8
        unix_peer = true
        "#,
        r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "all_trusted": "leftmost", "max_hops": 8, "unix_peer": true}"#,
        "x-forwarded-for; trust=10.0.0.0/8; all-trusted=leftmost; max-hops=8; unix-peer",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        any_peer = false
        unix_peer = false
        "#,
        r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "any_peer": false, "unix_peer": false}"#,
        "x-forwarded-for; trust=10.0.0.0/8",
    ),
    // A Unix-socket proxy alone is trust enough for a header.
    (
        r#"
        source = "x-forwarded-for"
        unix_peer = true
        "#,
        r#"{"source": "x-forwarded-for", "unix_peer": true}"#,
        "x-forwarded-for; unix-peer",
    ),
    // kebab-case, as in the text form.
    (
        r#"
        source = "x-forwarded-for"
        hops = 1
        any-peer = true
        unix-peer = true
        "#,
        r#"{"source": "x-forwarded-for", "hops": 1, "any-peer": true, "unix-peer": true}"#,
        "x-forwarded-for; hops=1; any-peer; unix-peer",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        all-trusted = "error"
        max-hops = 4
        "#,
        r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "all-trusted": "error", "max-hops": 4}"#,
        "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error; max-hops=4",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "loopback"
        max_hops = 1024
        "#,
        r#"{"source": "x-forwarded-for", "trust": "loopback", "max_hops": 1024}"#,
        "x-forwarded-for; trust=loopback; max-hops=1024",
    ),
];

#[test]
fn valid_tables_mean_what_their_text_form_means() {
    for (toml_text, json_text, text_form) in VALID {
        let expected = text(text_form);
        let from_toml = from_toml(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"));
        let from_json = from_json(json_text).unwrap_or_else(|e| panic!("{json_text}: {e}"));
        assert_eq!(from_toml, expected, "TOML {toml_text}");
        assert_eq!(from_json, expected, "JSON {json_text}");
        assert_eq!(from_toml.to_string(), *text_form, "TOML {toml_text}");
    }
}

#[test]
fn a_resolver_from_a_file_resolves_by_its_settings() {
    // Checks behaviour rather than Display: a GCP balancer (two hops)
    // in front of a gateway in 10.0.0.0/8, counted as three.
    let resolver = from_toml(
        r#"
        source = "x-forwarded-for"
        hops = 3
        trust = ["10.0.0.0/8"]
        "#,
    )
    .unwrap();
    let mut headers = HeaderMap::new();
    // The balancer appends "<client>,<its own address>"; the gateway
    // appends the balancer front end it was reached from.
    headers.insert(
        "x-forwarded-for",
        "6.6.6.6, 203.0.113.7, 130.211.0.9, 35.191.0.5"
            .parse()
            .unwrap(),
    );
    let gateway: SocketAddr = "10.0.0.3:41000".parse().unwrap();
    let client = resolver.resolve(gateway, &headers).unwrap().client();
    assert_eq!(client.to_string(), "203.0.113.7");
    let stranger: SocketAddr = "198.51.100.66:5000".parse().unwrap();
    let client = resolver.resolve(stranger, &headers).unwrap().client();
    assert_eq!(client.to_string(), "198.51.100.66");
}

#[test]
fn a_section_of_a_larger_file() {
    let file: toml::Table = toml::from_str(
        r#"
        listen = "0.0.0.0:8000"

        [realip]
        deployment = "istio-gateway"
        max-hops = 16
        "#,
    )
    .unwrap();
    let resolver: Resolver = file["realip"].clone().try_into().unwrap();
    assert_eq!(
        resolver,
        text(
            "x-forwarded-for; trust=istio-sidecar; \
             identity=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account; \
             max-hops=16"
        )
    );

    let file = json!({"server": {"realip": {"source": "x-real-ip", "trust": ["10.0.0.1"]}}});
    let resolver: Resolver = serde_json::from_value(file["server"]["realip"].clone()).unwrap();
    assert_eq!(resolver, text("x-real-ip; trust=10.0.0.1"));
}

#[test]
fn a_resolver_config_keeps_its_deployment_until_built() {
    let config: ResolverConfig = toml::from_str(
        r#"
        deployment = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
    )
    .unwrap();
    assert_eq!(config.deployment, Some(Deployment::AwsAlb));
    assert_eq!(config.source, None);
    assert_eq!(config.hops, None);
    assert_eq!(config.trust, Some("10.0.0.0/16".parse().unwrap()));
    assert_eq!(
        config,
        "deployment:aws-alb; trust=10.0.0.0/16".parse().unwrap()
    );
    assert_eq!(
        config.build().unwrap().to_string(),
        "x-forwarded-for; hops=1; trust=10.0.0.0/16"
    );
    // The older spellings, in a file and in text, hold the same config.
    let older: ResolverConfig = toml::from_str(
        r#"
        preset = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
    )
    .unwrap();
    assert_eq!(older, config);
    assert_eq!(config, "preset:aws-alb; trust=10.0.0.0/16".parse().unwrap());

    // A config that does not build is still a config: it is checked at
    // build, and the file form and the text form agree on why.
    let config: ResolverConfig = serde_json::from_str(r#"{"deployment": "nginx"}"#).unwrap();
    let from_file = config.build().unwrap_err();
    let from_text = "deployment:nginx".parse::<Resolver>().unwrap_err();
    assert_eq!(from_file, from_text);
    assert!(
        matches!(from_file, ConfigError::NoTrust { .. }),
        "{from_file:?}"
    );
}

// ---------------------------------------------------------------------------
// Files: errors that name the problem.

/// (TOML table, what the message must contain).
const INVALID: &[(&str, &str)] = &[
    // Unknown keys are refused, and named.
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        colour = "blue"
        "#,
        "unknown field `colour`",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trusted_proxies = "10.0.0.0/8"
        "#,
        "unknown field `trusted_proxies`",
    ),
    (
        r#"
        source = "x-forwarded-for"
        Trust = "10.0.0.0/8"
        "#,
        "unknown field `Trust`",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        max_hop = 8
        "#,
        "unknown field `max_hop`",
    ),
    // The same setting under both spellings is given twice.
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        max_hops = 4
        max-hops = 8
        "#,
        "duplicate field",
    ),
    // Trusted proxies.
    (
        r#"
        source = "x-forwarded-for"
        trust = ["10.0.0.0/33"]
        "#,
        "10.0.0.0/33",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8, 10.0.0.0/33"
        "#,
        "10.0.0.0/33",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["10.0.0.1/8"]
        "#,
        "did you mean 10.0.0.0/8",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["gateway.internal"]
        "#,
        "gateway.internal",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["fe80::1%eth0"]
        "#,
        "zone",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ""
        "#,
        "no trusted proxy given",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = 10
        "#,
        "a list of addresses, CIDR ranges or presets",
    ),
    // Sources and deployments.
    (
        r#"
        source = "x forwarded for"
        trust = "10.0.0.0/8"
        "#,
        "invalid source \"x forwarded for\"",
    ),
    (
        r#"
        source = "list:"
        trust = "10.0.0.0/8"
        "#,
        "invalid source",
    ),
    (r#"deployment = "heroku""#, "unknown deployment \"heroku\""),
    (r#"preset = "heroku""#, "unknown deployment \"heroku\""),
    (
        r#"
        deployment = "aws-alb"
        "#,
        "trusts no proxy",
    ),
    (
        r#"
        preset = "aws-alb"
        "#,
        "trusts no proxy",
    ),
    // Two names for one setting: the file must say which it means.
    (
        r#"
        deployment = "aws-alb"
        preset = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
        "deployment and preset are both given",
    ),
    (
        r#"
        preset = "gcp-lb"
        deployment = "aws-alb"
        trust = "10.0.0.0/16"
        "#,
        "deployment and preset are both given",
    ),
    // Options.
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        any_peer = true
        "#,
        "any-peer only applies with hops",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        all_trusted = "maybe"
        "#,
        "maybe",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        hops = "two"
        "#,
        "two",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        hops = -1
        "#,
        "-1",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        max_hops = 0
        "#,
        "max_hops must be between 1 and 1024, not 0",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = "10.0.0.0/8"
        max_hops = 1025
        "#,
        "not 1025",
    ),
    (
        r#"
        source = "x-forwarded-for"
        hops = 1025
        trust = "10.0.0.0/8"
        "#,
        "hops=1025 exceeds 1024, the most hops a resolver walks",
    ),
    // Options the source, or a hop count, does not read (rule 13).
    (
        r#"
        source = "peer"
        hops = 1
        "#,
        "hops= has no effect with peer (hops=1)",
    ),
    (
        r#"
        source = "peer"
        max-hops = 64
        "#,
        "max-hops= has no effect with peer",
    ),
    (
        r#"
        deployment = "direct"
        all_trusted = "error"
        "#,
        "all-trusted= has no effect with peer",
    ),
    (
        r#"
        source = "x-forwarded-for"
        hops = 2
        trust = "10.0.0.0/8"
        max_hops = 8
        "#,
        "max-hops= has no effect with hops=2",
    ),
    (
        r#"
        deployment = "aws-alb"
        trust = "10.0.0.0/16"
        all_trusted = "leftmost"
        "#,
        "all-trusted= has no effect with hops=1",
    ),
    (
        r#"
        deployment = "cloudflare"
        max_hops = 4
        "#,
        "max-hops= has no effect with cf-connecting-ip",
    ),
    // Header names with a meaning of their own, and sets that are
    // sound range by range but not together (rule 13).
    (
        r#"
        source = "header:host"
        trust = "10.0.0.0/8"
        "#,
        "header:host: host is a field HTTP defines",
    ),
    (
        r#"
        source = "list:x-real-ip"
        trust = "10.0.0.0/8"
        "#,
        "write x-real-ip",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["0.0.0.0/1", "128.0.0.0/1"]
        "#,
        "together they hold every IPv4 address",
    ),
    (
        r#"
        source = "x-forwarded-for"
        trust = ["10.0.0.0/08"]
        "#,
        "not a plain decimal number",
    ),
    (
        r#"
        source = "x-real-ip"
        hops = 2
        any_peer = true
        "#,
        "x-real-ip",
    ),
    (
        r#"
        source = "peer"
        trust = "10.0.0.0/8"
        "#,
        "choose a header to read",
    ),
    // NoTrust, in every way of trusting nothing.
    (r#"source = "x-forwarded-for""#, "trusts no proxy"),
    (
        r#"
        source = "x-forwarded-for"
        trust = []
        "#,
        "trusts no proxy",
    ),
    (
        r#"
        source = "forwarded"
        hops = 0
        trust = "10.0.0.0/8"
        "#,
        "hops=0 trusts no proxy",
    ),
];

#[test]
fn invalid_tables_are_refused_with_a_message_that_names_the_problem() {
    for (toml_text, needle) in INVALID {
        let err = from_toml(toml_text).expect_err(toml_text);
        assert!(
            err.contains(needle),
            "TOML {toml_text}\ngave {err:?}, which does not name {needle:?}"
        );
    }
}

#[test]
fn json_errors_name_the_problem_too() {
    let table = [
        (
            json!({"source": "x-forwarded-for", "trust": "10.0.0.0/8", "colour": "blue"}),
            "unknown field `colour`",
        ),
        (
            json!({"source": "x-forwarded-for", "trust": ["10.0.0.0/33"]}),
            "10.0.0.0/33",
        ),
        (
            json!({"source": "x forwarded for", "trust": "10.0.0.0/8"}),
            "invalid source",
        ),
        (
            json!({"deployment": "heroku"}),
            "unknown deployment \"heroku\"",
        ),
        (json!({"preset": "heroku"}), "unknown deployment \"heroku\""),
        (
            json!({"deployment": "aws-alb", "preset": "aws-alb", "trust": "10.0.0.0/16"}),
            "deployment and preset are both given",
        ),
        (
            json!({"source": "x-forwarded-for", "trust": "10.0.0.0/8", "any-peer": true}),
            "any-peer only applies with hops",
        ),
        (json!({"source": "x-forwarded-for"}), "trusts no proxy"),
        (
            json!({"source": "x-forwarded-for", "trust": null}),
            "trusts no proxy",
        ),
        (
            json!({"source": "x-forwarded-for", "trust": [1]}),
            "expected a string",
        ),
        (json!("x-forwarded-for; trust=10.0.0.0/8"), "invalid type"),
    ];
    for (value, needle) in table {
        let text = value.to_string();
        let err = from_json(&text).expect_err(&text);
        assert!(
            err.contains(needle),
            "JSON {text}\ngave {err:?}, which does not name {needle:?}"
        );
    }
}

#[test]
fn error_messages_do_not_echo_unbounded_input() {
    let long = "x".repeat(10_000);
    for toml_text in [
        format!("deployment = \"{long}\""),
        format!("preset = \"{long}\""),
        format!("source = \"list:{long} {long}\"\ntrust = \"10.0.0.0/8\""),
        format!("source = \"x-forwarded-for\"\ntrust = [\"{long}\"]"),
        format!("source = \"x-forwarded-for\"\ntrust = \"10.0.0.0/8\"\nall_trusted = \"{long}\""),
    ] {
        let err = toml::from_str::<Resolver>(&toml_text)
            .expect_err("an invalid table")
            .message()
            .to_owned();
        assert!(
            err.len() < 400,
            "{} bytes of message for {} bytes of input: {err:.200}",
            err.len(),
            toml_text.len()
        );
        assert!(
            err.contains(&"x".repeat(32)),
            "the message still names it: {err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Value types.

#[test]
fn client_ip_serialises_as_a_string_and_round_trips() {
    let table = [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("64:ff9b::cb00:7107", "64:ff9b::cb00:7107"),
    ];
    for (input, shown) in table {
        let ip: ClientIp = serde_json::from_value(json!(input)).unwrap();
        assert_eq!(ip.to_string(), shown, "{input}");
        let json = serde_json::to_value(ip).unwrap();
        assert_eq!(json, json!(shown), "{input}");
        let again: ClientIp = serde_json::from_value(json).unwrap();
        assert_eq!(again, ip, "{input}");

        let toml_value = toml::Value::try_from(ip).unwrap();
        assert_eq!(toml_value, toml::Value::String(shown.to_owned()), "{input}");
        let mut table = toml::Table::new();
        table.insert("client".to_owned(), toml_value);
        let file = toml::to_string(&table).unwrap();
        assert_eq!(file, format!("client = \"{shown}\"\n"));
        let read: toml::Table = toml::from_str(&file).unwrap();
        let again: ClientIp = read["client"].clone().try_into().unwrap();
        assert_eq!(again, ip, "{input}");
    }
    // A list of them, as an allow-list in a file.
    let allow: Vec<ClientIp> = serde_json::from_str(r#"["192.0.2.1", "2001:db8::1"]"#).unwrap();
    assert_eq!(
        serde_json::to_string(&allow).unwrap(),
        r#"["192.0.2.1","2001:db8::1"]"#
    );
}

#[test]
fn client_ip_refuses_what_is_not_one_address() {
    for bad in [
        json!("0.0.0.0"),
        json!("::"),
        json!("203.0.113.7:80"),
        json!("[2001:db8::1]"),
        json!("10.0.0.0/8"),
        json!("example.com"),
        json!(""),
        json!(42),
        json!(["203.0.113.7"]),
    ] {
        assert!(
            serde_json::from_value::<ClientIp>(bad.clone()).is_err(),
            "{bad} is not a client address"
        );
    }
}

#[test]
fn proxy_set_serialises_to_its_text_form() {
    let table = [
        "10.0.0.0/8",
        "10.0.0.0/8, istio-sidecar",
        "loopback, private, link-local, istio-sidecar",
        "192.0.2.7, 2001:db8::/32, ::1",
    ];
    for text in table {
        let set: ProxySet = text.parse().unwrap();
        assert_eq!(serde_json::to_value(&set).unwrap(), json!(text));
        assert_eq!(
            toml::Value::try_from(&set).unwrap(),
            toml::Value::String(text.to_owned())
        );
        // Serialised, then read back: the same set.
        let again: ProxySet = serde_json::from_value(json!(text)).unwrap();
        assert_eq!(again, set, "{text}");
        // The list form reads the same.
        let list: Vec<&str> = text.split(", ").collect();
        let again: ProxySet = serde_json::from_value(json!(list)).unwrap();
        assert_eq!(again, set, "{text}");
    }
    // Host addresses are written without their /32 or /128, and mapped
    // IPv6 as the IPv4 they map.
    let set: ProxySet = serde_json::from_value(json!([
        "192.0.2.7/32",
        "2001:db8::1/128",
        "::ffff:10.0.0.0/104",
        "::ffff:192.0.2.9"
    ]))
    .unwrap();
    assert_eq!(
        serde_json::to_value(&set).unwrap(),
        json!("192.0.2.7, 2001:db8::1, 10.0.0.0/8, 192.0.2.9")
    );
    // Every preset serialises to its name.
    for preset in Preset::ALL {
        let set = ProxySet::preset(preset);
        assert_eq!(serde_json::to_value(&set).unwrap(), json!(preset.name()));
    }
}

// ---------------------------------------------------------------------------
// The text form: round trips through Display.

/// Whether `resolver`'s Display is a fixed point that parses back to it.
fn assert_round_trips(resolver: &Resolver, origin: &str) {
    let shown = resolver.to_string();
    let again: Resolver = shown
        .parse()
        .unwrap_or_else(|e| panic!("{origin:?} shows as {shown:?}, which does not parse: {e}"));
    assert_eq!(
        &again, resolver,
        "{origin:?} shows as {shown:?}, which reads differently"
    );
    assert_eq!(again.to_string(), shown, "{origin:?}");
}

#[test]
fn every_deployment_round_trips() {
    for deployment in Deployment::ALL {
        assert_eq!(deployment.to_string().parse::<Deployment>(), Ok(deployment));
        let upper = deployment.name().to_ascii_uppercase();
        assert_eq!(upper.parse::<Deployment>(), Ok(deployment), "{upper}");

        // Deployments that need the operator's ranges get one.
        let bare = format!("deployment:{deployment}");
        let config = match bare.parse::<Resolver>() {
            Ok(_) => bare,
            Err(_) => format!("{bare}; trust=10.0.0.0/16"),
        };
        let resolver = text(&config);
        assert!(!resolver.to_string().contains("deployment"), "{config}");
        assert_round_trips(&resolver, &config);
        // The older spelling builds the same resolver.
        let older = config.replacen("deployment:", "preset:", 1);
        assert_eq!(text(&older), resolver, "{older}");

        // Every option refines a deployment, and still round-trips.
        for options in ["; max-hops=8", "; all-trusted=error", "; unix-peer"] {
            let refined = format!("{config}{options}");
            match refined.parse::<Resolver>() {
                Ok(resolver) => {
                    assert!(resolver.to_string().ends_with(options), "{refined}");
                    assert_round_trips(&resolver, &refined);
                }
                // A Unix-socket proxy means nothing when no header is
                // read; max-hops bounds nothing for the peer, a
                // single-address header or a hop count; all-trusted is
                // never consulted for the peer or a hop count (rule 13).
                Err(e) => {
                    let peer = resolver.source() == &Source::Peer;
                    let counted = resolver.trust().clone()
                        != realip::Trust::Proxies(Default::default())
                        && matches!(
                            resolver.trust(),
                            realip::Trust::Hops { .. } | realip::Trust::HopsFromAnyPeer { .. }
                        );
                    let refused = match options {
                        "; unix-peer" => peer,
                        "; max-hops=8" => peer || counted || resolver.source().is_single(),
                        _ => peer || counted,
                    };
                    assert!(refused, "{refined}: {e}");
                }
            }
        }
    }
}

#[test]
fn every_combination_of_options_round_trips() {
    let sources = [
        "forwarded",
        "x-forwarded-for",
        "list:x-custom",
        "list:x-forwarded-for",
        "x-real-ip",
        "cf-connecting-ip",
        "cloudfront-viewer-address",
        "header:peer",
    ];
    let mut trusts: Vec<String> = Preset::ALL.iter().map(|p| format!("trust={p}")).collect();
    trusts.extend([
        "trust=10.0.0.0/8, 172.16.0.0/12, 192.0.2.7, 2001:db8::/32, ::1, ::ffff:10.0.0.0/104"
            .into(),
        "hops=1; trust=10.0.0.0/8".into(),
        "hops=2; trust=loopback, 10.0.0.0/8".into(),
        "hops=1; any-peer".into(),
        "hops=3; any-peer".into(),
    ]);
    let all_trusted = ["", "; all-trusted=leftmost", "; all-trusted=error"];
    let max_hops = ["", "; max-hops=1", "; max-hops=32", "; max-hops=1024"];
    let unix = ["", "; unix-peer"];
    let mut checked = 0;
    for source in sources {
        for trust in &trusts {
            for a in all_trusted {
                for m in max_hops {
                    for u in unix {
                        let config = format!("{source}; {trust}{a}{m}{u}");
                        // What rule 13 refuses: an option that is not
                        // read (max-hops with a count or a single-address
                        // header, all-trusted with a count).
                        let counted = trust.starts_with("hops=");
                        let single = !source.starts_with("list:")
                            && !["forwarded", "x-forwarded-for"].contains(&source);
                        let unread =
                            (!m.is_empty() && (counted || single)) || (!a.is_empty() && counted);
                        match config.parse::<Resolver>() {
                            Ok(resolver) => {
                                assert!(!unread, "{config:?} was accepted");
                                assert_round_trips(&resolver, &config);
                                checked += 1;
                            }
                            Err(ConfigError::OptionNotRead { .. }) if unread => {}
                            // A count above 1 for a single-address header.
                            Err(ConfigError::SingleHeaderHops { .. }) if single => {}
                            Err(e) => panic!("{config:?}: {e}"),
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} combinations were valid");
    assert_round_trips(&Resolver::default(), "peer");
}

#[test]
fn hop_count_trusting_only_a_unix_peer_round_trips() {
    // `hops=1` with `unix-peer` and no `trust=` builds (the Unix-socket
    // proxy is the trust), but displays as
    // "x-forwarded-for; hops=1; trust=; unix-peer", which does not parse.
    let config = "x-forwarded-for; hops=1; unix-peer";
    assert_round_trips(&text(config), config);
}

#[test]
fn sources_round_trip() {
    let table = [
        ("peer", "peer"),
        ("PEER", "peer"),
        ("Forwarded", "forwarded"),
        ("x-forwarded-for", "x-forwarded-for"),
        ("list:x-forwarded-for", "x-forwarded-for"),
        ("LIST:X-Custom", "list:x-custom"),
        ("X-Real-IP", "x-real-ip"),
        ("header:x-real-ip", "x-real-ip"),
        ("header:peer", "header:peer"),
        ("header:forwarded", "header:forwarded"),
        ("header:x-forwarded-for", "header:x-forwarded-for"),
        (" cf-connecting-ip ", "cf-connecting-ip"),
    ];
    for (input, shown) in table {
        let source: Source = input.parse().unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(source.to_string(), shown, "{input:?}");
        assert_eq!(shown.parse::<Source>(), Ok(source), "{input:?}");
    }
    // A single-address header named like a keyword is not the keyword.
    assert!("header:forwarded".parse::<Source>().unwrap().is_single());
    assert_eq!("forwarded".parse::<Source>(), Ok(Source::Forwarded));
}

#[test]
fn text_form_errors_beyond_the_unit_tests() {
    let table: &[(&str, &str)] = &[
        ("deployment:", "unknown deployment"),
        ("preset:", "unknown deployment"),
        ("deployment:heroku", "unknown deployment \"heroku\""),
        ("preset:heroku", "unknown deployment \"heroku\""),
        // The first part names one deployment: no second one, no source.
        (
            "deployment:aws-alb; deployment:gcp-lb",
            "unknown option \"deployment:gcp-lb\"",
        ),
        (
            "x-forwarded-for; deployment=aws-alb",
            "unknown option \"deployment\"",
        ),
        ("x-forwarded-for; hops=; trust=10.0.0.0/8", "hops"),
        ("x-forwarded-for; trust=10.0.0.0/8; max-hops=0", "not 0"),
        (
            "x-forwarded-for; trust=10.0.0.0/8; max-hops=5000",
            "not 5000",
        ),
        ("x-forwarded-for; trust=10.0.0.0/8; max-hops=-1", "-1"),
        (
            "x-forwarded-for; hops=5; trust=10.0.0.0/8; max-hops=4",
            "max-hops= has no effect with hops=5",
        ),
        ("x-real-ip; hops=2; trust=10.0.0.0/8", "x-real-ip"),
        ("peer; trust=10.0.0.0/8", "choose a header to read"),
        ("peer; unix-peer", "choose a header to read"),
        ("x-forwarded-for; hops=1; any-peer=yes", "yes"),
        (
            "x-forwarded-for; trust=10.0.0.1/8",
            "did you mean 10.0.0.0/8",
        ),
        ("x-forwarded-for; trust=fe80::1%eth0", "zone"),
        ("x-forwarded-for; trust=", "trust"),
        ("x-forwarded-for; hops=0; any-peer", "trusts no proxy"),
        ("x-forwarded-for; hops=1; hops=2; any-peer", "given twice"),
        ("x-forwarded-for; unix-peer; UNIX-PEER", "given twice"),
        ("list:bad name; trust=::1", "list:bad name"),
        (
            "x-forwarded-for; trust=10.0.0.0/8; proxy-protocol",
            "proxy-protocol",
        ),
    ];
    for (config, needle) in table {
        let err = config.parse::<Resolver>().expect_err(config).to_string();
        assert!(
            err.contains(needle),
            "{config:?} gave {err:?}, which does not name {needle:?}"
        );
    }
    // Errors quote at most 64 characters of what they were given.
    for prefix in ["deployment:", "preset:"] {
        let long = format!("{prefix}{}", "y".repeat(5000));
        let err = long.parse::<Resolver>().unwrap_err().to_string();
        assert!(err.contains(&"y".repeat(64)), "{err:.200}");
        assert!(!err.contains(&"y".repeat(65)), "{err:.200}");
    }
    // MAX_HOPS_LIMIT itself is accepted.
    assert_round_trips(
        &text(&format!(
            "x-forwarded-for; trust=::1; max-hops={MAX_HOPS_LIMIT}"
        )),
        "max-hops at the limit",
    );
}

#[test]
fn review_findings_stay_fixed() {
    // any-peer and trust= contradict each other.
    let err = "x-forwarded-for; hops=1; any-peer; trust=10.0.0.0/8"
        .parse::<Resolver>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("any-peer") && err.contains("trust"), "{err}");
    // deployment: and preset: are case-insensitive like every other keyword.
    assert_eq!(
        "DEPLOYMENT:gcp-lb".parse::<Resolver>().unwrap(),
        "deployment:gcp-lb".parse::<Resolver>().unwrap()
    );
    assert_eq!(
        "PRESET:gcp-lb".parse::<Resolver>().unwrap(),
        "deployment:gcp-lb".parse::<Resolver>().unwrap()
    );
    // A multi-byte first part never panics the deployment check.
    assert!("présetx".parse::<Resolver>().is_err());
    assert!("déploymentx".parse::<Resolver>().is_err());
    assert!("deploymenté:gcp-lb".parse::<Resolver>().is_err());
    // A list item may itself be a comma list.
    let r = from_toml("source = \"x-forwarded-for\"\ntrust = [\"10.0.0.0/8, private\"]").unwrap();
    assert_eq!(r.to_string(), "x-forwarded-for; trust=10.0.0.0/8, private");
    // A sequence is not a table of settings.
    let err = from_json("[]").unwrap_err();
    assert!(err.contains("table"), "{err}");
}

// ---------------------------------------------------------------------------
// Rule 13: configuration never silently means something else.

/// A configuration that fails in the text form and in both file forms,
/// each message containing `needle`.
fn refused_everywhere(text_form: &str, toml_form: &str, json_form: &str, needle: &str) {
    let text_err = text_form
        .parse::<Resolver>()
        .map(|r| r.to_string())
        .expect_err(text_form)
        .to_string();
    assert!(text_err.contains(needle), "{text_form:?}: {text_err}");
    let toml_err = from_toml(toml_form)
        .map(|r| r.to_string())
        .expect_err(toml_form);
    assert!(toml_err.contains(needle), "{toml_form}: {toml_err}");
    let json_err = from_json(json_form)
        .map(|r| r.to_string())
        .expect_err(json_form);
    assert!(json_err.contains(needle), "{json_form}: {json_err}");
}

#[test]
fn rule13_unknown_source_names_are_errors_that_name_the_closest_source() {
    let table: &[(&str, &str)] = &[
        ("x-forwarded-fro", "did you mean x-forwarded-for?"),
        ("X-Forwarded-Fro", "did you mean x-forwarded-for?"),
        ("xff", "did you mean x-forwarded-for?"),
        ("x_forwarded_for", "did you mean x-forwarded-for?"),
        ("x-forward-for", "did you mean x-forwarded-for?"),
        ("x-real-ip4", "did you mean x-real-ip?"),
        ("true-client", "did you mean true-client-ip?"),
        ("cf-connecting_ip", "did you mean cf-connecting-ip?"),
        ("forwarder", "did you mean forwarded?"),
        ("per", "did you mean peer?"),
        ("x-my-ip", "header:NAME"),
        ("client-address", "header:NAME"),
        ("trust", "is an option, not a source"),
        ("hops", "is an option, not a source"),
        ("any-peer", "is an option, not a source"),
        ("unix-peer", "is an option, not a source"),
        ("max-hops", "is an option, not a source"),
    ];
    for (source, needle) in table {
        refused_everywhere(
            &format!("{source}; trust=127.0.0.1"),
            &format!("source = \"{source}\"\ntrust = \"127.0.0.1\""),
            &format!(r#"{{"source": "{source}", "trust": "127.0.0.1"}}"#),
            needle,
        );
    }
    // The typo of the issue: it used to read X-Forwarded-Fro, a header no
    // proxy overwrites, so any client chose its address.
    let err = "x-forwarded-fro; trust=127.0.0.1"
        .parse::<Resolver>()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::UnknownSource {
            closest: Some("x-forwarded-for"),
            ..
        }
    ));
    assert!(err.to_string().contains("\"x-forwarded-fro\""), "{err}");
}

#[test]
fn rule13_every_known_single_header_is_accepted_bare_and_any_other_as_header_name() {
    for name in &realip::explain::FORWARDING_HEADERS[2..] {
        for written in [name.to_string(), name.to_uppercase()] {
            let resolver = text(&format!("{written}; trust=127.0.0.1"));
            assert_eq!(resolver.to_string(), format!("{name}; trust=127.0.0.1"));
            assert!(resolver.source().is_single());
        }
    }
    for (written, shown) in [
        ("header:x-my-ip", "header:x-my-ip"),
        ("Header:X-My-IP", "header:x-my-ip"),
        ("header:x-real-ip", "x-real-ip"),
        ("list:x-my-chain", "list:x-my-chain"),
    ] {
        let config = format!("{written}; trust=127.0.0.1");
        let resolver = text(&config);
        assert_eq!(resolver.to_string(), format!("{shown}; trust=127.0.0.1"));
        assert_round_trips(&resolver, &config);
        let from_file = from_json(&format!(
            r#"{{"source": "{written}", "trust": "127.0.0.1"}}"#
        ))
        .unwrap();
        assert_eq!(from_file, resolver);
    }
    // The file form names a custom header the same way.
    let toml = from_toml("source = \"header:x-my-ip\"\ntrust = [\"10.0.0.0/8\"]").unwrap();
    assert_eq!(toml.to_string(), "header:x-my-ip; trust=10.0.0.0/8");
    let peer: SocketAddr = "10.0.0.3:4000".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-my-ip", "203.0.113.7".parse().unwrap());
    assert_eq!(
        toml.resolve(peer, &headers).unwrap().client().to_string(),
        "203.0.113.7"
    );
}

#[test]
fn rule13_numbers_are_plain_decimal() {
    for config in [
        "x-forwarded-for; hops=+1; trust=10.0.0.0/8",
        "x-forwarded-for; hops=01; trust=10.0.0.0/8",
        "x-forwarded-for; hops=1.0; trust=10.0.0.0/8",
        "x-forwarded-for; hops=0x1; trust=10.0.0.0/8",
        "x-forwarded-for; hops=99999999999999999999999; trust=10.0.0.0/8",
        "x-forwarded-for; trust=10.0.0.0/8; max-hops=+8",
        "x-forwarded-for; trust=10.0.0.0/8; max-hops=08",
        "x-forwarded-for; trust=10.0.0.0/8; max-hops=-8",
    ] {
        let err = config.parse::<Resolver>().unwrap_err();
        assert!(
            err.to_string().contains("a plain decimal number"),
            "{config:?}: {err}"
        );
    }
    assert_eq!(
        text("x-forwarded-for; trust=10.0.0.0/8; max-hops=10").to_string(),
        "x-forwarded-for; trust=10.0.0.0/8; max-hops=10"
    );
    // Prefix lengths too, wherever a set is written.
    for config in [
        "x-forwarded-for; trust=10.0.0.0/08",
        "x-forwarded-for; trust=10.0.0.0/+8",
        "x-forwarded-for; trust=192.0.2.1/032",
        "x-forwarded-for; hops=1; trust=2001:db8::/032",
    ] {
        let err = config.parse::<Resolver>().unwrap_err();
        assert!(
            err.to_string().contains("not a plain decimal number"),
            "{config:?}: {err}"
        );
    }
    for file in [
        r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/08"}"#,
        r#"{"source": "x-forwarded-for", "trust": ["10.0.0.0/8", "172.16.0.0/012"]}"#,
    ] {
        let err = from_json(file).unwrap_err();
        assert!(err.contains("not a plain decimal number"), "{file}: {err}");
    }
}

#[test]
fn rule13_hops_zero_is_refused_in_every_combination() {
    for (text_form, toml_form) in [
        (
            "x-forwarded-for; hops=0; trust=10.0.0.0/8",
            "source = \"x-forwarded-for\"\nhops = 0\ntrust = \"10.0.0.0/8\"",
        ),
        (
            "x-forwarded-for; hops=0; any-peer",
            "source = \"x-forwarded-for\"\nhops = 0\nany_peer = true",
        ),
        (
            "x-forwarded-for; hops=0; unix-peer",
            "source = \"x-forwarded-for\"\nhops = 0\nunix_peer = true",
        ),
        (
            "x-forwarded-for; hops=0; trust=10.0.0.0/8; unix-peer",
            "source = \"x-forwarded-for\"\nhops = 0\ntrust = \"10.0.0.0/8\"\nunix_peer = true",
        ),
        ("peer; hops=0", "source = \"peer\"\nhops = 0"),
        (
            "deployment:aws-alb; hops=0; trust=10.0.0.0/16",
            "deployment = \"aws-alb\"\nhops = 0\ntrust = \"10.0.0.0/16\"",
        ),
        (
            "preset:aws-alb; hops=0; trust=10.0.0.0/16",
            "preset = \"aws-alb\"\nhops = 0\ntrust = \"10.0.0.0/16\"",
        ),
    ] {
        let json_form = format!(
            "{{{}}}",
            toml_form
                .lines()
                .map(|l| {
                    let (k, v) = l.split_once(" = ").unwrap();
                    format!("\"{k}\": {v}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        refused_everywhere(text_form, toml_form, &json_form, "hops=0");
    }
}

#[test]
fn rule13_ranges_that_trust_more_than_they_say_are_refused() {
    let table: &[(&str, &str)] = &[
        ("0.0.0.0/0", "hops=N; any-peer"),
        ("::/0", "hops=N; any-peer"),
        ("10.0.0.0/8, ::/0", "hops=N; any-peer"),
        ("::ffff:0:0/96", "hops=N; any-peer"),
        ("::/80", "::ffff:0:0/96"),
        ("::/64", "::ffff:0:0/96"),
        ("::/1", "::ffff:0:0/96"),
        ("::fffe:0:0/95", "::ffff:0:0/96"),
    ];
    for (set, needle) in table {
        refused_everywhere(
            &format!("x-forwarded-for; trust={set}"),
            &format!("source = \"x-forwarded-for\"\ntrust = \"{set}\""),
            &format!(r#"{{"source": "x-forwarded-for", "trust": ["{set}"]}}"#),
            needle,
        );
        // The message names the range, so that the operator finds it.
        let err = format!("x-forwarded-for; hops=1; trust={set}")
            .parse::<Resolver>()
            .unwrap_err()
            .to_string();
        let bad = set.rsplit(", ").next().unwrap();
        assert!(err.contains(bad), "{set}: {err}");
    }
    // What the set holds is what it shows: a range written in the mapped
    // form is shown as the IPv4 range it is, and an IPv6 range beside the
    // mapped space trusts no IPv4 address.
    let set: ProxySet = "::ffff:10.0.0.0/104, ::/96, 2001:db8::/32".parse().unwrap();
    assert_eq!(set.to_string(), "10.0.0.0/8, ::/96, 2001:db8::/32");
    assert!(set.contains("10.1.2.3".parse().unwrap()));
    assert!(!set.contains("0.0.0.7".parse().unwrap()));
    assert!(set.contains("::7".parse().unwrap()));
}

/// Rule 14's settings in files: the same words as the text form, and
/// `allowed_hosts` as one string or a list.
#[test]
fn rule14_scheme_and_host_settings_in_files() {
    let same = [
        (
            r#"
            source = "x-forwarded-for"
            trust = "10.0.0.0/8"
            proto = "x-forwarded-proto"
            host = "x-forwarded-host"
            align = "single"
            allowed_hosts = ["shop.example.com", "*.cdn.example.com"]
            "#,
            r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "proto": "x-forwarded-proto",
                "host": "x-forwarded-host", "align": "single",
                "allowed-hosts": "shop.example.com, *.cdn.example.com"}"#,
            "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; host=x-forwarded-host; \
             align=single; allowed-hosts=shop.example.com, *.cdn.example.com",
        ),
        (
            r#"
            source = "forwarded"
            trust = "10.0.0.0/8"
            proto = "forwarded"
            host = "forwarded"
            "#,
            r#"{"source": "forwarded", "trust": "10.0.0.0/8", "proto": "forwarded", "host": "forwarded"}"#,
            "forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded",
        ),
    ];
    for (toml, json, text_form) in same {
        let expected = text(text_form);
        assert_eq!(from_toml(toml).unwrap(), expected, "{toml}");
        assert_eq!(from_json(json).unwrap(), expected, "{json}");
    }
    let refused = [
        (
            r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "proto": "forwarded"}"#,
            "proto=forwarded reads the client's own Forwarded element",
        ),
        (
            r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "align": "single"}"#,
            "neither proto= nor host= names a header",
        ),
        (
            r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "host": "x-forwarded-host",
                "allowed_hosts": ["a.example:80"]}"#,
            "allowed_hosts",
        ),
        (
            r#"{"source": "x-forwarded-for", "trust": "10.0.0.0/8", "proto": "x-forwarded-schema"}"#,
            "x-forwarded-schema",
        ),
    ];
    for (json, word) in refused {
        let err = from_json(json).unwrap_err();
        assert!(err.contains(word), "{json}: {err}");
    }
}

/// `deployment:cloudflare` needs no `trust=`: Cloudflare's published,
/// dated ranges are built in (`trust=cloudflare`), and a list of one's own
/// replaces them.
#[test]
fn the_cloudflare_deployment_trusts_the_built_in_ranges() {
    let resolver = text("deployment:cloudflare");
    assert_eq!(resolver.to_string(), "cf-connecting-ip; trust=cloudflare");
    let mut headers = HeaderMap::new();
    headers.insert("cf-connecting-ip", "203.0.113.5".parse().unwrap());
    for (peer, client) in [
        ("173.245.48.1:443", "203.0.113.5"),
        ("[2a06:98c0::1]:443", "203.0.113.5"),
        ("198.51.100.1:443", "198.51.100.1"),
    ] {
        let peer: SocketAddr = peer.parse().unwrap();
        let got = resolver
            .resolve(peer, &headers)
            .unwrap()
            .client()
            .to_string();
        assert_eq!(got, client, "{peer}");
    }
    assert_eq!(
        text("deployment:cloudflare; trust=10.0.0.0/8").to_string(),
        "cf-connecting-ip; trust=10.0.0.0/8"
    );
    assert_eq!(
        text("x-real-ip; trust=gcp-lb").to_string(),
        "x-real-ip; trust=gcp-lb"
    );
    assert_eq!(from_json(r#"{"preset": "cloudflare"}"#).unwrap(), resolver);
}

/// Rule 15's settings in files: `identity` as one string (a comma list) or
/// a list, `identity_header` and `sidecar_appends` in either spelling, the
/// same words as the text form.
#[test]
fn rule15_caller_identity_settings_in_files() {
    const GW: &str =
        "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
    const NS: &str = "spiffe://cluster.local/ns/ingress/";
    let same = [
        (
            format!(
                r#"
                source = "x-forwarded-for"
                trust = "istio-sidecar"
                identity = "{GW}"
                "#
            ),
            format!(
                r#"{{"source": "x-forwarded-for", "trust": "istio-sidecar", "identity": "{GW}"}}"#
            ),
            format!("x-forwarded-for; trust=istio-sidecar; identity={GW}"),
        ),
        (
            format!(
                r#"
                source = "x-forwarded-for"
                trust = "istio-sidecar"
                identity = ["{GW}", "{NS}"]
                identity-header = "X-Client-Cert"
                sidecar-appends = true
                "#
            ),
            format!(
                r#"{{"source": "x-forwarded-for", "trust": "istio-sidecar", "identity": ["{GW}", "{NS}"],
                    "identity-header": "X-Client-Cert", "sidecar-appends": true}}"#
            ),
            format!(
                "x-forwarded-for; trust=istio-sidecar; identity={GW}, {NS}; \
                 identity-header=x-client-cert; sidecar-appends"
            ),
        ),
        // One string holds a comma list; snake_case spellings.
        (
            format!(
                r#"
                source = "x-forwarded-for"
                trust = "istio-sidecar"
                identity = " {GW} , {NS} "
                identity_header = "x-client-cert"
                sidecar_appends = true
                "#
            ),
            format!(
                r#"{{"source": "x-forwarded-for", "trust": "istio-sidecar", "identity": " {GW} , {NS} ",
                    "identity_header": "x-client-cert", "sidecar_appends": true}}"#
            ),
            format!(
                "x-forwarded-for; trust=istio-sidecar; identity={GW}, {NS}; \
                 identity-header=x-client-cert; sidecar-appends"
            ),
        ),
        // `identities`, the plural, is the same setting; false is the default.
        (
            format!(
                r#"
                source = "x-forwarded-for"
                trust = "istio-sidecar"
                identities = ["{NS}"]
                sidecar_appends = false
                "#
            ),
            format!(
                r#"{{"source": "x-forwarded-for", "trust": "istio-sidecar", "identities": ["{NS}"],
                    "sidecar_appends": false}}"#
            ),
            format!("x-forwarded-for; trust=istio-sidecar; identity={NS}"),
        ),
        // A deployment's identity is replaced, not added to.
        (
            format!(
                r#"
                deployment = "istio-gateway"
                identity = "{NS}"
                "#
            ),
            format!(r#"{{"deployment": "istio-gateway", "identity": "{NS}"}}"#),
            format!("x-forwarded-for; trust=istio-sidecar; identity={NS}"),
        ),
        (
            r#"deployment = "istio-gateway""#.to_owned(),
            r#"{"deployment": "istio-gateway"}"#.to_owned(),
            format!("x-forwarded-for; trust=istio-sidecar; identity={GW}"),
        ),
    ];
    for (toml, json, text_form) in &same {
        let expected = text(text_form);
        assert_eq!(from_toml(toml).unwrap(), expected, "{toml}");
        assert_eq!(from_json(json).unwrap(), expected, "{json}");
        assert_eq!(expected.to_string(), *text_form);
    }

    // (the settings after source and trust, in TOML and in JSON, and the
    // words the message must contain: the setting, and what is wrong)
    let refused: &[(&str, &str, &[&str])] = &[
        (
            r#"identity = "spiffe://Cluster.local/ns/a/sa/b""#,
            r#""identity": "spiffe://Cluster.local/ns/a/sa/b""#,
            &["invalid identity", "Cluster.local", "lowercase"],
        ),
        (
            r#"identity = ["spiffe://td/ns/a/sa/b", "https://td/ns/a/sa/b"]"#,
            r#""identity": ["spiffe://td/ns/a/sa/b", "https://td/ns/a/sa/b"]"#,
            &["invalid identity", "https://td/ns/a/sa/b", "SPIFFE id"],
        ),
        (
            r#"identity = "spiffe://td/""#,
            r#""identity": "spiffe://td/""#,
            &["invalid identity", "trust domain alone"],
        ),
        (
            r#"identity = "spiffe://td/ns/a/sa/""#,
            r#""identity": "spiffe://td/ns/a/sa/""#,
            &["invalid identity", "one namespace"],
        ),
        (
            r#"identity = []"#,
            r#""identity": []"#,
            &["identity", "at least one SPIFFE id"],
        ),
        (
            r#"identity = " , ""#,
            r#""identity": " , ""#,
            &["identity", "at least one SPIFFE id"],
        ),
        (
            r#"identity = "spiffe://td/ns/a/sa/b"
               identity_header = "bad name""#,
            r#""identity": "spiffe://td/ns/a/sa/b", "identity_header": "bad name""#,
            &["identity_header", "bad name", "a header name"],
        ),
        (
            r#"identity = "spiffe://td/ns/a/sa/b"
               identity-header = "x-forwarded-for""#,
            r#""identity": "spiffe://td/ns/a/sa/b", "identity-header": "x-forwarded-for""#,
            &["identity-header=x-forwarded-for is also the source"],
        ),
        (
            r#"identity_header = "x-client-cert""#,
            r#""identity_header": "x-client-cert""#,
            &["identity-header", "only applies with identity="],
        ),
        (
            r#"sidecar-appends = true"#,
            r#""sidecar-appends": true"#,
            &["sidecar-appends", "only applies with identity="],
        ),
        (
            r#"identity = "spiffe://td/ns/a/sa/b"
               hops = 2"#,
            r#""identity": "spiffe://td/ns/a/sa/b", "hops": 2"#,
            &["identity=", "hops="],
        ),
        (
            r#"identity = "spiffe://td/ns/a/sa/b"
               identities = ["spiffe://td/ns/a/sa/b"]"#,
            r#""identity": "spiffe://td/ns/a/sa/b", "identities": ["spiffe://td/ns/a/sa/b"]"#,
            &["duplicate field `identity`"],
        ),
    ];
    for (toml_settings, json_settings, words) in refused {
        let toml =
            format!("source = \"x-forwarded-for\"\ntrust = \"istio-sidecar\"\n{toml_settings}");
        let json = format!(
            r#"{{"source": "x-forwarded-for", "trust": "istio-sidecar", {json_settings}}}"#
        );
        let toml_err = from_toml(&toml).expect_err(&toml);
        let json_err = from_json(&json).expect_err(&json);
        for word in *words {
            assert!(
                toml_err.contains(word),
                "TOML {toml}\ngave {toml_err:?}, not {word:?}"
            );
            assert!(
                json_err.contains(word),
                "JSON {json}\ngave {json_err:?}, not {word:?}"
            );
        }
    }

    // Values of the wrong type: TOML shows the line with the setting.
    for (settings, word) in [
        ("identity = 5", "identity = 5"),
        ("identity = [5]", "identity = [5]"),
        (
            "identity = \"spiffe://td/ns/a/sa/b\"\nidentity-header = 5",
            "expected a string",
        ),
        (
            "identity = \"spiffe://td/ns/a/sa/b\"\nsidecar_appends = \"yes\"",
            "expected a boolean",
        ),
        (
            "identity = \"spiffe://td/ns/a/sa/b\"\nsidecar_appends = \"yes\"",
            "sidecar_appends = \"yes\"",
        ),
    ] {
        let toml = format!("source = \"x-forwarded-for\"\ntrust = \"istio-sidecar\"\n{settings}");
        let err = from_toml(&toml).expect_err(&toml);
        assert!(
            err.contains(word),
            "TOML {toml}\ngave {err:?}, not {word:?}"
        );
    }
}
