//! Resolutions reported to `tracing` (feature `tracing`).
//!
//! Each resolution is one `debug` event. Problems of the deployment (the
//! diagnostics of level warning: the sidecar hides the client, forwarding
//! headers from an untrusted peer, a trusted proxy that sent no header, …)
//! are `warn` events, **once per cause** for the life of the layer: they
//! describe the deployment, not the request, and a warning per request
//! would drown the log.
//!
//! Which causes a request shows is decided by the explanation's own
//! function (`find`), asked only for the warnings not given yet (and only
//! when a subscriber would record a warning; the answer is shared with the
//! span and the counters of [`telemetry`](crate::telemetry), which may
//! have asked already), which costs a few lookups and no allocation; only
//! a new warning is worded ([`word`]). The warnings and
//! [`Resolver::explain`](crate::Resolver::explain)'s diagnostics therefore
//! never disagree.

use std::sync::atomic::{AtomicU16, Ordering};

use super::found::Found;
use crate::error::Error;
use crate::explain::{Findings, word};
use crate::peer::Peer;
use crate::resolution::Resolution;

/// Which warnings have been given.
#[derive(Debug, Default)]
pub(crate) struct Reporter {
    warned: AtomicU16,
}

impl Reporter {
    /// Reports a request from `peer` (canonical) resolved as `result`,
    /// whose diagnostics are `found`.
    pub(crate) fn report(&self, peer: Peer, result: &Result<Resolution, Error>, found: &Found<'_>) {
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
        // Nobody would see a warning (no subscriber, or one that filters
        // them out): nothing to look for.
        if !tracing::enabled!(tracing::Level::WARN) {
            return;
        }
        let warned = Findings::from_bits(self.warned.load(Ordering::Relaxed));
        let wanted = Findings::WARNINGS.without(warned);
        if wanted.is_empty() {
            return;
        }
        let request = found.request();
        let found = found.among(wanted);
        if found.is_empty() {
            return;
        }
        // Another thread may have warned meanwhile: word only what this
        // one is first to claim.
        let before = Findings::from_bits(self.warned.fetch_or(found.bits(), Ordering::Relaxed));
        let new = found.without(before);
        if new.is_empty() {
            return;
        }
        for diagnostic in word(request, new) {
            debug_assert!(diagnostic.is_warning());
            tracing::warn!(
                code = diagnostic.code(),
                "realip: {diagnostic} (reported once)"
            );
        }
    }
}
