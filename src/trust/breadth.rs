//! How much of the address space a set holds, judged on the merged set.
//!
//! Each range can mean what it says while the set as a whole does not:
//! `0.0.0.0/1, 128.0.0.0/1` is two sound halves that together trust every
//! IPv4 peer, and a published list from a poisoned server can hold ranges
//! no provider's proxies connect from. So the merged intervals a lookup
//! searches are judged too: a set that holds a whole address family is
//! refused, and so is one whose public part is implausibly large for
//! proxies. Cloudflare's whole edge is about 1.5 million IPv4 addresses
//! and a few `/32`s of IPv6; the bounds are far above any provider
//! ([`MAX_PUBLIC_IPV4`], [`MAX_PUBLIC_IPV6`]) and far below "everybody".
//!
//! Address space that proxies inside a network use, and that no client
//! on the internet connects from, does not count: private (RFC 1918),
//! shared (`100.64.0.0/10`, RFC 6598: carrier-grade NAT, and the pod or
//! overlay range of some clusters and meshes), loopback and link-local
//! IPv4; loopback, link-local and unique local (`fc00::/7`) IPv6.

use super::{AddressFamily, Entry, ProxySet, TrustParseError};
use ipnet::IpNet;

/// The most public IPv4 addresses a trusted set may hold: 2^28, a
/// sixteenth of the address space (Cloudflare's ranges hold about 1.5
/// million).
pub const MAX_PUBLIC_IPV4: u128 = 1 << 28;

/// The most public IPv6 addresses a trusted set may hold: 2^120, a `/8`
/// (Cloudflare's ranges are six `/32`s and a `/29`).
pub const MAX_PUBLIC_IPV6: u128 = 1 << 120;

/// How many entries a refusal names, largest first.
const NAMED: usize = 4;

/// An inclusive interval of addresses, as a number of either width.
type Interval = (u128, u128);

/// `a.b.c.d/len` as an interval (`len` below 32).
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u32) -> Interval {
    let start = u32::from_be_bytes([a, b, c, d]);
    (start as u128, (start | (u32::MAX >> len)) as u128)
}

/// An IPv6 range whose first 16 bits are `head`, `/len` (1 to 127).
const fn v6(head: u16, len: u32) -> Interval {
    let start = (head as u128) << 112;
    (start, start | (u128::MAX >> len))
}

/// IPv4 space that does not count as public, sorted.
const NOT_PUBLIC_V4: [Interval; 6] = [
    v4(10, 0, 0, 0, 8),
    v4(100, 64, 0, 0, 10),
    v4(127, 0, 0, 0, 8),
    v4(169, 254, 0, 0, 16),
    v4(172, 16, 0, 0, 12),
    v4(192, 168, 0, 0, 16),
];

/// IPv6 space that does not count as public, sorted: `::1`, `fc00::/7`,
/// `fe80::/10`.
const NOT_PUBLIC_V6: [Interval; 3] = [(1, 1), v6(0xfc00, 7), v6(0xfe80, 10)];

/// The IPv6 addresses a canonical IPv6 range can hold: all but the
/// IPv4-mapped `::ffff:0:0/96`, which is IPv4 (a set holds it as IPv4
/// ranges, and refuses IPv6 ranges that contain it).
const ALL_V6_BUT_MAPPED: u128 = u128::MAX - (1 << 32) + 1;

/// The addresses in `ranges` (disjoint intervals).
fn size(ranges: impl Iterator<Item = Interval>) -> u128 {
    ranges.fold(0u128, |total, (start, end)| {
        total.saturating_add((end - start).saturating_add(1))
    })
}

/// The addresses in `ranges` (disjoint intervals) outside the sorted,
/// disjoint `excluded` intervals.
fn public(ranges: impl Iterator<Item = Interval>, excluded: &[Interval]) -> u128 {
    ranges.fold(0u128, |total, (start, end)| {
        let all = (end - start).saturating_add(1);
        let hidden: u128 = excluded
            .iter()
            .filter(|&&(a, b)| a <= end && start <= b)
            .map(|&(a, b)| b.min(end) - a.max(start) + 1)
            .sum();
        total.saturating_add(all - hidden)
    })
}

impl AddressFamily {
    /// The space of this family that does not count as public.
    fn not_public(self) -> &'static [Interval] {
        match self {
            AddressFamily::Ipv4 => &NOT_PUBLIC_V4,
            AddressFamily::Ipv6 => &NOT_PUBLIC_V6,
        }
    }

    /// The most public addresses of this family a set may hold.
    pub(super) fn max_public(self) -> u128 {
        match self {
            AddressFamily::Ipv4 => MAX_PUBLIC_IPV4,
            AddressFamily::Ipv6 => MAX_PUBLIC_IPV6,
        }
    }
}

/// The intervals of `net` in `family` (none when it is of the other).
fn interval(net: IpNet, family: AddressFamily) -> Option<Interval> {
    match (net, family) {
        (IpNet::V4(n), AddressFamily::Ipv4) => Some((
            u32::from(n.network()).into(),
            u32::from(n.broadcast()).into(),
        )),
        (IpNet::V6(n), AddressFamily::Ipv6) => {
            Some((u128::from(n.network()), u128::from(n.broadcast())))
        }
        _ => None,
    }
}

