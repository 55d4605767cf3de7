//! Envoy's `x-forwarded-client-cert` (XFCC): who called the sidecar.
//!
//! A sidecar that verified its caller's mTLS certificate appends one
//! element to XFCC (`APPEND_FORWARD`, or replaces the header with it:
//! `SANITIZE_SET`) and strips the header from callers without mTLS. So on a
//! request from that sidecar the **rightmost element** is the caller, and
//! it alone: every element to its left came with the request (DESIGN rule
//! 15).
//!
//! The header is a comma-separated list of elements; an element is a
//! `;`-separated list of `Key=Value` pairs; keys are case-insensitive;
//! values that hold `,`, `;` or `=` are double-quoted, with `\"` for a
//! quote inside. Envoy's own example:
//!
//! ```text
//! By=http://frontend.lyft.com;Hash=468e…;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com
//! ```
//!
//! This module reads the `URI` of the rightmost element (the caller's
//! SPIFFE id) without allocating, and says why when there is none. It
//! decides nothing: whether the identity is trusted is the walk's question.

use std::fmt;

// The grammar's tokens are HTTP's: the same readers as the other headers.
use crate::forwarded::is_tchar;
use crate::list::trim_ows;

/// Why a request names no caller identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoIdentity {
    /// The header is absent: the caller did not use mTLS (the sidecar
    /// strips the header from such callers).
    Absent,
    /// The header is on several lines. A sidecar writes one line; which
    /// line it appended to cannot be known, so none is believed.
    SeveralLines,
    /// The rightmost element does not follow the format: an unterminated
    /// quote, a pair without `=`, an empty element or key.
    Unreadable,
    /// The rightmost element has no `URI` key.
    NoUri,
    /// The rightmost element has several `URI` keys: which one is the
    /// caller's would be a guess.
    SeveralUris,
    /// The `URI` value is not a URI: empty, or with characters no URI
    /// holds (spaces, quotes, backslashes, control or non-ASCII bytes).
    NotAUri,
}

impl NoIdentity {
    /// Every reason, for tests and the diagnostics table.
    #[cfg(test)]
    pub(crate) const ALL: [NoIdentity; 6] = [
        NoIdentity::Absent,
        NoIdentity::SeveralLines,
        NoIdentity::Unreadable,
        NoIdentity::NoUri,
        NoIdentity::SeveralUris,
        NoIdentity::NotAUri,
    ];
}

impl fmt::Display for NoIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoIdentity::Absent => "absent, as for a caller without mTLS",
            NoIdentity::SeveralLines => "on several lines, where a sidecar writes one",
            NoIdentity::Unreadable => "its rightmost element does not follow the format",
            NoIdentity::NoUri => "its rightmost element has no URI",
            NoIdentity::SeveralUris => "its rightmost element has several URIs",
            NoIdentity::NotAUri => "its rightmost element's URI is not a URI",
        })
    }
}

/// The caller's identity: the `URI` of the rightmost element of the
/// header, given as its lines (in either order: more than one is no
/// identity).
pub fn caller_uri<'h>(mut lines: impl Iterator<Item = &'h [u8]>) -> Result<&'h str, NoIdentity> {
    let line = lines.next().ok_or(NoIdentity::Absent)?;
    if lines.next().is_some() {
        return Err(NoIdentity::SeveralLines);
    }
    element_uri(rightmost_element(line)?)
}

/// The rightmost element of a line, trimmed of optional whitespace.
pub fn rightmost_element(line: &[u8]) -> Result<&[u8], NoIdentity> {
    // Forwards, because only a forward scan knows which commas are inside
    // quotes (a backslash escapes the byte after it).
    let mut start = 0;
    while let Some(comma) = find_unquoted(line, start, b',')? {
        start = comma + 1;
    }
    match trim_ows(&line[start..]) {
        [] => Err(NoIdentity::Unreadable),
        element => Ok(element),
    }
}

/// The one `URI` value of an element.
pub fn element_uri(element: &[u8]) -> Result<&str, NoIdentity> {
    let mut uri = None;
    let mut start = 0;
    loop {
        let end = find_unquoted(element, start, b';')?;
        let pair = &element[start..end.unwrap_or(element.len())];
        let (key, value) = key_value(trim_ows(pair))?;
        if key.eq_ignore_ascii_case(b"uri") {
            if uri.is_some() {
                return Err(NoIdentity::SeveralUris);
            }
            uri = Some(value);
        }
        match end {
            Some(semicolon) => start = semicolon + 1,
            None => break,
        }
    }
    let value = uri.ok_or(NoIdentity::NoUri)?;
    as_uri(value).ok_or(NoIdentity::NotAUri)
}

