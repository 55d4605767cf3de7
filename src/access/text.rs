//! The text form of an access policy, both ways: `allow=RANGES; deny=RANGES`.
//!
//! The ranges are `trust=`'s: [`ProxySet`]'s parser reads them, with its
//! refusals. Reading refuses what cannot be a word of the form: a part
//! that is neither list, a list without ranges, a list given twice (which
//! of the two would hold is a guess the reader should not have to make).

use std::fmt;
use std::str::FromStr;

use super::{ALLOW, AccessPolicy, AccessPolicyError, DENY, Ranges};
use crate::trust::ProxySet;

/// At most 64 characters of what was given, for an error to quote.
fn bounded(s: &str) -> String {
    crate::echo::bounded(s.trim())
}

/// `allow` or `deny`, as the text names it (any case).
fn list_named(key: &str) -> Option<&'static str> {
    [ALLOW, DENY]
        .into_iter()
        .find(|list| list.eq_ignore_ascii_case(key))
}

/// One list's ranges, read by [`ProxySet`]'s parser (which refuses the
/// ranges [`ProxySet::check`] refuses) and named in errors.
pub(super) fn ranges(list: &'static str, text: &str) -> Result<Ranges, AccessPolicyError> {
    let set: ProxySet = text
        .parse()
        .map_err(|reason| AccessPolicyError::Ranges { list, reason })?;
    Ranges::fixed(list, set)
}

impl FromStr for AccessPolicy {
    type Err = AccessPolicyError;

    /// Reads `allow=RANGES; deny=RANGES` (either part optional, in any
    /// order); empty text is the policy with no list, which allows every
    /// client.
    ///
    /// ```
    /// use realip::access::{AccessPolicy, AccessPolicyError};
    ///
    /// let policy: AccessPolicy = "Deny=198.51.100.0/24 ; allow=private".parse()?;
    /// assert_eq!(policy.to_string(), "allow=private; deny=198.51.100.0/24");
    /// assert_eq!(
    ///     "allow=private; colour=blue".parse::<AccessPolicy>(),
    ///     Err(AccessPolicyError::UnknownPart("colour=blue".into()))
    /// );
    /// # Ok::<(), AccessPolicyError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut policy = AccessPolicy::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = match part.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value)),
                None => (part, None),
            };
            let list =
                list_named(key).ok_or_else(|| AccessPolicyError::UnknownPart(bounded(part)))?;
            let value = value.ok_or(AccessPolicyError::MissingRanges(list))?;
            let slot = if list == ALLOW {
                &mut policy.allow
            } else {
                &mut policy.deny
            };
            if slot.is_some() {
                return Err(AccessPolicyError::Duplicate(list));
            }
            *slot = Some(ranges(list, value)?);
        }
        Ok(policy)
    }
}

impl fmt::Display for AccessPolicy {
    /// `allow=RANGES; deny=RANGES`, each list only when it is given; empty
    /// for the policy with no list. A shared list is written as the set it
    /// holds at that moment: a snapshot, which reads back as a fixed list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists = [(ALLOW, &self.allow), (DENY, &self.deny)];
        let mut separator = "";
        for (name, ranges) in lists {
            if let Some(ranges) = ranges {
                write!(f, "{separator}{name}={ranges}")?;
                separator = "; ";
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_named_once() {
        for list in [ALLOW, DENY] {
            assert_eq!(list_named(list), Some(list));
            assert_eq!(list_named(&list.to_ascii_uppercase()), Some(list));
            let twice = format!("{list}=10.0.0.0/8; {list}=192.0.2.0/24");
            assert_eq!(
                twice.parse::<AccessPolicy>(),
                Err(AccessPolicyError::Duplicate(list))
            );
            assert_eq!(
                list.parse::<AccessPolicy>(),
                Err(AccessPolicyError::MissingRanges(list))
            );
        }
        assert_eq!(list_named("trust"), None);
    }

    #[test]
    fn errors_quote_a_bounded_part() {
        let long = format!("x{}", "y".repeat(1000));
        let Err(AccessPolicyError::UnknownPart(part)) = long.parse::<AccessPolicy>() else {
            panic!("an unknown part");
        };
        assert_eq!(part.len(), 64);
    }
}
