//! The `explain` example's command-line contract: its JSON, its readable
//! report and its exit status (0 resolved, 1 unresolvable, 2 usage error).
//!
//! The tests run the example binary that `cargo test` builds next to them
//! (`target/<profile>/examples/explain`). `cargo test --test explain_cli`
//! alone does not build examples: run `cargo test` or
//! `cargo build --example explain` first.

mod common;
use common::example_binary;
use std::ffi::OsStr;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(example_binary("explain"))
        .args(args)
        .output()
        .expect("the explain example runs")
}

fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("exited, not killed by a signal")
}

/// Runs with `--json` and returns the object and the exit status.
fn json(args: &[&str]) -> (Value, i32) {
    let output = run(&[args, &["--json"]].concat());
    let stdout = String::from_utf8(output.stdout.clone()).expect("UTF-8 output");
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object on one line, got {stdout:?} (stderr {:?})",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert!(value.is_object());
    (value, code(&output))
}

/// Runs expecting a usage error and returns stderr.
fn usage_error(args: &[&str]) -> String {
    let output = run(args);
    let stderr = String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr");
    assert_eq!(code(&output), 2, "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    assert!(stderr.contains("usage: explain"), "{args:?}: {stderr}");
    stderr
}

fn diagnostic_codes(value: &Value) -> Vec<&str> {
    value["diagnostics"]
        .as_array()
        .expect("a diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().expect("a code"))
        .collect()
}

const XFF: &[&str] = &["--source", "x-forwarded-for", "--trust", "10.0.0.0/8"];

#[test]
fn success_json_has_every_field() {
    let (v, status) = json(
        &[
            XFF,
            &[
                "--peer",
                "10.0.0.3:41000",
                "--header",
                "X-Forwarded-For: 1.1.1.1, 203.0.113.7:8443, 10.0.0.2",
            ],
        ]
        .concat(),
    );
    assert_eq!(status, 0);
    assert_eq!(
        v,
        json!({
            "client": "203.0.113.7",
            "port": 8443,
            "source": "x-forwarded-for",
            "hop_index": 1,
            "trusted_proxies": 2,
            "proto": null,
            "host": null,
            "caller_identity": null,
            "peer": "10.0.0.3:41000",
            "configuration": "x-forwarded-for; trust=10.0.0.0/8",
            "hops": [
                {"position": "peer", "raw": null, "address": "10.0.0.3", "port": 41000,
                 "verdict": "trusted_proxy", "detail": "trusted proxy"},
                {"position": 0, "raw": "10.0.0.2", "address": "10.0.0.2", "port": null,
                 "verdict": "trusted_proxy", "detail": "trusted proxy"},
                {"position": 1, "raw": "203.0.113.7:8443", "address": "203.0.113.7", "port": 8443,
                 "verdict": "client", "detail": "CLIENT"},
            ],
            "diagnostics": [],
        })
    );
}

#[test]
fn unresolvable_requests_report_the_error_kind_and_exit_1() {
    let table: &[(&[&str], &str, Value)] = &[
        (
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: unknown, 10.0.0.2",
            ],
            "unknown_hop",
            json!(1),
        ),
        (
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 010.1.1.1",
            ],
            "malformed_hop",
            json!(0),
        ),
        (
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 1.2.3.4, _hidden",
            ],
            "obfuscated_hop",
            json!(0),
        ),
        (
            &[
                "--peer",
                "10.0.0.3",
                "--hops",
                "3",
                "--header",
                "X-Forwarded-For: 1.2.3.4",
            ],
            "chain_too_short",
            Value::Null,
        ),
        (
            &["--header", "X-Forwarded-For: 1.2.3.4"],
            "no_peer_address",
            Value::Null,
        ),
        (&["--peer", "unknown"], "no_peer_address", Value::Null),
        (
            &["--peer", "10.0.0.3", "--header", "X-Forwarded-For: , ,"],
            "empty_header",
            Value::Null,
        ),
        (
            &[
                "--peer",
                "10.0.0.3",
                "--all-trusted",
                "error",
                "--header",
                "X-Forwarded-For: 10.0.0.2",
            ],
            "all_hops_trusted",
            Value::Null,
        ),
        (
            &[
                "--peer",
                "10.0.0.3",
                "--max-hops",
                "2",
                "--header",
                "X-Forwarded-For: 10.0.0.9, 10.0.0.8, 10.0.0.7",
            ],
            "too_many_hops",
            Value::Null,
        ),
        (&["--peer", "0.0.0.0:80"], "unspecified_peer", Value::Null),
    ];
    for (args, kind, hop_index) in table {
        let (v, status) = json(&[XFF, args].concat());
        assert_eq!(status, 1, "{args:?}");
        assert_eq!(v["error"]["kind"], *kind, "{args:?}: {v}");
        assert_eq!(v["error"]["hop_index"], *hop_index, "{args:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(v.get("client").is_none(), "{args:?}: no client on error");
        for key in ["peer", "configuration", "hops", "diagnostics"] {
            assert!(v.get(key).is_some(), "{args:?}: {key} missing in {v}");
        }
    }
}

#[test]
fn the_failing_hop_is_the_last_one_listed() {
    let (v, status) = json(
        &[
            XFF,
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 6.6.6.6, unknown, 10.0.0.2",
            ],
        ]
        .concat(),
    );
    assert_eq!(status, 1);
    let hops = v["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 3, "6.6.6.6 is never walked: {v}");
    assert_eq!(
        hops[2],
        json!({"position": 1, "raw": "unknown", "address": null, "port": null,
               "verdict": "unknown", "detail": "\"unknown\": identity not known to the proxy"})
    );
    assert_eq!(v["peer"], "10.0.0.3");
}

#[test]
fn spoofed_header_from_an_untrusted_peer_is_ignored() {
    let (v, status) = json(
        &[
            XFF,
            &[
                "--peer",
                "198.51.100.66:5555",
                "--header",
                "X-Forwarded-For: 1.1.1.1",
            ],
        ]
        .concat(),
    );
    assert_eq!(status, 0);
    assert_eq!(v["client"], "198.51.100.66");
    assert_eq!(v["port"], 5555);
    assert_eq!(v["source"], "peer");
    assert_eq!(v["hop_index"], Value::Null);
    assert_eq!(v["trusted_proxies"], 0);
    assert_eq!(
        diagnostic_codes(&v),
        ["forwarding_headers_from_untrusted_peer"]
    );
    assert_eq!(v["diagnostics"][0]["level"], "warning");
}

#[test]
fn istio_sidecar_with_the_default_configuration_hides_the_client() {
    let (v, status) = json(&["--peer", "127.0.0.6:51234"]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "127.0.0.6");
    assert_eq!(v["configuration"], "peer");
    assert_eq!(diagnostic_codes(&v), ["sidecar_hides_client"]);
    let message = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("TPROXY"), "{message}");
}

