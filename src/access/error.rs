//! Why text, a file or a set is not an access policy.
//!
//! The ranges are read by [`ProxySet`](crate::ProxySet)'s parser and judged
//! by its check, so they are refused for the same reasons as `trust=`'s;
//! the messages are written for a list of clients, not of proxies, and
//! name the list.

use crate::trust::TrustParseError;

/// Why an [`AccessPolicy`](super::AccessPolicy) cannot be made. Messages
/// name the list (`allow=` or `deny=`) and quote at most 64 characters of
/// what was written.
///
/// ```
/// use realip::access::{AccessPolicy, AccessPolicyError};
/// use realip::trust::TrustParseError;
///
/// let err = "allow=10.0.0.0/8; deny=::/80".parse::<AccessPolicy>().unwrap_err();
/// assert_eq!(
///     err,
///     AccessPolicyError::Ranges {
///         list: "deny",
///         reason: TrustParseError::CoversMappedIpv4("::/80".into()),
///     }
/// );
/// assert!(err.to_string().starts_with(r#"invalid deny= entry "::/80": it contains ::ffff:0:0/96"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessPolicyError {
    /// A list that is not a sound set of ranges: an entry that is not an
    /// address, a range or a preset; a range that means more than it says
    /// ([`ProxySet::check`](crate::ProxySet::check)); or no entry at all.
    #[error("{}", ranges_message(list, reason))]
    Ranges {
        /// `allow` or `deny`.
        list: &'static str,
        /// What is wrong, as `trust=` would say it of a proxy; the entry
        /// is [`reason.entry()`](TrustParseError::entry).
        reason: TrustParseError,
    },
    /// A part of the text form that is neither `allow=` nor `deny=`.
    #[error(
        "unknown part {0:?} of an access policy: expected allow=RANGES and/or deny=RANGES, \
         separated by ;"
    )]
    UnknownPart(String),
    /// `allow` or `deny` without `=RANGES`.
    #[error("{0} needs ranges: {0}=10.0.0.0/8, 192.0.2.7, private")]
    MissingRanges(&'static str),
    /// A list given twice in one text.
    #[error("{0}= is given twice; write all its ranges in one {0}=, separated by commas")]
    Duplicate(&'static str),
}

/// The message of [`AccessPolicyError::Ranges`]: what `trust=` would say,
/// in the words of a list of clients.
fn ranges_message(list: &str, reason: &TrustParseError) -> String {
    let leave_out = if list == super::ALLOW {
        "leave allow= out to allow every client not denied"
    } else {
        "leave deny= out to deny no client"
    };
    let entry = |why: &str| match reason.entry() {
        Some(entry) => format!("invalid {list}= entry {entry:?}: {why}"),
        None => format!("invalid {list}=: {why}"),
    };
    match reason {
        TrustParseError::NotAnAddress(_) => entry(
            "expected an IP address, a CIDR range (10.0.0.0/8) or a preset (loopback, private, \
             link-local, istio-sidecar, cloudflare, gcp-lb)",
        ),
        TrustParseError::InvalidPrefix(_) => {
            entry("the prefix length is out of range (at most 32 for IPv4, 128 for IPv6)")
        }
        TrustParseError::HostBitsSet { network, .. } => entry(&format!(
            "host bits are set after the prefix; did you mean {network}?"
        )),
        TrustParseError::ZoneId(_) => entry("zone ids have no meaning in an address range"),
        TrustParseError::Empty => entry(&format!("no range given; {leave_out}")),
        TrustParseError::WholeAddressSpace(_) => entry(&format!(
            "it holds every address of its family, which a list of clients never means; \
             {leave_out}, or list the ranges you mean (at most 2^28 public IPv4 addresses and a \
             /8 of public IPv6: the bound a list of proxies has)"
        )),
        TrustParseError::CoversFamily { family, ranges } => format!(
            "invalid {list}= ranges {ranges:?}: together they hold every {family} address, which \
             a list of clients never means; {leave_out}, or list the ranges you mean"
        ),
        TrustParseError::TooManyPublicAddresses {
            family,
            ranges,
            public,
        } => format!(
            "invalid {list}= ranges {ranges:?}: together they hold {} public {family} addresses, \
             more than a list of clients plausibly names (at most {}): a list that large is a \
             mistake or a poisoned download; list the ranges you mean (private, shared \
             100.64.0.0/10, loopback and link-local addresses do not count)",
            crate::trust::breadth_amount(family, public),
            crate::trust::breadth_bound(family),
        ),
        TrustParseError::CoversMappedIpv4(_) => entry(
            "it contains ::ffff:0:0/96, the IPv4-mapped addresses, yet a client is judged by its \
             canonical address (IPv4 as IPv4) and an IPv6 range matches no IPv4 client; write \
             the IPv4 ranges you mean as IPv4 (10.0.0.0/8), and IPv6 ranges that stop short of \
             ::ffff:0:0/96",
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::access::AccessPolicy;

    /// Advice never names a list that is itself refused: every range a
    /// message suggests writing (other than the one it refuses) is a list
    /// an access policy accepts.
    #[test]
    fn advised_ranges_are_accepted() {
        for text in [
            "allow=0.0.0.0/0",
            "deny=::/0",
            "allow=::/80",
            "allow=0.0.0.0/1, 128.0.0.0/1",
            "deny=0.0.0.0/1",
            "allow=10.0.0.1/8",
        ] {
            let refused = text.split_once('=').unwrap().1;
            let message = text.parse::<AccessPolicy>().unwrap_err().to_string();
            let advised = message
                .split(|c: char| c.is_whitespace() || "(),;\"".contains(c))
                .filter(|word| word.contains('/') && word.parse::<ipnet::IpNet>().is_ok())
                .filter(|word| !refused.split(", ").any(|r| r == *word));
            for range in advised {
                // `::ffff:0:0/96` is named as what to stop short of.
                if range == "::ffff:0:0/96" {
                    continue;
                }
                assert!(
                    format!("allow={range}").parse::<AccessPolicy>().is_ok(),
                    "{text}: the message advises {range}, which is refused: {message}"
                );
            }
        }
    }
}
