//! The header names a [`Resolution`](crate::Resolution) can name as its
//! origin, each kept once for the life of the process.
//!
//! [`Origin::Header`](crate::Origin::Header) holds a `&'static HeaderName`,
//! so a resolution neither clones nor drops a name. (A custom
//! `HeaderName` is `bytes::Bytes` underneath: cloning and dropping one, even
//! a static one, goes through two indirect calls, measured at about 16 ns
//! per resolution on `X-Real-IP`, a quarter of its cost.)
//!
//! The well-known forwarding headers are statics. Any other name is copied
//! and leaked once, when the first resolver reading it is built, and shared
//! by every later resolver: memory grows with the number of *distinct*
//! header names a process configures, never with resolvers or requests.

use std::sync::{Mutex, PoisonError};

use http::HeaderName;

use crate::explain::FORWARDING_HEADERS;

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

/// The one `'static` copy of `name` (names compare case-insensitively as
/// `HeaderName`s always do: they are stored lower-case).
pub(crate) fn intern(name: &HeaderName) -> &'static HeaderName {
    if let Some(known) = WELL_KNOWN.iter().find(|&known| known == name) {
        return known;
    }
    // A panic while the lock was held cannot leave the list inconsistent
    // (a push either happened or did not), so a poisoned lock is used as is.
    let mut others = OTHERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&found) = others.iter().find(|&&other| other == name) {
        return found;
    }
    let leaked: &'static HeaderName = Box::leak(Box::new(name.clone()));
    others.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_names_are_the_statics() {
        for text in FORWARDING_HEADERS {
            let made_at_run_time = HeaderName::from_bytes(text.to_uppercase().as_bytes()).unwrap();
            let interned = intern(&made_at_run_time);
            assert_eq!(interned.as_str(), text);
            assert!(WELL_KNOWN.iter().any(|known| std::ptr::eq(known, interned)));
        }
        assert!(std::ptr::eq(
            intern(&http::header::FORWARDED),
            intern(&HeaderName::from_static("forwarded"))
        ));
    }

    #[test]
    fn other_names_are_kept_once() {
        let a = intern(&HeaderName::from_static("x-interned-once"));
        let b = intern(&HeaderName::from_bytes(b"X-Interned-Once").unwrap());
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.as_str(), "x-interned-once");
        let c = intern(&HeaderName::from_static("x-interned-other"));
        assert!(!std::ptr::eq(a, c));
    }
}
