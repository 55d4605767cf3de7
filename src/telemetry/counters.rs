//! The layer's counters (feature `metrics`): one key per label set, built
//! before any request, so that counting allocates nothing.
//!
//! The facade registers a counter by key on every count; a key whose name
//! and labels are `'static` is a constant (its hash computed at compile
//! time). The header a resolver reads is known when its layer is made,
//! so that key is built then, once per layer.

use ::metrics::{Key, Label, Level, Metadata};

use super::{DIAGNOSTICS_TOTAL, ERRORS_TOTAL, Found, RESOLUTIONS_TOTAL};
use crate::error::Error;
use crate::explain::Findings;
use crate::resolution::{Origin, Resolution};
use crate::resolver::Resolver;
use crate::settings::Read;

/// What the counters tell a recorder about themselves.
static METADATA: Metadata<'static> = Metadata::new("realip", Level::INFO, Some(module_path!()));

static PEER_LABELS: [Label; 1] = [Label::from_static_parts("origin", "peer")];
static PEER: Key = Key::from_static_parts(RESOLUTIONS_TOTAL, &PEER_LABELS);

static PROXY_PROTOCOL_LABELS: [Label; 1] = [Label::from_static_parts("origin", "proxy_protocol")];
static PROXY_PROTOCOL: Key = Key::from_static_parts(RESOLUTIONS_TOTAL, &PROXY_PROTOCOL_LABELS);

/// One label of `name` for each value.
macro_rules! labels {
    ($name:literal: $($value:expr),* $(,)?) => {
        [$([Label::from_static_parts($name, $value)]),*]
    };
}

/// A key of `name` for each of `labels`, by index (a key refers to its
/// labels, which must be a static of their own).
macro_rules! keys {
    ($name:expr, $labels:ident: $($i:literal),* $(,)?) => {
        [$(Key::from_static_parts($name, &$labels[$i])),*]
    };
}

/// [`Error::kind`]'s values: a kind missing here is still counted, with
/// a key built when it happens (a test checks every kind is here).
static ERROR_LABELS: [[Label; 1]; 14] = labels!(
    "kind":
    "no_peer_address",
    "unspecified_peer",
    "malformed_hop",
    "malformed_element",
    "unknown_hop",
    "obfuscated_hop",
    "missing_for",
    "empty_header",
    "chain_too_short",
    "too_many_hops",
    "too_many_empty_elements",
    "all_hops_trusted",
    "unix_peer_sent_no_header",
    "unix_peer_caller_not_trusted",
);
static ERRORS: [Key; 14] =
    keys!(ERRORS_TOTAL, ERROR_LABELS: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);

/// One key per finding, by bit ([`Findings::CODES`]).
static DIAGNOSTIC_LABELS: [[Label; 1]; Findings::CODES.len()] = labels!(
    "code":
    Findings::CODES[0],
    Findings::CODES[1],
    Findings::CODES[2],
    Findings::CODES[3],
    Findings::CODES[4],
    Findings::CODES[5],
    Findings::CODES[6],
    Findings::CODES[7],
    Findings::CODES[8],
    Findings::CODES[9],
    Findings::CODES[10],
    Findings::CODES[11],
    Findings::CODES[12],
    Findings::CODES[13],
);
static DIAGNOSTICS: [Key; Findings::CODES.len()] = keys!(
    DIAGNOSTICS_TOTAL, DIAGNOSTIC_LABELS: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
);

/// A layer's keys.
#[derive(Debug)]
pub(crate) struct Counters {
    /// `origin="header"` with the resolver's header. A resolver that reads
    /// the peer alone never answers from a header; its key names none.
    header: Key,
}

impl Counters {
    pub(crate) fn new(resolver: &Resolver) -> Counters {
        let origin = Label::from_static_parts("origin", "header");
        let header = match resolver.settings.read {
            Read::Header(header) => Key::from_parts(
                RESOLUTIONS_TOTAL,
                vec![
                    origin,
                    Label::from_static_parts("header", header.name.as_str()),
                ],
            ),
            Read::Peer => Key::from_parts(RESOLUTIONS_TOTAL, vec![origin]),
        };
        Counters { header }
    }

    /// Counts one request: its resolution or error, and each diagnostic.
    pub(crate) fn count(&self, result: &Result<Resolution, Error>, found: &Found<'_>) {
        let diagnostics = found.all();
        ::metrics::with_recorder(|recorder| {
            match result {
                Ok(r) => {
                    let key = match r.origin() {
                        Origin::Peer => &PEER,
                        Origin::ProxyProtocol => &PROXY_PROTOCOL,
                        Origin::Header { .. } => &self.header,
                    };
                    recorder.register_counter(key, &METADATA).increment(1);
                }
                Err(e) => {
                    let kind = e.kind();
                    match ERRORS.iter().find(|k| label_value(k) == kind) {
                        Some(key) => recorder.register_counter(key, &METADATA).increment(1),
                        None => {
                            let key = Key::from_parts(
                                ERRORS_TOTAL,
                                vec![Label::from_static_parts("kind", kind)],
                            );
                            recorder.register_counter(&key, &METADATA).increment(1);
                        }
                    }
                }
            }
            for bit in diagnostics.indices() {
                recorder
                    .register_counter(&DIAGNOSTICS[bit], &METADATA)
                    .increment(1);
            }
        });
    }
}

/// The value of a key's one label.
fn label_value(key: &Key) -> &str {
    key.labels().next().map_or("", Label::value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_key() {
        let all = Error::one_of_each();
        assert_eq!(all.len(), ERRORS.len());
        for (error, key) in all.iter().zip(&ERRORS) {
            assert_eq!(label_value(key), error.kind());
            assert_eq!(key.name(), ERRORS_TOTAL);
        }
    }

    #[test]
    fn diagnostic_keys_are_the_codes_by_bit() {
        for (bit, key) in DIAGNOSTICS.iter().enumerate() {
            assert_eq!(label_value(key), Findings::CODES[bit]);
            assert_eq!(key.name(), DIAGNOSTICS_TOTAL);
        }
    }
}
