//! Sets of trusted proxy addresses: CIDR ranges, single addresses and named
//! presets, with fast membership for a handful or for thousands of ranges.
//!
//! A [`ProxySet`] answers one question: *is this address one of my
//! proxies?* It is parsed from the text operators write
//! (`"10.0.0.0/8, 127.0.0.6, ::1, loopback"`), keeps that text form for
//! display, and stores the ranges as sorted, merged intervals so that a
//! lookup is one binary search whatever the number of ranges.
//!
//! Membership is decided on canonical addresses: an IPv4-mapped IPv6
//! address (`::ffff:10.1.2.3`) is looked up as IPv4, and a range given in
//! the mapped form (`::ffff:10.0.0.0/104`) also covers the IPv4 range it
//! maps (`10.0.0.0/8`). Otherwise an allow-list written in one form could be
//! bypassed with the other.
//!
//! ```
//! use realip::ProxySet;
//!
//! let proxies: ProxySet = "10.0.0.0/8, istio-sidecar, ::1".parse().unwrap();
//! assert!(proxies.contains("10.20.30.40".parse().unwrap()));
//! assert!(proxies.contains("::ffff:10.20.30.40".parse().unwrap()));
//! assert!(proxies.contains("127.0.0.6".parse().unwrap()));
//! assert!(!proxies.contains("203.0.113.9".parse().unwrap()));
//! assert_eq!(proxies.to_string(), "10.0.0.0/8, istio-sidecar, ::1");
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A named set of address ranges for a common kind of proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Preset {
    /// `127.0.0.0/8` and `::1`: a proxy on the same host.
    Loopback,
    /// RFC 1918 (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`) and IPv6
    /// unique local addresses (`fc00::/7`): proxies inside a private
    /// network, such as a Kubernetes cluster.
    Private,
    /// `169.254.0.0/16` and `fe80::/10`.
    LinkLocal,
    /// `127.0.0.6` and `::6`: the address an Istio sidecar (REDIRECT
    /// interception, Istio 1.10 and later) connects to the application from.
    IstioSidecar,
}

impl Preset {
    /// Every preset, in the order they are documented.
    pub const ALL: [Preset; 4] = [
        Preset::Loopback,
        Preset::Private,
        Preset::LinkLocal,
        Preset::IstioSidecar,
    ];

    /// The name used in configuration text.
    ///
    /// ```
    /// assert_eq!(realip::Preset::IstioSidecar.name(), "istio-sidecar");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Preset::Loopback => "loopback",
            Preset::Private => "private",
            Preset::LinkLocal => "link-local",
            Preset::IstioSidecar => "istio-sidecar",
        }
    }

    /// The ranges this preset stands for.
    pub fn networks(self) -> &'static [IpNet] {
        const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> IpNet {
            IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len))
        }
        const fn v6(segments: [u16; 8], len: u8) -> IpNet {
            let [a, b, c, d, e, f, g, h] = segments;
            IpNet::V6(Ipv6Net::new_assert(
                Ipv6Addr::new(a, b, c, d, e, f, g, h),
                len,
            ))
        }
        const LOOPBACK: [IpNet; 2] = [v4(127, 0, 0, 0, 8), v6([0, 0, 0, 0, 0, 0, 0, 1], 128)];
        const PRIVATE: [IpNet; 4] = [
            v4(10, 0, 0, 0, 8),
            v4(172, 16, 0, 0, 12),
            v4(192, 168, 0, 0, 16),
            v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        ];
        const LINK_LOCAL: [IpNet; 2] = [
            v4(169, 254, 0, 0, 16),
            v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        ];
        const ISTIO_SIDECAR: [IpNet; 2] = [v4(127, 0, 0, 6, 32), v6([0, 0, 0, 0, 0, 0, 0, 6], 128)];
        match self {
            Preset::Loopback => &LOOPBACK,
            Preset::Private => &PRIVATE,
            Preset::LinkLocal => &LINK_LOCAL,
            Preset::IstioSidecar => &ISTIO_SIDECAR,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = TrustParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| TrustParseError::new(s, TrustParseReason::NotAnAddress))
    }
}

/// One entry of a [`ProxySet`] as the operator wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A range or single address (a `/32` or `/128`).
    Net(IpNet),
    /// A named preset.
    Preset(Preset),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Net(net) if net.prefix_len() == net.max_prefix_len() => net.addr().fmt(f),
            Entry::Net(net) => net.fmt(f),
            Entry::Preset(p) => p.fmt(f),
        }
    }
}

/// Why text is not a trusted-proxy entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid trusted proxy {item:?}: {reason}")]
pub struct TrustParseError {
    /// The offending entry (at most 64 characters of it).
    pub item: String,
    /// What is wrong with it.
    pub reason: TrustParseReason,
}

