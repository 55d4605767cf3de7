//! How the walk reads a request's headers: the lines of one header name,
//! last line first.
//!
//! The walk needs nothing else from a header map, so any framework's
//! header type can be read through this trait without copying headers and
//! without a second walk (actix-web 4, for one, is on `http` 0.2). realip
//! implements it for `http` 1.x's [`HeaderMap`], and with feature `actix`
//! for actix-web's (`src/actix/headers.rs`).
//!
//! Names are `'static`: every name the walk reads is one realip knows or
//! one interned when the resolver was configured. A map keyed by another
//! crate's name type can then build its own name from the static text
//! without allocating.

use std::iter::{Map, Rev};

use http::header::ValueIter;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The lines of one header name, in a request's header map.
pub(crate) trait HeaderLines {
    /// The lines, last line first.
    type Lines<'h>: Iterator<Item = &'h [u8]>
    where
        Self: 'h;

    /// The lines of `name`, last line first: the newest hop is at the end
    /// of the last line.
    fn lines_rev<'h>(&'h self, name: &'static HeaderName) -> Self::Lines<'h>;
}

impl HeaderLines for HeaderMap {
    type Lines<'h> = Map<Rev<ValueIter<'h, HeaderValue>>, fn(&'h HeaderValue) -> &'h [u8]>;

    #[inline]
    fn lines_rev<'h>(&'h self, name: &'static HeaderName) -> Self::Lines<'h> {
        self.get_all(name).iter().rev().map(HeaderValue::as_bytes)
    }
}
