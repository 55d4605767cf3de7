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
//! Sets that change (a provider's published ranges, a file that deployments
//! update) live behind a [`SharedProxySet`]: a handle whose set is replaced
//! whole while requests are being resolved, by [`store`](SharedProxySet::store),
//! from a file on demand ([`reload_from_file`](SharedProxySet::reload_from_file))
//! or whenever the file changes ([`watch_file`](SharedProxySet::watch_file)).
//! Only a non-empty set that passes [`ProxySet::check`] is swapped in; a
//! failed reload keeps the last good set and says why.
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

use crate::echo::bounded;

mod breadth;
mod published;
mod reload;
mod reload_error;
#[cfg(feature = "serde")]
mod serde;
mod shared;

pub use breadth::{MAX_PUBLIC_IPV4, MAX_PUBLIC_IPV6};
pub(crate) use breadth::{amount as breadth_amount, bound as breadth_bound};
pub use published::PublishedListError;
pub use reload::FileWatcher;
pub use reload_error::{MAX_FILE_LEN, ReloadError};
pub(crate) use shared::LoadedSet;
pub use shared::SharedProxySet;

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
    /// Cloudflare's published ranges, as taken on the date
    /// [`as_of`](Preset::as_of) says from [`source`](Preset::source): the
    /// addresses Cloudflare's edge connects to an origin from. The list
    /// changes rarely but does change: refresh it (see the README).
    Cloudflare,
    /// Google Cloud's external Application Load Balancer front ends and
    /// health checkers, `130.211.0.0/22` and `35.191.0.0/16`, as documented
    /// on the date [`as_of`](Preset::as_of) says.
    GcpLb,
}

impl Preset {
    /// Every preset, in the order they are documented.
    pub const ALL: [Preset; 6] = [
        Preset::Loopback,
        Preset::Private,
        Preset::LinkLocal,
        Preset::IstioSidecar,
        Preset::Cloudflare,
        Preset::GcpLb,
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
            Preset::Cloudflare => "cloudflare",
            Preset::GcpLb => "gcp-lb",
        }
    }

    /// For ranges a provider publishes and changes, the date (`YYYY-MM-DD`)
    /// this list was taken; `None` for ranges fixed by standards. A test
    /// fails when a date is more than a year old, so that no release ships
    /// a stale list unnoticed.
    ///
    /// ```
    /// use realip::Preset;
    ///
    /// assert_eq!(Preset::Cloudflare.as_of(), Some("2026-09-29"));
    /// assert_eq!(Preset::Private.as_of(), None);
    /// ```
    pub fn as_of(self) -> Option<&'static str> {
        match self {
            Preset::Cloudflare => Some("2026-09-29"),
            Preset::GcpLb => Some("2026-11-26"),
            Preset::Loopback | Preset::Private | Preset::LinkLocal | Preset::IstioSidecar => None,
        }
    }

    /// Where a provider's list is published (`None` for ranges fixed by
    /// standards).
    pub fn source(self) -> Option<&'static str> {
        match self {
            Preset::Cloudflare => Some("https://www.cloudflare.com/ips/"),
            Preset::GcpLb => {
                Some("https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges")
            }
            Preset::Loopback | Preset::Private | Preset::LinkLocal | Preset::IstioSidecar => None,
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
        // https://www.cloudflare.com/ips-v4 and ips-v6, unchanged on
        // 2026-09-29.
        const CLOUDFLARE: [IpNet; 22] = [
            v4(173, 245, 48, 0, 20),
            v4(103, 21, 244, 0, 22),
            v4(103, 22, 200, 0, 22),
            v4(103, 31, 4, 0, 22),
            v4(141, 101, 64, 0, 18),
            v4(108, 162, 192, 0, 18),
            v4(190, 93, 240, 0, 20),
            v4(188, 114, 96, 0, 20),
            v4(197, 234, 240, 0, 22),
            v4(198, 41, 128, 0, 17),
            v4(162, 158, 0, 0, 15),
            v4(104, 16, 0, 0, 13),
            v4(104, 24, 0, 0, 14),
            v4(172, 64, 0, 0, 13),
            v4(131, 0, 72, 0, 22),
            v6([0x2400, 0xcb00, 0, 0, 0, 0, 0, 0], 32),
            v6([0x2606, 0x4700, 0, 0, 0, 0, 0, 0], 32),
            v6([0x2803, 0xf800, 0, 0, 0, 0, 0, 0], 32),
            v6([0x2405, 0xb500, 0, 0, 0, 0, 0, 0], 32),
            v6([0x2405, 0x8100, 0, 0, 0, 0, 0, 0], 32),
            v6([0x2a06, 0x98c0, 0, 0, 0, 0, 0, 0], 29),
            v6([0x2c0f, 0xf248, 0, 0, 0, 0, 0, 0], 32),
        ];
        const GCP_LB: [IpNet; 2] = [v4(130, 211, 0, 0, 22), v4(35, 191, 0, 0, 16)];
        match self {
            Preset::Loopback => &LOOPBACK,
            Preset::Private => &PRIVATE,
            Preset::LinkLocal => &LINK_LOCAL,
            Preset::IstioSidecar => &ISTIO_SIDECAR,
            Preset::Cloudflare => &CLOUDFLARE,
            Preset::GcpLb => &GCP_LB,
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
            .ok_or_else(|| TrustParseError::NotAnAddress(bounded(s)))
    }
}