impl TrustParseError {
    fn new(item: &str, reason: TrustParseReason) -> Self {
        let item = item.chars().take(64).collect();
        Self { item, reason }
    }
}

/// What is wrong with a trusted-proxy entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustParseReason {
    /// Not an IP address, a CIDR range, or a preset name.
    #[error(
        "expected an IP address, a CIDR range (10.0.0.0/8) or a preset (loopback, private, link-local, istio-sidecar)"
    )]
    NotAnAddress,
    /// The prefix length is larger than the address allows.
    #[error("the prefix length is out of range (at most 32 for IPv4, 128 for IPv6)")]
    InvalidPrefix,
    /// Bits are set after the prefix (`10.0.0.1/8`): almost always a typo.
    #[error("host bits are set after the prefix; did you mean {0}?")]
    HostBitsSet(IpNet),
    /// The address carries an IPv6 zone id.
    #[error("zone ids have no meaning in a trusted proxy range")]
    ZoneId,
    /// The set is empty.
    #[error("no trusted proxy given")]
    Empty,
}

/// A set of trusted proxy addresses.
///
/// Build it from text, from presets, or from [`IpNet`]s; look addresses up
/// with [`contains`](ProxySet::contains). Cloning copies the ranges; share
/// one set behind the [`Resolver`](crate::Resolver) that owns it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxySet {
    /// As given, for display and round-tripping.
    entries: Vec<Entry>,
    /// Sorted, merged, non-overlapping inclusive intervals.
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

const MAPPED_START: u128 = 0xffff_0000_0000;
const MAPPED_END: u128 = 0xffff_ffff_ffff;

impl ProxySet {
    /// An empty set: trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set of one preset.
    ///
    /// ```
    /// use realip::{Preset, ProxySet};
    ///
    /// let sidecar = ProxySet::preset(Preset::IstioSidecar);
    /// assert!(sidecar.contains("::6".parse().unwrap()));
    /// ```
    pub fn preset(preset: Preset) -> Self {
        let mut set = Self::new();
        set.insert(Entry::Preset(preset));
        set
    }

    /// Adds a range, an address (as a `/32` or `/128`) or a preset.
    ///
    /// ```
    /// use realip::ProxySet;
    /// use realip::trust::Entry;
    ///
    /// let mut set = ProxySet::new();
    /// set.insert(Entry::Net("192.0.2.0/24".parse().unwrap()));
    /// assert!(set.contains("192.0.2.200".parse().unwrap()));
    /// ```
    pub fn insert(&mut self, entry: Entry) {
        self.extend(std::iter::once(entry));
    }

    /// The entries as given.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether the set is empty (trusts nothing).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of merged ranges that lookups search (IPv4 and IPv6).
    pub fn range_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether `ip` is in the set. IPv4-mapped IPv6 addresses are looked up
    /// as the IPv4 address they map.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_canonical(ip.to_canonical())
    }

    /// [`contains`](Self::contains) for an address known to be canonical
    /// (every [`HopAddr`](crate::addr::HopAddr) is): without the check for
    /// an IPv4-mapped address, which a hot loop pays for each hop.
    #[inline(always)]
    pub(crate) fn contains_canonical(&self, ip: IpAddr) -> bool {
        debug_assert_eq!(ip, ip.to_canonical());
        match ip {
            IpAddr::V4(v4) => contains(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => contains(&self.v6, u128::from(v6)),
        }
    }

    /// [`contains`](Self::contains) for an IPv4 address given as its
    /// integer.
    #[inline]
    pub(crate) fn contains_v4(&self, ip: u32) -> bool {
        contains(&self.v4, ip)
    }

    fn add_net(&mut self, net: IpNet) {
        match net.trunc() {
            IpNet::V4(n) => self
                .v4
                .push((u32::from(n.network()), u32::from(n.broadcast()))),
            IpNet::V6(n) => {
                let (start, end) = (u128::from(n.network()), u128::from(n.broadcast()));
                self.v6.push((start, end));
                // The part of the range inside ::ffff:0:0/96 also names IPv4
                // addresses, which lookups see in their canonical form.
                let (lo, hi) = (start.max(MAPPED_START), end.min(MAPPED_END));
                if lo <= hi {
                    self.v4.push((lo as u32, hi as u32));
                }
            }
        }
    }

    fn normalise(&mut self) {
        merge(&mut self.v4);
        merge(&mut self.v6);
    }
}

