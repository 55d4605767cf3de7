//! Comma-list headers (`X-Forwarded-For` and any custom list header),
//! iterated right to left across all their lines without allocating.
//!
//! Repeated header lines form one list, first line first (RFC 9110 §5.3):
//! HAProxy adds a new line per hop, others append to the last line, and both
//! mean the same chain. Iterating from the newest element (the right end of
//! the last line) lets a resolver stop after the few hops it needs, so a
//! 60 KB header costs no more than a short one.
//!
//! Elements are trimmed of optional whitespace (spaces and tabs). Empty
//! elements (`a,,b`, a trailing comma) are yielded as empty slices so that a
//! caller can bound how many it tolerates (RFC 9110 §5.6.1.2); they are not
//! hops.
//!
//! This module only splits; [`crate::addr`] reads each element. Two header
//! lines as HAProxy writes them (the unit test `tests::doc_examples`):
//!
//! ```text
//! X-Forwarded-For: 203.0.113.7, 10.0.0.1
//! X-Forwarded-For: 10.0.0.2
//! RevElements yields: "10.0.0.2", "10.0.0.1", "203.0.113.7"
//! ```

/// Iterator over the elements of a comma list, newest (rightmost) first.
///
/// It takes the header's lines **last line first** (for an
/// [`http::HeaderMap`], `headers.get_all(name).iter().rev()` mapped to
/// bytes) and yields each element trimmed, including empty ones.
#[derive(Clone, Debug)]
pub struct RevElements<'a, I> {
    lines: I,
    /// What is left of the current line, not yet yielded.
    rest: Option<&'a [u8]>,
}

impl<'a, I> RevElements<'a, I>
where
    I: Iterator<Item = &'a [u8]>,
{
    /// Starts at the right end of the first line `lines` yields (the last
    /// header line).
    pub fn new(lines: I) -> Self {
        Self { lines, rest: None }
    }
}

impl<'a, I> Iterator for RevElements<'a, I>
where
    I: Iterator<Item = &'a [u8]>,
{
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = match self.rest {
            Some(rest) => rest,
            None => self.lines.next()?,
        };
        match rest.iter().rposition(|&b| b == b',') {
            Some(comma) => {
                self.rest = Some(&rest[..comma]);
                Some(trim_ows(&rest[comma + 1..]))
            }
            None => {
                self.rest = None;
                Some(trim_ows(rest))
            }
        }
    }
}

/// Strips optional whitespace (RFC 9110 `OWS`: spaces and tabs) from both
/// ends: `b" \t10.0.0.1 "` becomes `b"10.0.0.1"`.
#[inline]
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(lines: &[&str]) -> Vec<String> {
        RevElements::new(lines.iter().rev().map(|l| l.as_bytes()))
            .map(|e| String::from_utf8(e.to_vec()).unwrap())
            .collect()
    }

    /// The examples of this module's documentation.
    #[test]
    fn doc_examples() {
        // Two header lines, as HAProxy writes them.
        let lines: [&[u8]; 2] = [b"203.0.113.7, 10.0.0.1", b"10.0.0.2"];
        let hops: Vec<&[u8]> = RevElements::new(lines.iter().rev().copied()).collect();
        assert_eq!(hops, [&b"10.0.0.2"[..], b"10.0.0.1", b"203.0.113.7"]);

        assert_eq!(trim_ows(b" \t10.0.0.1 "), b"10.0.0.1");
    }

    #[test]
    fn all_lines_in_order_iterated_from_the_right() {
        let table: &[(&[&str], &[&str])] = &[
            (&["a"], &["a"]),
            (&["a,b,c"], &["c", "b", "a"]),
            (&["a, b ,\tc"], &["c", "b", "a"]),
            (&["a", "b"], &["b", "a"]),
            (&["a, b", "c", "d,e"], &["e", "d", "c", "b", "a"]),
            (&["a,,b"], &["b", "", "a"]),
            (&["a,"], &["", "a"]),
            (&[",a"], &["a", ""]),
            (&[""], &[""]),
            (&[", ,"], &["", "", ""]),
            (&["1.2.3.4 5.6.7.8"], &["1.2.3.4 5.6.7.8"]),
        ];
        for (lines, expected) in table {
            assert_eq!(rev(lines), *expected, "lines {lines:?}");
        }
    }

    #[test]
    fn no_lines_no_elements() {
        assert_eq!(rev(&[]), Vec::<String>::new());
    }

    #[test]
    fn trims_only_spaces_and_tabs() {
        assert_eq!(trim_ows(b"  a b \t"), b"a b");
        assert_eq!(trim_ows(b"\na\r"), b"\na\r");
        assert_eq!(trim_ows(b"   "), b"");
    }
}

#[cfg(test)]
mod properties;
