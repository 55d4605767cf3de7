//! The original scheme and host of a request, as a proxy wrote them beside
//! the client address: `proto=`/`host=` in a `Forwarded` element, or an
//! element of `X-Forwarded-Proto`/`X-Forwarded-Host`.
//!
//! Readers only: bytes in, a checked value (or why not) out. Which element
//! is read is the walk's decision (DESIGN rule 14). The values are kept
//! inline, so a [`Resolution`](crate::Resolution) that carries them still
//! allocates nothing.

use std::fmt;
use std::str::FromStr;

/// The longest scheme kept. Registered schemes are far shorter (`https`
/// is 5 bytes); a longer value is refused rather than cut.
pub(crate) const MAX_SCHEME_LEN: usize = 15;

/// The longest host (with its port) kept: a DNS name is at most 253 bytes,
/// so this leaves room for a port after all but the very longest names.
pub(crate) const MAX_HOST_LEN: usize = 255;

/// The scheme the client used, as its proxy wrote it: `http`, `https`, …;
/// always lower-case (RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" /
/// "." )`).
///
/// ```
/// use realip::Scheme;
///
/// let scheme: Scheme = "HTTPS".parse().unwrap();
/// assert_eq!(scheme.as_str(), "https");
/// assert!(scheme.is_https());
/// assert!("ht tp".parse::<Scheme>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scheme {
    len: u8,
    bytes: [u8; MAX_SCHEME_LEN],
}

impl Scheme {
    /// The scheme, lower-case.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters, digits and `+-.` are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.as_str() == "https"
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scheme({:?})", self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        read_scheme(s.as_bytes())
    }
}

/// The host (with its port, when one was given) the client asked for, as
/// its proxy wrote it: a registered name, an IPv4 address or a bracketed
/// IPv6 address, then optionally `:port` (RFC 9110 `Host`: `uri-host [
/// ":" port ]`). Kept as received; compare names case-insensitively.
///
/// ```
/// use realip::Host;
///
/// let host: Host = "shop.example.com:8443".parse().unwrap();
/// assert_eq!(host.as_str(), "shop.example.com:8443");
/// assert_eq!(host.hostname(), "shop.example.com");
/// assert_eq!(host.port(), Some(8443));
/// assert_eq!("[2001:db8::1]".parse::<Host>().unwrap().hostname(), "[2001:db8::1]");
/// assert!("shop.example.com/evil".parse::<Host>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host {
    len: u8,
    /// Where the port's `:` is (`len` when there is no port).
    host_len: u8,
    port: Option<u16>,
    bytes: [u8; MAX_HOST_LEN],
}

impl Host {
    /// The host and port, as received.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The host without its port (an IPv6 address keeps its brackets).
    pub fn hostname(&self) -> &str {
        &self.as_str()[..usize::from(self.host_len)]
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Host({:?})", self.as_str())
    }
}

impl FromStr for Host {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        read_host(s.as_bytes())
    }
}

/// Why a scheme or host cannot be read. Never carries the text: messages
/// must not echo client input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Nothing to read.
    #[error("the value is empty")]
    Empty,
    /// Longer than realip keeps: 15 bytes for a scheme, 255 for a host.
    #[error("the value is longer than a scheme or host can be")]
    TooLong,
    /// Not a scheme: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
    #[error("the value is not a URI scheme (a letter, then letters, digits, +, - or .)")]
    InvalidScheme,
    /// Not a host: a registered name, an IPv4 address or a bracketed IPv6
    /// address.
    #[error("the value is not a host (a name, an IPv4 address or a bracketed IPv6 address)")]
    InvalidHost,
    /// A port that is not 1 to 5 digits up to 65535.
    #[error("the value's port is not a number from 0 to 65535")]
    InvalidPort,
}