impl Extend<Entry> for ProxySet {
    fn extend<T: IntoIterator<Item = Entry>>(&mut self, iter: T) {
        for entry in iter {
            match entry {
                Entry::Net(net) => self.add_net(net),
                Entry::Preset(p) => p.networks().iter().for_each(|&n| self.add_net(n)),
            }
            self.entries.push(entry);
        }
        self.normalise();
    }
}

impl FromIterator<Entry> for ProxySet {
    fn from_iter<T: IntoIterator<Item = Entry>>(iter: T) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

impl FromIterator<IpNet> for ProxySet {
    fn from_iter<T: IntoIterator<Item = IpNet>>(iter: T) -> Self {
        iter.into_iter().map(Entry::Net).collect()
    }
}

impl From<Preset> for ProxySet {
    fn from(preset: Preset) -> Self {
        Self::preset(preset)
    }
}

impl FromStr for Entry {
    type Err = TrustParseError;

    /// Parses `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`, `::1` or a preset
    /// name. A range with host bits set (`10.0.0.1/8`) is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| TrustParseError::new(s, reason);
        if s.contains('%') {
            return Err(err(TrustParseReason::ZoneId));
        }
        if let Some((addr, len)) = s.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| err(TrustParseReason::NotAnAddress))?;
            if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 3 {
                return Err(err(TrustParseReason::InvalidPrefix));
            }
            let len: u8 = len
                .parse()
                .map_err(|_| err(TrustParseReason::InvalidPrefix))?;
            let net = IpNet::new(addr, len).map_err(|_| err(TrustParseReason::InvalidPrefix))?;
            if net.trunc() != net {
                return Err(err(TrustParseReason::HostBitsSet(net.trunc())));
            }
            return Ok(Entry::Net(canonical_net(net)));
        }
        if let Ok(addr) = s.parse::<IpAddr>() {
            return Ok(Entry::Net(IpNet::from(addr.to_canonical())));
        }
        s.parse::<Preset>()
            .map(Entry::Preset)
            .map_err(|_| err(TrustParseReason::NotAnAddress))
    }
}

impl FromStr for ProxySet {
    type Err = TrustParseError;

    /// Parses a list of entries separated by commas and/or whitespace.
    /// An empty list is an error: a resolver that trusts nothing is
    /// written by not configuring trust at all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let entries = s
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|item| !item.is_empty())
            .map(Entry::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err(TrustParseError::new(s, TrustParseReason::Empty));
        }
        Ok(entries.into_iter().collect())
    }
}

impl fmt::Display for ProxySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            entry.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProxySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxySet({self})")
    }
}

/// A range inside `::ffff:0:0/96` written as the IPv4 range it maps
/// (`::ffff:10.0.0.0/104` is `10.0.0.0/8`), so that it displays and
/// compares as what it matches.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::new_assert(v4, v6.prefix_len() - 96)),
            None => net,
        },
        _ => net,
    }
}

/// Sorts and merges overlapping or adjacent inclusive intervals.
fn merge<T: Copy + Ord + num::One>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges.iter() {
        match out.last_mut() {
            Some(last) if start <= last.1 || last.1.checked_add_one() == Some(start) => {
                last.1 = last.1.max(end);
            }
            _ => out.push((start, end)),
        }
    }
    *ranges = out;
}

/// Membership in sorted, disjoint intervals: a scan or one binary search.
#[inline]
fn contains<T: Copy + Ord>(ranges: &[(T, T)], x: T) -> bool {
    // A handful of ranges (the usual configuration) is faster to scan than
    // to bisect.
    if ranges.len() <= 8 {
        return ranges.iter().any(|&(start, end)| start <= x && x <= end);
    }
    // The last interval starting at or before `x` is the only candidate.
    let i = ranges.partition_point(|&(start, _)| start <= x);
    i > 0 && x <= ranges[i - 1].1
}

