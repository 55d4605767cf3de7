//! Rate-limit keys (DESIGN.md §2): an IPv4 client is keyed by its address,
//! an IPv6 client by its `/64`, and an IPv6 address that a translator or a
//! tunnel built from a client's IPv4 (NAT64, SIIT, Teredo, 6to4) by that
//! IPv4, never by the translator's `/64`, which would put every client
//! behind it in one bucket.

use std::net::IpAddr;

use realip::{ClientIp, RateLimitPrefixes};

/// The client every translation below carries.
const CLIENT: &str = "192.0.2.1";

fn key(s: &str) -> IpAddr {
    s.parse::<ClientIp>().unwrap().rate_limit_key()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn rate_limit_keys_embedded_ipv4_is_the_key() {
    let table = [
        // (address, key, why)
        ("192.0.2.1", "192.0.2.1", "IPv4 is its own key"),
        ("64:ff9b::c000:201", "192.0.2.1", "NAT64 well-known /96"),
        ("64:ff9b::192.0.2.1", "192.0.2.1", "NAT64, dotted"),
        ("64:ff9b::a00:1", "10.0.0.1", "NAT64 of a private IPv4"),
        (
            "64:ff9b:1::c000:201",
            "192.0.2.1",
            "local-use NAT64, /96 at its start",
        ),
        ("::192.0.2.1", "192.0.2.1", "IPv4-compatible (SIIT)"),
        (
            "::1.0.0.0",
            "1.0.0.0",
            "IPv4-compatible, lowest outside 0/8",
        ),
        ("::ffff:0:192.0.2.1", "192.0.2.1", "IPv4-translated (SIIT)"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdfe",
            "192.0.2.1",
            "Teredo: the client's IPv4 is the last 32 bits inverted",
        ),
        ("2002:c000:201::", "192.0.2.1", "6to4: bits 16..47"),
        (
            "2002:c000:201:7:1:2:3:4",
            "192.0.2.1",
            "6to4, any subnet and host",
        ),
        ("2002:cb00:7107::1", "203.0.113.7", "6to4 of another site"),
    ];
    for (addr, want, why) in table {
        assert_eq!(key(addr), ip(want), "{addr} ({why})");
    }
}

#[test]
fn rate_limit_keys_one_client_one_key_through_every_translation() {
    let seen_as = [
        CLIENT,
        "::ffff:192.0.2.1",
        "64:ff9b::192.0.2.1",
        "64:ff9b:1::192.0.2.1",
        "::192.0.2.1",
        "::ffff:0:192.0.2.1",
        "2001:0:4136:e378:8000:63bf:3fff:fdfe",
        "2002:c000:201::1",
        "2002:c000:201:ffff::1",
    ];
    for addr in seen_as {
        assert_eq!(key(addr), ip(CLIENT), "{addr}");
    }
}

#[test]
fn rate_limit_keys_clients_behind_one_translator_are_apart() {
    let pairs = [
        // (two clients through the same translator prefix, why)
        ("64:ff9b::192.0.2.1", "64:ff9b::192.0.2.2", "NAT64 /96"),
        ("64:ff9b::192.0.2.1", "64:ff9b::198.51.100.1", "NAT64 /96"),
        (
            "64:ff9b:1::192.0.2.1",
            "64:ff9b:1::192.0.2.2",
            "local NAT64 /96",
        ),
        (
            "64:ff9b:1:c000:2:100::",
            "64:ff9b:1:c000:2:200::",
            "local NAT64 /48 layout",
        ),
        (
            "64:ff9b:1:abcd:c0:2:100:0",
            "64:ff9b:1:abcd:c0:2:200:0",
            "local NAT64 /64 layout",
        ),
        ("::192.0.2.1", "::192.0.2.2", "IPv4-compatible"),
        (
            "::ffff:0:192.0.2.1",
            "::ffff:0:192.0.2.2",
            "IPv4-translated",
        ),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdfe",
            "2001:0:4136:e378:8000:63bf:3fff:fdfd",
            "one Teredo server",
        ),
        ("2002:c000:201::1", "2002:c000:202::1", "6to4"),
    ];
    for (a, b, why) in pairs {
        assert_ne!(key(a), key(b), "{a} and {b} ({why})");
    }
}

#[test]
fn rate_limit_keys_local_nat64_outside_its_first_96_is_the_whole_address() {
    // Inside 64:ff9b:1::/48 the operator picks the prefix length, so the
    // IPv4's position is unknown; the whole address still names one client.
    let table = [
        ("64:ff9b:1:c000:2:100::", "/48 layout of 192.0.2.1"),
        ("64:ff9b:1:abc0:0:201::", "/56 layout of 192.0.2.1"),
        ("64:ff9b:1:abcd:c0:2:100:0", "/64 layout of 192.0.2.1"),
        ("64:ff9b:1:abcd::c000:201", "/96 with its own bits"),
        ("64:ff9b:1:0:0:1::1", "a bit set just before the last 32"),
    ];
    for (addr, why) in table {
        assert_eq!(key(addr), ip(addr), "{addr} ({why})");
    }
}