/// Why a configured scheme or host is not in a resolution: what the
/// diagnostics report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Missing {
    /// The client's hop carries none: no such parameter in its element, or
    /// no value header at all.
    NotSent,
    /// The value is there but is not a scheme or host.
    Unreadable(ValueError),
    /// Symmetric alignment, but the value header holds a different number
    /// of elements than the source.
    CountsDiffer {
        /// Elements in the source (hops).
        source: usize,
        /// Elements in the value header.
        values: usize,
    },
    /// Single alignment, but the value header does not hold exactly one
    /// element.
    NotOne {
        /// Elements in the value header.
        values: usize,
    },
    /// A host outside the allowed hosts.
    NotAllowed,
}

/// Why each configured value is absent from a resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct MissingValues {
    pub(crate) proto: Option<Missing>,
    pub(crate) host: Option<Missing>,
}

/// The scheme and host the client used, read from the hop that named the
/// client (DESIGN rule 14): what a TLS-terminating gateway knew and the
/// application, which receives plain HTTP, does not.
///
/// Made by [`Resolver::resolve_url`](crate::Resolver::resolve_url). Each
/// value is there only when the resolver is configured to read it
/// (`proto=`, `host=`), the peer is a trusted proxy, and the client's hop
/// carried a readable value (and, for the host, one of the allowed hosts).
/// Kept inline: reading it allocates nothing.
///
/// ```
/// use realip::Resolver;
/// use http::HeaderMap;
///
/// let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8; proto=x-forwarded-proto; \
///                           host=x-forwarded-host; align=single"
///     .parse()?;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.7".parse()?);
/// headers.insert("x-forwarded-proto", "https".parse()?);
/// headers.insert("x-forwarded-host", "shop.example.com".parse()?);
/// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse()?;
///
/// let (resolution, url) = resolver.resolve_url(peer, &headers)?;
/// assert_eq!(resolution.client().to_string(), "203.0.113.7");
/// assert_eq!(url.base().as_deref(), Some("https://shop.example.com"));
///
/// // The same forged headers from a peer that is not trusted: nothing.
/// let attacker: std::net::SocketAddr = "198.51.100.66:5555".parse()?;
/// let (_, url) = resolver.resolve_url(attacker, &headers)?;
/// assert_eq!((url.scheme(), url.host()), (None, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OriginalUrl {
    pub(crate) scheme: Option<Scheme>,
    pub(crate) host: Option<Host>,
    /// Why a configured value is absent, for the diagnostics.
    pub(crate) missing: MissingValues,
}

impl OriginalUrl {
    /// The scheme the client used (`https` behind a gateway that ended
    /// TLS), lower-case.
    pub fn scheme(&self) -> Option<&Scheme> {
        self.scheme.as_ref()
    }

    /// The host (and port) the client asked for.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    /// `scheme://host`, when both are known: the base of absolute URLs
    /// and redirects. (Allocates the string.)
    pub fn base(&self) -> Option<String> {
        Some(format!("{}://{}", self.scheme?, self.host?))
    }
}

