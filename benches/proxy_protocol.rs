//! The PROXY protocol decode step: bytes at the start of a connection to a
//! header. Target: at most 50 ns for a v2 TCP4 header.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use realip::proxy_protocol::decode;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "v2_tcp4",
            hex("0d0a0d0a000d0a515549540a2111000cc0a80001c0a8000bdc0401bb"),
        ),
        (
            "v2_tcp6",
            hex(
                "0d0a0d0a000d0a515549540a2121002420010db800000000000000000000000120010db8000000000000000000000002126701bb",
            ),
        ),
        (
            "v2_tcp4_alpn_authority",
            hex(
                "0d0a0d0a000d0a515549540a2111001fc63364160a0000059c4001bb010002683202000b6578616d706c652e636f6d",
            ),
        ),
        (
            "v2_tcp4_crc32c",
            hex("0d0a0d0a000d0a515549540a21110013c0000201c000020204d20050030004875d0ba7"),
        ),
        ("v2_local", hex("0d0a0d0a000d0a515549540a20000000")),
        (
            "v1_tcp4",
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec(),
        ),
        (
            "v1_tcp6",
            b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 443\r\n".to_vec(),
        ),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("proxy_protocol_decode");
    for (name, bytes) in inputs() {
        // The header followed by the start of a request, as a socket read
        // delivers it.
        let mut input = bytes.clone();
        input.extend_from_slice(b"GET /ip HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(decode(&input).expect(name).encoded_len(), bytes.len());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| decode(black_box(&input)).map(|h| h.source()))
        });
    }
    group.bench_function("invalid_signature", |b| {
        b.iter(|| decode(black_box(b"GET / HTTP/1.1\r\n")).is_err())
    });
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