/// An address family, as a refusal of a whole set names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// IPv4 (IPv4-mapped IPv6 addresses and ranges included: they are
    /// judged as the IPv4 they map).
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::Ipv4 => "IPv4",
            AddressFamily::Ipv6 => "IPv6",
        })
    }
}

/// One entry of a [`ProxySet`] as the operator wrote it. Internal: users
/// add entries with [`ProxySet::insert_net`] and [`ProxySet::insert_preset`]
/// and read them back with [`ProxySet::nets`] and [`ProxySet::presets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Entry {
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

/// Why text is not a trusted-proxy entry, or why a range is refused.
///
/// Every variant about one entry carries it as written (at most 64
/// characters of it), and its message names it; the refusals of a set as
/// a whole ([`CoversFamily`](Self::CoversFamily),
/// [`TooManyPublicAddresses`](Self::TooManyPublicAddresses)) name the
/// largest of its ranges instead.
///
/// ```
/// use realip::ProxySet;
/// use realip::trust::TrustParseError;
///
/// let err = "10.0.0.0/8, 10.0.0.1/8".parse::<ProxySet>().unwrap_err();
/// assert!(matches!(err, TrustParseError::HostBitsSet { .. }));
/// assert_eq!(err.entry(), Some("10.0.0.1/8"));
/// assert_eq!(
///     err.to_string(),
///     r#"invalid trusted proxy "10.0.0.1/8": host bits are set after the prefix; did you mean 10.0.0.0/8?"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustParseError {
    /// Not an IP address, a CIDR range, or a preset name.
    #[error(
        "invalid trusted proxy {0:?}: expected an IP address, a CIDR range (10.0.0.0/8) or a preset (loopback, private, link-local, istio-sidecar, cloudflare, gcp-lb)"
    )]
    NotAnAddress(String),
    /// The prefix length is not a plain decimal number (digits only, no
    /// sign, no leading zero: `10.0.0.0/08` is refused as `hops=08` is),
    /// or larger than the address allows.
    #[error(
        "invalid trusted proxy {0:?}: the prefix length is not a plain decimal number (digits only, no sign or leading zero) of at most 32 for IPv4, 128 for IPv6"
    )]
    InvalidPrefix(String),
    /// Bits are set after the prefix (`10.0.0.1/8`): almost always a typo.
    #[error(
        "invalid trusted proxy {entry:?}: host bits are set after the prefix; did you mean {network}?"
    )]
    HostBitsSet {
        /// The entry as written.
        entry: String,
        /// The range the entry probably means: its host bits cleared.
        network: IpNet,
    },
    /// The address carries an IPv6 zone id.
    #[error("invalid trusted proxy {0:?}: zone ids have no meaning in a trusted proxy range")]
    ZoneId(String),
    /// The text holds no entry at all (empty, or only separators).
    #[error("invalid trusted proxy \"\": no trusted proxy given")]
    Empty,
    /// The whole address space of a family (`0.0.0.0/0`, `::/0`).
    #[error(
        "invalid trusted proxy {0:?}: it trusts every address, so any client could write the \
         header; to believe the nearest hops whoever the peer is, count them instead (hops=N; \
         any-peer), and only where nothing else can reach the application"
    )]
    WholeAddressSpace(String),
    /// An IPv6 range that contains the IPv4-mapped addresses
    /// (`::ffff:0:0/96`) without being written as an IPv4 range.
    #[error(
        "invalid trusted proxy {0:?}: it contains ::ffff:0:0/96, the IPv4-mapped addresses, so it \
         would trust every IPv4 address while it reads as an IPv6 range; write the IPv4 ranges \
         you mean as IPv4 (10.0.0.0/8), and IPv6 ranges that stop short of ::ffff:0:0/96"
    )]
    CoversMappedIpv4(String),
    /// Ranges that together hold every address of a family
    /// (`0.0.0.0/1, 128.0.0.0/1`; `::ffff:0.0.0.0/97, ::ffff:128.0.0.0/97`,
    /// which are the same IPv4 halves), judged on the merged set.
    #[error(
        "invalid trusted proxies {ranges:?}: together they hold every {family} address, so any \
         client could write the header; list only the ranges your proxies connect from (for \
         example 10.0.0.0/8, or your provider's published ranges); to believe the nearest hops \
         whoever the peer is, count them instead (hops=N; any-peer), and only where nothing \
         else can reach the application"
    )]
    CoversFamily {
        /// The family the ranges cover.
        family: AddressFamily,
        /// The largest of the set's ranges of that family, as the set
        /// shows them (at most four, then how many more).
        ranges: String,
    },
    /// A set whose public part is implausibly large for proxies: more than
    /// [`MAX_PUBLIC_IPV4`] public IPv4 addresses or [`MAX_PUBLIC_IPV6`]
    /// public IPv6 addresses, judged on the merged set. Private, shared
    /// (`100.64.0.0/10`), loopback, link-local and unique local
    /// (`fc00::/7`) addresses do not count.
    #[error(
        "invalid trusted proxies {ranges:?}: together they hold {} public {family} addresses, \
         more than any proxies connect from (at most {}; Cloudflare's whole edge is about 1.5 \
         million IPv4 addresses), so they would trust clients as proxies; list only the ranges \
         your proxies connect from (private, shared 100.64.0.0/10, loopback and link-local \
         addresses do not count)",
        breadth::amount(.family, .public),
        breadth::bound(.family)
    )]
    TooManyPublicAddresses {
        /// The family whose public part is too large.
        family: AddressFamily,
        /// The ranges holding the most public addresses of that family,
        /// as the set shows them (at most four, then how many more).
        ranges: String,
        /// How many public addresses of that family the set holds.
        public: u128,
    },
}

