//! The `Forwarded` header (RFC 7239), parsed by the RFC, in place.
//!
//! A `Forwarded` field is a comma list of *elements*; each element is a
//! `;`-separated list of `name=value` pairs whose values are tokens or
//! quoted-strings. Commas and semicolons inside quoted-strings are text, so
//! splitting must respect quotes, and quoted-pairs (`\"`) must be unescaped
//! before a value is read.
//!
//! Elements are found **from the right** ([`RevElements`]): the newest
//! element, written by the nearest proxy, is read first and does not depend
//! on anything a client wrote further left. An unbalanced quote that a
//! client puts in its own part of the header therefore cannot swallow the
//! elements that trusted proxies appended after it.
//!
//! Each element is then parsed left to right ([`Element::parse`]): parameter
//! names are case-insensitive, a parameter repeated within one element makes
//! the element malformed, unknown (extension) parameters are skipped, and
//! whitespace around `;` and `=` is tolerated (a leniency for producers seen
//! in the wild; it never changes what a value means).
//!
//! The module is internal (public only to fuzz targets); its examples are
//! the unit test `tests::doc_examples`:
//!
//! ```text
//! Forwarded: for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https
//! newest element: for = 2001:db8:cafe::17 port 4711, proto = https
//! ```

use std::net::IpAddr;

use crate::addr::{
    HopAddr, HopError, Node, fast_finish, fast_forwarded_node, ipv4_prefix, parse_forwarded_node,
};
use crate::list::{rfind_any, trim_ows};

/// The most parameters one element may carry. Real elements carry at most
/// `for`, `by`, `host` and `proto`; the bound keeps the duplicate check
/// cheap on hostile input.
pub const MAX_PARAMETERS: usize = 16;

/// The longest quoted `for`/`by` value that is unescaped (on the stack) to be
/// read as a node. A bracketed IPv6 address with a port is at most 53
/// bytes; a longer value that needs unescaping is malformed.
const MAX_UNESCAPED_NODE: usize = 64;

/// Why a `Forwarded` element cannot be read.
///
/// The variants never carry the element's text: error messages must not
/// echo client input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ElementError {
    /// A quoted-string is not closed.
    #[error("a quoted-string in the element is not terminated")]
    UnterminatedQuote,
    /// A pair has no name, no `=`, or a name that is not a token.
    #[error("a parameter of the element is not of the form name=value")]
    InvalidParameter,
    /// A value is empty, is not a token or quoted-string, or is followed by
    /// text other than `;`.
    #[error("a parameter value of the element is not a token or quoted-string")]
    InvalidValue,
    /// A parameter occurs twice in one element (RFC 7239 §4: MUST NOT).
    #[error("a parameter occurs more than once in the element")]
    DuplicateParameter,
    /// More than 16 parameters in one element.
    #[error("the element has more than {MAX_PARAMETERS} parameters")]
    TooManyParameters,
}

/// The raw elements of a `Forwarded` field across all its lines, newest
/// (rightmost) first: each line split by [`RevSplit`], as the walk splits
/// it. For tests and fuzz targets, which read a whole field at once.
///
/// It takes the lines **last line first** and yields trimmed elements,
/// empty ones included. An element whose quotes do not balance is yielded
/// as [`ElementError::UnterminatedQuote`], and the rest of that line is
/// skipped.
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
    type Item = Result<&'a [u8], ElementError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(line) = &mut self.line {
                if let Some(element) = line.next() {
                    return Some(Ok(element));
                }
                let unterminated = line.unterminated();
                self.line = None;
                if unterminated {
                    return Some(Err(ElementError::UnterminatedQuote));
                }
            }
            self.line = Some(RevSplit::new(self.lines.next()?));
        }
    }
}

fn backslashes_before(s: &[u8], i: usize) -> usize {
    s[..i].iter().rev().take_while(|&&b| b == b'\\').count()
}

/// One parameter value: a token, or the inside of a quoted-string (still
/// escaped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
    quoted: bool,
}

impl<'a> Value<'a> {
    // The walk reads values only as nodes (`node`); these accessors serve
    // the fuzz target and the unit tests.

