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

/// The elements of a comma list across all its lines, newest (rightmost)
/// first: each line split by [`RevSplit`], as the walk splits it. For tests
/// and fuzz targets, which read a whole header at once.
///
/// It takes the header's lines **last line first** and yields each element
/// trimmed, including empty ones.
#[cfg(any(test, fuzzing))]
#[derive(Clone, Debug)]
pub struct RevElements<'a, I> {
    lines: I,
    line: Option<RevSplit<'a>>,
}

#[cfg(any(test, fuzzing))]
impl<'a, I> RevElements<'a, I>
where
    I: Iterator<Item = &'a [u8]>,
{
    /// Starts at the right end of the first line `lines` yields (the last
    /// header line).
    pub fn new(lines: I) -> Self {
        Self { lines, line: None }
    }
}

#[cfg(any(test, fuzzing))]
impl<'a, I> Iterator for RevElements<'a, I>
where
    I: Iterator<Item = &'a [u8]>,
{
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(element) = self.line.as_mut().and_then(Iterator::next) {
                return Some(element);
            }
            self.line = Some(RevSplit::new(self.lines.next()?));
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

/// The elements of one line, newest (rightmost) first, each trimmed of
/// optional whitespace, empty ones included.
///
/// The walk reads a list header line by line, so that a line of bare IPv4
/// addresses can be read in one pass ([`V4Line`]) and any other line
/// element by element from here.
#[derive(Clone, Debug)]
pub struct RevSplit<'a> {
    /// What is left of the line, not yet yielded.
    rest: Option<&'a [u8]>,
}

impl<'a> RevSplit<'a> {
    /// Starts at the right end of `line`.
    #[inline]
    pub fn new(line: &'a [u8]) -> Self {
        Self { rest: Some(line) }
    }
}

impl<'a> Iterator for RevSplit<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rfind_any(rest, [b',']) {
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

/// The most addresses [`V4Line`] reads; a longer line is read element by
/// element from the right, without reading what lies beyond the client.
pub(crate) const V4_LINE_HOPS: usize = 8;

/// A line that is nothing but bare IPv4 addresses separated by commas
/// (the commonest `X-Forwarded-For` of all), read left to right in one
/// pass. Each address is kept with where its text lies in the line. It
/// reads exactly what [`RevSplit`] and the address parser would read from
/// such a line, and decides nothing: the unspecified address is kept, for
/// the walk to refuse as it refuses it anywhere.
#[derive(Clone, Copy, Debug)]
pub struct V4Line {
    ips: [u32; V4_LINE_HOPS],
    /// `(start, end)` of each address's text.
    spans: [(u32, u32); V4_LINE_HOPS],
    len: usize,
}

impl V4Line {
    /// Reads `line`: `None` unless it holds one to [`V4_LINE_HOPS`] bare
    /// IPv4 addresses, with optional whitespace around each and commas
    /// between them (no port, no empty element).
    #[inline(always)]
    pub fn read(line: &[u8]) -> Option<V4Line> {
        // Spans are kept in 32 bits; no header line comes near 4 GiB.
        let end = u32::try_from(line.len()).ok()?;
        let mut out = V4Line {
            ips: [0; V4_LINE_HOPS],
            spans: [(0, 0); V4_LINE_HOPS],
            len: 0,
        };
        let mut i = skip_ows(line, 0);
        loop {
            let (ip, used) = crate::addr::ipv4_prefix(&line[i..])?;
            if out.len == V4_LINE_HOPS {
                return None;
            }
            // `i + used <= line.len()`, which fits in 32 bits.
            out.ips[out.len] = u32::from(ip);
            out.spans[out.len] = (i as u32, (i + used) as u32);
            out.len += 1;
            i = skip_ows(line, i + used);
            if i as u32 == end {
                return Some(out);
            }
            if line[i] != b',' {
                return None;
            }
            i = skip_ows(line, i + 1);
        }
    }

