//! Properties of the comma-list reader and the address readers behind it,
//! on arbitrary bytes (moved here from `tests/properties.rs`, which can no
//! longer reach the readers).

use proptest::prelude::*;

use super::RevElements;
use crate::addr::{Node, parse_hop_addr, parse_ip_port_last_colon, parse_list_node};
use crate::test_soup::{is_canonical_address, soup};

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    /// The address and list parsers on arbitrary bytes: no panic, and
    /// what they accept is canonical and never the unspecified address.
    #[test]
    fn list_parsers_never_panic_on_arbitrary_bytes(
        bytes in prop_oneof![soup(), prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        if let Ok(h) = parse_hop_addr(&bytes) {
            prop_assert!(is_canonical_address(h.ip));
            prop_assert_eq!(parse_list_node(&bytes), Ok(Node::Ip(h)));
        }
        if let Ok(h) = parse_ip_port_last_colon(&bytes) {
            prop_assert!(is_canonical_address(h.ip) && h.port.is_some());
        }
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        for element in RevElements::new(lines.iter().rev().copied()) {
            prop_assert!(!element.contains(&b','));
            let _ = parse_list_node(element);
        }
    }
}