#[test]
fn istio_sidecar_appending_xff_is_trusted_by_preset() {
    let (v, status) = json(&[
        "--peer",
        "127.0.0.6",
        "--source",
        "x-forwarded-for",
        "--trust",
        "istio-sidecar",
        "--header",
        "X-Forwarded-For: 6.6.6.6, 203.0.113.7",
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["hop_index"], 0);
    assert!(diagnostic_codes(&v).is_empty(), "{v}");
}

#[test]
fn repeated_header_lines_form_one_list_first_line_first() {
    let (v, status) = json(
        &[
            XFF,
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 6.6.6.6, 203.0.113.7",
                "--header",
                "x-forwarded-for:10.0.0.5",
                "--header",
                "X-FORWARDED-FOR:   10.0.0.4   ",
            ],
        ]
        .concat(),
    );
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["hop_index"], 2);
    let raws: Vec<&str> = v["hops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["raw"].as_str())
        .collect();
    assert_eq!(raws, ["10.0.0.4", "10.0.0.5", "203.0.113.7"]);
}

#[test]
fn trust_values_merge_and_accept_comma_lists() {
    let (v, status) = json(&[
        "--peer",
        "127.0.0.6",
        "--source",
        "x-forwarded-for",
        "--trust",
        "istio-sidecar",
        "--trust",
        "192.168.0.0/16, 10.0.0.0/8",
        "--header",
        "X-Forwarded-For: 120.244.9.8, 192.168.1.1, 10.0.0.93",
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "120.244.9.8");
    assert_eq!(
        v["configuration"],
        "x-forwarded-for; trust=istio-sidecar, 192.168.0.0/16, 10.0.0.0/8"
    );
}

#[test]
fn list_header_reads_a_custom_header_as_a_list() {
    let args = [
        "--peer",
        "10.0.0.3",
        "--source",
        "X-Custom-Chain",
        "--trust",
        "10.0.0.0/8",
        "--header",
        "X-Custom-Chain: 203.0.113.7, 10.0.0.2",
    ];
    let (v, status) = json(&[&args[..], &["--list-header", "x-custom-chain"]].concat());
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["source"], "x-custom-chain");
    assert_eq!(v["configuration"], "list:x-custom-chain; trust=10.0.0.0/8");

    // `list:NAME` says the same.
    let mut listed = args;
    listed[3] = "list:X-Custom-Chain";
    let (v, status) = json(&listed);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["configuration"], "list:x-custom-chain; trust=10.0.0.0/8");

    // Written header:NAME, the same header is one address, and a list in
    // it is malformed rather than split.
    let mut single = args;
    single[3] = "header:X-Custom-Chain";
    let (v, status) = json(&single);
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "malformed_hop");
    assert_eq!(
        v["configuration"],
        "header:x-custom-chain; trust=10.0.0.0/8"
    );

    // Bare, a header realip does not know is a usage error: a typo must
    // never become a header that no proxy overwrites.
    let stderr = usage_error(&args);
    assert!(
        stderr.contains("unknown source \"X-Custom-Chain\""),
        "{stderr}"
    );
    assert!(stderr.contains("header:NAME"), "{stderr}");
}

#[test]
fn unknown_sources_are_usage_errors_that_name_the_closest_known_source() {
    let table: &[(&str, &str)] = &[
        ("x-forwarded-fro", "did you mean x-forwarded-for?"),
        ("X_Forwarded_For", "did you mean x-forwarded-for?"),
        ("xff", "did you mean x-forwarded-for?"),
        ("x-real-ipp", "did you mean x-real-ip?"),
        ("cf-connecting-ips", "did you mean cf-connecting-ip?"),
        ("forwarder", "did you mean forwarded?"),
        ("trust", "is an option, not a source"),
        ("hops", "is an option, not a source"),
        ("any-peer", "is an option, not a source"),
        ("unix-peer", "is an option, not a source"),
        ("x-totally-custom", "header:NAME"),
    ];
    for (source, needle) in table {
        let stderr = usage_error(&[
            "--peer",
            "127.0.0.1",
            "--source",
            source,
            "--trust",
            "127.0.0.1",
            "--header",
            "X-Forwarded-Fro: 6.6.6.6",
        ]);
        assert!(stderr.contains(needle), "--source {source}: {stderr}");
    }
    // Known names keep working bare, in any case, and header:NAME takes
    // any other header.
    for (source, shown) in [
        ("X-Real-IP", "x-real-ip"),
        ("x-azure-clientip", "x-azure-clientip"),
        ("Header:X-Forwarded-Fro", "header:x-forwarded-fro"),
    ] {
        let (v, status) = json(&[
            "--peer",
            "127.0.0.1",
            "--source",
            source,
            "--trust",
            "127.0.0.1",
            "--header",
            &format!("{shown}: 6.6.6.6").replace("header:", ""),
        ]);
        assert_eq!(status, 0, "{source}");
        assert_eq!(v["configuration"], format!("{shown}; trust=127.0.0.1"));
        assert_eq!(v["client"], "6.6.6.6");
    }
}