impl TrustParseError {
    /// The offending entry as written (at most 64 characters of it);
    /// `None` for [`Empty`](Self::Empty), which has none, and for the
    /// refusals of a set as a whole, which name its ranges in their
    /// `ranges` field.
    ///
    /// ```
    /// use realip::ProxySet;
    ///
    /// let err = "10.0.0.0/8, gateway.internal".parse::<ProxySet>().unwrap_err();
    /// assert_eq!(err.entry(), Some("gateway.internal"));
    /// assert_eq!("".parse::<ProxySet>().unwrap_err().entry(), None);
    /// ```
    pub fn entry(&self) -> Option<&str> {
        match self {
            TrustParseError::NotAnAddress(entry)
            | TrustParseError::InvalidPrefix(entry)
            | TrustParseError::HostBitsSet { entry, .. }
            | TrustParseError::ZoneId(entry)
            | TrustParseError::WholeAddressSpace(entry)
            | TrustParseError::CoversMappedIpv4(entry) => Some(entry),
            TrustParseError::Empty
            | TrustParseError::CoversFamily { .. }
            | TrustParseError::TooManyPublicAddresses { .. } => None,
        }
    }
}

/// A [`TrustParseError`] variant that still needs the entry's text (the
/// variant's constructor), for checks that see a range, not its text.
type Refusal = fn(String) -> TrustParseError;