mod num {
    /// The integer widths intervals are stored in.
    pub trait One: Sized {
        fn checked_add_one(self) -> Option<Self>;
    }
    impl One for u32 {
        fn checked_add_one(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
    impl One for u128 {
        fn checked_add_one(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn membership() {
        let set: ProxySet = "10.0.0.0/8, 192.0.2.7, 2001:db8::/32, ::1".parse().unwrap();
        let table = [
            ("10.0.0.0", true),
            ("10.255.255.255", true),
            ("11.0.0.0", false),
            ("9.255.255.255", false),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("2001:db8:ffff::1", true),
            ("2001:db9::", false),
            ("::1", true),
            ("::2", false),
            ("::ffff:10.1.1.1", true),
            ("::ffff:11.1.1.1", false),
            ("::10.1.1.1", false), // IPv4-compatible stays IPv6
            ("64:ff9b::10.1.1.1", false),
        ];
        for (addr, expected) in table {
            assert_eq!(set.contains(ip(addr)), expected, "{addr}");
        }
    }

    #[test]
    fn mapped_ranges_cover_ipv4() {
        let set: ProxySet = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(set.to_string(), "10.0.0.0/8");
        assert!(set.contains(ip("10.9.9.9")));
        assert!(set.contains(ip("::ffff:10.9.9.9")));
        assert!(!set.contains(ip("11.0.0.0")));
        let single: ProxySet = "::ffff:192.0.2.1".parse().unwrap();
        assert!(single.contains(ip("192.0.2.1")));
        assert_eq!(single.to_string(), "192.0.2.1");
        let all_v6: ProxySet = "::/0".parse().unwrap();
        assert!(
            all_v6.contains(ip("203.0.113.1")),
            "::/0 includes the mapped space"
        );
        let no_mapped: ProxySet = "2001:db8::/32".parse().unwrap();
        assert!(!no_mapped.contains(ip("0.0.0.1")));
    }

    #[test]
    fn presets() {
        let table = [
            ("loopback", "127.9.9.9", true),
            ("loopback", "::1", true),
            ("loopback", "10.0.0.1", false),
            ("private", "10.0.0.1", true),
            ("private", "172.31.255.255", true),
            ("private", "172.32.0.0", false),
            ("private", "192.168.1.1", true),
            ("private", "fd00::1", true),
            ("private", "100.64.0.1", false),
            ("link-local", "169.254.1.1", true),
            ("link-local", "fe80::1", true),
            ("istio-sidecar", "127.0.0.6", true),
            ("istio-sidecar", "::6", true),
            ("istio-sidecar", "127.0.0.1", false),
            ("ISTIO-SIDECAR", "127.0.0.6", true),
        ];
        for (preset, addr, expected) in table {
            let set: ProxySet = preset.parse().unwrap();
            assert_eq!(set.contains(ip(addr)), expected, "{preset} {addr}");
        }
    }

    #[test]
    fn parse_errors_name_the_entry() {
        let table: &[(&str, TrustParseReason)] = &[
            ("10.0.0.0/33", TrustParseReason::InvalidPrefix),
            ("10.0.0.0/", TrustParseReason::InvalidPrefix),
            ("10.0.0.0/-1", TrustParseReason::InvalidPrefix),
            ("::/129", TrustParseReason::InvalidPrefix),
            (
                "10.0.0.1/8",
                TrustParseReason::HostBitsSet("10.0.0.0/8".parse().unwrap()),
            ),
            ("010.0.0.0/8", TrustParseReason::NotAnAddress),
            ("fe80::1%eth0", TrustParseReason::ZoneId),
            ("localhost", TrustParseReason::NotAnAddress),
            ("", TrustParseReason::Empty),
            (" , ", TrustParseReason::Empty),
        ];
        for (text, reason) in table {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(&err.reason, reason, "{text:?}");
        }
        let err = "10.0.0.0/8, bogus".parse::<ProxySet>().unwrap_err();
        assert_eq!(err.item, "bogus");
        assert!(err.to_string().contains("bogus"), "{err}");
        let long = "x".repeat(1000);
        assert_eq!(long.parse::<ProxySet>().unwrap_err().item.len(), 64);
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "10.0.0.0/8, istio-sidecar, ::1",
            "private",
            "2001:db8::/32, 192.0.2.1",
        ] {
            let set: ProxySet = text.parse().unwrap();
            assert_eq!(set.to_string(), text);
            assert_eq!(set.to_string().parse::<ProxySet>().unwrap(), set);
        }
    }

    #[test]
    fn merges_overlapping_and_adjacent_ranges() {
        let set: ProxySet = "10.0.0.0/9, 10.128.0.0/9, 10.1.0.0/16, 11.0.0.0/8"
            .parse()
            .unwrap();
        assert_eq!(set.range_count(), 1);
        assert!(set.contains(ip("11.255.255.255")));
        assert!(!set.contains(ip("12.0.0.0")));
        let full: ProxySet = "0.0.0.0/0, 255.255.255.255".parse().unwrap();
        assert!(full.contains(ip("255.255.255.255")));
    }

    #[test]
    fn thousands_of_ranges() {
        let set: ProxySet = (0..10_000u32)
            .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i * 512), 24).unwrap()))
            .collect();
        assert_eq!(set.range_count(), 10_000);
        assert!(set.contains(ip("10.0.0.1")));
        assert!(!set.contains(ip("10.0.1.1")));
        assert!(set.contains(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 9_999 * 512 + 255))));
        assert!(!set.contains(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 9_999 * 512 + 256))));
    }
}