    /// The value as written: a token, or the inside of the quoted-string with
    /// its quoted-pairs still escaped.
    #[cfg(any(test, fuzzing))]
    pub fn as_raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the value was a quoted-string.
    #[cfg(any(test, fuzzing))]
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The value with quoted-pairs unescaped (allocates; for display and
    /// for parameters other than `for`/`by`): `"ex\"ample.com"` reads
    /// `ex"ample.com`.
    #[cfg(any(test, fuzzing))]
    pub fn unescaped(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        let mut escaped = false;
        for &b in self.raw {
            if b == b'\\' && !escaped && self.quoted {
                escaped = true;
            } else {
                out.push(b);
                escaped = false;
            }
        }
        out
    }

    /// Reads the value as an RFC 7239 node, unescaping on the stack.
    fn node(&self) -> Result<Node, HopError> {
        let mut buf = [0u8; MAX_UNESCAPED_NODE];
        match self.unescape_into(&mut buf) {
            Some(value) => parse_forwarded_node(value),
            None => Err(HopError::InvalidAddress),
        }
    }

    /// The value with quoted-pairs unescaped, in `buf` when it needs
    /// unescaping (the raw text otherwise); `None` when it does not fit.
    pub(crate) fn unescape_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        if !self.quoted || !self.raw.contains(&b'\\') {
            return Some(self.raw);
        }
        let mut len = 0;
        let mut escaped = false;
        for &b in self.raw {
            if b == b'\\' && !escaped {
                escaped = true;
                continue;
            }
            escaped = false;
            *buf.get_mut(len)? = b;
            len += 1;
        }
        Some(&buf[..len])
    }
}

/// One parsed `Forwarded` element: its `for`, `by`, `host` and `proto`
/// parameters (extension parameters are checked and skipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Element<'a> {
    for_: Option<Value<'a>>,
    by: Option<Value<'a>>,
    host: Option<Value<'a>>,
    proto: Option<Value<'a>>,
}

impl<'a> Element<'a> {
    /// Parses one element (the text between two list commas, trimmed):
    /// `for=192.0.2.60;proto=http;by=203.0.113.43` is one, and
    /// `for=192.0.2.1;FOR=192.0.2.2` is
    /// [`DuplicateParameter`](ElementError::DuplicateParameter).
    pub fn parse(s: &'a [u8]) -> Result<Self, ElementError> {
        let mut element = Element::default();
        let mut names: [&[u8]; MAX_PARAMETERS] = [&[]; MAX_PARAMETERS];
        let mut count = 0;
        let mut i = 0;
        loop {
            i = skip_ows(s, i);
            if i == s.len() {
                return Ok(element);
            }
            if s[i] == b';' {
                // An empty pair: `[ forwarded-pair ] *( ";" [ forwarded-pair ] )`.
                i += 1;
                continue;
            }
            let name_start = i;
            while i < s.len() && is_tchar(s[i]) {
                i += 1;
            }
            let name = &s[name_start..i];
            i = skip_ows(s, i);
            if name.is_empty() || s.get(i) != Some(&b'=') {
                return Err(ElementError::InvalidParameter);
            }
            i = skip_ows(s, i + 1);
            let value;
            (value, i) = parse_value(s, i)?;
            i = skip_ows(s, i);
            if i < s.len() && s[i] != b';' {
                return Err(ElementError::InvalidValue);
            }
            if names[..count].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(ElementError::DuplicateParameter);
            }
            if count == MAX_PARAMETERS {
                return Err(ElementError::TooManyParameters);
            }
            names[count] = name;
            count += 1;
            let slot = if name.eq_ignore_ascii_case(b"for") {
                &mut element.for_
            } else if name.eq_ignore_ascii_case(b"by") {
                &mut element.by
            } else if name.eq_ignore_ascii_case(b"host") {
                &mut element.host
            } else if name.eq_ignore_ascii_case(b"proto") {
                &mut element.proto
            } else {
                continue;
            };
            *slot = Some(value);
        }
    }

    // The walk reads only `for_node`; the other parameters and raw values
    // serve the fuzz target and the unit tests.

    /// The `for` parameter's raw value.
    #[cfg(any(test, fuzzing))]
    pub fn for_value(&self) -> Option<Value<'a>> {
        self.for_
    }

    /// The `for` parameter read as a node: `None` when the element has no
    /// `for` (the hop is then unknown).
    pub fn for_node(&self) -> Option<Result<Node, HopError>> {
        self.for_.map(|v| v.node())
    }

    /// The `by` parameter read as a node.
    #[cfg(any(test, fuzzing))]
    pub fn by_node(&self) -> Option<Result<Node, HopError>> {
        self.by.map(|v| v.node())
    }

    /// The `by` parameter's raw value.
    #[cfg(any(test, fuzzing))]
    pub fn by(&self) -> Option<Value<'a>> {
        self.by
    }

    /// The `host` parameter's raw value.
    pub fn host(&self) -> Option<Value<'a>> {
        self.host
    }

    /// The `proto` parameter's raw value.
    pub fn proto(&self) -> Option<Value<'a>> {
        self.proto
    }
}