/// Reads a scheme, lower-casing it.
pub(crate) fn read_scheme(s: &[u8]) -> Result<Scheme, ValueError> {
    let (&first, _) = s.split_first().ok_or(ValueError::Empty)?;
    if s.len() > MAX_SCHEME_LEN {
        return Err(ValueError::TooLong);
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
    if !first.is_ascii_alphabetic() || !s.iter().all(|&b| allowed(b)) {
        return Err(ValueError::InvalidScheme);
    }
    let mut bytes = [0; MAX_SCHEME_LEN];
    for (out, b) in bytes.iter_mut().zip(s) {
        *out = b.to_ascii_lowercase();
    }
    Ok(Scheme {
        // At most MAX_SCHEME_LEN, which fits in a byte.
        len: s.len() as u8,
        bytes,
    })
}

/// Reads `host [":" port]`.
pub(crate) fn read_host(s: &[u8]) -> Result<Host, ValueError> {
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    if s.len() > MAX_HOST_LEN {
        return Err(ValueError::TooLong);
    }
    let (name, port) = if s[0] == b'[' {
        let close = s
            .iter()
            .position(|&b| b == b']')
            .ok_or(ValueError::InvalidHost)?;
        let inner = std::str::from_utf8(&s[1..close]).map_err(|_| ValueError::InvalidHost)?;
        // An IPv6 address, without a zone: IPvFuture and zones have no
        // place in the host a client asked for.
        inner
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| ValueError::InvalidHost)?;
        match &s[close + 1..] {
            [] => (&s[..=close], None),
            [b':', port @ ..] => (&s[..=close], Some(port)),
            _ => return Err(ValueError::InvalidHost),
        }
    } else {
        let (name, port) = match s.iter().position(|&b| b == b':') {
            Some(colon) => (&s[..colon], Some(&s[colon + 1..])),
            None => (s, None),
        };
        // A registered name (RFC 3986 `reg-name`), which also spells every
        // IPv4 address.
        if name.is_empty() || !is_reg_name(name) {
            return Err(ValueError::InvalidHost);
        }
        (name, port)
    };
    let port = port.map(read_port).transpose()?;
    let mut bytes = [0; MAX_HOST_LEN];
    bytes[..s.len()].copy_from_slice(s);
    Ok(Host {
        // At most MAX_HOST_LEN, which fits in a byte.
        len: s.len() as u8,
        host_len: name.len() as u8,
        port,
        bytes,
    })
}

fn read_port(s: &[u8]) -> Result<u16, ValueError> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return Err(ValueError::InvalidPort);
    }
    let n = s.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).map_err(|_| ValueError::InvalidPort)
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986
/// §3.2.2).
fn is_reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            let hex = |j: usize| s.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if REG_NAME[usize::from(b)] {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// The bytes a `reg-name` holds outside percent-encodings: unreserved and
/// sub-delims.
static REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// The hosts a resolver accepts as the original host: exact names, and
/// `*.example.com` for any name under `example.com` (not `example.com`
/// itself). Names compare case-insensitively and without the port.
///
/// ```
/// use realip::AllowedHosts;
///
/// let allowed: AllowedHosts = "shop.example.com, *.cdn.example.com".parse().unwrap();
/// assert!(allowed.allows("SHOP.example.com"));
/// assert!(allowed.allows("img.cdn.example.com"));
/// assert!(!allowed.allows("cdn.example.com"));
/// assert!(!allowed.allows("evil.example"));
/// assert_eq!(allowed.to_string(), "shop.example.com, *.cdn.example.com");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AllowedHosts {
    /// Lower-case; a pattern `*.x` is kept as `.x`.
    patterns: Vec<String>,
}

impl AllowedHosts {
    /// No list: every readable host is accepted.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `hostname` (without its port) is allowed. An empty list
    /// allows every host.
    pub fn allows(&self, hostname: &str) -> bool {
        self.is_empty()
            || self.patterns.iter().any(|pattern| {
                if pattern.starts_with('.') {
                    hostname.len() > pattern.len()
                        && hostname.is_char_boundary(hostname.len() - pattern.len())
                        && hostname[hostname.len() - pattern.len()..].eq_ignore_ascii_case(pattern)
                } else {
                    hostname.eq_ignore_ascii_case(pattern)
                }
            })
    }
}

impl AllowedHosts {
    /// [`allows`](Self::allows) for a host read from a request: without a
    /// list, the name is not taken out of the host at all.
    #[inline]
    pub(crate) fn admits(&self, host: &Host) -> bool {
        self.is_empty() || self.allows(host.hostname())
    }
}

impl FromStr for AllowedHosts {
    type Err = ValueError;