#[test]
fn rate_limit_keys_ordinary_ipv6_is_keyed_by_its_64() {
    let table = [
        // (address, its /64, why)
        ("2001:db8:1:2::1", "2001:db8:1:2::", "documentation range"),
        (
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:db8:1:2::",
            "same /64",
        ),
        ("2001:1::c000:201", "2001:1::", "2001::/23 but not Teredo"),
        ("2003:c000:201::1", "2003:c000:201::", "next to 6to4"),
        (
            "64:ff9b::1:c000:201",
            "64:ff9b::",
            "64:ff9b::/32 outside the /96",
        ),
        (
            "64:ff9b:2::c000:201",
            "64:ff9b:2::",
            "next to local-use NAT64",
        ),
        ("::1", "::", "loopback is not IPv4-compatible"),
        ("::6", "::", "Istio's sidecar is not IPv4-compatible"),
        ("::0.255.255.255", "::", "0.0.0.0/8 is never embedded"),
        ("::1:0:0:1", "::", "outside ::/96"),
        ("::ffff:1:c000:201", "::", "neither mapped nor translated"),
        ("fe80::1", "fe80::", "link-local"),
        ("fd00:1:2:3:4:5:6:7", "fd00:1:2:3::", "unique local"),
    ];
    for (addr, want, why) in table {
        assert_eq!(key(addr), ip(want), "{addr} ({why})");
    }
    assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ab::cd"));
    assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
}

// ---------------------------------------------------------------------------
// Other prefix lengths: `rate_limit_network`.

fn network(s: &str, v4: u8, v6: u8) -> String {
    let prefixes = RateLimitPrefixes::new(v4, v6).unwrap();
    s.parse::<ClientIp>()
        .unwrap()
        .rate_limit_network(prefixes)
        .to_string()
}

#[test]
fn rate_limit_keys_networks_take_the_prefix_of_the_clients_family() {
    let table = [
        // (address, IPv4 prefix, IPv6 prefix, key, why)
        ("203.0.113.7", 32, 64, "203.0.113.7/32", "the defaults"),
        ("203.0.113.7", 24, 64, "203.0.113.0/24", "an IPv4 /24"),
        ("203.0.113.7", 1, 64, "128.0.0.0/1", "the shortest IPv4"),
        (
            "2001:db8:1:2::1",
            32,
            64,
            "2001:db8:1:2::/64",
            "the defaults",
        ),
        ("2001:db8:1:2::1", 32, 56, "2001:db8:1::/56", "an IPv6 /56"),
        (
            "2001:db8:1:ff::1",
            32,
            56,
            "2001:db8:1::/56",
            "the /56 of :ff",
        ),
        (
            "2001:db8:1:100::1",
            32,
            56,
            "2001:db8:1:100::/56",
            "the next /56",
        ),
        ("2001:db8:1:2::1", 32, 48, "2001:db8:1::/48", "an IPv6 /48"),
        (
            "2001:db8:1:2::1",
            32,
            128,
            "2001:db8:1:2::1/128",
            "per address",
        ),
        ("2001:db8:1:2::1", 32, 1, "::/1", "the shortest IPv6"),
        // An embedded IPv4 takes the IPv4 prefix, never the IPv6 one.
        (
            "64:ff9b::203.0.113.7",
            32,
            48,
            "203.0.113.7/32",
            "NAT64, IPv4 /32",
        ),
        (
            "64:ff9b::203.0.113.7",
            24,
            64,
            "203.0.113.0/24",
            "NAT64, IPv4 /24",
        ),
        (
            "64:ff9b:1::203.0.113.7",
            24,
            64,
            "203.0.113.0/24",
            "local NAT64 /96",
        ),
        ("::203.0.113.7", 24, 64, "203.0.113.0/24", "IPv4-compatible"),
        (
            "::ffff:0:203.0.113.7",
            24,
            64,
            "203.0.113.0/24",
            "IPv4-translated",
        ),
        (
            "::ffff:203.0.113.7",
            24,
            64,
            "203.0.113.0/24",
            "IPv4-mapped",
        ),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdfe",
            16,
            64,
            "192.0.0.0/16",
            "Teredo",
        ),
        ("2002:cb00:7107:1::1", 24, 48, "203.0.113.0/24", "6to4"),
        // Where the IPv4 sits is unknown: the whole address, whatever the
        // prefixes.
        (
            "64:ff9b:1:c000:2:100::",
            24,
            48,
            "64:ff9b:1:c000:2:100::/128",
            "local NAT64 elsewhere",
        ),
    ];
    for (addr, v4, v6, want, why) in table {
        assert_eq!(network(addr, v4, v6), want, "{addr} /{v4} /{v6} ({why})");
    }
}

#[test]
fn rate_limit_keys_the_default_network_is_the_key() {
    let addrs = [
        "192.0.2.1",
        "2001:db8:1:2::1",
        "64:ff9b::192.0.2.1",
        "64:ff9b:1:c000:2:100::",
        "2001:0:4136:e378:8000:63bf:3fff:fdfe",
        "2002:c000:201::1",
        "::6",
    ];
    for addr in addrs {
        let ip: ClientIp = addr.parse().unwrap();
        let net = ip.rate_limit_network(RateLimitPrefixes::DEFAULT);
        assert_eq!(net.addr(), ip.rate_limit_key(), "{addr}");
        assert_eq!(net.trunc(), net, "{addr}: a network, host bits zero");
    }
}
