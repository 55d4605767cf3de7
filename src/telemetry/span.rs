//! The layer's span and the fields of the application's (feature
//! `tracing`): OpenTelemetry's names, values recorded lazily.

use std::cell::OnceCell;
use std::fmt;
use std::net::IpAddr;

use tracing::Span;
use tracing::field::display;

use super::{Found, SPAN_TARGET};
use crate::error::Error;
use crate::explain::Findings;
use crate::peer::Peer;
use crate::resolution::{Origin, Resolution};

/// What one request's span records: each value is known without
/// formatting or allocating (addresses are formatted by the subscriber, if
/// it records them).
struct Fields {
    client: Option<(IpAddr, Option<u16>)>,
    network_peer: Option<(IpAddr, Option<u16>)>,
    proxy_source: Option<(IpAddr, Option<u16>)>,
    origin: Option<&'static str>,
    header: Option<&'static str>,
    trusted_proxies: Option<usize>,
    error: Option<&'static str>,
}

impl Fields {
    /// The fields of a request from `peer` (canonical) resolved as
    /// `result`.
    fn new(peer: Peer, result: &Result<Resolution, Error>) -> Fields {
        // OpenTelemetry's `network.peer.*` is the other end of the socket:
        // for a PROXY connection, the balancer that sent the header.
        let (network_peer, proxy_source) = match peer {
            Peer::Ip { ip, port } => (Some((ip, port)), None),
            Peer::Proxied { ip, port, sender } => {
                (Some((sender.ip(), Some(sender.port()))), Some((ip, port)))
            }
            Peer::ProxiedWithoutSource { sender } => {
                (Some((sender.ip(), Some(sender.port()))), None)
            }
            Peer::Unix | Peer::Unknown => (None, None),
        };
        let mut fields = Fields {
            client: None,
            network_peer,
            proxy_source,
            origin: None,
            header: None,
            trusted_proxies: None,
            error: None,
        };
        match result {
            Ok(r) => {
                fields.client = Some((r.ip(), r.port()));
                fields.trusted_proxies = Some(r.trusted_proxies());
                let (origin, header) = origin(r.origin());
                fields.origin = Some(origin);
                fields.header = header;
            }
            Err(e) => fields.error = Some(e.kind()),
        }
        fields
    }
}

/// The `realip.origin` of a resolution, and its header's name.
pub(crate) fn origin(origin: &Origin) -> (&'static str, Option<&'static str>) {
    match origin {
        Origin::Peer => ("peer", None),
        Origin::ProxyProtocol => ("proxy_protocol", None),
        Origin::Header { name, .. } => ("header", Some(name.as_str())),
    }
}

/// Diagnostic codes, comma-separated.
struct Codes(Findings);

impl fmt::Display for Codes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, bit) in self.0.indices().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(Findings::CODES[bit])?;
        }
        Ok(())
    }
}

/// The request's diagnostics as a field value, if it shows any.
fn diagnostics(found: &Found<'_>) -> Option<tracing::field::DisplayValue<Codes>> {
    let all = found.all();
    (!all.is_empty()).then(|| display(Codes(all)))
}

/// The layer's span for one request: `Span::none()` unless a subscriber
/// enables it, and then every value is computed (diagnostics included)
/// only because it does: the macro evaluates them only for an enabled
/// span.
pub(crate) fn open(peer: Peer, result: &Result<Resolution, Error>, found: &Found<'_>) -> Span {
    let fields = OnceCell::new();
    let fields = || fields.get_or_init(|| Fields::new(peer, result));
    let address = |a: Option<(IpAddr, Option<u16>)>| a.map(|(ip, _)| display(ip));
    let port = |a: Option<(IpAddr, Option<u16>)>| a.and_then(|(_, port)| port);
    tracing::info_span!(
        target: SPAN_TARGET,
        "realip",
        client.address = address(fields().client),
        client.port = port(fields().client),
        network.peer.address = address(fields().network_peer),
        network.peer.port = port(fields().network_peer),
        realip.proxy_protocol.source.address = address(fields().proxy_source),
        realip.proxy_protocol.source.port = port(fields().proxy_source),
        realip.origin = fields().origin,
        realip.header = fields().header,
        realip.trusted_proxies = fields().trusted_proxies,
        realip.diagnostics = diagnostics(found),
        realip.error = fields().error,
    )
}

/// Whether a field is one the layer records.
fn is_ours(name: &str) -> bool {
    name.starts_with("client.") || name.starts_with("network.peer.") || name.starts_with("realip.")
}

/// Records the fields into the current span (the application's), each
/// only if that span declares it.
pub(crate) fn record_current(peer: Peer, result: &Result<Resolution, Error>, found: &Found<'_>) {
    let span = Span::current();
    let Some(metadata) = span.metadata() else {
        // No span, or one no subscriber records.
        return;
    };
    let declared = metadata.fields();
    // Most spans declare none of these: one pass over their names.
    if !declared.iter().any(|field| is_ours(field.name())) {
        return;
    }
    let fields = Fields::new(peer, result);
    let record = |name: &str, value: &dyn tracing::Value| {
        if let Some(field) = declared.field(name) {
            span.record(&field, value);
        }
    };
    if let Some((ip, port)) = fields.client {
        record("client.address", &display(ip));
        if let Some(port) = port {
            record("client.port", &port);
        }
    }
    if let Some((ip, port)) = fields.network_peer {
        record("network.peer.address", &display(ip));
        if let Some(port) = port {
            record("network.peer.port", &port);
        }
    }
    if let Some((ip, port)) = fields.proxy_source {
        record("realip.proxy_protocol.source.address", &display(ip));
        if let Some(port) = port {
            record("realip.proxy_protocol.source.port", &port);
        }
    }
    if let Some(origin) = fields.origin {
        record("realip.origin", &origin);
    }
    if let Some(header) = fields.header {
        record("realip.header", &header);
    }
    if let Some(n) = fields.trusted_proxies {
        record("realip.trusted_proxies", &n);
    }
    if let Some(kind) = fields.error {
        record("realip.error", &kind);
    }
    // Looked for only when the application asked for them.
    if declared.field("realip.diagnostics").is_some() {
        if let Some(codes) = diagnostics(found) {
            record("realip.diagnostics", &codes);
        }
    }
}