/// The index of the first `delim` at or after `from` that is outside
/// quotes, if any; a quote that is not closed makes the text unreadable.
/// Scans for the few bytes that matter, not byte by byte through a state
/// machine: this runs on every request from a trusted sidecar.
#[inline]
fn find_unquoted(s: &[u8], mut from: usize, delim: u8) -> Result<Option<usize>, NoIdentity> {
    loop {
        match find_either(s, from, delim, b'"') {
            None => return Ok(None),
            Some(at) if s[at] == delim => return Ok(Some(at)),
            Some(quote) => from = after_quoted(s, quote).ok_or(NoIdentity::Unreadable)?,
        }
    }
}

/// The index just past the closing quote of the quoted string that opens
/// at `open`; `None` when it is not closed.
#[inline]
fn after_quoted(s: &[u8], open: usize) -> Option<usize> {
    let mut from = open + 1;
    loop {
        let at = find_either(s, from, b'"', b'\\')?;
        if s[at] == b'"' {
            return Some(at + 1);
        }
        // The escaped byte is skipped, whatever it is; past the end, the
        // string is not closed.
        from = at + 2;
    }
}

/// The index of the first `a` or `b` at or after `from`.
#[inline]
fn find_either(s: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let rest = s.get(from..)?;
    memchr::memchr2(a, b, rest).map(|at| from + at)
}

/// A pair's key and its value as written (quotes included).
fn key_value(pair: &[u8]) -> Result<(&[u8], &[u8]), NoIdentity> {
    let eq = memchr::memchr(b'=', pair).ok_or(NoIdentity::Unreadable)?;
    let (key, value) = (&pair[..eq], &pair[eq + 1..]);
    if key.is_empty() || !key.iter().all(|&b| is_tchar(b)) {
        return Err(NoIdentity::Unreadable);
    }
    match value {
        // A quoted value: nothing after its closing quote.
        [b'"', ..] => match after_quoted(value, 0) {
            Some(end) if end == value.len() => Ok((key, value)),
            _ => Err(NoIdentity::Unreadable),
        },
        // An unquoted value holds none of the delimiters (Envoy quotes
        // those).
        _ if memchr::memchr2(b'"', b'=', value).is_some() => Err(NoIdentity::Unreadable),
        _ => Ok((key, value)),
    }
}

