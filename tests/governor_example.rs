//! The `governor` example, end to end: httpbin's `/ip` behind realip and
//! tower_governor, started as a process on a free loopback port.
//!
//! It runs the example binary that `cargo test` builds next to the tests;
//! `cargo test --test governor_example` alone does not build examples: run
//! `cargo test` or `cargo build --example governor` first. The limiter
//! itself is tested in `tests/governor.rs`.

mod common;
use common::RunningExample;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET /ip` with these header lines; the status and the body.
async fn get_ip(addr: SocketAddr, header_lines: &[&str]) -> (u16, String) {
    let mut head = "GET /ip HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".to_owned();
    for line in header_lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    // A guard against a hung test, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("the example answers and closes the connection")
        .expect("read the answer");
    let raw = String::from_utf8(raw).expect("a text answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    assert!(
        head.to_ascii_lowercase().contains("\r\ncontent-length:"),
        "a body of known length: {head:?}"
    );
    (status, body.to_owned())
}

#[tokio::test]
async fn governor_example_limits_the_client_not_its_headers() {
    // A burst of 2, one more an hour: no timing in the test.
    let server = RunningExample::start("governor", &["--burst", "2", "--per-second", "3600"], None);
    for i in 0..2 {
        let forged = format!("X-Forwarded-For: 198.51.100.{i}");
        let (status, body) = get_ip(server.addr, &[&forged]).await;
        assert_eq!((status, body.as_str()), (200, r#"{"origin":"127.0.0.1"}"#));
    }
    let (status, _) = get_ip(server.addr, &["X-Forwarded-For: 198.51.100.9"]).await;
    assert_eq!(status, 429, "the forged header is not the key");
}

#[tokio::test]
async fn governor_example_reads_realip_and_refuses_the_unresolvable() {
    let server = RunningExample::start(
        "governor",
        &[
            "--burst",
            "1",
            "--per-second",
            "3600",
            "--ipv4-prefix",
            "24",
        ],
        Some("x-forwarded-for; trust=loopback"),
    );
    // Behind the trusted proxy (the test client), 203.0.113.7 and its /24.
    let (status, body) = get_ip(server.addr, &["X-Forwarded-For: 1.1.1.1, 203.0.113.7"]).await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"origin":"203.0.113.7"}"#)
    );
    let (status, _) = get_ip(server.addr, &["X-Forwarded-For: 203.0.113.8"]).await;
    assert_eq!(status, 429, "one IPv4 /24");
    let (status, _) = get_ip(server.addr, &["X-Forwarded-For: 203.0.114.8"]).await;
    assert_eq!(status, 200, "the next /24");
    let (status, body) = get_ip(server.addr, &["X-Forwarded-For: EVIL"]).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("EVIL"), "{body:?}");
}

#[test]
fn governor_example_refuses_bad_flags() {
    let binary = common::example_binary("governor");
    for args in [
        &["--ipv6-prefix", "0"][..],
        &["--ipv4-prefix", "33"],
        &["--burst", "0"],
        &["--per-second", "+1"],
        &["--burst"],
        &["--nonsense"],
    ] {
        let out = std::process::Command::new(&binary)
            .args(args)
            .env_remove("REALIP")
            .output()
            .expect("the example runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("governor: "), "{args:?}: {stderr}");
    }
}
