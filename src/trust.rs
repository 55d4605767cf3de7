//! Sets of trusted proxy addresses: CIDR ranges, single addresses and named
//! presets, with fast membership for a handful or for thousands of ranges.
//!
//! A [`ProxySet`] answers one question: *is this address one of my
//! proxies?* It is parsed from the text operators write
//! (`"10.0.0.0/8, 127.0.0.6, ::1, loopback"`), keeps that text form for
//! display, and stores the ranges as sorted, merged intervals: a lookup
//! scans a handful of them, or bisects thousands.
//!
//! Membership is decided on canonical addresses: an IPv4-mapped IPv6
//! address (`::ffff:10.1.2.3`) is looked up as IPv4, and a range given in
//! the mapped form (`::ffff:10.0.0.0/104`) is the IPv4 range it maps
//! (`10.0.0.0/8`), and is shown as such. Otherwise an allow-list written in
//! one form could be bypassed with the other.
//!
//! A range that trusts more than it says is refused: the whole address
//! space (`0.0.0.0/0`, `::/0`), and an IPv6 range that contains the
//! IPv4-mapped addresses without being written as IPv4 (`::/80` holds
//! `::ffff:0:0/96`, so it would trust every IPv4 address while reading as
//! an IPv6 range). A set never trusts an address its
//! [`Display`](std::fmt::Display) does not show.
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

#[cfg(feature = "serde")]
mod serde;

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
    /// The whole address space of a family (`0.0.0.0/0`, `::/0`).
    #[error(
        "it trusts every address, so any client could write the header; to believe the nearest \
         hops whoever the peer is, count them instead (hops=N; any-peer), and only where nothing \
         else can reach the application"
    )]
    WholeAddressSpace,
    /// An IPv6 range that contains the IPv4-mapped addresses
    /// (`::ffff:0:0/96`) without being written as an IPv4 range.
    #[error(
        "it contains ::ffff:0:0/96, the IPv4-mapped addresses, so it would trust every IPv4 \
         address while it reads as an IPv6 range; write the IPv4 ranges you mean as IPv4 \
         (10.0.0.0/8), and IPv6 ranges that stop short of ::ffff:0:0/96"
    )]
    CoversMappedIpv4,
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

/// `::ffff:0:0/96`: IPv4-mapped IPv6 addresses.
const MAPPED: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);

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

    /// Whether every range means what it says: not the whole address space,
    /// and no IPv6 range that contains the IPv4-mapped addresses
    /// (`::ffff:0:0/96`). Parsing refuses such ranges; a set built from
    /// [`IpNet`]s is checked when a [`Resolver`](crate::Resolver) is built
    /// with it.
    ///
    /// ```
    /// use realip::ProxySet;
    /// use ipnet::IpNet;
    ///
    /// let set: ProxySet = ["::/80".parse::<IpNet>().unwrap()].into_iter().collect();
    /// let err = set.check().unwrap_err();
    /// assert_eq!(err.item, "::/80");
    /// assert!("::/80".parse::<ProxySet>().is_err());
    /// ```
    pub fn check(&self) -> Result<(), TrustParseError> {
        for entry in &self.entries {
            if let Entry::Net(net) = entry {
                meaningful(*net)
                    .map_err(|reason| TrustParseError::new(&entry.to_string(), reason))?;
            }
        }
        Ok(())
    }

    /// [`contains`](Self::contains) for an IPv4 address given as its
    /// integer.
    #[inline]
    pub(crate) fn contains_v4(&self, ip: u32) -> bool {
        contains(&self.v4, ip)
    }

    /// Adds a canonical range (see [`canonical_net`]). An IPv6 range adds
    /// no IPv4 addresses: lookups see a mapped address as IPv4, so the
    /// mapped part of a wider IPv6 range matches nothing (and such a range
    /// is refused before it can mislead anyone).
    fn add_net(&mut self, net: IpNet) {
        match net {
            IpNet::V4(n) => self
                .v4
                .push((u32::from(n.network()), u32::from(n.broadcast()))),
            IpNet::V6(n) => self
                .v6
                .push((u128::from(n.network()), u128::from(n.broadcast()))),
        }
    }

    fn normalise(&mut self) {
        merge(&mut self.v4);
        merge(&mut self.v6);
    }
}