/// A set of trusted proxy addresses.
///
/// Build it from text, from presets, or from [`IpNet`]s; look addresses up
/// with [`contains`](ProxySet::contains). Cloning copies the ranges; share
/// one set behind the [`Resolver`](crate::Resolver) that owns it, or
/// behind a [`SharedProxySet`] to replace it while requests are resolved.
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
        set.insert_preset(preset);
        set
    }

    /// Adds a range, or an address as a `/32` or `/128`. The range is kept
    /// truncated to its prefix and, when it is written in the IPv4-mapped
    /// form (`::ffff:10.0.0.0/104`), as the IPv4 range it maps.
    ///
    /// Unlike parsing, inserting refuses nothing: a range that trusts more
    /// than it says (`::/80`) is refused by [`check`](Self::check), which
    /// building a [`Resolver`](crate::Resolver) runs.
    ///
    /// ```
    /// use realip::ProxySet;
    ///
    /// let mut set = ProxySet::new();
    /// set.insert_net("192.0.2.0/24".parse().unwrap());
    /// assert!(set.contains("192.0.2.200".parse().unwrap()));
    /// ```
    pub fn insert_net(&mut self, net: IpNet) {
        self.extend(std::iter::once(Entry::Net(net)));
    }

    /// Adds the ranges of a preset; the text form shows it by name.
    ///
    /// ```
    /// use realip::{Preset, ProxySet};
    ///
    /// let mut set: ProxySet = "10.0.0.0/8".parse().unwrap();
    /// set.insert_preset(Preset::IstioSidecar);
    /// assert!(set.contains("127.0.0.6".parse().unwrap()));
    /// assert_eq!(set.to_string(), "10.0.0.0/8, istio-sidecar");
    /// ```
    pub fn insert_preset(&mut self, preset: Preset) {
        self.extend(std::iter::once(Entry::Preset(preset)));
    }

    /// The ranges and addresses added to the set (an address as a `/32` or
    /// `/128`), in the order they were added, in the form the text form
    /// shows them: truncated, and IPv4-mapped ranges as IPv4. The ranges of
    /// presets are not among them (see [`presets`](Self::presets)).
    ///
    /// ```
    /// use realip::ProxySet;
    /// use ipnet::IpNet;
    ///
    /// let set: ProxySet = "::ffff:10.0.0.0/104, private, 192.0.2.7".parse().unwrap();
    /// let nets: Vec<IpNet> = set.nets().collect();
    /// assert_eq!(nets, ["10.0.0.0/8".parse::<IpNet>().unwrap(), "192.0.2.7/32".parse().unwrap()]);
    /// ```
    pub fn nets(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.entries.iter().filter_map(|entry| match *entry {
            Entry::Net(net) => Some(net),
            Entry::Preset(_) => None,
        })
    }

    /// The presets added to the set, in the order they were added.
    ///
    /// ```
    /// use realip::{Preset, ProxySet};
    ///
    /// let set: ProxySet = "istio-sidecar, 10.0.0.0/8, loopback".parse().unwrap();
    /// let presets: Vec<Preset> = set.presets().collect();
    /// assert_eq!(presets, [Preset::IstioSidecar, Preset::Loopback]);
    /// ```
    pub fn presets(&self) -> impl Iterator<Item = Preset> + '_ {
        self.entries.iter().filter_map(|entry| match *entry {
            Entry::Net(_) => None,
            Entry::Preset(preset) => Some(preset),
        })
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

    /// Whether every range, and the set as a whole, means what it says:
    /// no range that is the whole address space, no IPv6 range that
    /// contains the IPv4-mapped addresses (`::ffff:0:0/96`), no ranges that
    /// together hold a whole address family
    /// ([`CoversFamily`](TrustParseError::CoversFamily)), and no more public
    /// addresses than any proxies connect from
    /// ([`TooManyPublicAddresses`](TrustParseError::TooManyPublicAddresses)).
    /// Parsing refuses such sets; a set built from [`IpNet`]s is checked
    /// wherever a set is accepted: when a [`Resolver`](crate::Resolver), a
    /// PROXY listener or an access policy is built with it, and when a
    /// [`SharedProxySet`] stores it.
    ///
    /// ```
    /// use realip::ProxySet;
    /// use ipnet::IpNet;
    ///
    /// let set: ProxySet = ["::/80".parse::<IpNet>().unwrap()].into_iter().collect();
    /// let err = set.check().unwrap_err();
    /// assert_eq!(err.entry(), Some("::/80"));
    /// assert!("::/80".parse::<ProxySet>().is_err());
    ///
    /// // Two sound halves that trust every IPv4 address.
    /// let halves: ProxySet = ["0.0.0.0/1", "128.0.0.0/1"]
    ///     .iter()
    ///     .map(|n| n.parse::<IpNet>().unwrap())
    ///     .collect();
    /// assert!(halves.check().unwrap_err().to_string().contains("every IPv4 address"));
    /// assert!("0.0.0.0/1, 128.0.0.0/1".parse::<ProxySet>().is_err());
    /// ```
    pub fn check(&self) -> Result<(), TrustParseError> {
        for entry in &self.entries {
            if let Entry::Net(net) = entry {
                meaningful(*net).map_err(|refusal| refusal(bounded(&entry.to_string())))?;
            }
        }
        self.judge_breadth()
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

impl Extend<IpNet> for ProxySet {
    /// Adds ranges, as [`insert_net`](ProxySet::insert_net) does.
    fn extend<T: IntoIterator<Item = IpNet>>(&mut self, iter: T) {
        self.extend(iter.into_iter().map(Entry::Net));
    }
}

impl FromIterator<IpNet> for ProxySet {
    fn from_iter<T: IntoIterator<Item = IpNet>>(iter: T) -> Self {
        iter.into_iter().map(Entry::Net).collect()
    }
}

impl Extend<Preset> for ProxySet {
    /// Adds presets, as [`insert_preset`](ProxySet::insert_preset) does.
    fn extend<T: IntoIterator<Item = Preset>>(&mut self, iter: T) {
        self.extend(iter.into_iter().map(Entry::Preset));
    }
}

impl FromIterator<Preset> for ProxySet {
    fn from_iter<T: IntoIterator<Item = Preset>>(iter: T) -> Self {
        iter.into_iter().map(Entry::Preset).collect()
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
        let err = |refusal: Refusal| refusal(bounded(s));
        if s.contains('%') {
            return Err(err(TrustParseError::ZoneId));
        }
        if let Some((addr, len)) = s.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| err(TrustParseError::NotAnAddress))?;
            // Plain decimal, as every number of the configuration is: a
            // leading zero (`/08`) or a sign is refused, not read.
            let plain = !len.is_empty()
                && len.len() <= 3
                && len.bytes().all(|b| b.is_ascii_digit())
                && (len == "0" || !len.starts_with('0'));
            if !plain {
                return Err(err(TrustParseError::InvalidPrefix));
            }
            let len: u8 = len
                .parse()
                .map_err(|_| err(TrustParseError::InvalidPrefix))?;
            let net = IpNet::new(addr, len).map_err(|_| err(TrustParseError::InvalidPrefix))?;
            if net.trunc() != net {
                return Err(TrustParseError::HostBitsSet {
                    entry: bounded(s),
                    network: net.trunc(),
                });
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
            .map_err(|_| err(TrustParseError::NotAnAddress))
    }
}

/// The entries of a text list (commas and/or whitespace between them),
/// each read and refused on its own; the set they make is judged by the
/// caller, once every part of it is read.
pub(crate) fn parse_entries(s: &str) -> Result<Vec<Entry>, TrustParseError> {
    s.split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|item| !item.is_empty())
        .map(Entry::from_str)
        .collect()
}

