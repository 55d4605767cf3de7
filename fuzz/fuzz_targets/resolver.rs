//! A resolver of every kind, on an arbitrary peer and arbitrary header
//! lines: `resolve` and `explain` never panic, always agree, and an answer
//! is the peer or an address written in the configured header.
//!
//! Input layout (every byte optional; missing bytes read as 0):
//! `[config] [limits] [trusted mask] [peer kind] [peer bytes…]`, then lines
//! separated by `\n`, each starting with one byte that picks its header.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use realip::{Align, AllTrusted, Peer, ProxySet, Resolver, Source, ValueSource};

/// Trusted ranges a configuration picks from (one bit each).
const TRUSTED: [&str; 8] = [
    "10.0.0.0/8",
    "192.168.0.0/16",
    "fd00::/8",
    "::ffff:172.16.0.0/108",
    "127.0.0.6",
    "::6",
    "2001:db8::/32",
    // Wide, but within what rule 13 lets a set hold (2^28 public IPv4
    // addresses): a /1 is refused as implausibly large.
    "128.0.0.0/5",
];

/// The headers lines may go to; the configured one is among them.
const HEADERS: [&str; 9] = [
    "forwarded",
    "x-forwarded-for",
    "x-real-ip",
    "x-chain-of-custody",
    "cloudfront-viewer-address",
    "cf-connecting-ip",
    "x-unrelated",
    "x-forwarded-proto",
    "x-forwarded-host",
];

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let head = self.bytes(N);
        out[..head.len()].copy_from_slice(head);
        out
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let config = input.byte();
    let limits = input.byte();
    let mask = input.byte();

    // The picked entries as one text, as an operator writes them; no entry
    // picked is the empty set (text with no entry does not parse).
    let picked: Vec<&str> = TRUSTED
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, text)| *text)
        .collect();
    let set: ProxySet = if picked.is_empty() {
        ProxySet::new()
    } else {
        picked.join(", ").parse().unwrap()
    };
    let runtime = |name: &str| HeaderName::from_bytes(name.as_bytes()).unwrap();
    let source = match config % 7 {
        0 => Source::Peer,
        1 => Source::x_forwarded_for(),
        2 => Source::Forwarded,
        3 => Source::List(runtime("x-chain-of-custody")),
        4 => Source::x_real_ip(),
        5 => Source::Single(runtime("cloudfront-viewer-address")),
        _ => Source::Single(runtime("cf-connecting-ip")),
    };
    let count = usize::from(limits & 0x07);
    let max_hops = 1 + usize::from(limits >> 3);
    let mut builder = Resolver::builder()
        .source(source.clone())
        .trust_unix_peer(config & 0x80 != 0);
    let by_address = (config >> 3) & 0x03 < 2;
    if source != Source::Peer {
        builder = match (config >> 3) & 0x03 {
            0 | 1 => builder.trusted_proxies(set.clone()),
            2 => builder.trusted_hops(count, set.clone()),
            _ => builder.trusted_hops_from_any_peer(count),
        };
    }
    // Given only where they are read (rule 13 refuses them elsewhere):
    // the policy with trust by address, the bound where a walk can grow.
    if source != Source::Peer && by_address {
        builder = builder.all_trusted(if config & 0x40 != 0 {
            AllTrusted::Error
        } else {
            AllTrusted::Leftmost
        });
        if !source.is_single() {
            builder = builder.max_hops(max_hops);
        }
    }
    // The scheme and host beside the client's hop (rule 14), where the
    // source has hops: from its own element, or from value headers.
    builder = match (&source, limits & 0x03) {
        (Source::Peer, _) | (_, 0) => builder,
        (Source::Forwarded, _) => builder
            .proto(ValueSource::Forwarded)
            .host(ValueSource::Forwarded),
        (_, align) => builder
            .proto(ValueSource::x_forwarded_proto())
            .host(ValueSource::x_forwarded_host())
            .align(if align == 1 { Align::Single } else { Align::Symmetric }),
    };
    let Ok(resolver) = builder.build() else {
        return;
    };

    let peer = match input.byte() % 10 {
        0 => Peer::from(IpAddr::V4(Ipv4Addr::from(input.array::<4>()))),
        1 => Peer::from(SocketAddr::new(
            IpAddr::V6(Ipv6Addr::from(input.array::<16>())),
            u16::from_be_bytes(input.array::<2>()),
        )),
        2 => Peer::from(SocketAddr::new(
            IpAddr::V6(Ipv4Addr::from(input.array::<4>()).to_ipv6_mapped()),
            443,
        )),
        3 => Peer::Unix,
        4 => Peer::Unknown,
        // Peers in the trusted ranges, so that headers are read.
        5 => Peer::from(IpAddr::V4(Ipv4Addr::new(10, 0, 0, input.byte()))),
        6 => Peer::from(IpAddr::V6(Ipv6Addr::new(
            0xfd00,
            0,
            0,
            0,
            0,
            0,
            0,
            u16::from(input.byte()),
        ))),
        7 => Peer::from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 6))),
        // A PROXY connection whose header named no source, from a sender
        // inside the trusted ranges: its headers are never read.
        8 => Peer::ProxiedWithoutSource {
            sender: SocketAddr::from(([10, 0, 0, input.byte()], 4000)),
        },
        // The source a PROXY-protocol header named, possibly mapped.
        _ => Peer::Proxied {
            ip: IpAddr::V6(Ipv4Addr::new(10, 0, 0, input.byte()).to_ipv6_mapped()),
            port: Some(u16::from_be_bytes(input.array::<2>())),
            sender: SocketAddr::from(([192, 0, 2, 50], 4000)),
        },
    };

    let mut headers = HeaderMap::new();
    for line in input.0.split(|&b| b == b'\n') {
        let Some((&which, value)) = line.split_first() else {
            continue;
        };
        let name = runtime(HEADERS[usize::from(which) % HEADERS.len()]);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    }

    let result = resolver.resolve(peer, &headers);
    let explanation = resolver.explain(peer, &headers);
    assert_eq!(explanation.result, result);
    let _ = explanation.to_string();
    let with_url = resolver.resolve_url(peer, &headers);
    assert_eq!(with_url.as_ref().map(|(r, _)| r), result.as_ref());
    if let Ok((resolution, url)) = &with_url {
        assert_eq!(&explanation.url, url);
        if let Some(scheme) = url.scheme() {
            assert_eq!(scheme.as_str(), scheme.as_str().to_ascii_lowercase());
            assert_eq!(scheme.as_str().parse::<realip::Scheme>().as_ref(), Ok(scheme));
        }
        if let Some(host) = url.host() {
            assert_eq!(host.as_str().parse::<realip::Host>().as_ref(), Ok(host));
        }
        // Nothing is read beside a peer that is the answer.
        if !matches!(resolution.origin(), realip::Origin::Header { .. }) {
            assert_eq!((url.scheme(), url.host()), (None, None));
        }
    }

    let Ok(resolution) = result else {
        return;
    };
    let ip = resolution.ip();
    assert_eq!(ip, ip.to_canonical());
    assert!(!ip.is_unspecified());
    if let Peer::ProxiedWithoutSource { sender } = peer {
        assert_eq!(ip, sender.ip(), "a balancer without a source is the answer");
    }
    if Some(ip) == peer.ip().map(|p| p.to_canonical()) {
        return;
    }
    let name = source
        .header_name()
        .expect("the peer source answers the peer");
    assert!(
        headers
            .get_all(name)
            .iter()
            .any(|v| written_in(v.as_bytes(), ip)),
        "{ip} is neither the peer {peer} nor written in {name}: {headers:?}"
    );
});

/// Whether `ip` is written in `line`: some run of address characters (hex
/// digits, `:`, `.`), read raw or with quoted-pair backslashes removed, has
/// a prefix that std reads as `ip` (the rest being a port).
fn written_in(line: &[u8], ip: IpAddr) -> bool {
    [line.to_vec(), unescape_all(line)].iter().any(|text| {
        text.split(|&b| !(b.is_ascii_hexdigit() || b == b':' || b == b'.'))
            .filter(|run| run.len() <= 64)
            .any(|run| {
                (1..=run.len()).any(|end| {
                    std::str::from_utf8(&run[..end])
                        .ok()
                        .and_then(|s| s.parse::<IpAddr>().ok())
                        .is_some_and(|parsed| parsed.to_canonical() == ip)
                })
            })
    })
}

fn unescape_all(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut escaped = false;
    for &b in line {
        if b == b'\\' && !escaped {
            escaped = true;
        } else {
            out.push(b);
            escaped = false;
        }
    }
    out
}
