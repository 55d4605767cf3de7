//! Explanations: every step of a resolution with its verdict, and what the
//! request says about the deployment.
//!
//! [`Resolver::explain`](crate::Resolver::explain) runs the very walk that
//! [`Resolver::resolve`](crate::Resolver::resolve) runs, recording each
//! step, then looks at the request as a whole for signs of a deployment
//! problem: an Istio sidecar that hides the client, forwarding headers from
//! a peer that is not trusted, a configured header that is missing while
//! another is present. It allocates; use it to debug, to log samples, or in
//! tools such as the `explain` example.
//!
//! ```
//! use realip::{ProxySet, Resolver, explain::{Diagnostic, Verdict}};
//! use http::HeaderMap;
//!
//! let resolver = Resolver::builder()
//!     .x_forwarded_for()
//!     .trusted_proxies("10.0.0.0/8".parse::<ProxySet>().unwrap())
//!     .build()
//!     .unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.2".parse().unwrap());
//! let peer: std::net::SocketAddr = "10.0.0.3:40000".parse().unwrap();
//!
//! let e = resolver.explain(peer, &headers);
//! let verdicts: Vec<Verdict> = e.steps.iter().map(|s| s.verdict).collect();
//! assert_eq!(verdicts, [Verdict::TrustedProxy, Verdict::TrustedProxy, Verdict::Client]);
//! assert_eq!(e.result.unwrap().client().to_string(), "203.0.113.7");
//! println!("{}", resolver.explain(peer, &headers)); // a readable report
//! ```

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use http::HeaderMap;

use crate::addr::HopAddr;
use crate::error::Error;
use crate::identity::Caller;
use crate::peer::Peer;
use crate::resolution::Resolution;
use crate::resolver::Resolver;
use crate::scheme_host::OriginalUrl;
use crate::trust::Preset;
use crate::walk::{self, Observer};
use crate::xfcc::NoIdentity;

mod diagnostic;
#[cfg(feature = "serde")]
mod serialize;

pub use crate::header_names::FORWARDING_HEADERS;
pub use crate::verdict::{Position, Verdict};
pub use diagnostic::Diagnostic;
pub(crate) use diagnostic::{Findings, Request, find, word};

/// The most bytes of a hop's text an explanation keeps.
pub const MAX_RAW_LEN: usize = 80;

/// One step of a walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which step.
    pub position: Position,
    /// The hop's text as received, at most [`MAX_RAW_LEN`] bytes, with
    /// bytes that are not printable ASCII escaped as `\xNN` (`None` for the
    /// peer).
    pub raw: Option<String>,
    /// The address read, if any.
    pub addr: Option<IpAddr>,
    /// The port read, if any.
    pub port: Option<u16>,
    /// The decision.
    pub verdict: Verdict,
}

/// A resolution with every step and diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explanation {
    /// The resolver's configuration, in one line.
    pub configuration: String,
    /// The peer given.
    pub peer: Peer,
    /// The steps, the peer first, then header hops from the newest.
    pub steps: Vec<Step>,
    /// The answer, identical to what `resolve` returns.
    pub result: Result<Resolution, Error>,
    /// What the request says about the deployment.
    pub diagnostics: Vec<Diagnostic>,
    /// The original scheme and host, as
    /// [`resolve_url`](crate::Resolver::resolve_url) reads them (empty when
    /// the resolver reads neither).
    pub url: OriginalUrl,
    /// The position of the hop they were read beside (its element, or the
    /// value headers' element at that position), when they were read.
    pub url_hop: Option<usize>,
    /// The built-in lists of published ranges the resolver trusts, each
    /// dated ([`Preset::as_of`]): how fresh the trust is.
    pub dated_ranges: Vec<Preset>,
    /// The caller the trusted peer vouched for (DESIGN rule 15), as
    /// [`Resolver::caller`] reads it: `None` when the resolver trusts no
    /// identity, the peer is not trusted, or the header names none.
    pub caller: Option<Caller<'static>>,
    /// Why the trusted peer named no caller, when identities are trusted
    /// and it named none.
    pub caller_missing: Option<String>,
    /// Whether the resolver reads the scheme and the host.
    reads: (bool, bool),
    /// The step the caller's identity decided (the peer, or the hop the
    /// sidecar appended for its caller).
    caller_step: Option<Position>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "configuration: {}", self.configuration)?;
        for preset in &self.dated_ranges {
            if let (Some(date), Some(source)) = (preset.as_of(), preset.source()) {
                writeln!(f, "ranges: {preset} as published at {source} on {date}")?;
            }
        }
        for step in &self.steps {
            match step.position {
                Position::Peer => write!(f, "  peer     {}", self.peer)?,
                Position::Hop(i) => {
                    write!(f, "  hop {i:<4} {}", step.raw.as_deref().unwrap_or(""))?
                }
            }
            writeln!(f, "  -> {}", step.verdict)?;
            if Some(step.position) == self.caller_step {
                match (&self.caller, &self.caller_missing) {
                    (Some(caller), _) if caller.is_trusted() => {
                        writeln!(f, "           caller {caller}: a trusted identity")?
                    }
                    (Some(caller), _) => {
                        writeln!(f, "           caller {caller}: not a trusted identity")?
                    }
                    (None, Some(why)) => writeln!(f, "           caller: none ({why})")?,
                    (None, None) => {}
                }
            }
        }
        match &self.result {
            Ok(r) => {
                write!(f, "client: {}", r.client())?;
                if let Some(port) = r.port() {
                    write!(f, " port {port}")?;
                }
                let n = r.trusted_proxies();
                let proxies = if n == 1 { "proxy" } else { "proxies" };
                writeln!(f, " (from {}, {n} trusted {proxies})", r.origin())?;
            }
            Err(e) => writeln!(f, "error: {e}")?,
        }
        for (name, configured, value) in [
            (
                "proto",
                self.reads.0,
                self.url.scheme().map(ToString::to_string),
            ),
            (
                "host",
                self.reads.1,
                self.url.host().map(ToString::to_string),
            ),
        ] {
            if !configured {
                continue;
            }
            match (value, self.url_hop) {
                (Some(value), Some(hop)) => writeln!(f, "{name}: {value} (beside hop {hop})")?,
                _ => writeln!(f, "{name}: none")?,
            }
        }
        for d in &self.diagnostics {
            let level = if d.is_warning() { "warning" } else { "note" };
            writeln!(f, "{level}: {d}")?;
        }
        Ok(())
    }
}

