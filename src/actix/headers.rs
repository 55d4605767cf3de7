//! actix-web's header map, read by the walk.
//!
//! actix-web 4 is on `http` 0.2: its names and values are not `http` 1's,
//! so a request's headers cannot be handed to
//! [`Resolver::resolve`](crate::Resolver::resolve). The walk reads them in
//! place through [`HeaderLines`] instead: each line borrowed, nothing
//! copied.
//!
//! The name is the one thing to convert. `HeaderMap::get_all` also takes a
//! `&str`, but parses it into a new `HeaderName`, and one that `http` 0.2
//! does not know by heart (`x-forwarded-for`, `x-real-ip`,
//! `x-forwarded-client-cert`: all but `forwarded`) is copied to the heap on
//! every call. `HeaderName::from_static` borrows the text instead, which
//! the walk's names allow: they are `'static` and already lowercase and
//! valid (`http` 1 checked them by the same table).

use std::iter::{Map, Rev};
use std::slice::Iter;

use actix_web::http::header::{HeaderMap, HeaderName as ActixName, HeaderValue};
use http::HeaderName;

use crate::headers::HeaderLines;

impl HeaderLines for HeaderMap {
    type Lines<'h> = Map<Rev<Iter<'h, HeaderValue>>, fn(&'h HeaderValue) -> &'h [u8]>;

    #[inline]
    fn lines_rev<'h>(&'h self, name: &'static HeaderName) -> Self::Lines<'h> {
        let name = ActixName::from_static(name.as_str());
        // Lines in the order they arrived: newest last.
        self.get_all(&name).rev().map(HeaderValue::as_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_names::FORWARDING_HEADERS;

    fn lines<'h>(map: &'h HeaderMap, name: &'static HeaderName) -> Vec<&'h [u8]> {
        map.lines_rev(name).collect()
    }

    #[test]
    fn lines_come_last_first_for_every_name_realip_reads() {
        let custom: &'static HeaderName = Box::leak(Box::new(HeaderName::from_static(
            "x-!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz",
        )));
        let known = FORWARDING_HEADERS
            .iter()
            .map(|name| &*Box::leak(Box::new(HeaderName::from_static(name))));
        for name in known.chain([custom, &http::header::FORWARDED]) {
            let mut map = HeaderMap::new();
            let actix_name = ActixName::from_bytes(name.as_str().as_bytes()).unwrap();
            for line in ["a", "b", "c"] {
                map.append(actix_name.clone(), HeaderValue::from_static(line));
            }
            map.append(
                ActixName::from_static("other"),
                HeaderValue::from_static("z"),
            );
            assert_eq!(
                lines(&map, name),
                [&b"c"[..], b"b", b"a"],
                "{}",
                name.as_str()
            );
        }
        assert!(lines(&HeaderMap::new(), &http::header::FORWARDED).is_empty());
    }
}
