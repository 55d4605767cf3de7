//! The PROXY protocol decoder on raw bytes.
//!
//! Beyond "never panics": a header is never longer than its input and
//! decodes the same from its own bytes; every shorter prefix of it asks for
//! more (so a reader never drops a connection that was going to be valid);
//! an invalid input stays invalid whatever follows; and the accessors of a
//! decoded header never fail.

#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::proxy_protocol::{DecodeError, decode};

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(header) => {
            let len = header.encoded_len();
            assert!(len <= data.len());
            assert_eq!(decode(&data[..len]), Ok(header));
            for cut in [0, 1, len / 2, len - 1] {
                if cut < len {
                    match decode(&data[..cut]) {
                        Err(DecodeError::Incomplete(n)) => assert!((1..=len - cut).contains(&n)),
                        other => panic!("prefix {cut} of a {len}-byte header: {other:?}"),
                    }
                }
            }
            let _ = (header.source(), header.destination(), header.unix_paths());
            let tlvs = header.tlvs();
            assert_eq!(
                tlvs.iter().map(|t| 3 + t.value.len()).sum::<usize>(),
                tlvs.as_bytes().len()
            );
            let _ = (
                tlvs.alpn(),
                tlvs.authority(),
                tlvs.crc32c(),
                tlvs.unique_id(),
                tlvs.netns(),
                tlvs.aws_vpce_id(),
                tlvs.azure_link_id(),
            );
            if let Some(ssl) = tlvs.ssl() {
                let _ = (
                    ssl.version(),
                    ssl.common_name(),
                    ssl.cipher(),
                    ssl.sig_alg(),
                    ssl.key_alg(),
                    ssl.client_cert(),
                    ssl.sub_tlvs().iter().count(),
                );
            }
        }
        Err(DecodeError::Incomplete(n)) => assert!(n >= 1),
        Err(DecodeError::Invalid(reason)) => {
            let mut more = data.to_vec();
            more.extend_from_slice(b"\r\n\0\0\0\0");
            assert_eq!(decode(&more), Err(DecodeError::Invalid(reason)));
        }
    }
});