/// Records the steps of a walk.
struct Recorder {
    steps: Vec<Step>,
    /// The caller identity read, if the walk read one, and whether it is
    /// trusted.
    caller: Option<(Result<String, NoIdentity>, bool)>,
}

impl Observer<'_> for Recorder {
    fn caller(&mut self, caller: Result<&str, NoIdentity>, trusted: bool) {
        self.caller = Some((caller.map(str::to_owned), trusted));
    }

    fn leftmost_is_the_answer(&mut self, position: Position) {
        // Recorded as trusted before the walk knew it would be the answer.
        if let Some(step) = self.steps.iter_mut().rfind(|s| s.position == position) {
            step.verdict = match position {
                Position::Hop(_) => Verdict::Client,
                Position::Peer => Verdict::TrustedWithoutHeader,
            };
        }
    }

    fn peer(&mut self, peer: &Peer, verdict: Verdict) {
        let (addr, port) = (peer.ip(), peer.port());
        self.steps.push(Step {
            position: Position::Peer,
            raw: None,
            addr,
            port,
            verdict,
        });
    }

    fn hop(&mut self, index: usize, raw: &[u8], addr: Option<HopAddr>, verdict: Verdict) {
        self.steps.push(Step {
            position: Position::Hop(index),
            raw: Some(escape_bounded(raw)),
            addr: addr.map(|a| a.ip),
            port: addr.and_then(|a| a.port),
            verdict,
        });
    }
}

impl Resolver {
    /// Resolves as [`resolve`](Resolver::resolve) does, and records every
    /// step with its verdict and diagnostics about the deployment. Allocates;
    /// meant for debugging, logs and tools.
    ///
    /// ```
    /// use realip::{Resolver, explain::Diagnostic};
    /// use http::HeaderMap;
    ///
    /// let peer: std::net::SocketAddr = "127.0.0.6:40000".parse().unwrap();
    /// let explanation = Resolver::default().explain(peer, &HeaderMap::new());
    /// assert!(explanation.diagnostics.iter().any(|d| matches!(d, Diagnostic::SidecarHidesClient { .. })));
    /// ```
    pub fn explain(&self, peer: impl Into<Peer>, headers: &HeaderMap) -> Explanation {
        let peer = peer.into();
        let settings = &*self.settings;
        let mut recorder = Recorder {
            steps: Vec::new(),
            caller: None,
        };
        let mut hop = None;
        let result =
            walk::walk_to_hop::<_, _, true>(settings, peer, headers, &mut recorder, &mut hop);
        let url_hop = hop.as_ref().map(walk::ClientHop::index);
        let url = walk::original_url(settings, headers, hop);
        let request = Request {
            settings,
            peer: &peer.canonical(),
            headers,
            result: &result,
            url: Some(&url),
        };
        let diagnostics = word(&request, find(&request, Findings::ALL));
        let values = &settings.values;
        // The hop the sidecar appended for its caller, or the peer.
        let caller_step = recorder.caller.as_ref().map(|_| {
            let appended = settings.callers.sidecar_appends
                && recorder
                    .steps
                    .iter()
                    .any(|s| s.position == Position::Hop(0));
            match appended {
                true => Position::Hop(0),
                false => Position::Peer,
            }
        });
        let (caller, caller_missing) = match recorder.caller {
            Some((Ok(uri), trusted)) => (
                Some(Caller {
                    uri: uri.into(),
                    trusted,
                }),
                None,
            ),
            Some((Err(why), _)) => (None, Some(why.to_string())),
            None => (None, None),
        };
        Explanation {
            configuration: self.to_string(),
            peer,
            steps: recorder.steps,
            result,
            diagnostics,
            url,
            url_hop: url_hop.filter(|_| values.any()),
            reads: (values.proto.is_some(), values.host.is_some()),
            caller,
            caller_missing,
            caller_step,
            dated_ranges: settings
                .trust
                .load(&std::cell::OnceCell::new())
                .peers()
                .map(|set| set.presets().filter(|p| p.as_of().is_some()).collect())
                .unwrap_or_default(),
        }
    }
}

/// At most [`MAX_RAW_LEN`] bytes, printable ASCII kept, the rest escaped.
fn escape_bounded(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_RAW_LEN) + 4);
    for &b in raw.iter().take(MAX_RAW_LEN) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    if raw.len() > MAX_RAW_LEN {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_bounded_and_escaped() {
        assert_eq!(escape_bounded(b"10.0.0.1"), "10.0.0.1");
        assert_eq!(escape_bounded(b"a\xffb\\"), "a\\xffb\\x5c");
        let long = vec![b'1'; 1000];
        let shown = escape_bounded(&long);
        assert_eq!(shown.chars().count(), MAX_RAW_LEN + 1);
    }
}