#[test]
fn numbers_are_plain_decimal_and_hops_at_least_one() {
    let table: &[(&[&str], &str)] = &[
        (&["--hops", "+1", "--any-peer"], "plain decimal"),
        (&["--hops", "01", "--any-peer"], "plain decimal"),
        (&["--hops", " 1", "--any-peer"], "plain decimal"),
        (&["--hops", "0", "--any-peer"], "hops=0"),
        (&["--hops", "0", "--trust", "10.0.0.0/8"], "hops=0"),
        (&["--hops", "0", "--trust", "unix"], "hops=0"),
        (
            &["--trust", "10.0.0.0/8", "--max-hops", "+8"],
            "plain decimal",
        ),
        (
            &["--trust", "10.0.0.0/8", "--max-hops", "08"],
            "plain decimal",
        ),
    ];
    for (args, needle) in table {
        let stderr = usage_error(&[&["--source", "x-forwarded-for"], *args].concat());
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn ranges_that_trust_more_than_they_say_are_usage_errors() {
    let table: &[(&str, &str)] = &[
        ("0.0.0.0/0", "any-peer"),
        ("::/0", "any-peer"),
        ("::/80", "::ffff:0:0/96"),
        ("10.0.0.0/8, ::/64", "::ffff:0:0/96"),
    ];
    for (trust, needle) in table {
        let stderr = usage_error(&["--source", "x-forwarded-for", "--trust", trust]);
        assert!(stderr.contains(needle), "--trust {trust}: {stderr}");
    }
}

#[test]
fn single_header_cloudfront_viewer_address() {
    let table = [
        ("198.51.100.10:46532", "198.51.100.10", 46532),
        ("2001:db8::7:46532", "2001:db8::7", 46532),
    ];
    for (value, client, port) in table {
        let header = format!("CloudFront-Viewer-Address: {value}");
        let (v, status) = json(&[
            "--peer",
            "10.0.0.3",
            "--source",
            "CloudFront-Viewer-Address",
            "--trust",
            "10.0.0.0/8",
            "--header",
            &header,
        ]);
        assert_eq!(status, 0, "{v}");
        assert_eq!(v["client"], client);
        assert_eq!(v["port"], port);
        assert_eq!(v["source"], "cloudfront-viewer-address");
        assert_eq!(v["hop_index"], 0);
    }
}

#[test]
fn single_header_on_several_lines_uses_the_last() {
    let (v, status) = json(&[
        "--peer",
        "10.0.0.3",
        "--source",
        "x-real-ip",
        "--trust",
        "10.0.0.0/8",
        "--header",
        "X-Real-IP: 6.6.6.6",
        "--header",
        "X-Real-IP: 203.0.113.7",
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(diagnostic_codes(&v), ["duplicate_single_header"]);
}

#[test]
fn forwarded_source() {
    let (v, status) = json(&[
        "--peer",
        "10.0.0.3",
        "--source",
        "Forwarded",
        "--trust",
        "10.0.0.0/8",
        "--header",
        r#"Forwarded: for="[2001:db8::1]:4711";proto=https, for=10.0.0.2"#,
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "2001:db8::1");
    assert_eq!(v["port"], 4711);
    assert_eq!(v["source"], "forwarded");
    assert_eq!(v["hop_index"], 1);
}

#[test]
fn hop_counting_with_and_without_a_peer_check() {
    let header = [
        "--header",
        "X-Forwarded-For: 6.6.6.6, 203.0.113.7, 10.1.1.1",
    ];
    let count = ["--source", "x-forwarded-for", "--hops", "2"];

    let (v, status) = json(
        &[
            &count[..],
            &["--peer", "10.0.0.3", "--trust", "10.0.0.0/8"],
            &header,
        ]
        .concat(),
    );
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(
        v["configuration"],
        "x-forwarded-for; hops=2; trust=10.0.0.0/8"
    );

    // A peer outside --trust may not send the header.
    let (v, _) = json(
        &[
            &count[..],
            &["--peer", "192.0.2.1", "--trust", "10.0.0.0/8"],
            &header,
        ]
        .concat(),
    );
    assert_eq!(v["client"], "192.0.2.1");

    let (v, status) = json(&[&count[..], &["--peer", "192.0.2.1", "--any-peer"], &header].concat());
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["configuration"], "x-forwarded-for; hops=2; any-peer");
}

#[test]
fn unix_peer_is_trusted_only_with_trust_unix() {
    let base = [
        "--peer",
        "unix",
        "--source",
        "x-forwarded-for",
        "--header",
        "X-Forwarded-For: 203.0.113.7",
    ];
    let (v, status) = json(&[&base[..], &["--trust", "unix"]].concat());
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["peer"], "unix");
    assert_eq!(v["hops"][0]["verdict"], "trusted_unix_peer");
    assert_eq!(v["configuration"], "x-forwarded-for; unix-peer");

    let (v, status) = json(&[&base[..], &["--trust", "10.0.0.0/8"]].concat());
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "no_peer_address");
    assert_eq!(v["hops"][0]["verdict"], "no_address");
}

#[test]
fn readable_report_names_the_client_and_the_steps() {
    let output = run(&[
        "--peer",
        "10.0.0.3:41000",
        "--source",
        "x-forwarded-for",
        "--trust",
        "10.0.0.0/8",
        "--header",
        "X-Forwarded-For: 203.0.113.7, 10.0.0.2",
    ]);
    assert_eq!(code(&output), 0);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("configuration: x-forwarded-for; trust=10.0.0.0/8\n"),
        "{text}"
    );
    assert!(
        text.contains("peer     10.0.0.3:41000  -> trusted proxy"),
        "{text}"
    );
    assert!(text.contains("hop 1    203.0.113.7  -> CLIENT"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("client: 203.0.113.7 (from x-forwarded-for[1 from the right]")),
        "{text}"
    );

    let output = run(&["--peer", "127.0.0.6"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("client: 127.0.0.6"), "{text}");
    assert!(text.contains("warning: the client is 127.0.0.6"), "{text}");
}

#[test]
fn readable_report_of_an_unresolvable_request_exits_1() {
    let output = run(&[
        "--peer",
        "10.0.0.3",
        "--source",
        "x-forwarded-for",
        "--trust",
        "10.0.0.0/8",
        "--header",
        "X-Forwarded-For: unknown",
    ]);
    assert_eq!(code(&output), 1);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("error: hop 0")),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let table: &[(&[&str], &str)] = &[
        (
            &["--trust", "10.0.0.1/8", "--source", "x-forwarded-for"],
            "10.0.0.1/8",
        ),
        (
            &["--trust", "10.0.0.0/33", "--source", "x-forwarded-for"],
            "10.0.0.0/33",
        ),
        (&["--trust", "ten", "--source", "x-forwarded-for"], "ten"),
        (&["--trust", ",", "--source", "x-forwarded-for"], "--trust"),
        (&["--bogus"], "--bogus"),
        (&["-x"], "-x"),
        (&["stray"], "stray"),
        (&["--peer"], "--peer needs a value"),
        (
            &["--peer", "1.2.3.4", "--peer", "1.2.3.5"],
            "more than once",
        ),
        (&["--peer", "999.1.1.1"], "999.1.1.1"),
        (&["--peer", "host.example"], "host.example"),
        (&["--json=yes"], "--json takes no value"),
        (
            &[
                "--source",
                "x-forwarded-for",
                "--trust",
                "10.0.0.0/8",
                "--any-peer",
            ],
            "--any-peer",
        ),
        (
            &[
                "--source",
                "x-forwarded-for",
                "--hops",
                "2",
                "--any-peer",
                "--trust",
                "10.0.0.0/8",
            ],
            "--any-peer",
        ),
        (&["--source", "x-forwarded-for", "--hops", "2"], "--hops"),
        (
            &["--source", "x-forwarded-for", "--hops", "two", "--any-peer"],
            "two",
        ),
        (
            &["--source", "x-forwarded-for", "--hops", "-1", "--any-peer"],
            "-1",
        ),
        (
            &[
                "--source",
                "x-real-ip",
                "--hops",
                "2",
                "--trust",
                "10.0.0.0/8",
            ],
            "x-real-ip",
        ),
        (&["--source", "x-forwarded-for"], "trusts no proxy"),
        (&["--trust", "10.0.0.0/8"], "peer alone"),
        (&["--trust", "unix"], "peer alone"),
        (
            &[
                "--source",
                "x-forwarded-for",
                "--trust",
                "10.0.0.0/8",
                "--max-hops",
                "0",
            ],
            "max_hops",
        ),
        (
            &[
                "--source",
                "x-forwarded-for",
                "--trust",
                "10.0.0.0/8",
                "--max-hops",
                "x",
            ],
            "--max-hops",
        ),
        (
            &[
                "--source",
                "x-forwarded-for",
                "--trust",
                "10.0.0.0/8",
                "--all-trusted",
                "maybe",
            ],
            "maybe",
        ),
        (&["--source", "bad name"], "--source"),
        (&["--list-header", "forwarded"], "--list-header"),
        (&["--header", "no colon here"], "Name: value"),
        (&["--header", "Bad Name: 1.2.3.4"], "header name"),
        (
            &["--header", "X-Forwarded-For: 1.2.3.4\n, 5.6.7.8"],
            "header value",
        ),
        (
            &["--header", "X-Forwarded-For: 1.2\u{1}.3.4"],
            "header value",
        ),
    ];
    for (args, needle) in table {
        let stderr = usage_error(args);
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
    }
}

#[test]
fn usage_errors_in_json_mode_stay_on_stderr() {
    let stderr = usage_error(&[
        "--json",
        "--trust",
        "not-a-cidr",
        "--source",
        "x-forwarded-for",
    ]);
    assert!(stderr.contains("not-a-cidr"), "{stderr}");
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let output = run(&["--peer", "10.0.0.1", flag]);
        assert_eq!(code(&output), 0);
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with("usage: explain"), "{text}");
        assert!(text.contains("--any-peer"), "{text}");
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn inline_values_are_accepted() {
    let (v, status) = json(&[
        "--peer=10.0.0.3",
        "--source=x-forwarded-for",
        "--trust=10.0.0.0/8",
        "--header=X-Forwarded-For: 203.0.113.7",
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "203.0.113.7");
}

#[cfg(unix)]
#[test]
fn header_bytes_that_are_not_utf8_are_a_malformed_hop() {
    use std::os::unix::ffi::OsStrExt;

    let header = OsStr::from_bytes(b"X-Forwarded-For: 203.0.113.7\xff");
    let args: Vec<&OsStr> = [
        "--peer",
        "10.0.0.3",
        "--source",
        "x-forwarded-for",
        "--trust",
        "10.0.0.0/8",
        "--json",
        "--header",
    ]
    .iter()
    .map(OsStr::new)
    .chain([header])
    .collect();
    let output = run(&args);
    assert_eq!(code(&output), 1);
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "malformed_hop");
    assert_eq!(v["hops"][1]["raw"], "203.0.113.7\\xff");
}

/// Rule 13's echoes: whatever the command line holds, a usage error quotes
/// at most 64 characters of it, lossily when it is not UTF-8: a 100 KB
/// value costs a short line on stderr, never 100 KB (or 400 KB escaped).
#[cfg(unix)]
#[test]
fn rule13_usage_errors_quote_a_bounded_part_of_any_argument() {
    use std::os::unix::ffi::OsStrExt;

    let mut not_utf8 = b"10.0.0.".to_vec();
    not_utf8.extend(std::iter::repeat_n(0xff, 100_000));
    let not_utf8 = OsStr::from_bytes(&not_utf8);
    let long = "x".repeat(100_000);
    let long_flag = format!("--{long}");
    let long_source = format!("header:{long}");
    let long_list = format!("list:{long}");
    let cases: Vec<Vec<&OsStr>> = vec![
        // The argument itself, a flag's value, an inline value.
        vec![not_utf8],
        vec![OsStr::new("--trust"), not_utf8],
        vec![OsStr::new("--peer"), not_utf8],
        vec![OsStr::new("--header"), not_utf8],
        vec![OsStr::new(&long_flag)],
        vec![OsStr::new(&long)],
        vec![OsStr::new("--source"), OsStr::new(&long)],
        vec![OsStr::new("--peer"), OsStr::new(&long)],
        // The library's own messages, which quote the configuration.
        vec![OsStr::new("--source"), OsStr::new(&long_source)],
        vec![
            OsStr::new("--source"),
            OsStr::new(&long_list),
            OsStr::new("--hops"),
            OsStr::new("1"),
            OsStr::new("--any-peer"),
            OsStr::new("--proto"),
            OsStr::new("forwarded"),
        ],
    ];
    for args in cases {
        let output = run(&args);
        assert_eq!(code(&output), 2);
        let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
        let first = stderr.lines().next().unwrap_or("");
        assert!(
            first.len() < 600,
            "{} bytes on the first line of stderr: {}…",
            first.len(),
            &first[..first.len().min(200)]
        );
        assert!(stderr.contains("usage: explain"), "{first}");
    }
    // What is quoted of bytes that are not UTF-8: U+FFFD for each, cut.
    let output = run(&[OsStr::new("--trust"), not_utf8]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "explain: error: --trust is not valid UTF-8: \"10.0.0.{}…\"",
            "\u{fffd}".repeat(57)
        )),
        "{stderr}"
    );
}

