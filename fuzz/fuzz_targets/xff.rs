//! Comma-list headers: `list::RevElements` over arbitrary lines, and every
//! element read as a hop.
//!
//! The iterator must yield exactly what a naive split does (every line
//! split on commas, trimmed of spaces and tabs, newest first), without
//! commas or surrounding whitespace in any element.

#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::addr::{Node, parse_list_node};
use realip::list::RevElements;

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
