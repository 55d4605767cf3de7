//! The quick readers against the exact ones, on the inputs where they
//! could differ: common forms and their near misses (a leading zero, a
//! port where none belongs, whitespace, an empty element, an escape, a
//! repeated parameter, the unspecified address).
//!
//! A quick reader decides nothing: whatever it reads, the exact reader
//! reads the same from the same bytes, and whatever it does not read is
//! left to the exact reader. The walk's answers then cannot depend on
//! which of the two read a hop. (The `xff` and `forwarded` fuzz targets
//! check the same on arbitrary bytes.)

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use proptest::sample::select;

use crate::addr::{HopAddr, HopError, Node, parse_list_node};
use crate::forwarded::{self, Element};
use crate::list::{self, V4Line};

/// `X-Forwarded-For` (and single-IP) elements: common forms first, then
/// the near misses.
const LIST_ELEMENTS: &[&str] = &[
    "203.0.113.7",
    "198.51.100.1",
    "10.0.0.1",
    "10.0.0.2",
    "10.255.255.255",
    "192.168.1.1",
    "255.255.255.255",
    "1.2.3.4",
    "2001:db8:cafe::17",
    "fd00::1",
    "[fd00::2]",
    "[fd00::2]:8080",
    "::ffff:10.0.0.9",
    "::ffff:203.0.113.9",
    "10.0.0.3:41000",
    "203.0.113.7:443",
    // near misses
    "0.0.0.0",
    "::",
    "010.0.0.1",
    "10.0.0.01",
    "10.0.0.256",
    "10.0.0",
    "10.0.0.1.",
    "10.0.0.1:",
    "10.0.0.1:65536",
    "10.0.0.1:0080",
    "10.0.0.1 ",
    " 10.0.0.1",
    "10.0.0.1 10.0.0.2",
    "10.0.0.1x",
    "x10.0.0.1",
    "1234.0.0.1",
    "2001:db8::1:443",
    "fe80::1%eth0",
    "[fd00::2",
    "unknown",
    "UNKNOWN",
    "_hidden",
    "\"10.0.0.1\"",
    "",
    " ",
];

const LIST_SEPARATORS: &[&str] = &[",", ", ", " , ", ",\t", ",,", ", ,"];

/// `Forwarded` pairs and whole elements.
const FOR_VALUES: &[&str] = &[
    "203.0.113.7",
    "10.0.0.1",
    "10.0.0.2",
    "\"10.0.0.1:80\"",
    "\"[fd00::2]:8080\"",
    "\"[2001:db8:cafe::17]\"",
    "\"[::ffff:10.0.0.1]\"",
    "\"_p\"",
    // near misses
    "0.0.0.0",
    "010.0.0.1",
    "10.0.0.1:80",
    "[fd00::2]",
    "\"[fd00::2]:8080",
    "\"\\[fd00::2\\]:8080\"",
    "\"10.0.0.1\\\"\"",
    "unknown",
    "_hidden",
    "\"\"",
    "",
];

const OTHER_PAIRS: &[&str] = &[
    "proto=https",
    "PROTO=http",
    "by=10.0.0.9",
    "by=\"[fd00::9]:80\"",
    "host=example.com",
    "host=\"a,b;c\"",
    "ext=1",
    "proto=",
    "proto=\"unterminated",
    "proto=ht\\tp",
    // near misses of the names the quick reader knows
    "proto:https",
    "protos=https",
    "pr=https",
    "b=10.0.0.9",
    "hosts=example.com",
];

/// The name of the `for` pair, near misses last.
const FOR_NAMES: &[&str] = &["for", "FOR", "For", "fOr", "fo", "forr", "xfor"];

/// What joins the `for` name to its value, near misses last.
const FOR_EQUALS: &[&str] = &["=", "=", "=", ":", " =", "= "];

const PAIR_SEPARATORS: &[&str] = &[";", ";", ";", " ; ", ";;"];

