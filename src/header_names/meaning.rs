//! What a header name already means, when it means something other than
//! "a header my proxy writes the client into".
//!
//! A configuration names headers by text, and a name with a meaning of its
//! own is a configuration that silently means something else: `header:host`
//! makes the `Host` header (which every client writes) the client's
//! address, `list:x-real-ip` reads a one-address header as a chain. This is
//! the vocabulary that lets the one check of a configuration
//! ([`Settings::checked`](crate::settings::Settings)) refuse them; which
//! use of which name is refused, and with what advice, is decided there.

use http::HeaderName;

use super::is_known_single;

/// What a header name means on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// A field HTTP itself defines (RFC 9110, 9111, 9112), or one of the
    /// fields every browser sends with a meaning of its own (`Cookie`,
    /// `Set-Cookie`: RFC 6265; `Origin`: RFC 6454), or a hop-by-hop field
    /// of older HTTP (`Keep-Alive`, `Proxy-Connection`).
    Http,
    /// `Forwarded` (RFC 7239): elements, not addresses.
    Forwarded,
    /// `X-Forwarded-For`: a list each proxy appends to.
    XForwardedFor,
    /// One of the single-address headers realip knows (`X-Real-IP`, …).
    SingleAddress,
    /// `X-Forwarded-Proto`: the original scheme.
    Proto,
    /// `X-Forwarded-Host`: the original host.
    Host,
    /// `X-Forwarded-Client-Cert`: the caller's certificate (Envoy).
    ClientCert,
}

/// The fields HTTP defines for a purpose of their own, lower-case, sorted.
pub(crate) const HTTP_FIELDS: [&str; 53] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authentication-info",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "last-modified",
    "location",
    "max-forwards",
    "origin",
    "pragma",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "referer",
    "retry-after",
    "server",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
];

/// What `name` means on its own, if anything: `None` for a name that is
/// free to be what a configuration says it is.
pub(crate) fn meaning(name: &HeaderName) -> Option<Meaning> {
    let text = name.as_str();
    Some(match text {
        "forwarded" => Meaning::Forwarded,
        "x-forwarded-for" => Meaning::XForwardedFor,
        "x-forwarded-proto" => Meaning::Proto,
        "x-forwarded-host" => Meaning::Host,
        "x-forwarded-client-cert" => Meaning::ClientCert,
        _ if is_known_single(name) => Meaning::SingleAddress,
        _ if HTTP_FIELDS.binary_search(&text).is_ok() => Meaning::Http,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_fields_are_sorted_lower_case_header_names() {
        for pair in HTTP_FIELDS.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        for field in HTTP_FIELDS {
            assert_eq!(HeaderName::from_static(field).as_str(), field);
        }
    }

    #[test]
    fn every_name_has_one_meaning() {
        let name = |s: &str| HeaderName::from_bytes(s.as_bytes()).unwrap();
        let table = [
            ("Host", Some(Meaning::Http)),
            ("content-length", Some(Meaning::Http)),
            ("TE", Some(Meaning::Http)),
            ("cookie", Some(Meaning::Http)),
            ("forwarded", Some(Meaning::Forwarded)),
            ("X-Forwarded-For", Some(Meaning::XForwardedFor)),
            ("x-real-ip", Some(Meaning::SingleAddress)),
            ("cloudfront-viewer-address", Some(Meaning::SingleAddress)),
            ("x-forwarded-proto", Some(Meaning::Proto)),
            ("x-forwarded-host", Some(Meaning::Host)),
            ("x-forwarded-client-cert", Some(Meaning::ClientCert)),
            ("x-my-ip", None),
            ("x-chain-of-custody", None),
            ("hostname", None),
        ];
        for (text, expected) in table {
            assert_eq!(meaning(&name(text)), expected, "{text}");
        }
    }
}
