//! What an error message may quote of the text it is about.
//!
//! Configuration text comes from files, variables, command lines and
//! lists fetched over the network; a message that quoted it whole would
//! turn a 100 KB value into a 100 KB log line (or four times that, escaped).
//! Every message quotes at most [`MAX_QUOTED`] characters, through these
//! helpers, so each is bounded the same way: text that is not UTF-8 is
//! quoted lossily (an invalid byte is `U+FFFD`), never whole and never as
//! escaped bytes.

/// The most characters a message quotes of what it is about.
pub(crate) const MAX_QUOTED: usize = 64;

/// At most [`MAX_QUOTED`] characters of `text`.
pub(crate) fn bounded(text: &str) -> String {
    text.chars().take(MAX_QUOTED).collect()
}

/// At most [`MAX_QUOTED`] characters of `bytes`, read lossily as UTF-8.
/// Only the bytes those characters can span are decoded (a character is at
/// most four bytes, an invalid byte one character), so the cost is bounded
/// too.
pub(crate) fn bounded_lossy(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4 * MAX_QUOTED)];
    bounded(&String::from_utf8_lossy(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_bounded_whatever_the_text() {
        assert_eq!(bounded("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(bounded(&"x".repeat(100_000)).len(), MAX_QUOTED);
        assert_eq!(bounded(&"é".repeat(1000)).chars().count(), MAX_QUOTED);
        let invalid = vec![0xff; 100_000];
        let quoted = bounded_lossy(&invalid);
        assert_eq!(quoted.chars().count(), MAX_QUOTED);
        assert!(quoted.chars().all(|c| c == '\u{fffd}'));
        // Four-byte characters: the first 64 whole, none cut.
        let wide = "🦀".repeat(1000);
        assert_eq!(bounded_lossy(wide.as_bytes()), "🦀".repeat(MAX_QUOTED));
        assert_eq!(bounded_lossy(b"ok\xffok"), "ok\u{fffd}ok");
    }
}