/// The ranges of `entry` in `family`.
fn entry_intervals(entry: &Entry, family: AddressFamily) -> impl Iterator<Item = Interval> + '_ {
    let nets: &[IpNet] = match entry {
        Entry::Net(net) => std::slice::from_ref(net),
        Entry::Preset(preset) => preset.networks(),
    };
    nets.iter().filter_map(move |&net| interval(net, family))
}

impl ProxySet {
    /// The merged intervals of `family`, as numbers of one width.
    fn intervals(&self, family: AddressFamily) -> Box<dyn Iterator<Item = Interval> + '_> {
        match family {
            AddressFamily::Ipv4 => Box::new(
                self.v4
                    .iter()
                    .map(|&(start, end)| (start.into(), end.into())),
            ),
            AddressFamily::Ipv6 => Box::new(self.v6.iter().copied()),
        }
    }

    /// The entries that `measure` finds any addresses in, named for a
    /// refusal: the largest first, at most [`NAMED`] of them, then how
    /// many more there are. Entries are shown in their canonical form, so
    /// the text is bounded whatever was written.
    fn named(&self, measure: impl Fn(&Entry) -> u128) -> String {
        let mut held: Vec<(u128, &Entry)> = self
            .entries
            .iter()
            .map(|entry| (measure(entry), entry))
            .filter(|&(amount, _)| amount > 0)
            .collect();
        // Stable: entries of one size keep the order they were written in.
        held.sort_by_key(|&(amount, _)| std::cmp::Reverse(amount));
        let mut text = held
            .iter()
            .take(NAMED)
            .map(|(_, entry)| entry.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if held.len() > NAMED {
            text.push_str(&format!(", … and {} more", held.len() - NAMED));
        }
        text
    }

    /// Refuses a set whose merged ranges hold a whole address family, or
    /// more public addresses of a family than any proxies connect from.
    pub(super) fn judge_breadth(&self) -> Result<(), TrustParseError> {
        for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
            let whole = match family {
                AddressFamily::Ipv4 => u128::from(u32::MAX) + 1,
                AddressFamily::Ipv6 => ALL_V6_BUT_MAPPED,
            };
            if size(self.intervals(family)) >= whole {
                let ranges = self.named(|e| size(entry_intervals(e, family)));
                return Err(TrustParseError::CoversFamily { family, ranges });
            }
        }
        for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
            let held = public(self.intervals(family), family.not_public());
            if held > family.max_public() {
                let ranges =
                    self.named(|e| public(entry_intervals(e, family), family.not_public()));
                return Err(TrustParseError::TooManyPublicAddresses {
                    family,
                    ranges,
                    public: held,
                });
            }
        }
        Ok(())
    }
}

/// How many addresses `amount` is, in words a message can show: exact for
/// IPv4, a power of two for IPv6 (whose counts have 39 digits).
pub(crate) fn amount(family: &AddressFamily, amount: &u128) -> String {
    let amount = *amount;
    match family {
        AddressFamily::Ipv4 => amount.to_string(),
        AddressFamily::Ipv6 => format!("about 2^{}", amount.max(1).ilog2()),
    }
}

/// The bound of `family`, in words a message can show.
pub(crate) fn bound(family: &AddressFamily) -> &'static str {
    match family {
        AddressFamily::Ipv4 => "2^28 = 268435456, a sixteenth of the IPv4 space",
        AddressFamily::Ipv6 => "2^120, a /8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(text: &str) -> Result<(), TrustParseError> {
        let set: ProxySet = text
            .split(", ")
            .map(|n| n.parse::<IpNet>().unwrap())
            .collect();
        set.judge_breadth()
    }

    #[test]
    fn the_space_that_does_not_count_is_sorted_and_disjoint() {
        for ranges in [&NOT_PUBLIC_V4[..], &NOT_PUBLIC_V6[..]] {
            for pair in ranges.windows(2) {
                assert!(pair[0].1 < pair[1].0, "{pair:?}");
            }
        }
        assert_eq!(NOT_PUBLIC_V4[0], (0x0a00_0000, 0x0aff_ffff));
        assert_eq!(
            v6(0xfe80, 10).1,
            u128::from(
                "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
            )
        );
    }

    #[test]
    fn public_counts_what_is_outside_the_excluded_space() {
        assert_eq!(public([v4(10, 0, 0, 0, 8)].into_iter(), &NOT_PUBLIC_V4), 0);
        assert_eq!(
            public([v4(8, 0, 0, 0, 6)].into_iter(), &NOT_PUBLIC_V4),
            (1 << 26) - (1 << 24)
        );
        let everything = [(0, u128::from(u32::MAX))];
        let hidden: u128 = NOT_PUBLIC_V4.iter().map(|&(a, b)| b - a + 1).sum();
        assert_eq!(
            public(everything.into_iter(), &NOT_PUBLIC_V4),
            (1 << 32) - hidden
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        // Exactly 2^28 public IPv4 addresses: sixteen public /8s.
        let sixteen: Vec<String> = (1..=16).map(|a| format!("{}.0.0.0/8", a + 10)).collect();
        assert_eq!(judged(&sixteen.join(", ")), Ok(()));
        // One more address is one too many.
        let seventeen = format!("{}, 64.0.0.1/32", sixteen.join(", "));
        assert!(matches!(
            judged(&seventeen),
            Err(TrustParseError::TooManyPublicAddresses { public, .. }) if public == MAX_PUBLIC_IPV4 + 1
        ));
        assert_eq!(judged("2000::/8"), Ok(()));
        assert!(judged("2000::/8, 3000::/128").is_err());
    }
}
