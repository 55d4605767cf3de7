//! [`ProxySet`] in configuration files: its text form, as one string or as
//! a list of strings.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{ProxySet, TrustParseError};

/// A string (`"10.0.0.0/8, private"`) or a list of strings.
impl<'de> Deserialize<'de> for ProxySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProxySet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of addresses, CIDR ranges or presets")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ProxySet, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProxySet, A::Error> {
                let mut all = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    // An item may itself be a comma list ("10.0.0.0/8, private"),
                    // but never an empty one.
                    let part = super::parse_entries(&item).map_err(de::Error::custom)?;
                    if part.is_empty() {
                        return Err(de::Error::custom(TrustParseError::Empty));
                    }
                    all.extend(part);
                }
                let set: ProxySet = all.into_iter().collect();
                // Judged whole, as text is: items that are sound one by one
                // can together trust everybody (["0.0.0.0/1", "128.0.0.0/1"]).
                set.check().map_err(de::Error::custom)?;
                Ok(set)
            }
        }
        d.deserialize_any(V)
    }
}

/// The text form, one string: what the set shows is what it trusts.
impl Serialize for ProxySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
