//! Comma-list headers: `list::RevElements` over arbitrary lines, and every
//! element read as a hop.
//!
//! The iterator must yield exactly what a naive split does (every line
//! split on commas, trimmed of spaces and tabs, newest first), without
//! commas or surrounding whitespace in any element. And the walk's quick
//! reader of a line of bare IPv4 addresses (`list::V4Line`) must read
//! exactly what the split and the exact address parser read.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

use realip::addr::{HopAddr, HopError, Node, parse_list_node};
use realip::list::{RevElements, RevSplit, V4Line};

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let elements: Vec<&[u8]> = RevElements::new(lines.iter().rev().copied()).collect();

    let naive: Vec<&[u8]> = lines
        .iter()
        .rev()
        .flat_map(|line| line.split(|&b| b == b',').rev().map(trim))
        .collect();
    assert_eq!(elements, naive);

    for element in elements {
        assert!(!element.contains(&b','));
        assert_eq!(element, trim(element));
        if let Ok(Node::Ip(hop)) = parse_list_node(element) {
            assert_eq!(hop.ip, hop.ip.to_canonical());
            assert!(!hop.ip.is_unspecified());
        }
    }

    for line in &lines {
        let Some(v4) = V4Line::read(line) else {
            continue;
        };
        let exact: Vec<&[u8]> = RevSplit::new(line).collect();
        assert_eq!(exact.len(), v4.len(), "{line:?}");
        for (i, raw) in exact.iter().rev().enumerate() {
            let (ip, quick_raw) = v4.get(line, i);
            assert_eq!(quick_raw, *raw);
            let expected = match Ipv4Addr::from(ip) {
                Ipv4Addr::UNSPECIFIED => Err(HopError::Unspecified),
                ip => Ok(Node::Ip(HopAddr {
                    ip: IpAddr::V4(ip),
                    port: None,
                })),
            };
            assert_eq!(parse_list_node(raw), expected, "{line:?}");
        }
    }
});

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}