fn list_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(select(LIST_ELEMENTS), 1..6),
        prop::collection::vec(select(LIST_SEPARATORS), 6),
        any::<bool>(),
    )
        .prop_map(|(elements, separators, pad)| {
            let mut line = String::new();
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    line.push_str(separators[i]);
                }
                line.push_str(element);
            }
            if pad { format!(" {line} ") } else { line }
        })
}

fn forwarded_element() -> impl Strategy<Value = String> {
    (
        (select(FOR_NAMES), select(FOR_EQUALS)),
        select(FOR_VALUES),
        prop::collection::vec(select(OTHER_PAIRS), 0..3),
        select(PAIR_SEPARATORS),
        0usize..4,
        any::<bool>(),
    )
        .prop_map(|((name, equals), value, others, separator, at, twice)| {
            let mut pairs: Vec<String> = others.iter().map(|p| p.to_string()).collect();
            let for_pair = format!("{name}{equals}{value}");
            pairs.insert(at.min(pairs.len()), for_pair.clone());
            if twice {
                pairs.push(for_pair);
            }
            pairs.join(separator)
        })
}

fn forwarded_line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(forwarded_element(), 1..5),
        prop::collection::vec(select(&[",", ", ", " , ", ",,"][..]), 5),
    )
        .prop_map(|(elements, separators)| {
            let mut line = String::new();
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    line.push_str(separators[i]);
                }
                line.push_str(element);
            }
            line
        })
}

/// A line [`V4Line`] reads holds exactly the elements the exact split
/// finds, each the address the exact parser reads (the unspecified
/// address kept, for the walk to refuse as the parser does).
fn v4_line_reads_as_the_exact_readers(line: &str) -> Result<(), TestCaseError> {
    let bytes = line.as_bytes();
    let Some(v4) = V4Line::read(bytes) else {
        return Ok(());
    };
    let exact: Vec<&[u8]> = list::RevSplit::new(bytes).collect();
    prop_assert_eq!(exact.len(), v4.len(), "{:?}", line);
    for (i, raw) in exact.iter().rev().enumerate() {
        let (ip, quick_raw) = v4.get(bytes, i);
        prop_assert_eq!(quick_raw, *raw, "{:?}", line);
        let expected = match Ipv4Addr::from(ip) {
            Ipv4Addr::UNSPECIFIED => Err(HopError::Unspecified),
            ip => Ok(Node::Ip(HopAddr {
                ip: IpAddr::V4(ip),
                port: None,
            })),
        };
        prop_assert_eq!(parse_list_node(raw), expected, "{:?}", line);
    }
    Ok(())
}

/// An element [`forwarded::quick_for`] reads is one the exact grammar
/// accepts, with that `for` node.
fn quick_for_reads_as_the_exact_reader(element: &[u8]) -> Result<(), TestCaseError> {
    let Some(addr) = forwarded::quick_for(element) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(element);
    let exact = Element::parse(element);
    prop_assert!(exact.is_ok(), "{:?}: {:?}", text, exact);
    let node = exact.unwrap().for_node();
    prop_assert_eq!(node, Some(Ok(Node::Ip(addr))), "{:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn list_lines(line in list_line()) {
        v4_line_reads_as_the_exact_readers(&line)?;
    }

    #[test]
    fn forwarded_elements(element in forwarded_element()) {
        quick_for_reads_as_the_exact_reader(element.as_bytes())?;
    }

    #[test]
    fn forwarded_lines(line in forwarded_line()) {
        let mut split = forwarded::RevSplit::new(line.as_bytes());
        for element in &mut split {
            quick_for_reads_as_the_exact_reader(element)?;
        }
    }
}

/// The quick readers do read the common forms (so the tests above test
/// something).
#[test]
fn the_quick_readers_read_the_common_forms() {
    let v4 = V4Line::read(b"203.0.113.7, 10.0.0.1, 10.0.0.2").expect("a line of IPv4");
    assert_eq!(v4.len(), 3);
    for element in [
        &b"for=203.0.113.7;proto=https"[..],
        b"for=\"[fd00::2]:8080\"",
        b"proto=http;for=10.0.0.1;by=_p",
    ] {
        assert!(forwarded::quick_for(element).is_some(), "{element:?}");
    }
}
