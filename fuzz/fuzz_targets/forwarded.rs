//! The `Forwarded` header: `forwarded::RevElements` over arbitrary lines,
//! `Element::parse` on every element, and its `for`/`by` nodes.
//!
//! Checked beyond "never panics": the right-to-left split agrees with a
//! naive left-to-right split wherever quotes balance and no backslash can
//! make the two directions disagree; a parsed `for` node is what
//! `parse_forwarded_node` says of the unescaped value; accepted addresses
//! are canonical and never unspecified; an element the walk's quick `for`
//! reader (`forwarded::quick_for`) reads is one the grammar accepts, with
//! the same `for` node.

#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::addr::{HopError, Node, parse_forwarded_node};
use realip::forwarded::{Element, RevElements, Value, quick_for};

/// Longest unescaped quoted node realip reads (see `forwarded.rs`).
const MAX_UNESCAPED_NODE: usize = 64;

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut yielded = 0usize;
    for element in RevElements::new(lines.iter().rev().copied()) {
        yielded += 1;
        assert!(yielded <= data.len() + lines.len(), "the iterator ends");
        let Ok(element) = element else { continue };
        assert_eq!(element, trim(element));
        let quick = quick_for(element);
        let Ok(parsed) = Element::parse(element) else {
            assert_eq!(quick, None, "{element:?}");
            continue;
        };
        if let Some(addr) = quick {
            assert_eq!(parsed.for_node(), Some(Ok(Node::Ip(addr))), "{element:?}");
        }
        check_node(parsed.for_value(), parsed.for_node());
        check_node(parsed.by(), parsed.by_node());
        for value in [parsed.host(), parsed.proto()].into_iter().flatten() {
            let unescaped = value.unescaped();
            assert!(unescaped.len() <= value.as_raw().len());
            if !value.is_quoted() {
                assert_eq!(unescaped, value.as_raw());
            }
        }
    }

    // Without backslashes, quotes toggle the same way read from either end.
    if !data.contains(&b'\\') {
        for line in &lines {
            if let Some(pieces) = split_left_to_right(line) {
                let from_right: Vec<_> = RevElements::new(std::iter::once(*line)).collect();
                let expected: Vec<_> = pieces.into_iter().rev().map(Ok).collect();
                assert_eq!(from_right, expected, "{line:?}");
            }
        }
    }
});

/// The node a value names must be what the node parser says of the value
/// once unescaped (or malformed, when a quoted-pair makes it too long to
/// unescape on the stack).
fn check_node(value: Option<Value<'_>>, node: Option<Result<Node, HopError>>) {
    let (Some(value), Some(node)) = (value, node) else {
        assert!(value.is_none() && node.is_none());
        return;
    };
    let unescaped = value.unescaped();
    let expected = if value.is_quoted()
        && value.as_raw().contains(&b'\\')
        && unescaped.len() > MAX_UNESCAPED_NODE
    {
        Err(HopError::InvalidAddress)
    } else {
        parse_forwarded_node(&unescaped)
    };
    assert_eq!(node, expected, "{:?}", value.as_raw());
    if let Ok(Node::Ip(hop)) = node {
        assert_eq!(hop.ip, hop.ip.to_canonical());
        assert!(!hop.ip.is_unspecified());
    }
}

/// Splits on commas outside quotes, left to right; `None` when a quote is
/// left open.
fn split_left_to_right(line: &[u8]) -> Option<Vec<&[u8]>> {
    let mut pieces = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => {
                pieces.push(trim(&line[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return None;
    }
    pieces.push(trim(&line[start..]));
    Some(pieces)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}