/// A token or a quoted-string starting at `i`; returns it and the index
/// after it.
fn parse_value(s: &[u8], mut i: usize) -> Result<(Value<'_>, usize), ElementError> {
    if s.get(i) == Some(&b'"') {
        i += 1;
        let start = i;
        loop {
            match s.get(i) {
                None => return Err(ElementError::UnterminatedQuote),
                Some(b'"') => {
                    let value = Value {
                        raw: &s[start..i],
                        quoted: true,
                    };
                    return Ok((value, i + 1));
                }
                Some(b'\\') => match s.get(i + 1) {
                    None => return Err(ElementError::UnterminatedQuote),
                    Some(&c) if c == b'\t' || c == b' ' || is_vchar_or_obs(c) => i += 2,
                    Some(_) => return Err(ElementError::InvalidValue),
                },
                Some(&c) if is_qdtext(c) => i += 1,
                Some(_) => return Err(ElementError::InvalidValue),
            }
        }
    }
    let start = i;
    while i < s.len() && is_tchar(s[i]) {
        i += 1;
    }
    if i == start {
        return Err(ElementError::InvalidValue);
    }
    Ok((
        Value {
            raw: &s[start..i],
            quoted: false,
        },
        i,
    ))
}

fn skip_ows(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// Byte classes, looked up rather than computed: parsing is per byte.
const TCHAR: u8 = 1;
const QDTEXT: u8 = 2;
const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if is_tchar_slow(c) {
            class |= TCHAR;
        }
        if is_qdtext_slow(c) {
            class |= QDTEXT;
        }
        table[b] = class;
        b += 1;
    }
    table
};

#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    CLASSES[b as usize] & TCHAR != 0
}

#[inline]
pub(crate) fn is_qdtext(b: u8) -> bool {
    CLASSES[b as usize] & QDTEXT != 0
}