// The original scheme and host (DESIGN rule 14): `--proto`, `--host`,
// `--align`, `--allowed-host`.

/// `--source x-forwarded-for --trust 10.0.0.0/8` reading both values from
/// the `X-Forwarded-Proto`/`-Host` headers beside it.
const XFF_VALUES: &[&str] = &[
    "--source",
    "x-forwarded-for",
    "--trust",
    "10.0.0.0/8",
    "--proto",
    "x-forwarded-proto",
    "--host",
    "x-forwarded-host",
];

/// Runs `args` for a request from the trusted peer `10.0.0.3` with
/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2` and the given value headers.
fn xff_values(args: &[&str], proto: &str, host: &str) -> (Value, i32) {
    let proto = format!("X-Forwarded-Proto: {proto}");
    let host = format!("X-Forwarded-Host: {host}");
    json(
        &[
            XFF_VALUES,
            args,
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 203.0.113.7, 10.0.0.2",
                "--header",
                &proto,
                "--header",
                &host,
            ],
        ]
        .concat(),
    )
}

#[test]
fn scheme_and_host_come_from_the_clients_own_forwarded_element() {
    let header = "Forwarded: for=6.6.6.6;proto=http;host=evil.example, \
                  for=203.0.113.7;proto=https;host=shop.example, for=10.0.0.2;proto=http";
    for values in [
        &["--proto", "forwarded", "--host", "forwarded"][..],
        &["--proto=Forwarded", "--host=FORWARDED"],
    ] {
        let (v, status) = json(
            &[
                &["--peer", "10.0.0.3", "--source", "forwarded"][..],
                &["--trust", "10.0.0.0/8"],
                values,
                &["--header", header],
            ]
            .concat(),
        );
        assert_eq!(status, 0, "{values:?}: {v}");
        assert_eq!(v["client"], "203.0.113.7");
        assert_eq!(v["hop_index"], 1);
        // The client's element, never the forged one to its left nor the
        // proxy's to its right.
        assert_eq!(v["proto"], "https", "{values:?}: {v}");
        assert_eq!(v["host"], "shop.example", "{values:?}: {v}");
        assert_eq!(v["url_hop_index"], 1);
        assert_eq!(
            v["configuration"],
            "forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded"
        );
        assert!(diagnostic_codes(&v).is_empty(), "{v}");
    }

    // A client element without proto= has none, whatever the others say.
    let (v, status) = json(&[
        "--peer",
        "10.0.0.3",
        "--source",
        "forwarded",
        "--trust",
        "10.0.0.0/8",
        "--proto",
        "forwarded",
        "--header",
        "Forwarded: for=6.6.6.6;proto=https, for=203.0.113.7, for=10.0.0.2;proto=https",
    ]);
    assert_eq!(status, 0);
    assert_eq!(v["proto"], Value::Null, "{v}");
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["url_hop_index"], 1);
    assert_eq!(diagnostic_codes(&v), ["value_absent"]);
}

/// One row of `value_headers_line_up_symmetric_or_single`: the flags
/// beside `XFF_VALUES`, the `X-Forwarded-Proto` and `X-Forwarded-Host`
/// sent, the `proto` and `host` the JSON must hold, and its diagnostics.
struct Lined {
    flags: &'static [&'static str],
    sent: (&'static str, &'static str),
    want: (Option<&'static str>, Option<&'static str>),
    codes: &'static [&'static str],
}

#[test]
fn value_headers_line_up_symmetric_or_single() {
    let table = [
        // Every proxy appends: the element at the client's position.
        Lined {
            flags: &[],
            sent: ("https, http", "shop.example, inner.local"),
            want: (Some("https"), Some("shop.example")),
            codes: &[],
        },
        Lined {
            flags: &["--align", "symmetric"],
            sent: ("HTTPS, http", "shop.example:8443, inner.local"),
            want: (Some("https"), Some("shop.example:8443")),
            codes: &[],
        },
        // Counts that differ line nothing up.
        Lined {
            flags: &[],
            sent: ("https", "shop.example"),
            want: (None, None),
            codes: &["value_absent", "value_absent"],
        },
        Lined {
            flags: &["--align", "symmetric"],
            sent: ("http, https, http", "shop.example, inner.local"),
            want: (None, Some("shop.example")),
            codes: &["value_absent"],
        },
        // The edge proxy overwrites: exactly one value.
        Lined {
            flags: &["--align", "single"],
            sent: ("https", "shop.example"),
            want: (Some("https"), Some("shop.example")),
            codes: &[],
        },
        Lined {
            flags: &["--align=single"],
            sent: ("https, http", "shop.example"),
            want: (None, Some("shop.example")),
            codes: &["value_absent"],
        },
        // A value that is not a scheme or host is none.
        Lined {
            flags: &["--align", "single"],
            sent: ("ht tp", "shop.example/evil"),
            want: (None, None),
            codes: &["value_absent", "value_absent"],
        },
    ];
    for Lined {
        flags,
        sent,
        want,
        codes,
    } in table
    {
        let (v, status) = xff_values(flags, sent.0, sent.1);
        let row = format!("{flags:?} {sent:?}");
        assert_eq!(status, 0, "{row}: {v}");
        assert_eq!(v["client"], "203.0.113.7", "{row}");
        assert_eq!(v["proto"], json!(want.0), "{row}: {v}");
        assert_eq!(v["host"], json!(want.1), "{row}: {v}");
        assert_eq!(v["url_hop_index"], 1, "{row}: {v}");
        assert_eq!(diagnostic_codes(&v), codes, "{row}: {v}");
    }

    let (v, _) = xff_values(&["--align", "single"], "https", "shop.example");
    assert_eq!(
        v["configuration"],
        "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
         host=x-forwarded-host; align=single"
    );
}

#[test]
fn an_untrusted_peer_gives_no_scheme_or_host() {
    let table: &[&[&str]] = &[
        &[
            XFF_VALUES,
            &[
                "--align",
                "single",
                "--header",
                "X-Forwarded-For: 203.0.113.7",
            ],
        ]
        .concat(),
        &[
            "--source",
            "forwarded",
            "--trust",
            "10.0.0.0/8",
            "--proto",
            "forwarded",
            "--host",
            "forwarded",
            "--header",
            "Forwarded: for=203.0.113.7;proto=https;host=shop.example",
        ],
    ];
    for args in table {
        let (v, status) = json(
            &[
                *args,
                &[
                    "--peer",
                    "198.51.100.66:5555",
                    "--header",
                    "X-Forwarded-Proto: https",
                    "--header",
                    "X-Forwarded-Host: shop.example",
                ],
            ]
            .concat(),
        );
        assert_eq!(status, 0, "{args:?}: {v}");
        assert_eq!(v["client"], "198.51.100.66", "{args:?}");
        assert_eq!(v["source"], "peer");
        assert_eq!(v["proto"], Value::Null, "{args:?}: {v}");
        assert_eq!(v["host"], Value::Null, "{args:?}: {v}");
        assert_eq!(v["url_hop_index"], Value::Null, "{args:?}: {v}");
        assert_eq!(
            diagnostic_codes(&v),
            ["forwarding_headers_from_untrusted_peer"],
            "{args:?}"
        );
    }

    // Without --proto or --host the values are null and no hop is named.
    let (v, status) = json(
        &[
            XFF,
            &[
                "--peer",
                "10.0.0.3",
                "--header",
                "X-Forwarded-For: 203.0.113.7",
                "--header",
                "X-Forwarded-Proto: https",
            ],
        ]
        .concat(),
    );
    assert_eq!(status, 0);
    assert_eq!((&v["proto"], &v["host"]), (&Value::Null, &Value::Null));
    assert!(v.get("url_hop_index").is_none(), "{v}");
}

#[test]
fn allowed_hosts_filter_the_host() {
    let allowed = [
        "--align",
        "single",
        "--allowed-host",
        "shop.example",
        "--allowed-host",
        "*.cdn.example",
    ];
    // (X-Forwarded-Host, host)
    let table: &[(&str, Value)] = &[
        ("shop.example", json!("shop.example")),
        ("SHOP.Example:8443", json!("SHOP.Example:8443")),
        ("img.cdn.example", json!("img.cdn.example")),
        ("a.b.cdn.example", json!("a.b.cdn.example")),
        // `*.suffix` is the names under it, not the suffix itself.
        ("cdn.example", Value::Null),
        ("evil.example", Value::Null),
        ("shop.example.evil", Value::Null),
    ];
    for (header, host) in table {
        let (v, status) = xff_values(&allowed, "https", header);
        assert_eq!(status, 0, "{header}: {v}");
        assert_eq!(v["host"], *host, "{header}: {v}");
        // The scheme is not limited by the host list.
        assert_eq!(v["proto"], "https", "{header}");
        let codes: &[&str] = if host.is_null() {
            &["value_absent"]
        } else {
            &[]
        };
        assert_eq!(diagnostic_codes(&v), codes, "{header}: {v}");
        if host.is_null() {
            let message = v["diagnostics"][0]["message"].as_str().unwrap();
            assert!(message.contains("allowed hosts"), "{message}");
        }
    }

    let (v, _) = xff_values(&allowed, "https", "shop.example");
    assert_eq!(
        v["configuration"],
        "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
         host=x-forwarded-host; align=single; allowed-hosts=shop.example, *.cdn.example"
    );
}

#[test]
fn scheme_and_host_usage_errors_exit_2_and_name_the_problem() {
    let xff = ["--source", "x-forwarded-for", "--trust", "10.0.0.0/8"];
    let fwd = ["--source", "forwarded", "--trust", "10.0.0.0/8"];
    let table: &[(&[&str], &[&str])] = &[
        // Values that are not what the flag takes.
        (
            &[&xff[..], &["--proto", "ftp"]].concat(),
            &[
                "--proto \"ftp\"",
                "forwarded, x-forwarded-proto or header:NAME",
            ],
        ),
        (
            &[&xff[..], &["--host", "x-fowarded-host"]].concat(),
            &[
                "--host \"x-fowarded-host\"",
                "forwarded, x-forwarded-host or header:NAME",
            ],
        ),
        (
            &[&xff[..], &["--host", "header:"]].concat(),
            &["--host \"header:\""],
        ),
        (
            &[&xff[..], &["--proto", "header:bad name"]].concat(),
            &["--proto \"header:bad name\""],
        ),
        (
            &[&xff[..], &["--proto"]].concat(),
            &["--proto needs a value"],
        ),
        (
            &[
                &xff[..],
                &["--proto", "x-forwarded-proto", "--align", "sideways"],
            ]
            .concat(),
            &["--align \"sideways\"", "symmetric or single"],
        ),
        (
            &[
                &xff[..],
                &["--host", "x-forwarded-host", "--allowed-host", ""],
            ]
            .concat(),
            &["--allowed-host \"\"", "host name or *.suffix"],
        ),
        (
            &[
                &xff[..],
                &[
                    "--host",
                    "x-forwarded-host",
                    "--allowed-host",
                    "a.example:443",
                ],
            ]
            .concat(),
            &["--allowed-host \"a.example:443\"", "without a port"],
        ),
        (
            &[
                &xff[..],
                &["--host", "x-forwarded-host", "--allowed-host", "*"],
            ]
            .concat(),
            &["--allowed-host \"*\""],
        ),
        (
            &[
                &xff[..],
                &[
                    "--host",
                    "x-forwarded-host",
                    "--allowed-host",
                    "a.*.example",
                ],
            ]
            .concat(),
            &["--allowed-host \"a.*.example\""],
        ),
        (
            &[
                &xff[..],
                &[
                    "--host",
                    "x-forwarded-host",
                    "--allowed-host",
                    "a.example, b.example",
                ],
            ]
            .concat(),
            &[
                "one host name or *.suffix per flag",
                "repeat --allowed-host",
            ],
        ),
        // Given twice.
        (
            &[
                &xff[..],
                &["--proto", "x-forwarded-proto", "--proto", "forwarded"],
            ]
            .concat(),
            &["--proto is given more than once"],
        ),
        (
            &[
                &xff[..],
                &["--host", "x-forwarded-host", "--host", "x-forwarded-host"],
            ]
            .concat(),
            &["--host is given more than once"],
        ),
        (
            &[
                &xff[..],
                &[
                    "--proto",
                    "x-forwarded-proto",
                    "--align",
                    "single",
                    "--align",
                    "single",
                ],
            ]
            .concat(),
            &["--align is given more than once"],
        ),
        // Configurations the library refuses, in its words.
        (
            &[&xff[..], &["--proto", "forwarded"]].concat(),
            &[
                "invalid configuration",
                "proto=forwarded reads the client's own Forwarded element",
                "the source is x-forwarded-for",
            ],
        ),
        (
            &[&xff[..], &["--host", "forwarded"]].concat(),
            &["invalid configuration", "host=forwarded"],
        ),
        (
            &[&fwd[..], &["--proto", "x-forwarded-proto"]].concat(),
            &["invalid configuration", "use proto=forwarded"],
        ),
        (
            &[&xff[..], &["--align", "single"]].concat(),
            &[
                "invalid configuration",
                "neither proto= nor host= names a header",
            ],
        ),
        (
            &[&fwd[..], &["--proto", "forwarded", "--align", "symmetric"]].concat(),
            &["neither proto= nor host= names a header"],
        ),
        (
            &[&xff[..], &["--allowed-host", "shop.example"]].concat(),
            &["invalid configuration", "host= is not configured"],
        ),
        (
            &[
                &xff[..],
                &[
                    "--proto",
                    "x-forwarded-proto",
                    "--allowed-host",
                    "shop.example",
                ],
            ]
            .concat(),
            &["host= is not configured"],
        ),
        (
            &["--proto", "x-forwarded-proto"],
            &["invalid configuration", "the source is the peer alone"],
        ),
    ];
    for (args, needles) in table {
        for json_flag in [&[][..], &["--json"]] {
            let stderr = usage_error(&[json_flag, *args].concat());
            for needle in *needles {
                assert!(
                    stderr.contains(needle),
                    "{args:?}: expected {needle:?} in {stderr}"
                );
            }
        }
    }
}

#[test]
fn readable_report_shows_scheme_and_host_beside_the_hop() {
    let request = [
        "--peer",
        "10.0.0.3",
        "--header",
        "X-Forwarded-For: 203.0.113.7, 10.0.0.2",
        "--header",
        "X-Forwarded-Proto: https, http",
        "--header",
        "X-Forwarded-Host: shop.example, inner.local",
    ];
    let output = run(&[XFF_VALUES, &request].concat());
    assert_eq!(code(&output), 0);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"proto: https (beside hop 1)"), "{text}");
    assert!(
        lines.contains(&"host: shop.example (beside hop 1)"),
        "{text}"
    );

    // A value that cannot be taken is none, and a warning says why.
    let output = run(&[XFF_VALUES, &request, &["--align", "single"]].concat());
    assert_eq!(code(&output), 0);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"proto: none"), "{text}");
    assert!(lines.contains(&"host: none"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: the configured proto")),
        "{text}"
    );

    // Only the value configured is shown.
    let output = run(&[XFF, &["--proto", "x-forwarded-proto"], &request].concat());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines().any(|l| l == "proto: https (beside hop 1)"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("host:")), "{text}");

    // Without either, neither line.
    let output = run(&[XFF, &request].concat());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("proto:") || l.starts_with("host:")),
        "{text}"
    );
}

#[test]
fn help_lists_the_scheme_and_host_flags() {
    let output = run(&["--help"]);
    assert_eq!(code(&output), 0);
    let text = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--proto SOURCE",
        "--host SOURCE",
        "--align",
        "--allowed-host NAME",
    ] {
        assert!(text.contains(flag), "{flag} missing from {text}");
    }
    assert!(text.contains("x-forwarded-proto"), "{text}");
    assert!(text.contains("symmetric"), "{text}");
}

/// The built-in, dated Cloudflare ranges: `--source preset:NAME` (and
/// `deployment:NAME`) starts from a deployment as the configuration text
/// does, and `--trust cloudflare` names the list; the date and the source
/// of the list are in the output.
#[test]
fn cloudflare_ranges_are_built_in_and_dated() {
    let header = ["--header", "CF-Connecting-IP: 203.0.113.5"];
    for source in [
        "preset:cloudflare",
        "deployment:cloudflare",
        "PRESET:Cloudflare",
    ] {
        let (v, status) = json(
            &[
                &["--source", source, "--peer", "173.245.48.1:443"][..],
                &header,
            ]
            .concat(),
        );
        assert_eq!(status, 0, "{source}");
        assert_eq!(v["client"], "203.0.113.5", "{source}");
        assert_eq!(
            v["configuration"], "cf-connecting-ip; trust=cloudflare",
            "{source}"
        );
        assert_eq!(v["dated_ranges"][0]["preset"], "cloudflare");
        assert_eq!(
            v["dated_ranges"][0]["as_of"],
            realip::Preset::Cloudflare.as_of().unwrap()
        );
    }
    let trust = ["--trust", "cloudflare", "--source", "cf-connecting-ip"];
    // A peer inside the ranges (IPv4 and IPv6) is Cloudflare: its header is
    // the visitor.
    for peer in ["173.245.48.1:443", "[2606:4700::1]:443", "104.16.0.9:443"] {
        let (v, _) = json(&[&trust[..], &["--peer", peer], &header].concat());
        assert_eq!(v["client"], "203.0.113.5", "{peer}");
    }
    // Any other peer is the client itself.
    let (v, status) = json(&[&trust[..], &["--peer", "198.51.100.1:443"], &header].concat());
    assert_eq!(status, 0);
    assert_eq!(v["client"], "198.51.100.1");
    // The readable report says how old the list is and where it comes from.
    let output = run(&[&trust[..], &["--peer", "173.245.48.1:443"], &header].concat());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "ranges: cloudflare as published at https://www.cloudflare.com/ips/ on 2026-"
        ),
        "{text}"
    );
    // A trust list of one's own replaces the built-in one.
    let (v, _) = json(
        &[
            &[
                "--source",
                "preset:cloudflare",
                "--trust",
                "10.0.0.0/8",
                "--peer",
                "173.245.48.1:443",
            ][..],
            &header,
        ]
        .concat(),
    );
    assert_eq!(v["client"], "173.245.48.1");
    let stderr = usage_error(&["--source", "preset:heroku"]);
    assert!(stderr.contains("unknown deployment"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Rule 15: caller identities.

const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
const SLEEP_ID: &str = "spiffe://cluster.local/ns/default/sa/sleep";

/// The `--header` an Istio sidecar writes for its mTLS caller.
fn xfcc(uri: &str) -> String {
    format!("X-Forwarded-Client-Cert: By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;URI={uri}")
}

/// The sidecar's request: `args`, then the peer and these header lines.
fn through_sidecar(args: &[&str], lines: &[&str]) -> (Value, i32) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--peer", "127.0.0.6:40000"]);
    for line in lines {
        all.extend(["--header", line]);
    }
    json(&all)
}

const GATEWAY: &[&str] = &["--source", "deployment:istio-gateway"];
const XFF_FORGED: &str = "X-Forwarded-For: 6.6.6.6, 203.0.113.7";

#[test]
fn rule15_the_gateway_trusted_by_identity_in_json() {
    let (v, status) = through_sidecar(GATEWAY, &[XFF_FORGED, &xfcc(GATEWAY_ID)]);
    assert_eq!(status, 0);
    assert_eq!(
        v,
        json!({
            "client": "203.0.113.7",
            "port": null,
            "source": "x-forwarded-for",
            "hop_index": 0,
            "trusted_proxies": 2,
            "proto": null,
            "host": null,
            "caller_identity": GATEWAY_ID,
            "caller_trusted": true,
            "peer": "127.0.0.6:40000",
            "configuration": format!("x-forwarded-for; trust=istio-sidecar; identity={GATEWAY_ID}"),
            "hops": [
                {"position": "peer", "raw": null, "address": "127.0.0.6", "port": 40000,
                 "verdict": "trusted_proxy", "detail": "trusted proxy"},
                {"position": 0, "raw": "203.0.113.7", "address": "203.0.113.7", "port": null,
                 "verdict": "client", "detail": "CLIENT"},
            ],
            "diagnostics": [],
        })
    );
}

#[test]
fn rule15_an_untrusted_or_absent_caller_stops_at_the_sidecar() {
    // (header lines, caller_identity)
    let table: &[(&[&str], Value)] = &[
        (&[XFF_FORGED, &xfcc(SLEEP_ID)], json!(SLEEP_ID)),
        (&[XFF_FORGED], Value::Null),
        (
            &[XFF_FORGED, &xfcc(GATEWAY_ID), &xfcc(GATEWAY_ID)],
            Value::Null,
        ),
        (
            &[
                XFF_FORGED,
                &format!("X-Forwarded-Client-Cert: URI={GATEWAY_ID}, URI={SLEEP_ID}"),
            ],
            json!(SLEEP_ID),
        ),
    ];
    for (lines, identity) in table {
        let (v, status) = through_sidecar(GATEWAY, lines);
        assert_eq!(status, 0, "{lines:?}: never an error");
        assert_eq!(v["client"], "127.0.0.6", "{lines:?}");
        assert_eq!(v["source"], "peer", "{lines:?}");
        assert_eq!(v["trusted_proxies"], 0, "{lines:?}");
        assert_eq!(&v["caller_identity"], identity, "{lines:?}");
        assert_eq!(v["caller_trusted"], false, "{lines:?}");
        assert_eq!(v["hops"].as_array().unwrap().len(), 1, "{lines:?}");
        assert_eq!(v["hops"][0]["verdict"], "caller_not_trusted", "{lines:?}");
        assert_eq!(
            diagnostic_codes(&v),
            ["sidecar_hides_client", "caller_not_trusted"],
            "{lines:?}"
        );
    }
}

/// `caller_trusted` is there only when the resolver asked: identities
/// configured and the peer trusted.
#[test]
fn rule15_caller_fields_without_a_question() {
    let lines = [XFF_FORGED, &xfcc(GATEWAY_ID)];
    // An untrusted peer: the header is not read.
    let mut args: Vec<&str> = GATEWAY.to_vec();
    args.extend([
        "--peer",
        "10.1.2.3:5000",
        "--header",
        lines[0],
        "--header",
        lines[1],
    ]);
    let (v, status) = json(&args);
    assert_eq!(status, 0);
    assert_eq!(v["client"], "10.1.2.3");
    assert_eq!(v["caller_identity"], Value::Null);
    assert!(v.get("caller_trusted").is_none(), "{v}");
    // No identities: the header means nothing.
    let (v, _) = through_sidecar(&["--source", "deployment:istio-sidecar-xff"], &lines);
    assert_eq!(v["client"], "203.0.113.7");
    assert_eq!(v["caller_identity"], Value::Null);
    assert!(v.get("caller_trusted").is_none(), "{v}");
}

#[test]
fn rule15_identity_flags_repeat_take_lists_and_replace_the_deployments() {
    let own = "spiffe://example.org/ns/ingress/sa/gw";
    let ns = "spiffe://example.org/ns/edge/";
    // Repeated, and a comma list: every identity, in order.
    let (v, _) = through_sidecar(
        &[
            "--source",
            "x-forwarded-for",
            "--trust",
            "istio-sidecar",
            "--identity",
            &format!("{own}, {ns}"),
            "--identity",
            GATEWAY_ID,
        ],
        &[XFF_FORGED, &xfcc(GATEWAY_ID)],
    );
    assert_eq!(
        v["configuration"],
        format!("x-forwarded-for; trust=istio-sidecar; identity={own}, {ns}, {GATEWAY_ID}")
    );
    assert_eq!(v["client"], "203.0.113.7");
    // The namespace admits its workloads.
    let (v, _) = through_sidecar(
        &[
            "--source",
            "x-forwarded-for",
            "--trust",
            "istio-sidecar",
            "--identity",
            ns,
        ],
        &[XFF_FORGED, &xfcc("spiffe://example.org/ns/edge/sa/any")],
    );
    assert_eq!(
        (&v["client"], &v["caller_trusted"]),
        (&json!("203.0.113.7"), &json!(true))
    );

    // --identity replaces the deployment's: the default gateway is then a
    // caller like any other.
    let replaced = [GATEWAY, &["--identity", own]].concat();
    let (v, _) = through_sidecar(&replaced, &[XFF_FORGED, &xfcc(GATEWAY_ID)]);
    assert_eq!(
        v["configuration"],
        format!("x-forwarded-for; trust=istio-sidecar; identity={own}")
    );
    assert_eq!(v["client"], "127.0.0.6");
    assert_eq!(
        (&v["caller_identity"], &v["caller_trusted"]),
        (&json!(GATEWAY_ID), &json!(false))
    );
    let (v, _) = through_sidecar(&replaced, &[XFF_FORGED, &xfcc(own)]);
    assert_eq!(v["client"], "203.0.113.7");

    // --identity-header: the identity is read there, and only there.
    let custom = [GATEWAY, &["--identity-header", "X-Client-Cert"]].concat();
    let in_custom = format!("X-Client-Cert: URI={GATEWAY_ID}");
    let (v, _) = through_sidecar(&custom, &[XFF_FORGED, &in_custom]);
    assert_eq!(
        v["configuration"],
        format!(
            "x-forwarded-for; trust=istio-sidecar; identity={GATEWAY_ID}; identity-header=x-client-cert"
        )
    );
    assert_eq!(
        (&v["client"], &v["caller_trusted"]),
        (&json!("203.0.113.7"), &json!(true))
    );
    let (v, _) = through_sidecar(&custom, &[XFF_FORGED, &xfcc(GATEWAY_ID)]);
    assert_eq!(
        (&v["client"], &v["caller_identity"]),
        (&json!("127.0.0.6"), &Value::Null)
    );
}

#[test]
fn rule15_sidecar_appends_makes_hop_0_the_callers() {
    let args = [
        GATEWAY,
        &["--sidecar-appends", "--trust", "istio-sidecar, 10.0.0.0/8"],
    ]
    .concat();
    let chain = "X-Forwarded-For: 6.6.6.6, 203.0.113.7, 10.1.2.3";
    let verdicts = |v: &Value| -> Vec<String> {
        v["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["verdict"].as_str().unwrap().to_owned())
            .collect()
    };
    let (v, status) = through_sidecar(&args, &[chain, &xfcc(GATEWAY_ID)]);
    assert_eq!(status, 0);
    assert!(
        v["configuration"]
            .as_str()
            .unwrap()
            .ends_with("; sidecar-appends"),
        "{v}"
    );
    assert_eq!(
        (&v["client"], &v["hop_index"]),
        (&json!("203.0.113.7"), &json!(1))
    );
    assert_eq!(verdicts(&v), ["trusted_proxy", "trusted_caller", "client"]);
    assert_eq!(v["hops"][1]["detail"], "trusted caller (by identity)");
    assert_eq!(v["caller_trusted"], true);
    // An untrusted caller's hop is the client, though 10/8 is trusted.
    let (v, status) = through_sidecar(&args, &[chain, &xfcc(SLEEP_ID)]);
    assert_eq!(status, 0);
    assert_eq!(
        (&v["client"], &v["hop_index"]),
        (&json!("10.1.2.3"), &json!(0))
    );
    assert_eq!(verdicts(&v), ["trusted_proxy", "client"]);
    assert_eq!(v["caller_trusted"], false);
    assert_eq!(
        diagnostic_codes(&v),
        ["non_public_client", "caller_not_trusted"]
    );
}

#[test]
fn rule15_the_report_shows_the_caller_on_the_step_it_decided() {
    // (flags, header lines, the step line, the caller line after it)
    let trusted = format!("caller {GATEWAY_ID}: a trusted identity");
    let untrusted = format!("caller {SLEEP_ID}: not a trusted identity");
    let gateway = xfcc(GATEWAY_ID);
    let sleep = xfcc(SLEEP_ID);
    let appends = [GATEWAY, &["--sidecar-appends"]].concat();
    let chain = "X-Forwarded-For: 203.0.113.7, 10.1.2.3";
    let table: &[(&[&str], &[&str], &str, &str)] = &[
        (GATEWAY, &[XFF_FORGED, &gateway], "peer", &trusted),
        (GATEWAY, &[XFF_FORGED, &sleep], "peer", &untrusted),
        (
            GATEWAY,
            &[XFF_FORGED],
            "peer",
            "caller: none (absent, as for a caller without mTLS)",
        ),
        (&appends, &[chain, &gateway], "hop 0", &trusted),
        (&appends, &[chain, &sleep], "hop 0", &untrusted),
    ];
    for (flags, lines, step, caller) in table {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["--peer", "127.0.0.6:40000"]);
        for line in *lines {
            args.extend(["--header", line]);
        }
        let output = run(&args);
        assert_eq!(code(&output), 0);
        let text = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim() == *caller)
            .unwrap_or_else(|| panic!("{args:?}: no line {caller:?} in\n{text}"));
        assert!(
            lines[at - 1].trim_start().starts_with(step),
            "{args:?}: {caller:?} follows {:?}, not the {step} step\n{text}",
            lines[at - 1]
        );
    }
}

#[test]
fn rule15_usage_errors_exit_2_and_name_the_problem() {
    let xff = ["--source", "x-forwarded-for", "--trust", "istio-sidecar"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&xff[..], extra].concat() };
    let table: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["--identity", "spiffe://Cluster.local/ns/a/sa/b"]),
            "invalid identity",
        ),
        (
            with(&["--identity", "spiffe://Cluster.local/ns/a/sa/b"]),
            "lowercase",
        ),
        (
            with(&["--identity", "https://example.org/ns/a/sa/b"]),
            "SPIFFE id",
        ),
        (
            with(&["--identity", "spiffe://cluster.local/"]),
            "trust domain alone",
        ),
        (
            with(&["--identity", "spiffe://cluster.local/ns/a/sa/"]),
            "one namespace",
        ),
        (with(&["--identity"]), "--identity needs a value"),
        (
            with(&["--sidecar-appends=x"]),
            "--sidecar-appends takes no value",
        ),
        (
            with(&["--sidecar-appends"]),
            "sidecar-appends only applies with identity=",
        ),
        (
            with(&["--identity-header", "x-client-cert"]),
            "identity-header= only applies with identity=",
        ),
        (
            with(&["--identity", GATEWAY_ID, "--identity-header", "bad name"]),
            "--identity-header",
        ),
        (
            with(&[
                "--identity",
                GATEWAY_ID,
                "--identity-header",
                "a",
                "--identity-header",
                "b",
            ]),
            "more than once",
        ),
        (
            with(&[
                "--identity",
                GATEWAY_ID,
                "--identity-header",
                "x-forwarded-for",
            ]),
            "is also the source",
        ),
        (
            vec![
                "--source",
                "x-forwarded-for",
                "--hops",
                "2",
                "--trust",
                "istio-sidecar",
                "--identity",
                GATEWAY_ID,
            ],
            "hops=",
        ),
        (
            vec!["--identity", GATEWAY_ID],
            "the source is the peer alone",
        ),
        (
            vec![
                "--source",
                "x-real-ip",
                "--trust",
                "istio-sidecar",
                "--identity",
                GATEWAY_ID,
                "--sidecar-appends",
            ],
            "x-real-ip holds one address",
        ),
    ];
    for (args, needle) in &table {
        let stderr = usage_error(args);
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
    }
}

#[test]
fn help_lists_the_identity_flags() {
    let output = run(&["--help"]);
    assert_eq!(code(&output), 0);
    let text = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--identity SPIFFE-ID",
        "--identity-header NAME",
        "--sidecar-appends",
        "x-forwarded-client-cert",
    ] {
        assert!(text.contains(flag), "{flag} missing from {text}");
    }
}