impl FromStr for ProxySet {
    type Err = TrustParseError;

    /// Parses a list of entries separated by commas and/or whitespace,
    /// and [checks](ProxySet::check) the set they make together. An empty
    /// list is an error: a resolver that trusts nothing is written by not
    /// configuring trust at all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let entries = parse_entries(s)?;
        if entries.is_empty() {
            return Err(TrustParseError::Empty);
        }
        let set: ProxySet = entries.into_iter().collect();
        set.check()?;
        Ok(set)
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
fn meaningful(net: IpNet) -> Result<(), Refusal> {
    match net {
        _ if net.prefix_len() == 0 => Err(TrustParseError::WholeAddressSpace),
        // CIDR ranges nest or are disjoint: a canonical IPv6 range (not
        // itself inside the mapped space) that meets it contains it whole.
        IpNet::V6(v6) if v6.contains(&MAPPED) => Err(TrustParseError::CoversMappedIpv4),
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
            built.check().unwrap_err(),
            TrustParseError::CoversMappedIpv4("::/80".into())
        );
    }

    #[test]
    fn ranges_that_trust_more_than_they_say_are_refused() {
        let table: &[(&str, Refusal)] = &[
            ("0.0.0.0/0", TrustParseError::WholeAddressSpace),
            ("::/0", TrustParseError::WholeAddressSpace),
            ("::ffff:0:0/96", TrustParseError::WholeAddressSpace),
            ("::/80", TrustParseError::CoversMappedIpv4),
            ("::/64", TrustParseError::CoversMappedIpv4),
            ("::/1", TrustParseError::CoversMappedIpv4),
            ("::fffe:0:0/95", TrustParseError::CoversMappedIpv4),
        ];
        for (text, refusal) in table {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(err, refusal(text.to_string()), "{text:?}");
            // A built set names the range as it shows it (`::ffff:0:0/96`
            // is `0.0.0.0/0`).
            let built: ProxySet = [text.parse::<IpNet>().unwrap()].into_iter().collect();
            let shown = built.to_string();
            assert_eq!(built.check().unwrap_err(), refusal(shown), "{text:?} built");
        }
        // Next to the mapped space, or inside it: what they say.
        for text in ["::/96", "::1:0:0/96", "::ffff:0:0/112", "2001:db8::/32"] {
            let set: ProxySet = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(set.check().is_ok(), "{text}");
        }
        // Each means what it says as an entry, and is refused as a set
        // for how much public space it holds (`::ffff:0:0/97` is
        // `0.0.0.0/1`).
        for (text, shown) in [
            ("0.0.0.0/1", "0.0.0.0/1"),
            ("128.0.0.0/1", "128.0.0.0/1"),
            ("::ffff:0:0/97", "0.0.0.0/1"),
            ("8000::/1", "8000::/1"),
        ] {
            assert!(text.parse::<Entry>().is_ok(), "{text}");
            let err = text.parse::<ProxySet>().unwrap_err();
            assert!(
                matches!(&err, TrustParseError::TooManyPublicAddresses { ranges, .. } if ranges == shown),
                "{text}: {err:?}"
            );
        }
    }

