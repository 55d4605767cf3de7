//! `x-forwarded-client-cert`: `xfcc::caller_uri` on arbitrary bytes split
//! into one to three lines, and the resolver that trusts a caller by it
//! (DESIGN rule 15).
//!
//! Checked beyond "never panics": an identity read is non-empty graphic
//! ASCII without `"` or `\` (what a URI may hold), and never from several
//! lines; and the resolver agrees with the reader: from the trusted
//! sidecar, the walk goes past it exactly when the reader names the
//! gateway's identity, with and without `sidecar-appends`. `explain` and
//! `Resolver::caller` name the same caller.

#![no_main]

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use realip::xfcc::{NoIdentity, caller_uri};
use realip::{Caller, Resolver};

/// The identity `deployment:istio-gateway` trusts.
const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";

/// (the gateway deployment, the same with sidecar-appends), built once.
fn resolvers() -> &'static (Resolver, Resolver) {
    static RESOLVERS: OnceLock<(Resolver, Resolver)> = OnceLock::new();
    RESOLVERS.get_or_init(|| {
        let gateway: Resolver = "deployment:istio-gateway".parse().unwrap();
        let appends: Resolver = "deployment:istio-gateway; sidecar-appends".parse().unwrap();
        (gateway, appends)
    })
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').take(3).collect();
    // For the messages: the lines as text.
    let shown: Vec<_> = lines.iter().map(|l| String::from_utf8_lossy(l)).collect();
    let read = caller_uri(lines.iter().rev().copied());
    match read {
        Ok(uri) => {
            assert_eq!(lines.len(), 1);
            assert!(!uri.is_empty());
            assert!(
                uri.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'),
                "{uri:?} from {shown:?}"
            );
            // Borrowed from the line it was read from.
            assert!(lines[0].as_ptr_range().contains(&uri.as_ptr()));
        }
        Err(why) => assert_eq!(lines.len() > 1, why == NoIdentity::SeveralLines),
    }

    // The same lines as a request, where HTTP allows them.
    let Ok(values) = lines
        .iter()
        .map(|line| HeaderValue::from_bytes(line))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let gateway_called = read == Ok(GATEWAY_ID);
    let sidecar: SocketAddr = "127.0.0.6:40000".parse().unwrap();
    let (gateway, appends) = resolvers();
    // (resolver, X-Forwarded-For, the client when the gateway called, when
    // not)
    let cases = [
        (gateway, "203.0.113.7", "203.0.113.7", "127.0.0.6"),
        (appends, "203.0.113.7, 10.1.2.3", "203.0.113.7", "10.1.2.3"),
    ];
    for (resolver, xff, past, stopped) in cases {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(xff));
        for value in &values {
            headers.append("x-forwarded-client-cert", value.clone());
        }
        let result = resolver.resolve(sidecar, &headers);
        let expected: IpAddr = if gateway_called { past } else { stopped }.parse().unwrap();
        assert_eq!(result.as_ref().map(|r| r.ip()), Ok(expected), "{shown:?}");

        let caller = resolver.caller(sidecar, &headers);
        assert_eq!(caller.as_ref().map(Caller::uri), read.ok(), "{shown:?}");
        assert_eq!(
            caller.as_ref().is_some_and(Caller::is_trusted),
            gateway_called,
            "{shown:?}"
        );

        let explanation = resolver.explain(sidecar, &headers);
        assert_eq!(explanation.result, result, "{shown:?}");
        assert_eq!(
            explanation.caller,
            caller.map(Caller::into_owned),
            "{shown:?}"
        );
        let _ = explanation.to_string();
    }
});