    /// Comma-separated names and `*.suffix` patterns.
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let mut patterns = Vec::new();
        for entry in s.split(',').map(str::trim) {
            let (wild, name) = match entry.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, entry),
            };
            // `*` is a valid name character, but anywhere except a leading
            // `*.` it would read as a wildcard that matches nothing more.
            if name.contains('*') {
                return Err(ValueError::InvalidHost);
            }
            let host = read_host(name.as_bytes())?;
            if host.port().is_some() {
                return Err(ValueError::InvalidHost);
            }
            let name = name.to_ascii_lowercase();
            patterns.push(if wild { format!(".{name}") } else { name });
        }
        Ok(Self { patterns })
    }
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pattern) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match pattern.strip_prefix('.') {
                Some(suffix) => write!(f, "*.{suffix}")?,
                None => f.write_str(pattern)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let ok = [
            ("http", "http"),
            ("HTTPS", "https"),
            ("ws", "ws"),
            ("a+b-c.d", "a+b-c.d"),
        ];
        for (text, want) in ok {
            assert_eq!(read_scheme(text.as_bytes()).unwrap().as_str(), want);
        }
        let bad: [(&[u8], ValueError); 7] = [
            (b"", ValueError::Empty),
            (b"1http", ValueError::InvalidScheme),
            (b"+http", ValueError::InvalidScheme),
            (b"ht tp", ValueError::InvalidScheme),
            (b"https:", ValueError::InvalidScheme),
            (b"h\xc3\xa9", ValueError::InvalidScheme),
            (b"abcdefghijklmnop", ValueError::TooLong),
        ];
        for (text, want) in bad {
            assert_eq!(read_scheme(text), Err(want), "{text:?}");
        }
    }

    #[test]
    fn hosts() {
        let ok = [
            ("example.com", "example.com", None),
            ("Example.COM:8443", "Example.COM", Some(8443)),
            ("192.0.2.1:80", "192.0.2.1", Some(80)),
            ("[2001:db8::1]", "[2001:db8::1]", None),
            ("[::1]:0", "[::1]", Some(0)),
            ("xn--bcher-kva.example", "xn--bcher-kva.example", None),
            ("a%2Db", "a%2Db", None),
            ("under_score", "under_score", None),
        ];
        for (text, name, port) in ok {
            let host = read_host(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (host.as_str(), host.hostname(), host.port()),
                (text, name, port)
            );
        }
        let long = "a".repeat(MAX_HOST_LEN + 1);
        let bad: [(&[u8], ValueError); 16] = [
            (b"", ValueError::Empty),
            (b":80", ValueError::InvalidHost),
            (b"example.com/path", ValueError::InvalidHost),
            (b"user@example.com", ValueError::InvalidHost),
            (b"exa mple.com", ValueError::InvalidHost),
            (b"example.com:", ValueError::InvalidPort),
            (b"example.com:65536", ValueError::InvalidPort),
            (b"example.com:+80", ValueError::InvalidPort),
            (b"example.com:80:80", ValueError::InvalidPort),
            (b"2001:db8::1", ValueError::InvalidPort),
            (b"[2001:db8::1", ValueError::InvalidHost),
            (b"[fe80::1%eth0]", ValueError::InvalidHost),
            (b"[v1.x]", ValueError::InvalidHost),
            (b"[::1]x", ValueError::InvalidHost),
            (b"a%2", ValueError::InvalidHost),
            (long.as_bytes(), ValueError::TooLong),
        ];
        for (text, want) in bad {
            assert_eq!(
                read_host(text),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn allowed_hosts() {
        let allowed: AllowedHosts = "a.example, *.b.example".parse().unwrap();
        for (host, want) in [
            ("a.example", true),
            ("A.EXAMPLE", true),
            ("x.a.example", false),
            ("b.example", false),
            ("x.b.example", true),
            ("x.y.B.example", true),
            ("xb.example", false),
            ("", false),
        ] {
            assert_eq!(allowed.allows(host), want, "{host}");
        }
        assert!(AllowedHosts::default().allows("anything"));
        for bad in [
            "",
            "a.example,",
            "*.",
            "a.example:80",
            "a/b",
            "*",
            "*.*.a",
            "a.*.b",
        ] {
            assert!(bad.parse::<AllowedHosts>().is_err(), "{bad:?}");
        }
    }
}