/// RFC 9110 `tchar`.
const fn is_tchar_slow(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 9110 `qdtext`: HTAB, SP, VCHAR except `"` and `\`, obs-text.
const fn is_qdtext_slow(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_vchar_or_obs(b) && b != b'"' && b != b'\\')
}

const fn is_vchar_or_obs(b: u8) -> bool {
    (b >= 0x21 && b <= 0x7e) || b >= 0x80
}

/// The elements of one `Forwarded` line, newest (rightmost) first, each
/// trimmed, empty ones included; commas inside quoted-strings are text.
///
/// An element whose quotes do not balance ends the line: iteration stops
/// there and [`unterminated`](Self::unterminated) says so, so that the
/// walk, which reads the elements as plain slices, names the error at the
/// position where it stopped.
#[derive(Clone, Debug)]
pub struct RevSplit<'a> {
    rest: Option<&'a [u8]>,
    unterminated: bool,
}

impl<'a> RevSplit<'a> {
    /// Starts at the right end of `line`.
    #[inline]
    pub fn new(line: &'a [u8]) -> Self {
        Self {
            rest: Some(line),
            unterminated: false,
        }
    }

    /// Whether iteration stopped at an element with an unbalanced quote.
    #[inline]
    pub fn unterminated(&self) -> bool {
        self.unterminated
    }
}

impl<'a> Iterator for RevSplit<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let mut end = rest.len();
        loop {
            match rfind_any(&rest[..end], [b',', b'"']) {
                None => {
                    self.rest = None;
                    return Some(trim_ows(rest));
                }
                Some(comma) if rest[comma] == b',' => {
                    self.rest = Some(&rest[..comma]);
                    return Some(trim_ows(&rest[comma + 1..]));
                }
                Some(close) => {
                    // A quoted-string ends here. Seen from the right, a
                    // quote opens it unless an odd run of backslashes
                    // escapes it.
                    let mut before = close;
                    end = loop {
                        match rfind_any(&rest[..before], [b'"']) {
                            None => {
                                self.rest = None;
                                self.unterminated = true;
                                return None;
                            }
                            Some(open) if backslashes_before(rest, open) % 2 == 0 => break open,
                            Some(escaped) => before = escaped,
                        }
                    };
                }
            }
        }
    }
}

/// The `for` node of an element made only of `for`, `by`, `host` and
/// `proto` (any case, each at most once), as `name=value` pairs joined by
/// `;` without whitespace, each value a token or a quoted-string without
/// quoted-pairs, the `for` value an address [`fast_forwarded_node`] reads
/// (a token `for` value only as a bare IPv4 address, the one address form
/// a token can spell). `None` for any other element, including one
/// without `for`: [`Element::parse`] reads those, and names their errors.
/// A pure function from bytes to an address, fuzzed against `Element`: it
/// decides nothing the exact parser would not.
///
/// The `for` value is read once, by the address parser: whatever it
/// accepts is made of token characters (a bare IPv4 address) or of
/// quoted-string text (digits, letters, `.:[]_-`), so the walk's check of
/// those characters cannot fail.
#[inline]
pub fn quick_for(element: &[u8]) -> Option<HopAddr> {
    const FOR: u8 = 1;
    const BY: u8 = 2;
    const HOST: u8 = 4;
    const PROTO: u8 = 8;
    let mut seen = 0u8;
    let mut node = None;
    let mut i = 0;
    loop {
        // A parameter name is a token followed by `=`; one of the four
        // names followed by `=` is exactly such a token.
        let rest = &element[i..];
        let (bit, name_len) = match rest.first().map(|b| b | 0x20) {
            Some(b'f') if starts_with_name(rest, b"for=") => (FOR, 4),
            Some(b'b') if starts_with_name(rest, b"by=") => (BY, 3),
            Some(b'h') if starts_with_name(rest, b"host=") => (HOST, 5),
            Some(b'p') if starts_with_name(rest, b"proto=") => (PROTO, 6),
            _ => return None,
        };
        i += name_len;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        let quoted = element.get(i) == Some(&b'"');
        if bit == FOR {
            if quoted {
                let close = i + 1 + element[i + 1..].iter().position(|&b| b == b'"')?;
                node = Some(fast_forwarded_node(&element[i + 1..close])?);
                i = close + 1;
            } else {
                let (v4, len) = ipv4_prefix(&element[i..])?;
                node = Some(fast_finish(IpAddr::V4(v4), None)?);
                i += len;
            }
        } else if quoted {
            i += 1;
            while i < element.len() && is_qdtext(element[i]) {
                i += 1;
            }
            if element.get(i) != Some(&b'"') {
                return None;
            }
            i += 1;
        } else {
            let value_start = i;
            while i < element.len() && is_tchar(element[i]) {
                i += 1;
            }
            if i == value_start {
                return None;
            }
        }
        match element.get(i) {
            None => return node,
            Some(b';') => i += 1,
            Some(_) => return None,
        }
    }
}

/// Whether `s` starts with `name_eq`, a lowercase parameter name and its
/// `=`, the name in any case.
#[inline(always)]
fn starts_with_name(s: &[u8], name_eq: &[u8]) -> bool {
    let n = name_eq.len() - 1;
    s.len() > n && s[n] == b'=' && s[..n].eq_ignore_ascii_case(&name_eq[..n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::HopAddr;

    fn rev(lines: &[&str]) -> Vec<Result<String, ElementError>> {
        RevElements::new(lines.iter().rev().map(|l| l.as_bytes()))
            .map(|e| e.map(|b| String::from_utf8(b.to_vec()).unwrap()))
            .collect()
    }

    /// The examples of this module's documentation.
    #[test]
    fn doc_examples() {
        // The module.
        let line: &[u8] = br#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https"#;
        let mut elements = RevElements::new(std::iter::once(line));
        let newest = Element::parse(elements.next().unwrap().unwrap()).unwrap();
        let Some(Ok(Node::Ip(hop))) = newest.for_node() else {
            panic!()
        };
        assert_eq!(hop.ip.to_string(), "2001:db8:cafe::17");
        assert_eq!(hop.port, Some(4711));
        assert_eq!(newest.proto().unwrap().as_raw(), b"https");

        // `Value::unescaped`.
        let e = Element::parse(br#"host="ex\"ample.com""#).unwrap();
        assert_eq!(e.host().unwrap().unescaped(), b"ex\"ample.com");

        // `Element::parse`.
        assert!(Element::parse(b"for=192.0.2.60;proto=http;by=203.0.113.43").is_ok());
        assert_eq!(
            Element::parse(b"for=192.0.2.1;FOR=192.0.2.2"),
            Err(ElementError::DuplicateParameter)
        );
    }

    #[test]
    fn splitting_respects_quotes_and_lines() {
        type Row = (
            &'static [&'static str],
            &'static [Result<&'static str, ElementError>],
        );
        let table: &[Row] = &[
            (&["for=a, for=b"], &[Ok("for=b"), Ok("for=a")]),
            (&[r#"for="a,b""#], &[Ok(r#"for="a,b""#)]),
            (
                &[r#"for=1;ext="x;y,z", for=2"#],
                &[Ok("for=2"), Ok(r#"for=1;ext="x;y,z""#)],
            ),
            (
                &["for=a", "for=b, for=c"],
                &[Ok("for=c"), Ok("for=b"), Ok("for=a")],
            ),
            (&["for=a,,for=b"], &[Ok("for=b"), Ok(""), Ok("for=a")]),
            (&[r#"for="\"a,b""#], &[Ok(r#"for="\"a,b""#)]),
            (&[r#"for="a\\", for=b"#], &[Ok("for=b"), Ok(r#"for="a\\""#)]),
            (
                &[r#"for="192.0.2.1"#],
                &[Err(ElementError::UnterminatedQuote)],
            ),
            // A client's unbalanced quote does not swallow what a proxy
            // appended after it.
            (
                &[r#"for="evil, for=192.0.2.9"#],
                &[Ok("for=192.0.2.9"), Err(ElementError::UnterminatedQuote)],
            ),
        ];
        for (lines, expected) in table {
            let expected: Vec<_> = expected.iter().map(|r| r.map(String::from)).collect();
            assert_eq!(rev(lines), expected, "lines {lines:?}");
        }
    }

    #[test]
    fn element_grammar() {
        let ok = [
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            "For=192.0.2.60;PROTO=http",
            "for=192.0.2.1;;proto=https",
            "for=192.0.2.1;",
            ";",
            "",
            "proto=https;by=203.0.113.43",
            r#"for=192.0.2.1;ext="x;y,z""#,
            r#"for=192.0.2.1;host="example.com:8443";proto=https"#,
            "for = 192.0.2.1",
            "for=192.0.2.1; proto=https",
            r#"for="""#,
        ];
        for s in ok {
            assert!(Element::parse(s.as_bytes()).is_ok(), "{s:?}");
        }
        let bad: &[(&str, ElementError)] = &[
            ("for=[2001:db8::1]", ElementError::InvalidValue),
            ("for=2001:db8::1", ElementError::InvalidValue),
            ("for=192.0.2.43:47011", ElementError::InvalidValue),
            (
                "for=192.0.2.1;for=192.0.2.2",
                ElementError::DuplicateParameter,
            ),
            (
                "for=192.0.2.1;FOR=192.0.2.2",
                ElementError::DuplicateParameter,
            ),
            ("a=1;A=2", ElementError::DuplicateParameter),
            (r#"for="192.0.2.1"#, ElementError::UnterminatedQuote),
            (r#"for="192.0.2.1\""#, ElementError::UnterminatedQuote),
            ("for=", ElementError::InvalidValue),
            ("=192.0.2.1", ElementError::InvalidParameter),
            ("for=192.0.2.1;by", ElementError::InvalidParameter),
            ("for", ElementError::InvalidParameter),
            (r#"for="a"b"#, ElementError::InvalidValue),
            ("for=a b", ElementError::InvalidValue),
            ("for=\"a\x01\"", ElementError::InvalidValue),
            ("for=\"a\\\x01\"", ElementError::InvalidValue),
            (
                "a=1;b=1;c=1;d=1;e=1;f=1;g=1;h=1;i=1;j=1;k=1;l=1;m=1;n=1;o=1;p=1;q=1",
                ElementError::TooManyParameters,
            ),
        ];
        for (s, err) in bad {
            assert_eq!(Element::parse(s.as_bytes()), Err(*err), "{s:?}");
        }
    }

    #[test]
    fn for_values_after_unescaping() {
        let ip = |s: &str| {
            Node::Ip(HopAddr {
                ip: s.parse().unwrap(),
                port: None,
            })
        };
        let table: &[(&str, Option<Result<Node, HopError>>)] = &[
            ("for=192.0.2.60", Some(Ok(ip("192.0.2.60")))),
            (r#"for="[2001:db8::1]""#, Some(Ok(ip("2001:db8::1")))),
            (r#"for="\[2001:db8::1\]""#, Some(Ok(ip("2001:db8::1")))),
            ("for=unknown", Some(Ok(Node::Unknown))),
            (r#"for="unknown""#, Some(Ok(Node::Unknown))),
            ("for=_hidden", Some(Ok(Node::Obfuscated))),
            (r#"for="a,b""#, Some(Err(HopError::InvalidAddress))),
            (r#"for="2001:db8::1""#, Some(Err(HopError::InvalidAddress))),
            (r#"for="""#, Some(Err(HopError::Empty))),
            ("by=192.0.2.1", None),
        ];
        for (s, expected) in table {
            let e = Element::parse(s.as_bytes()).unwrap();
            assert_eq!(e.for_node(), *expected, "{s:?}");
        }
        let long = format!(r#"for="\[{}\]""#, "1:".repeat(40));
        let e = Element::parse(long.as_bytes()).unwrap();
        assert_eq!(e.for_node(), Some(Err(HopError::InvalidAddress)));
    }

    #[test]
    fn by_host_proto_are_available() {
        let e = Element::parse(
            br#"for=192.0.2.1;by="[2001:db8::9]";host="example.com:8443";proto=https"#,
        )
        .unwrap();
        assert!(matches!(e.by_node(), Some(Ok(Node::Ip(_)))));
        assert_eq!(e.host().unwrap().as_raw(), b"example.com:8443");
        assert!(e.host().unwrap().is_quoted());
        assert_eq!(e.proto().unwrap().as_raw(), b"https");
        assert!(e.for_value().is_some());
    }

    #[test]
    fn quick_for_reads_only_the_simple_subset() {
        let ok: &[(&[u8], &str, Option<u16>)] = &[
            (b"for=192.0.2.1", "192.0.2.1", None),
            (b"FOR=192.0.2.1;proto=https", "192.0.2.1", None),
            (b"for=\"192.0.2.1:8080\"", "192.0.2.1", Some(8080)),
            (
                br#"proto=http;For="[2001:db8::1]:80";by=_p;host="a,b""#,
                "2001:db8::1",
                Some(80),
            ),
            (br#"for="[::ffff:10.0.0.1]""#, "10.0.0.1", None),
        ];
        for (element, ip, port) in ok {
            let hop = quick_for(element).unwrap_or_else(|| panic!("{element:?}"));
            assert_eq!(hop.ip, ip.parse::<IpAddr>().unwrap(), "{element:?}");
            assert_eq!(hop.port, *port, "{element:?}");
        }
        // Each of these is for the walk: it either errs or needs more care.
        let walk: &[&[u8]] = &[
            b"proto=https",
            b"for=1.2.3.4;for=1.2.3.4",
            b"for=1.2.3.4;FOR=1.2.3.4",
            b"for=1.2.3.4;",
            b"for=1.2.3.4;;proto=http",
            b"for = 1.2.3.4",
            b"for=1.2.3.4; proto=http",
            b"for=1.2.3.4;ext=1",
            br#"for="1.2.3.4"x"#,
            br#"for="1.2.3.4"#,
            b"for=",
            b"=1.2.3.4",
            b"for=[::1]",
            b"for=1.2.3.4:80",
            b"for=1.2.3.4x",
            b"for=1.2.3.4.5",
            b"for=0.0.0.0",
            b"for=unknown",
            b"for=_hidden",
            br#"for="[::]""#,
            br#"for="1.2.3.4";proto=ht"tp"#,
            b"for=1.2.3.4;proto=",
            b"for:1.2.3.4",
            b"fo=1.2.3.4",
            b"forr=1.2.3.4",
            b"for=1.2.3.4 ",
            b"for=1.2.3.4;proto=https ",
            b"for=1.2.3.4;protos=https",
        ];
        for element in walk {
            assert!(quick_for(element).is_none(), "{element:?}");
        }
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod rfc7239_tests;
