//! Arbitrary forwarding-header text for the readers' property tests
//! (`list::properties`, `forwarded::properties`): address texts in every
//! form the headers write, pieces of header syntax and raw bytes, glued at
//! random.
//!
//! `tests/properties.rs` drives the resolver with the same generators: it
//! includes this file (`#[path]`), since an integration test cannot import
//! the crate's test code and the readers' unit tests cannot live in
//! `tests/`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;

/// IPv4 addresses, half of them from a few busy /16s.
pub(crate) fn v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        (
            select(
                &[
                    0x0a00_0000u32,
                    0xc0a8_0000,
                    0x7f00_0000,
                    0xcb00_7100,
                    0xac10_0000
                ][..]
            ),
            any::<u16>()
        )
            .prop_map(|(base, low)| Ipv4Addr::from(base | u32::from(low))),
    ]
    .prop_filter("never the unspecified address", |a| !a.is_unspecified())
}

/// IPv6 addresses: random, from a few busy prefixes, mapped and compatible
/// IPv4 forms, and the Istio sidecar's `::6`.
pub(crate) fn v6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        3 => any::<u128>().prop_map(Ipv6Addr::from),
        3 => (
            select(&[0x2001_0db8u128 << 96, 0xfd00u128 << 112, 0xfe80u128 << 112][..]),
            any::<u32>()
        )
            .prop_map(|(base, low)| Ipv6Addr::from(base | u128::from(low))),
        1 => v4().prop_map(|a| a.to_ipv6_mapped()),
        1 => v4().prop_map(|a| a.to_ipv6_compatible()),
        1 => Just(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 6)),
    ]
    .prop_filter("never the unspecified address", |a| {
        !IpAddr::V6(*a).to_canonical().is_unspecified()
    })
}

pub(crate) fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![v4().prop_map(IpAddr::V4), v6().prop_map(IpAddr::V6)]
}

pub(crate) fn full_v6(ip: Ipv6Addr) -> String {
    let s = ip.segments().map(|s| format!("{s:04x}"));
    s.join(":")
}

/// The text of a hop in a comma-list or single-address header.
pub(crate) fn list_text(ip: IpAddr, port: Option<u16>, style: u8) -> String {
    match (ip, port) {
        (IpAddr::V4(a), Some(p)) if style % 5 == 4 => format!("[{}]:{p}", a.to_ipv6_mapped()),
        (IpAddr::V4(a), Some(p)) => format!("{a}:{p}"),
        (IpAddr::V4(a), None) if style % 5 == 4 => format!("::ffff:{a}"),
        (IpAddr::V4(a), None) => a.to_string(),
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (IpAddr::V6(a), None) => match style % 4 {
            0 => a.to_string(),
            1 => a.to_string().to_uppercase(),
            2 => format!("[{a}]"),
            _ => full_v6(a),
        },
    }
}

/// The `for=` value of a hop: tokens for IPv4, quoted `"[v6]"` forms with
/// ports, obfuscated ports and quoted-pairs.
pub(crate) fn forwarded_for(ip: IpAddr, port: Option<u16>, style: u8) -> String {
    let name = if style & 0x40 != 0 { "For" } else { "for" };
    match (ip, port) {
        (IpAddr::V4(a), Some(p)) => format!("{name}=\"{a}:{p}\""),
        (IpAddr::V4(a), None) => match style % 3 {
            0 => format!("{name}={a}"),
            1 => format!("{name}=\"{a}\""),
            _ => format!("{name}=\"[{}]\"", a.to_ipv6_mapped()),
        },
        (IpAddr::V6(a), Some(p)) => format!("{name}=\"[{a}]:{p}\""),
        (IpAddr::V6(a), None) => match style % 4 {
            0 => format!("{name}=\"[{a}]\""),
            1 => format!("{name}=\"[{}]\"", a.to_string().to_uppercase()),
            2 => format!("{name}=\"\\[{a}\\]\""),
            _ => format!("{name}=\"[{a}]:_p{style}\""),
        },
    }
}

/// Pieces of forwarding-header syntax, glued at random.
const PIECES: &[&str] = &[
    ",",
    ", ",
    ";",
    "=",
    "\"",
    "\\",
    "\\\"",
    "[",
    "]",
    ":",
    " ",
    "\t",
    "for=",
    "For=",
    "by=",
    "proto=https",
    "host=x",
    "unknown",
    "_hidden",
    "::",
    ".",
    "::ffff:",
    "10.0.0.1",
    "[::1]",
    "\"[",
    "]\"",
    "%eth0",
    ":80",
    ":_p",
    "0",
    "00",
    "255",
    "fd00::",
    "127.0.0.6",
    "::6",
];

/// A header line: address texts, syntax pieces and raw bytes, concatenated.
pub(crate) fn soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => (ip(), prop::option::of(any::<u16>()), any::<u8>())
            .prop_map(|(ip, port, style)| list_text(ip, port, style).into_bytes()),
        2 => (ip(), prop::option::of(any::<u16>()), any::<u8>())
            .prop_map(|(ip, port, style)| forwarded_for(ip, port, style).into_bytes()),
        4 => select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// What every reader promises of an address it accepts.
pub(crate) fn is_canonical_address(ip: IpAddr) -> bool {
    ip == ip.to_canonical() && !ip.is_unspecified()
}
