//! Resolutions reported to `tracing` (feature `tracing`).
//!
//! Each resolution is one `debug` event. Problems of the deployment (the
//! sidecar hides the client, forwarding headers from an untrusted peer, the
//! configured header missing while another is present, every hop trusted)
//! are `warn` events, **once per cause** for the life of the layer: they
//! describe the deployment, not the request, and a warning per request
//! would drown the log. Detecting a cause costs a few comparisons; only the
//! first occurrence of each runs a full explanation to word the warning.

use std::sync::atomic::{AtomicU8, Ordering};

use http::HeaderMap;

use crate::error::Error;
use crate::explain::{Diagnostic, Level};
use crate::peer::Peer;
use crate::resolution::{Origin, Resolution};
use crate::resolver::{Resolver, Trust};
use crate::walk::is_istio_sidecar;

const SIDECAR: u8 = 1;
const UNTRUSTED_PEER_HEADERS: u8 = 1 << 1;
const HEADER_ABSENT: u8 = 1 << 2;
const ALL_TRUSTED: u8 = 1 << 3;
const ALL: u8 = SIDECAR | UNTRUSTED_PEER_HEADERS | HEADER_ABSENT | ALL_TRUSTED;

/// Which causes have been warned about.
#[derive(Debug, Default)]
pub(crate) struct Reporter {
    warned: AtomicU8,
}

impl Reporter {
    pub(crate) fn report(
        &self,
        resolver: &Resolver,
        peer: Peer,
        headers: &HeaderMap,
        result: &Result<Resolution, Error>,
    ) {
        match result {
            Ok(r) => tracing::debug!(
                client = %r.client(),
                origin = %r.origin(),
                trusted_proxies = r.trusted_proxies(),
                peer = %peer,
                "realip: client resolved"
            ),
            Err(e) => {
                tracing::debug!(error = %e, kind = e.kind(), peer = %peer, "realip: client not resolved")
            }
        }
        let warned = self.warned.load(Ordering::Relaxed);
        if warned == ALL {
            return;
        }
        let causes = causes(resolver, headers, result) & !warned;
        if causes == 0 {
            return;
        }
        let before = self.warned.fetch_or(causes, Ordering::Relaxed);
        let new = causes & !before;
        if new == 0 {
            return;
        }
        for diagnostic in resolver.explain(peer, headers).diagnostics {
            if diagnostic.level() == Level::Warning && cause_of(&diagnostic) & new != 0 {
                tracing::warn!(
                    code = diagnostic.code(),
                    "realip: {diagnostic} (reported once)"
                );
            }
        }
    }
}

/// The causes this request shows, found cheaply. Each check is a subset of
/// the explanation's, so a cause found here is always worded by it.
fn causes(resolver: &Resolver, headers: &HeaderMap, result: &Result<Resolution, Error>) -> u8 {
    let mut found = 0;
    if let Ok(r) = result {
        if is_istio_sidecar(r.ip()) {
            found |= SIDECAR;
        }
    }
    let Some(configured) = resolver.source().header_name() else {
        return found;
    };
    // The usual forwarding headers; the explanation looks for more.
    let others_present = || {
        ["x-forwarded-for", "forwarded", "x-real-ip"]
            .iter()
            .any(|h| headers.contains_key(*h))
    };
    // An answer read from the header proves it is there: skip the lookup.
    let configured_present = matches!(result, Ok(r) if matches!(r.origin(), Origin::Header { .. }))
        || headers.contains_key(configured);
    match result {
        Ok(r) => {
            let untrusted_peer = matches!(r.origin(), Origin::Peer) && r.trusted_proxies() == 0;
            if untrusted_peer && (configured_present || others_present()) {
                found |= UNTRUSTED_PEER_HEADERS;
            }
            if matches!(resolver.trust(), Trust::Proxies(set) if set.contains(r.ip())) {
                found |= ALL_TRUSTED;
            }
        }
        Err(Error::AllHopsTrusted) => found |= ALL_TRUSTED,
        Err(_) => {}
    }
    if !configured_present && others_present() {
        found |= HEADER_ABSENT;
    }
    found
}

fn cause_of(diagnostic: &Diagnostic) -> u8 {
    match diagnostic {
        Diagnostic::SidecarHidesClient { .. } => SIDECAR,
        Diagnostic::ForwardingHeadersFromUntrustedPeer { .. } => UNTRUSTED_PEER_HEADERS,
        Diagnostic::ConfiguredHeaderAbsent { .. } => HEADER_ABSENT,
        Diagnostic::AllHopsTrusted => ALL_TRUSTED,
        _ => 0,
    }
}
