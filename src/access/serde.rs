//! [`AccessPolicy`] in configuration files and the environment: a table
//! with the keys `allow` and `deny` (each a string or a list of strings),
//! or a string in the text form.
//!
//! Each list is read by the text form's reader, so a file, a variable and
//! `REALIP_ACCESS=` text accept the same ranges and refuse the same
//! mistakes with the same messages.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::text::ranges;
use super::{ALLOW, AccessPolicy, DENY};

/// One list as a file writes it: `"10.0.0.0/8, private"` or
/// `["10.0.0.0/8", "private"]` (an item may itself be a comma list).
struct RangesText(String);

impl<'de> Deserialize<'de> for RangesText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RangesText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("addresses, CIDR ranges or presets: a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RangesText, E> {
                Ok(RangesText(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RangesText, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(RangesText(items.join(", ")))
            }
        }
        d.deserialize_any(V)
    }
}

/// The table form, checked strictly.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    allow: Option<RangesText>,
    #[serde(default)]
    deny: Option<RangesText>,
}

/// A table (`allow`, `deny`) or a string in the text form
/// (`"allow=10.0.0.0/8; deny=10.66.0.0/16"`).
impl<'de> Deserialize<'de> for AccessPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AccessPolicy;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an access policy: a table with allow and/or deny, or the text \
                     \"allow=RANGES; deny=RANGES\"",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AccessPolicy, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AccessPolicy, A::Error> {
                let table = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let read = |list, text: Option<RangesText>| {
                    text.map(|RangesText(text)| ranges(list, &text))
                        .transpose()
                        .map_err(de::Error::custom)
                };
                Ok(AccessPolicy {
                    allow: read(ALLOW, table.allow)?,
                    deny: read(DENY, table.deny)?,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// The table, each list as one string in the text form; a shared list as
/// the set it holds at that moment.
impl Serialize for AccessPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let lists = [(ALLOW, &self.allow), (DENY, &self.deny)];
        let given = lists.iter().filter(|(_, ranges)| ranges.is_some()).count();
        let mut map = s.serialize_map(Some(given))?;
        for (name, ranges) in lists {
            if let Some(ranges) = ranges {
                map.serialize_entry(name, &ranges.to_string())?;
            }
        }
        map.end()
    }
}