    /// How many addresses the line holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The address at `i` (from the left) as an integer, and its text in
    /// `line` (the line it was read from).
    #[inline]
    pub fn get<'a>(&self, line: &'a [u8], i: usize) -> (u32, &'a [u8]) {
        let (start, end) = self.spans[i];
        (self.ips[i], &line[start as usize..end as usize])
    }
}

/// The first index at or after `i` that is not optional whitespace.
#[inline]
pub(crate) fn skip_ows(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && matches!(line[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// The index of the last byte of `s` that is one of `needles`. Eight bytes
/// at a time: header lines are mostly addresses, the bytes looked for are
/// few.
#[inline]
pub(crate) fn rfind_any<const N: usize>(s: &[u8], needles: [u8; N]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    let mut i = s.len();
    while i >= 8 {
        let chunk = u64::from_le_bytes(s[i - 8..i].try_into().expect("eight bytes"));
        let mut found = 0;
        for needle in needles {
            // Bytes equal to the needle become zero, and a zero byte is the
            // only one whose high bit stays clear: exact, as no carry
            // crosses a byte.
            let x = chunk ^ (ONES * u64::from(needle));
            found |= !(((x & LOW7) + LOW7) | x | LOW7);
        }
        if found != 0 {
            // Little-endian: the highest flagged byte is the last match.
            return Some(i - 8 + (63 - found.leading_zeros() as usize) / 8);
        }
        i -= 8;
    }
    s[..i].iter().rposition(|b| needles.contains(b))
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

    #[test]
    fn v4_line_reads_only_lines_of_bare_ipv4_addresses() {
        let read = |line: &str| {
            V4Line::read(line.as_bytes()).map(|v4| {
                (0..v4.len())
                    .map(|i| {
                        let (ip, raw) = v4.get(line.as_bytes(), i);
                        (
                            std::net::Ipv4Addr::from(ip).to_string(),
                            String::from_utf8(raw.to_vec()).unwrap(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        };
        let pair = |ip: &str, raw: &str| (ip.to_owned(), raw.to_owned());
        assert_eq!(
            read(" 203.0.113.7 ,10.0.0.1,\t10.0.0.2 "),
            Some(vec![
                pair("203.0.113.7", "203.0.113.7"),
                pair("10.0.0.1", "10.0.0.1"),
                pair("10.0.0.2", "10.0.0.2"),
            ])
        );
        assert_eq!(read("0.0.0.0"), Some(vec![pair("0.0.0.0", "0.0.0.0")]));
        let eight = ["10.0.0.1"; V4_LINE_HOPS].join(",");
        assert_eq!(read(&eight).map(|v| v.len()), Some(V4_LINE_HOPS));
        let nine = ["10.0.0.1"; V4_LINE_HOPS + 1].join(",");
        for other in [
            nine.as_str(),
            "",
            " ",
            "10.0.0.1,",
            ",10.0.0.1",
            "10.0.0.1,,10.0.0.2",
            "10.0.0.1:80",
            "10.0.0.1 10.0.0.2",
            "[::1]",
            "::1",
            "unknown",
            "10.0.0.256",
            "10.0.0",
        ] {
            assert_eq!(read(other), None, "{other:?}");
        }
    }

    #[test]
    fn rfind_any_finds_the_last_needle_in_every_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut s = vec![b'1'; len];
                s[at] = b',';
                if at > 2 {
                    s[at - 3] = b'"';
                }
                assert_eq!(rfind_any(&s, [b',']), Some(at), "{len} {at}");
                assert_eq!(rfind_any(&s, [b',', b'"']), Some(at));
                assert_eq!(rfind_any(&s, [b'\\']), None);
            }
        }
        // Bytes with the high bit set are not mistaken for a needle.
        assert_eq!(rfind_any(&[0xac; 20], [b',']), None);
        assert_eq!(rfind_any(&[0x2c ^ 0x80; 20], [b',']), None);
    }
}

#[cfg(test)]
mod properties;