    /// Rule 13 on the merged set: ranges that are sound one by one and
    /// together hold a whole family, or implausibly much public space.
    #[test]
    fn sets_are_judged_merged() {
        use AddressFamily::{Ipv4, Ipv6};
        let covers = |family, ranges: &str| TrustParseError::CoversFamily {
            family,
            ranges: ranges.into(),
        };
        let table = [
            (
                "0.0.0.0/1, 128.0.0.0/1",
                covers(Ipv4, "0.0.0.0/1, 128.0.0.0/1"),
            ),
            (
                "::ffff:0.0.0.0/97, ::ffff:128.0.0.0/97",
                covers(Ipv4, "0.0.0.0/1, 128.0.0.0/1"),
            ),
            (
                "128.0.0.0/1, 0.0.0.0/2, 64.0.0.0/2, 10.0.0.0/8",
                covers(Ipv4, "128.0.0.0/1, 0.0.0.0/2, 64.0.0.0/2, 10.0.0.0/8"),
            ),
            (
                "0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2, 192.0.0.0/3, 224.0.0.0/3, private",
                covers(
                    Ipv4,
                    "0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2, 192.0.0.0/3, … and 2 more",
                ),
            ),
        ];
        for (text, expected) in table {
            assert_eq!(text.parse::<ProxySet>().unwrap_err(), expected, "{text}");
            // Built from ranges (not parsed), the check refuses the same.
            let built: ProxySet = text
                .split(", ")
                .map(|n| n.trim().parse::<Entry>().unwrap())
                .collect();
            assert_eq!(built.check().unwrap_err(), expected, "{text} built");
        }
        // Every IPv6 address but the mapped ones (which are IPv4): for each
        // of the first 96 bits of ::ffff:0:0, the range that shares the
        // bits before it and differs in it.
        let mapped = u128::from(MAPPED.network());
        let complement: ProxySet = (0..96u8)
            .map(|i| {
                let flipped = (mapped ^ (1 << (127 - i))) & !(u128::MAX >> (i + 1));
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(flipped), i + 1).unwrap())
            })
            .collect();
        assert_eq!(complement.range_count(), 2);
        assert!(!complement.contains(ip("::ffff:1.2.3.4")));
        assert!(complement.contains(ip("::1")) && complement.contains(ip("ffff::1")));
        let expected = covers(
            Ipv6,
            "8000::/1, 4000::/2, 2000::/3, 1000::/4, … and 92 more",
        );
        assert_eq!(complement.check(), Err(expected.clone()));
        assert_eq!(complement.to_string().parse::<ProxySet>(), Err(expected));
        let too_many = |text: &str| match text.parse::<ProxySet>() {
            Err(TrustParseError::TooManyPublicAddresses {
                family,
                ranges,
                public,
            }) => (family, ranges, public),
            other => panic!("{text}: {other:?}"),
        };
        // 0.0.0.0/1 less 10/8, 100.64/10 and 127/8.
        assert_eq!(
            too_many("0.0.0.0/1, private"),
            (
                Ipv4,
                "0.0.0.0/1".into(),
                (1 << 31) - (1 << 24) - (1 << 22) - (1 << 24)
            )
        );
        assert_eq!(
            too_many("11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 2001:db8::/32").0,
            Ipv4
        );
        assert_eq!(too_many("2000::/4, 3000::/4").1, "2000::/4, 3000::/4");
        // What does not count: private, shared, loopback, link-local and
        // unique local space, however much of it.
        for text in [
            "private, loopback, link-local, istio-sidecar, 100.64.0.0/10",
            "fc00::/7, fe80::/10, ::1",
            "10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, \
             192.168.0.0/16, 64.0.0.0/4",
        ] {
            let set: ProxySet = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(set.check(), Ok(()), "{text}");
        }
        let err = "0.0.0.0/1, 128.0.0.0/1".parse::<ProxySet>().unwrap_err();
        assert_eq!(err.entry(), None);
        assert_eq!(
            err.to_string(),
            r#"invalid trusted proxies "0.0.0.0/1, 128.0.0.0/1": together they hold every IPv4 address, so any client could write the header; list only the ranges your proxies connect from (for example 10.0.0.0/8, or your provider's published ranges); to believe the nearest hops whoever the peer is, count them instead (hops=N; any-peer), and only where nothing else can reach the application"#
        );
        assert_eq!(
            "2000::/4, 3000::/4"
                .parse::<ProxySet>()
                .unwrap_err()
                .to_string(),
            r#"invalid trusted proxies "2000::/4, 3000::/4": together they hold about 2^125 public IPv6 addresses, more than any proxies connect from (at most 2^120, a /8; Cloudflare's whole edge is about 1.5 million IPv4 addresses), so they would trust clients as proxies; list only the ranges your proxies connect from (private, shared 100.64.0.0/10, loopback and link-local addresses do not count)"#
        );
    }

    /// Every preset the crate ships passes the check, alone and all
    /// together.
    #[test]
    fn every_preset_means_what_it_says() {
        for preset in Preset::ALL {
            assert_eq!(ProxySet::preset(preset).check(), Ok(()), "{preset}");
            assert!(preset.name().parse::<ProxySet>().is_ok(), "{preset}");
        }
        let all: ProxySet = Preset::ALL.into_iter().collect();
        assert_eq!(all.check(), Ok(()));
    }

    /// Prefix lengths are plain decimal, as every number of the
    /// configuration is.
    #[test]
    fn prefix_lengths_are_plain_decimal() {
        for text in [
            "10.0.0.0/08",
            "10.0.0.0/008",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "192.0.2.1/032",
            "2001:db8::/032",
            "::/00",
            "10.0.0.0/0x8",
            "10.0.0.0/８",
        ] {
            assert_eq!(
                text.trim_end().parse::<Entry>(),
                Err(TrustParseError::InvalidPrefix(text.trim_end().into())),
                "{text:?}"
            );
        }
        assert!("10.0.0.0/8".parse::<Entry>().is_ok());
        assert!("192.0.2.1/32".parse::<Entry>().is_ok());
        assert!("10.0.0.0/08".parse::<ProxySet>().is_err());
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
        // The entry is the text itself.
        let table: &[(&str, Refusal)] = &[
            ("10.0.0.0/33", TrustParseError::InvalidPrefix),
            ("10.0.0.0/", TrustParseError::InvalidPrefix),
            ("10.0.0.0/-1", TrustParseError::InvalidPrefix),
            ("::/129", TrustParseError::InvalidPrefix),
            ("010.0.0.0/8", TrustParseError::NotAnAddress),
            ("fe80::1%eth0", TrustParseError::ZoneId),
            ("localhost", TrustParseError::NotAnAddress),
        ];
        for (text, refusal) in table {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(err, refusal(text.to_string()), "{text:?}");
        }
        assert_eq!(
            "10.0.0.1/8".parse::<ProxySet>().unwrap_err(),
            TrustParseError::HostBitsSet {
                entry: "10.0.0.1/8".into(),
                network: "10.0.0.0/8".parse().unwrap(),
            }
        );
        for text in ["", " , "] {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(err, TrustParseError::Empty, "{text:?}");
        }
        let err = "10.0.0.0/8, bogus".parse::<ProxySet>().unwrap_err();
        assert_eq!(err.entry(), Some("bogus"));
        assert!(err.to_string().contains("bogus"), "{err}");
        let long = "x".repeat(1000);
        let err = long.parse::<ProxySet>().unwrap_err();
        assert_eq!(err.entry().map(str::len), Some(64));
    }

    /// The messages are those of the former `{ item, reason }` error,
    /// word for word: `invalid trusted proxy "ENTRY": REASON`.
    #[test]
    fn messages_name_the_entry_then_the_problem() {
        let table: &[(&str, &str)] = &[
            (
                "bogus",
                r#"invalid trusted proxy "bogus": expected an IP address, a CIDR range (10.0.0.0/8) or a preset (loopback, private, link-local, istio-sidecar, cloudflare, gcp-lb)"#,
            ),
            (
                "10.0.0.0/33",
                r#"invalid trusted proxy "10.0.0.0/33": the prefix length is not a plain decimal number (digits only, no sign or leading zero) of at most 32 for IPv4, 128 for IPv6"#,
            ),
            (
                "10.0.0.1/8",
                r#"invalid trusted proxy "10.0.0.1/8": host bits are set after the prefix; did you mean 10.0.0.0/8?"#,
            ),
            (
                "fe80::1%eth0",
                r#"invalid trusted proxy "fe80::1%eth0": zone ids have no meaning in a trusted proxy range"#,
            ),
            ("", r#"invalid trusted proxy "": no trusted proxy given"#),
            (
                "0.0.0.0/0",
                r#"invalid trusted proxy "0.0.0.0/0": it trusts every address, so any client could write the header; to believe the nearest hops whoever the peer is, count them instead (hops=N; any-peer), and only where nothing else can reach the application"#,
            ),
            (
                "::/80",
                r#"invalid trusted proxy "::/80": it contains ::ffff:0:0/96, the IPv4-mapped addresses, so it would trust every IPv4 address while it reads as an IPv6 range; write the IPv4 ranges you mean as IPv4 (10.0.0.0/8), and IPv6 ranges that stop short of ::ffff:0:0/96"#,
            ),
            (
                "a\"b",
                r#"invalid trusted proxy "a\"b": expected an IP address, a CIDR range (10.0.0.0/8) or a preset (loopback, private, link-local, istio-sidecar, cloudflare, gcp-lb)"#,
            ),
        ];
        for (text, message) in table {
            let err = text.parse::<ProxySet>().unwrap_err();
            assert_eq!(err.to_string(), *message, "{text:?}");
        }
    }

    /// Ranges and presets, however added, read back in the order they
    /// were added and in the form the text shows.
    #[test]
    fn built_sets_read_back_what_was_added() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let mut set = ProxySet::new();
        set.insert_net(net("::ffff:10.0.0.0/104"));
        set.insert_preset(Preset::IstioSidecar);
        set.extend([net("192.0.2.7/32"), net("2001:db8::1/32")]);
        set.extend([Preset::Loopback]);
        assert_eq!(
            set.nets().collect::<Vec<_>>(),
            [net("10.0.0.0/8"), net("192.0.2.7/32"), net("2001:db8::/32")]
        );
        assert_eq!(
            set.presets().collect::<Vec<_>>(),
            [Preset::IstioSidecar, Preset::Loopback]
        );
        assert_eq!(
            set.to_string(),
            "10.0.0.0/8, istio-sidecar, 192.0.2.7, 2001:db8::/32, loopback"
        );
        assert_eq!(set.to_string().parse::<ProxySet>().unwrap(), set);
        assert!(set.contains(ip("127.0.0.6")) && set.contains(ip("10.1.2.3")));

        let presets: ProxySet = [Preset::Private, Preset::LinkLocal].into_iter().collect();
        assert_eq!(presets, "private, link-local".parse().unwrap());
        assert_eq!(presets.nets().count(), 0);
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
        // Built, not parsed: parsing refuses what they merge into.
        let halves: ProxySet = ["0.0.0.0/1", "128.0.0.0/1", "255.255.255.255/32"]
            .iter()
            .map(|n| n.parse::<IpNet>().unwrap())
            .collect();
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

    /// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
    fn days(date: &str) -> i64 {
        let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
        let (y, m, d) = (parts[0], parts[1], parts[2]);
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Built-in lists of published ranges are dated, and a release never
    /// ships one taken more than a year earlier: this fails, naming where
    /// to take the list again, once a date is that old.
    #[test]
    fn built_in_published_ranges_are_less_than_a_year_old() {
        assert_eq!(days("1970-01-01"), 0);
        assert_eq!(days("2000-03-01"), 11_017);
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            / 86_400;
        for preset in Preset::ALL {
            let (Some(date), Some(source)) = (preset.as_of(), preset.source()) else {
                assert_eq!((preset.as_of(), preset.source()), (None, None), "{preset}");
                continue;
            };
            let age = today - days(date);
            assert!(
                (0..=366).contains(&age),
                "the built-in {preset} ranges were taken on {date}, {age} days ago: take them \
                 again from {source}, and update the date"
            );
        }
    }
}
