//! The forwarding headers realip knows, and the one `'static` copy of each
//! header name a resolver reads.
//!
//! The list is vocabulary for the layers above: configuration accepts
//! these names bare (anything else is written `header:NAME`, so that a typo
//! is an error rather than a header no proxy overwrites), and explanations
//! look for them when they diagnose a deployment.
//!
//! [`Origin::Header`](crate::Origin::Header) holds a `&'static HeaderName`,
//! so a resolution neither clones nor drops a name. (A custom
//! `HeaderName` is `bytes::Bytes` underneath: cloning and dropping one, even
//! a static one, goes through two indirect calls, measured at about 16 ns
//! per resolution on `X-Real-IP`, a quarter of its cost.)
//!
//! The well-known headers are statics. Any other name is copied and leaked
//! once, when the first resolver reading it is built, and shared by every
//! later resolver: memory grows with the number of *distinct* header names
//! a process configures, never with resolvers or requests, and it is
//! bounded by [`MAX_CUSTOM_NAMES`]. Looking a name up never adds it.

use std::sync::{Mutex, PoisonError};

use http::HeaderName;

mod meaning;

pub(crate) use meaning::{Meaning, meaning};

/// Headers that carry a client address, by the proxies that write them:
/// `Forwarded`, `X-Forwarded-For`, then the single-address headers.
pub const FORWARDING_HEADERS: [&str; 12] = [
    "forwarded",
    "x-forwarded-for",
    "x-real-ip",
    "cf-connecting-ip",
    "true-client-ip",
    "fly-client-ip",
    "x-envoy-external-address",
    "cloudfront-viewer-address",
    "fastly-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-azure-clientip",
];

/// The single-address headers realip knows: a configuration may name them
/// bare.
pub(crate) fn single_address_headers() -> &'static [&'static str] {
    &FORWARDING_HEADERS[2..]
}

/// Whether `name` is one of the single-address headers realip knows.
pub(crate) fn is_known_single(name: &HeaderName) -> bool {
    single_address_headers().contains(&name.as_str())
}

/// The most distinct custom header names (outside [`FORWARDING_HEADERS`])
/// the resolvers of one process may read.
pub const MAX_CUSTOM_NAMES: usize = 256;

/// [`FORWARDING_HEADERS`] as names.
static WELL_KNOWN: [HeaderName; FORWARDING_HEADERS.len()] = {
    let h = FORWARDING_HEADERS;
    [
        HeaderName::from_static(h[0]),
        HeaderName::from_static(h[1]),
        HeaderName::from_static(h[2]),
        HeaderName::from_static(h[3]),
        HeaderName::from_static(h[4]),
        HeaderName::from_static(h[5]),
        HeaderName::from_static(h[6]),
        HeaderName::from_static(h[7]),
        HeaderName::from_static(h[8]),
        HeaderName::from_static(h[9]),
        HeaderName::from_static(h[10]),
        HeaderName::from_static(h[11]),
    ]
};

/// Every other name configured so far.
static OTHERS: Mutex<Vec<&'static HeaderName>> = Mutex::new(Vec::new());

/// The table already holds [`MAX_CUSTOM_NAMES`] other names.
#[derive(Debug)]
pub(crate) struct Full;

/// The one `'static` copy of `name`, added if it is new (names compare
/// case-insensitively as `HeaderName`s always do: they are stored
/// lower-case).
pub(crate) fn intern(name: &HeaderName) -> Result<&'static HeaderName, Full> {
    if let Some(known) = well_known(name) {
        return Ok(known);
    }
    let mut others = lock();
    if let Some(&found) = others.iter().find(|&&other| other == name) {
        return Ok(found);
    }
    if others.len() >= MAX_CUSTOM_NAMES {
        return Err(Full);
    }
    let leaked: &'static HeaderName = Box::leak(Box::new(name.clone()));
    others.push(leaked);
    Ok(leaked)
}

/// The `'static` copy of `name` if a resolver reads it or it is well known;
/// never adds one.
pub(crate) fn lookup(name: &HeaderName) -> Option<&'static HeaderName> {
    well_known(name).or_else(|| lock().iter().copied().find(|&other| other == name))
}

fn well_known(name: &HeaderName) -> Option<&'static HeaderName> {
    WELL_KNOWN.iter().find(|&known| known == name)
}

fn lock() -> std::sync::MutexGuard<'static, Vec<&'static HeaderName>> {
    // A panic while the lock was held cannot leave the list inconsistent
    // (a push either happened or did not), so a poisoned lock is used as is.
    OTHERS.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_names_are_the_statics() {
        for text in FORWARDING_HEADERS {
            let made_at_run_time = HeaderName::from_bytes(text.to_uppercase().as_bytes()).unwrap();
            let interned = intern(&made_at_run_time).unwrap();
            assert_eq!(interned.as_str(), text);
            assert!(WELL_KNOWN.iter().any(|known| std::ptr::eq(known, interned)));
            assert!(std::ptr::eq(lookup(&made_at_run_time).unwrap(), interned));
        }
        assert!(std::ptr::eq(
            intern(&http::header::FORWARDED).unwrap(),
            intern(&HeaderName::from_static("forwarded")).unwrap()
        ));
    }

    #[test]
    fn other_names_are_kept_once_and_looking_up_adds_none() {
        let name = HeaderName::from_static("x-interned-once");
        assert!(lookup(&name).is_none(), "a lookup adds nothing");
        assert!(lookup(&name).is_none());
        let a = intern(&name).unwrap();
        let b = intern(&HeaderName::from_bytes(b"X-Interned-Once").unwrap()).unwrap();
        assert!(std::ptr::eq(a, b));
        assert!(std::ptr::eq(lookup(&name).unwrap(), a));
        assert_eq!(a.as_str(), "x-interned-once");
        let c = intern(&HeaderName::from_static("x-interned-other")).unwrap();
        assert!(!std::ptr::eq(a, c));
    }

    #[test]
    fn single_address_headers_are_the_known_ones() {
        assert!(is_known_single(&HeaderName::from_static("x-real-ip")));
        assert!(is_known_single(&HeaderName::from_static(
            "x-azure-clientip"
        )));
        assert!(!is_known_single(&HeaderName::from_static(
            "x-forwarded-for"
        )));
        assert!(!is_known_single(&http::header::FORWARDED));
        assert!(!is_known_single(&HeaderName::from_static(
            "x-forwarded-fro"
        )));
        assert_eq!(single_address_headers().len(), 10);
    }
}