impl Extend<Entry> for ProxySet {
    /// Adds entries. A range is kept truncated to its prefix and, when it
    /// is written in the IPv4-mapped form, as the IPv4 range it maps.
    fn extend<T: IntoIterator<Item = Entry>>(&mut self, iter: T) {
        for entry in iter {
            let entry = match entry {
                Entry::Net(net) => Entry::Net(canonical_net(net.trunc())),
                preset => preset,
            };
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
            let net = canonical_net(net);
            meaningful(net).map_err(err)?;
            return Ok(Entry::Net(net));
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

/// Refuses a canonical range that trusts more than it says.
fn meaningful(net: IpNet) -> Result<(), TrustParseReason> {
    match net {
        _ if net.prefix_len() == 0 => Err(TrustParseReason::WholeAddressSpace),
        // CIDR ranges nest or are disjoint: a canonical IPv6 range (not
        // itself inside the mapped space) that meets it contains it whole.
        IpNet::V6(v6) if v6.contains(&MAPPED) => Err(TrustParseReason::CoversMappedIpv4),
        _ => Ok(()),
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
        let no_mapped: ProxySet = "2001:db8::/32".parse().unwrap();
        assert!(!no_mapped.contains(ip("0.0.0.1")));
        // Built from IpNets (not parsed, so not refused): a mapped range is
        // kept as IPv4, and a wider IPv6 range trusts no IPv4 address,
        // which is what its display says.
        let built: ProxySet = ["::ffff:10.0.0.0/104", "::/80"]
            .iter()
            .map(|n| n.parse::<IpNet>().unwrap())
            .collect();
        assert_eq!(built.to_string(), "10.0.0.0/8, ::/80");
        assert!(built.contains(ip("10.1.2.3")));
        assert!(!built.contains(ip("203.0.113.1")));
        assert!(!built.contains(ip("::ffff:203.0.113.1")));
        assert!(built.contains(ip("::1:2")));
        assert_eq!(
            built.check().unwrap_err().reason,
            TrustParseReason::CoversMappedIpv4
        );
    }

    #[test]
    fn ranges_that_trust_more_than_they_say_are_refused() {
        let table: &[(&str, TrustParseReason)] = &[
            ("0.0.0.0/0", TrustParseReason::WholeAddressSpace),
            ("::/0", TrustParseReason::WholeAddressSpace),
            ("::ffff:0:0/96", TrustParseReason::WholeAddressSpace),
            ("::/80", TrustParseReason::CoversMappedIpv4),
            ("::/64", TrustParseReason::CoversMappedIpv4),
            ("::/1", TrustParseReason::CoversMappedIpv4),
            ("::fffe:0:0/95", TrustParseReason::CoversMappedIpv4),
        ];
        for (text, reason) in table {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(&err.reason, reason, "{text:?}");
            let built: ProxySet = [text.parse::<IpNet>().unwrap()].into_iter().collect();
            assert_eq!(built.check().unwrap_err().reason, *reason, "{text:?} built");
        }
        // Next to the mapped space, or inside it: what they say.
        for text in [
            "0.0.0.0/1",
            "128.0.0.0/1",
            "::/96",
            "::1:0:0/96",
            "::ffff:0:0/97",
            "8000::/1",
            "2001:db8::/32",
        ] {
            let set: ProxySet = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(set.check().is_ok(), "{text}");
        }
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
        let halves: ProxySet = "0.0.0.0/1, 128.0.0.0/1, 255.255.255.255".parse().unwrap();
        assert_eq!(halves.range_count(), 1);
        assert!(halves.contains(ip("255.255.255.255")));
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
