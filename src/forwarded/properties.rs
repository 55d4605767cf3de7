//! Properties of the RFC 7239 reader on arbitrary bytes (moved here from
//! `tests/properties.rs`, which can no longer reach the readers).

use proptest::prelude::*;

use super::{Element, RevElements};
use crate::addr::{Node, parse_forwarded_node};
use crate::test_soup::{is_canonical_address, soup};

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    /// The RFC 7239 parsers on arbitrary bytes: no panic, and what they
    /// accept is canonical and never the unspecified address.
    #[test]
    fn forwarded_parsers_never_panic_on_arbitrary_bytes(
        bytes in prop_oneof![soup(), prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        if let Ok(Node::Ip(h)) = parse_forwarded_node(&bytes) {
            prop_assert!(is_canonical_address(h.ip));
        }
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        for element in RevElements::new(lines.iter().rev().copied()).flatten() {
            if let Ok(e) = Element::parse(element) {
                if let Some(Ok(Node::Ip(h))) = e.for_node() {
                    prop_assert!(is_canonical_address(h.ip));
                }
                let _ = e.by_node();
                let _ = (e.host().map(|v| v.unescaped()), e.proto().map(|v| v.unescaped()));
            }
        }
    }
}
