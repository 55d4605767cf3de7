//! Every address parser on raw bytes.
//!
//! Beyond "never panics": what a parser accepts is canonical and never the
//! unspecified address, prints back to text it reads the same way, and
//! agrees with std's parsers on the forms both accept (std is the
//! reference for IPv4 and IPv6 text; realip only adds ports, brackets and
//! the RFC 7239 names).

#![no_main]

use std::net::{IpAddr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use realip::addr::{
    HopAddr, HopError, Node, parse_forwarded_node, parse_hop_addr, parse_ip_port_last_colon,
    parse_list_node,
};

fuzz_target!(|data: &[u8]| {
    scheme_and_host(data);
    let hop = parse_hop_addr(data);
    let list = parse_list_node(data);
    let forwarded = parse_forwarded_node(data);
    let last_colon = parse_ip_port_last_colon(data);

    for h in [hop.ok(), last_colon.ok(), ip_of(list), ip_of(forwarded)]
        .into_iter()
        .flatten()
    {
        assert_eq!(h.ip, h.ip.to_canonical(), "{data:?}");
        assert!(!h.ip.is_unspecified(), "{data:?}");
    }
    if let Ok(h) = hop {
        assert_eq!(list, Ok(Node::Ip(h)), "{data:?}");
        assert_eq!(parse_hop_addr(bracketed(h).as_bytes()), Ok(h));
    }
    if let Ok(Node::Ip(h)) = forwarded {
        assert_eq!(
            parse_forwarded_node(bracketed(h).as_bytes()),
            Ok(Node::Ip(h))
        );
    }
    if let Ok(h) = last_colon {
        let port = h.port.expect("the port is required");
        let text = format!("{}:{port}", h.ip);
        assert_eq!(parse_ip_port_last_colon(text.as_bytes()), Ok(h));
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('%') {
        return; // std reads scope ids; realip refuses zones
    }
    // A bare address std reads.
    if let Ok(ip) = text.parse::<IpAddr>() {
        let expected = expected(ip, None);
        assert_eq!(hop, expected, "{text:?}");
        if ip.is_ipv4() {
            assert_eq!(forwarded, expected.map(Node::Ip), "{text:?}");
        }
    }
    // `[v6]` as RFC 7239 writes it.
    if let Some(ip) = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
    {
        let expected = expected(IpAddr::V6(ip), None);
        assert_eq!(hop, expected, "{text:?}");
        assert_eq!(forwarded, expected.map(Node::Ip), "{text:?}");
    }
    // `ip:port` / `[v6]:port` with a port of at most five digits (std
    // reads longer runs of leading zeros).
    let short_port = text
        .rsplit_once(':')
        .is_some_and(|(_, p)| (1..=5).contains(&p.len()));
    if let (true, Ok(sa)) = (short_port, text.parse::<SocketAddr>()) {
        let expected = expected(sa.ip(), Some(sa.port()));
        assert_eq!(hop, expected, "{text:?}");
        assert_eq!(forwarded, expected.map(Node::Ip), "{text:?}");
    }
    // `ip:port` split at the last colon, IPv6 unbracketed.
    let split = text.rsplit_once(':').filter(|(_, port)| {
        (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
    });
    if let Some((Ok(ip), Ok(port))) =
        split.map(|(host, port)| (host.parse::<IpAddr>(), port.parse::<u16>()))
    {
        assert_eq!(last_colon, expected(ip, Some(port)), "{text:?}");
    }
});

fn ip_of(node: Result<Node, HopError>) -> Option<HopAddr> {
    match node {
        Ok(Node::Ip(h)) => Some(h),
        _ => None,
    }
}

/// What realip must answer for an address std read.
fn expected(ip: IpAddr, port: Option<u16>) -> Result<HopAddr, HopError> {
    let ip = ip.to_canonical();
    if ip.is_unspecified() {
        Err(HopError::Unspecified)
    } else {
        Ok(HopAddr { ip, port })
    }
}

/// A hop as list headers and RFC 7239 write it: IPv6 bracketed when it
/// carries a port or always (`[v6]` is accepted by both).
fn bracketed(h: HopAddr) -> String {
    match (h.ip, h.port) {
        (IpAddr::V4(ip), Some(port)) => format!("{ip}:{port}"),
        (IpAddr::V4(ip), None) => ip.to_string(),
        (IpAddr::V6(ip), Some(port)) => format!("[{ip}]:{port}"),
        (IpAddr::V6(ip), None) => format!("[{ip}]"),
    }
}

/// The readers of the original scheme and host (rule 14): what they
/// accept reads back the same, the scheme lower-case, the host as given
/// and split at its port.
fn scheme_and_host(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scheme) = text.parse::<realip::Scheme>() {
        assert_eq!(scheme.as_str(), text.to_ascii_lowercase());
        assert_eq!(scheme.as_str().parse::<realip::Scheme>(), Ok(scheme));
    }
    if let Ok(host) = text.parse::<realip::Host>() {
        assert_eq!(host.as_str(), text);
        assert!(text.starts_with(host.hostname()));
        let rest = &text[host.hostname().len()..];
        match host.port() {
            Some(port) => assert_eq!(rest.trim_start_matches(':').parse::<u16>(), Ok(port)),
            None => assert_eq!(rest, ""),
        }
        assert!(!text.contains(['/', '?', '#', '@', ' ']), "{text:?}");
    }
}
