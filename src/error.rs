//! The one error type of a resolution.
//!
//! Positions count hops from the right: hop 0 is the newest element of the
//! configured header (written by the proxy the application's socket sees),
//! hop 1 the one before it, and so on. Messages never contain the header's
//! text, so logging an error cannot echo (unbounded) client input.

use crate::addr::HopError;
use crate::forwarded::ElementError;

/// Why a request's client address cannot be told.
///
/// Every variant is a reason to *refuse* an answer rather than guess one:
/// skipping over a hop that cannot be read would let a client choose which
/// address the application believes.
///
/// ```
/// use realip::{Error, Resolver, ProxySet};
/// use http::HeaderMap;
///
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
///     .build()
///     .unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "unknown, 10.0.0.2".parse().unwrap());
/// let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
///
/// let err = resolver.resolve(peer, &headers).unwrap_err();
/// assert_eq!(err, Error::UnknownHop { index: 1 });
/// assert_eq!(err.kind(), "unknown_hop");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection has no IP peer (a Unix socket, or no peer was given),
    /// and the resolver does not trust such peers.
    #[error(
        "the connection has no peer IP address (Unix socket or unknown transport); \
         pass the socket address, or trust Unix-socket peers if a proxy connects that way"
    )]
    NoPeerAddress,
    /// The peer address is `0.0.0.0` or `::`.
    #[error("the peer address is the unspecified address")]
    UnspecifiedPeer,
    /// The hop at `index` is not an address in an accepted form.
    #[error("hop {index} (counted from the right, 0 = newest) is not a valid address: {reason}")]
    MalformedHop {
        /// Position from the right (0 = newest).
        index: usize,
        /// What is wrong with it.
        reason: HopError,
    },
    /// The `Forwarded` element at `index` does not follow RFC 7239.
    #[error(
        "Forwarded element {index} (counted from the right, 0 = newest) is malformed: {reason}"
    )]
    MalformedElement {
        /// Position from the right (0 = newest).
        index: usize,
        /// What is wrong with it.
        reason: ElementError,
    },
    /// The hop at `index` is `unknown`: the proxy that wrote it did not know
    /// who connected to it.
    #[error("hop {index} (counted from the right, 0 = newest) is \"unknown\"")]
    UnknownHop {
        /// Position from the right (0 = newest).
        index: usize,
    },
    /// The hop at `index` is an obfuscated identifier (`_hidden`).
    #[error("hop {index} (counted from the right, 0 = newest) is an obfuscated identifier")]
    ObfuscatedHop {
        /// Position from the right (0 = newest).
        index: usize,
    },
    /// The `Forwarded` element at `index` has no `for` parameter, so the
    /// hop's identity is unknown.
    #[error("Forwarded element {index} (counted from the right, 0 = newest) has no for= parameter")]
    MissingFor {
        /// Position from the right (0 = newest).
        index: usize,
    },
    /// The configured header is present but holds no element at all
    /// (an empty value, or only commas).
    #[error("the forwarding header is present but empty")]
    EmptyHeader,
    /// Hop counting needs `needed` addresses in the header but it has only
    /// `found`.
    #[error("{needed} trusted hops are configured but the header holds only {found} addresses")]
    ChainTooShort {
        /// Addresses the configured hop count needs.
        needed: usize,
        /// Addresses the header holds.
        found: usize,
    },
    /// More than `limit` hops would have to be walked.
    #[error("the chain is longer than the limit of {limit} hops")]
    TooManyHops {
        /// The configured `max_hops`.
        limit: usize,
    },
    /// More than `limit` empty list elements (`a,,,,b`) were met.
    #[error("the header has more than {limit} empty list elements")]
    TooManyEmptyElements {
        /// The bound on empty elements.
        limit: usize,
    },
    /// Every hop is a trusted proxy, and the resolver is configured to
    /// refuse that rather than answer with the leftmost one.
    #[error("every address in the chain is a trusted proxy; no client address is left")]
    AllHopsTrusted,
    /// The peer is a trusted proxy on a Unix socket, but the request
    /// carries no configured header: the proxy did not say who its client
    /// is, and a Unix socket has no address to answer with.
    #[error(
        "the request came from a trusted proxy on a Unix socket without the configured \
         forwarding header, so nothing names the client (a Unix socket has no address)"
    )]
    UnixPeerSentNoHeader,
    /// The peer is a trusted sidecar on a Unix socket whose caller is not a
    /// trusted identity (DESIGN rule 15): nothing it says about its caller
    /// is believed, and a Unix socket has no address to answer with.
    #[error(
        "the request came from a trusted proxy on a Unix socket whose caller is not a trusted \
         identity, so nothing names the client (a Unix socket has no address)"
    )]
    UnixPeerCallerNotTrusted,
}

impl Error {
    /// A stable `snake_case` name of the variant, for logs, metrics and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoPeerAddress => "no_peer_address",
            Error::UnspecifiedPeer => "unspecified_peer",
            Error::MalformedHop { .. } => "malformed_hop",
            Error::MalformedElement { .. } => "malformed_element",
            Error::UnknownHop { .. } => "unknown_hop",
            Error::ObfuscatedHop { .. } => "obfuscated_hop",
            Error::MissingFor { .. } => "missing_for",
            Error::EmptyHeader => "empty_header",
            Error::ChainTooShort { .. } => "chain_too_short",
            Error::TooManyHops { .. } => "too_many_hops",
            Error::TooManyEmptyElements { .. } => "too_many_empty_elements",
            Error::AllHopsTrusted => "all_hops_trusted",
            Error::UnixPeerSentNoHeader => "unix_peer_sent_no_header",
            Error::UnixPeerCallerNotTrusted => "unix_peer_caller_not_trusted",
        }
    }

    /// The hop the error is about, counted from the right (0 = newest), if
    /// it is about one.
    pub fn hop_index(&self) -> Option<usize> {
        match *self {
            Error::MalformedHop { index, .. }
            | Error::MalformedElement { index, .. }
            | Error::UnknownHop { index }
            | Error::ObfuscatedHop { index }
            | Error::MissingFor { index } => Some(index),
            _ => None,
        }
    }

    /// Whether the error is the server's configuration rather than the
    /// request (the connection carries no address the resolver may use).
    /// Web integrations answer these with a 5xx status, the others with 400.
    pub fn is_configuration_error(&self) -> bool {
        matches!(self, Error::NoPeerAddress)
    }
}

impl Error {
    /// One error of each variant, for the tests that must cover them all.
    #[cfg(test)]
    pub(crate) fn one_of_each() -> Vec<Error> {
        vec![
            Error::NoPeerAddress,
            Error::UnspecifiedPeer,
            Error::MalformedHop {
                index: 0,
                reason: HopError::Empty,
            },
            Error::MalformedElement {
                index: 0,
                reason: ElementError::InvalidValue,
            },
            Error::UnknownHop { index: 0 },
            Error::ObfuscatedHop { index: 0 },
            Error::MissingFor { index: 0 },
            Error::EmptyHeader,
            Error::ChainTooShort {
                needed: 2,
                found: 1,
            },
            Error::TooManyHops { limit: 1 },
            Error::TooManyEmptyElements { limit: 1 },
            Error::AllHopsTrusted,
            Error::UnixPeerSentNoHeader,
            Error::UnixPeerCallerNotTrusted,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_snake_case() {
        let all = Error::one_of_each();
        let mut kinds: Vec<_> = all.iter().map(Error::kind).collect();
        assert!(
            kinds
                .iter()
                .all(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
        for e in all {
            assert!(!e.to_string().is_empty());
        }
    }
}