/// A value as a URI: its text without quotes, when every byte is one a URI
/// may hold (RFC 3986 has no space, quote or backslash). A quoted value
/// with an escape holds a quote or a backslash, so it is not one.
fn as_uri(value: &[u8]) -> Option<&str> {
    let text = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    let uri_byte = |b: u8| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\');
    if text.is_empty() || !text.iter().all(|&b| uri_byte(b)) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATEWAY: &str =
        "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

    fn read(header: &str) -> Result<&str, NoIdentity> {
        caller_uri(std::iter::once(header.as_bytes()))
    }

    #[test]
    fn envoy_documented_examples() {
        // A quoted Subject with spaces and '=' inside.
        assert_eq!(
            read(
                "By=http://frontend.lyft.com;\
                 Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
                 Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";\
                 URI=http://testclient.lyft.com"
            ),
            Ok("http://testclient.lyft.com")
        );
        // Two elements: the rightmost is the caller of the last proxy.
        assert_eq!(
            read(
                "By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;URI=http://testclient.lyft.com,\
                 By=http://backend.lyft.com;Hash=9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e;URI=http://frontend.lyft.com"
            ),
            Ok("http://frontend.lyft.com")
        );
        // Several DNS keys are fine: only URI must be one.
        assert_eq!(
            read(
                "By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
                 Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";\
                 URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com"
            ),
            Ok("http://testclient.lyft.com")
        );
        // Cert and Chain: URL-encoded PEM, quoted.
        assert_eq!(
            read(
                "By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
                 Cert=\"-----BEGIN%20CERTIFICATE-----%0aMIID...%0a-----END%20CERTIFICATE-----%0a\";\
                 Chain=\"-----BEGIN%20CERTIFICATE-----%0aMIID...%0a-----END%20CERTIFICATE-----%0a\";\
                 Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=http://testclient.lyft.com"
            ),
            Ok("http://testclient.lyft.com")
        );
        // What an Istio sidecar appends for the ingress gateway.
        assert_eq!(
            read(&format!(
                "By=spiffe://cluster.local/ns/default/sa/httpbin;Hash=ab12;Subject=\"\";URI={GATEWAY}"
            )),
            Ok(GATEWAY)
        );
    }

    #[test]
    fn quotes_hide_delimiters_from_the_split() {
        // A comma and a forged element inside the quoted Subject of the
        // real rightmost element.
        let header =
            format!("By=spiffe://td/ns/a/sa/b;Subject=\"CN=x, URI=spiffe://evil\";URI={GATEWAY}");
        assert_eq!(read(&header), Ok(GATEWAY));
        // An escaped quote does not end the quoted value.
        let header = format!("Subject=\"a\\\", URI=spiffe://evil\";URI={GATEWAY}");
        assert_eq!(read(&header), Ok(GATEWAY));
        // The forged identity is a whole element, to the left: not read.
        let header =
            format!("URI={GATEWAY},By=spiffe://td/ns/app/sa/app;URI=spiffe://td/ns/x/sa/y");
        assert_eq!(read(&header), Ok("spiffe://td/ns/x/sa/y"));
        // Quoted URI values are read without their quotes.
        assert_eq!(read(&format!("URI=\"{GATEWAY}\"")), Ok(GATEWAY));
        // Keys are case-insensitive; whitespace around pairs and elements
        // is optional.
        assert_eq!(read(&format!("a=1 ,  By=x ; uri={GATEWAY} ")), Ok(GATEWAY));
    }

    #[test]
    fn no_identity_and_why() {
        let cases: &[(&str, NoIdentity)] = &[
            ("By=spiffe://a;Hash=1", NoIdentity::NoUri),
            ("URI=spiffe://a;URI=spiffe://b", NoIdentity::SeveralUris),
            ("uri=spiffe://a;URI=spiffe://a", NoIdentity::SeveralUris),
            ("URI=spiffe://a;Subject=\"open", NoIdentity::Unreadable),
            ("URI=spiffe://a,", NoIdentity::Unreadable),
            ("", NoIdentity::Unreadable),
            ("  ", NoIdentity::Unreadable),
            ("URI=spiffe://a;;", NoIdentity::Unreadable),
            ("URI=spiffe://a;Hash", NoIdentity::Unreadable),
            ("=x;URI=spiffe://a", NoIdentity::Unreadable),
            ("U RI=spiffe://a", NoIdentity::Unreadable),
            ("URI=spiffe://a\"b", NoIdentity::Unreadable),
            ("URI=a=b", NoIdentity::Unreadable),
            ("URI=\"spiffe://a\"x", NoIdentity::Unreadable),
            ("URI=", NoIdentity::NotAUri),
            ("URI=\"\"", NoIdentity::NotAUri),
            ("URI=\"spiffe://a b\"", NoIdentity::NotAUri),
            ("URI=\"spiffe://a\\\"b\"", NoIdentity::NotAUri),
            ("URI=spiffe://caf\u{e9}", NoIdentity::NotAUri),
        ];
        for (header, why) in cases {
            assert_eq!(read(header), Err(*why), "{header:?}");
        }
        assert_eq!(
            caller_uri(std::iter::empty::<&[u8]>()),
            Err(NoIdentity::Absent)
        );
        let lines: [&[u8]; 2] = [b"URI=spiffe://a", b"URI=spiffe://b"];
        assert_eq!(caller_uri(lines.into_iter()), Err(NoIdentity::SeveralLines));
        for why in NoIdentity::ALL {
            assert!(!why.to_string().is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_uris_are_graphic_ascii() {
        // Every short string over the bytes that matter.
        let alphabet = b"U=\";,\\ a";
        let mut header = Vec::new();
        for n in 0..=6u32 {
            for code in 0..alphabet.len().pow(n) {
                header.clear();
                let mut c = code;
                for _ in 0..n {
                    header.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                if let Ok(uri) = caller_uri(std::iter::once(&header[..])) {
                    assert!(!uri.is_empty());
                    assert!(uri.bytes().all(|b| b.is_ascii_graphic() && b != b'"'));
                }
            }
        }
    }
}
