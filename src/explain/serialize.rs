//! The serde form of an explanation (feature `serde`).

use super::{Diagnostic, Explanation, Position, Step};
use crate::resolution::Origin;

/// The JSON (or other serde) form of an explanation, as the `explain` tool
/// and the httpbin example print it.
///
/// On success: `client`, `port`, `source` (`"peer"` or the header's name),
/// `hop_index`, `trusted_proxies`, `proto` and `host` (the original scheme
/// and host, or null), `url_hop_index` (when the resolver reads them: the
/// hop they came with), `dated_ranges` (when it trusts a built-in list of
/// published ranges: `preset`, `as_of`, `source`), `caller_identity`
/// (the SPIFFE id the trusted sidecar vouched for, or null) and, when the
/// resolver trusts identities, `caller_trusted`, `peer`,
/// `configuration`, `hops`, `diagnostics`. When unresolvable: `error` (`kind`, `message`,
/// `hop_index`), `peer`, `configuration`, `hops`, `diagnostics`. Each hop is
/// `position` (`"peer"` or its index), `raw`, `address`, `port`, `verdict`
/// (its code) and `detail`; each diagnostic `code`, `level`, `message`.
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        struct Steps<'a>(&'a [Step]);
        impl serde::Serialize for Steps<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|step| {
                    let position = match step.position {
                        Position::Peer => records::Pos::Peer,
                        Position::Hop(i) => records::Pos::Hop(i),
                    };
                    records::StepOut {
                        position,
                        raw: step.raw.as_deref(),
                        address: step.addr.map(|a| a.to_string()),
                        port: step.port,
                        verdict: step.verdict.code(),
                        detail: step.verdict.to_string(),
                    }
                }))
            }
        }
        struct Diagnostics<'a>(&'a [Diagnostic]);
        impl serde::Serialize for Diagnostics<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|d| records::DiagnosticOut {
                    code: d.code(),
                    level: if d.is_warning() { "warning" } else { "info" },
                    message: d.to_string(),
                }))
            }
        }

        let mut map = s.serialize_map(None)?;
        match &self.result {
            Ok(r) => {
                let (source, hop_index) = match r.origin() {
                    Origin::Peer => ("peer".to_owned(), None),
                    Origin::ProxyProtocol => ("proxy-protocol".to_owned(), None),
                    Origin::Header { name, index } => (name.to_string(), Some(*index)),
                };
                map.serialize_entry("client", &r.ip())?;
                map.serialize_entry("port", &r.port())?;
                map.serialize_entry("source", &source)?;
                map.serialize_entry("hop_index", &hop_index)?;
                map.serialize_entry("trusted_proxies", &r.trusted_proxies())?;
            }
            Err(e) => {
                map.serialize_entry(
                    "error",
                    &records::ErrorOut {
                        kind: e.kind(),
                        message: e.to_string(),
                        hop_index: e.hop_index(),
                    },
                )?;
            }
        }
        // Always present, null when not read, so that scripts need not
        // know the configuration.
        map.serialize_entry("proto", &self.url.scheme().map(|s| s.as_str()))?;
        map.serialize_entry("host", &self.url.host().map(|h| h.as_str()))?;
        if self.reads.0 || self.reads.1 {
            map.serialize_entry("url_hop_index", &self.url_hop)?;
        }
        if !self.dated_ranges.is_empty() {
            let ranges: Vec<records::RangesOut> = self
                .dated_ranges
                .iter()
                .map(|preset| records::RangesOut {
                    preset: preset.name(),
                    as_of: preset.as_of(),
                    source: preset.source(),
                })
                .collect();
            map.serialize_entry("dated_ranges", &ranges)?;
        }
        // Always present, as proto and host are.
        map.serialize_entry("caller_identity", &self.caller.as_ref().map(|c| c.uri()))?;
        if self.caller_step.is_some() {
            map.serialize_entry(
                "caller_trusted",
                &self.caller.as_ref().is_some_and(|c| c.is_trusted()),
            )?;
        }
        map.serialize_entry("peer", &self.peer.to_string())?;
        map.serialize_entry("configuration", &self.configuration)?;
        map.serialize_entry("hops", &Steps(&self.steps))?;
        map.serialize_entry("diagnostics", &Diagnostics(&self.diagnostics))?;
        map.end()
    }
}

/// Plain records for the serde form of an explanation.
mod records {
    /// `"peer"`, or the hop's index.
    pub(super) enum Pos {
        Peer,
        Hop(usize),
    }

    impl serde::Serialize for Pos {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Pos::Peer => s.serialize_str("peer"),
                Pos::Hop(i) => s.serialize_u64(*i as u64),
            }
        }
    }

    #[derive(serde::Serialize)]
    pub(super) struct StepOut<'a> {
        pub(super) position: Pos,
        pub(super) raw: Option<&'a str>,
        pub(super) address: Option<String>,
        pub(super) port: Option<u16>,
        pub(super) verdict: &'static str,
        pub(super) detail: String,
    }

    /// A built-in, dated list of published ranges.
    #[derive(serde::Serialize)]
    pub(super) struct RangesOut {
        pub(super) preset: &'static str,
        pub(super) as_of: Option<&'static str>,
        pub(super) source: Option<&'static str>,
    }

    #[derive(serde::Serialize)]
    pub(super) struct DiagnosticOut {
        pub(super) code: &'static str,
        pub(super) level: &'static str,
        pub(super) message: String,
    }

    #[derive(serde::Serialize)]
    pub(super) struct ErrorOut {
        pub(super) kind: &'static str,
        pub(super) message: String,
        pub(super) hop_index: Option<usize>,
    }
}
