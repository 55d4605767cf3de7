//! What the walk decides about each step: the vocabulary the walk speaks
//! and the explanation records.

use std::fmt;

use crate::addr::HopError;
use crate::forwarded::ElementError;

/// What a walk decided about one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The address is in the trusted-proxy set: step one hop further left.
    TrustedProxy,
    /// Trusted because it is among the configured number of nearest hops.
    TrustedByCount,
    /// A Unix-socket peer, trusted by configuration.
    TrustedUnixPeer,
    /// The client: the answer.
    Client,
    /// Not an address in any accepted form: the walk stops with an error.
    Malformed(HopError),
    /// A `Forwarded` element that does not follow RFC 7239.
    MalformedElement(ElementError),
    /// `unknown`: the walk stops with an error.
    Unknown,
    /// An obfuscated identifier: the walk stops with an error.
    Obfuscated,
    /// A `Forwarded` element without `for`: the walk stops with an error.
    MissingFor,
    /// Past `max_hops`: the walk stops with an error.
    BeyondLimit,
    /// A peer without an IP address that is not trusted.
    NoAddress,
    /// A trusted proxy that sent no configured header: it is the answer
    /// (every step was trusted, and it is the leftmost).
    TrustedWithoutHeader,
    /// The hop the peer sidecar appended for its caller, trusted because
    /// the sidecar vouched for the caller's identity (DESIGN rule 15).
    TrustedCaller,
    /// A trusted sidecar whose caller is not a trusted identity (or named
    /// none), and which appends nothing for its caller: it is the answer,
    /// as the nearest address known (DESIGN rule 15).
    CallerNotTrusted,
}

impl Verdict {
    /// A stable `snake_case` name, for JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::TrustedProxy => "trusted_proxy",
            Verdict::TrustedByCount => "trusted_by_count",
            Verdict::TrustedUnixPeer => "trusted_unix_peer",
            Verdict::Client => "client",
            Verdict::Malformed(_) => "malformed",
            Verdict::MalformedElement(_) => "malformed_element",
            Verdict::Unknown => "unknown",
            Verdict::Obfuscated => "obfuscated",
            Verdict::MissingFor => "missing_for",
            Verdict::BeyondLimit => "beyond_limit",
            Verdict::NoAddress => "no_address",
            Verdict::TrustedWithoutHeader => "trusted_without_header",
            Verdict::TrustedCaller => "trusted_caller",
            Verdict::CallerNotTrusted => "caller_not_trusted",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::TrustedProxy => f.write_str("trusted proxy"),
            Verdict::TrustedByCount => f.write_str("trusted (within the hop count)"),
            Verdict::TrustedUnixPeer => f.write_str("trusted Unix-socket peer"),
            Verdict::Client => f.write_str("CLIENT"),
            Verdict::Malformed(reason) => write!(f, "malformed: {reason}"),
            Verdict::MalformedElement(reason) => write!(f, "malformed element: {reason}"),
            Verdict::Unknown => f.write_str("\"unknown\": identity not known to the proxy"),
            Verdict::Obfuscated => f.write_str("obfuscated identifier"),
            Verdict::MissingFor => f.write_str("element without for="),
            Verdict::BeyondLimit => f.write_str("beyond max_hops"),
            Verdict::NoAddress => f.write_str("no IP address"),
            Verdict::TrustedWithoutHeader => {
                f.write_str("trusted proxy, sent no configured header: the answer")
            }
            Verdict::TrustedCaller => f.write_str("trusted caller (by identity)"),
            Verdict::CallerNotTrusted => {
                f.write_str("trusted sidecar, but its caller is not trusted: the answer")
            }
        }
    }
}

/// Which step: the peer, or a header hop counted from the right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// The socket peer.
    Peer,
    /// A header hop; 0 is the newest (rightmost) element.
    Hop(usize),
}
