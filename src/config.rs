//! Configuration from text: one line for an environment variable, or a
//! table in a TOML/JSON/YAML file (feature `serde`).
//!
//! # The text form
//!
//! ```text
//! REALIP="x-forwarded-for; trust=10.0.0.0/8, istio-sidecar"
//! REALIP="x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16"
//! REALIP="preset:aws-alb; trust=10.0.0.0/16"
//! ```
//!
//! The first part says what to read, the rest are options, separated by
//! `;`:
//!
//! | part | meaning |
//! |---|---|
//! | `peer` | the socket peer alone (the default) |
//! | `forwarded` | RFC 7239 `Forwarded` |
//! | `x-forwarded-for` | `X-Forwarded-For` |
//! | `list:NAME` | another comma-list header |
//! | `x-real-ip`, `cf-connecting-ip`, `true-client-ip`, `fly-client-ip`, `x-envoy-external-address`, `cloudfront-viewer-address`, `fastly-client-ip`, `x-client-ip`, `x-cluster-client-ip`, `x-azure-clientip` | that single-address header |
//! | `header:NAME` | any other single-address header |
//! | `preset:NAME` | a deployment preset (below); later options refine it |
//! | `trust=SET` | trusted proxies: addresses, CIDRs, presets (`loopback`, `private`, `link-local`, `istio-sidecar`) |
//! | `hops=N` | trust the N nearest proxies (the peer included; at least 1); `trust=` then says which peers may send the header |
//! | `any-peer` | with `hops=`: accept the header from any peer |
//! | `all-trusted=leftmost` or `all-trusted=error` | the answer when every hop is trusted |
//! | `max-hops=N` | the most hops walked (default 32) |
//! | `unix-peer` | trust a Unix-socket peer |
//!
//! Deployment presets:
//!
//! | preset | expands to | add |
//! |---|---|---|
//! | `direct`, `istio-tproxy` | `peer` | |
//! | `istio-sidecar-xff` | `x-forwarded-for; trust=istio-sidecar` | |
//! | `istio-gateway` | `x-forwarded-for; trust=istio-sidecar` | (see the README's caveat) |
//! | `gcp-lb` | `x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16` | |
//! | `aws-alb` | `x-forwarded-for; hops=1` | `trust=` your VPC CIDR |
//! | `cloudflare` | `cf-connecting-ip` | `trust=` Cloudflare's ranges |
//! | `nginx` | `x-forwarded-for` | `trust=` nginx's addresses |
//!
//! Names are case-insensitive; numbers are plain decimal (`8`, never `+8`
//! or `08`). Nothing is guessed: a bare name that is not one of the
//! sources above is an error that names the closest one, so that a typo
//! (`x-forwarded-fro`) cannot become a header no proxy overwrites, which
//! any client could then write.
//!
//! A [`Resolver`]'s `Display` writes this form back, so a configuration
//! round-trips.
//!
//! ```
//! use realip::Resolver;
//!
//! let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar".parse().unwrap();
//! assert_eq!(resolver.to_string(), "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar");
//!
//! let gcp: Resolver = "preset:gcp-lb".parse().unwrap();
//! assert_eq!(gcp.to_string(), "x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16");
//!
//! let err = "x-forwarded-for; trust=10.0.0.0/33".parse::<Resolver>().unwrap_err();
//! assert!(err.to_string().contains("10.0.0.0/33"));
//!
//! let typo = "x-forwarded-fro; trust=10.0.0.0/8".parse::<Resolver>().unwrap_err();
//! assert!(typo.to_string().contains("did you mean x-forwarded-for?"));
//!
//! let custom: Resolver = "header:x-my-ip; trust=10.0.0.0/8".parse().unwrap();
//! assert_eq!(custom.to_string(), "header:x-my-ip; trust=10.0.0.0/8");
//! ```
//!
//! # Files (feature `serde`)
//!
//! The same settings as a table; unknown keys are refused:
//!
//! ```toml
//! [realip]
//! source = "x-forwarded-for"          # or preset = "gcp-lb"
//! trust = ["10.0.0.0/8", "istio-sidecar"]   # or one string "10.0.0.0/8, istio-sidecar"
//! hops = 1                            # optional
//! any_peer = false
//! all_trusted = "leftmost"
//! max_hops = 32
//! unix_peer = false
//! ```

use std::fmt;
use std::str::FromStr;

use http::HeaderName;

use crate::header_names;
use crate::resolver::{AllTrusted, ConfigError, Resolver, Source};
use crate::trust::{ProxySet, TrustParseError};

/// A deployment preset: a starting configuration for a common topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deployment {
    /// Nothing in front of the application: the peer.
    Direct,
    /// An Istio sidecar in TPROXY mode: the peer is the caller.
    IstioTproxy,
    /// An Istio sidecar that appends `X-Forwarded-For`.
    IstioSidecarXff,
    /// An Istio ingress gateway that appends `X-Forwarded-For`, reached
    /// through the application's sidecar in REDIRECT mode.
    IstioGateway,
    /// Google Cloud's external Application Load Balancer, which appends
    /// `<client>,<lb-ip>` and connects from its front ends.
    GcpLb,
    /// An AWS Application Load Balancer (one appended hop); add `trust=` with
    /// the VPC range the balancer connects from.
    AwsAlb,
    /// Cloudflare's `CF-Connecting-IP`; add `trust=` with Cloudflare's
    /// published ranges.
    Cloudflare,
    /// nginx with `real_ip_recursive on`; add `trust=` with what
    /// `set_real_ip_from` lists.
    Nginx,
}

impl Deployment {
    /// Every preset.
    pub const ALL: [Deployment; 8] = [
        Deployment::Direct,
        Deployment::IstioTproxy,
        Deployment::IstioSidecarXff,
        Deployment::IstioGateway,
        Deployment::GcpLb,
        Deployment::AwsAlb,
        Deployment::Cloudflare,
        Deployment::Nginx,
    ];

    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Deployment::Direct => "direct",
            Deployment::IstioTproxy => "istio-tproxy",
            Deployment::IstioSidecarXff => "istio-sidecar-xff",
            Deployment::IstioGateway => "istio-gateway",
            Deployment::GcpLb => "gcp-lb",
            Deployment::AwsAlb => "aws-alb",
            Deployment::Cloudflare => "cloudflare",
            Deployment::Nginx => "nginx",
        }
    }

    /// The configuration the preset starts from.
    pub fn config(self) -> ResolverConfig {
        let xff = Some(Source::x_forwarded_for());
        let set = |s: &str| Some(s.parse::<ProxySet>().expect("preset ranges are valid"));
        let base = ResolverConfig::default();
        match self {
            Deployment::Direct | Deployment::IstioTproxy => ResolverConfig {
                source: Some(Source::Peer),
                ..base
            },
            Deployment::IstioSidecarXff | Deployment::IstioGateway => ResolverConfig {
                source: xff,
                trust: set("istio-sidecar"),
                ..base
            },
            Deployment::GcpLb => ResolverConfig {
                source: xff,
                hops: Some(2),
                trust: set("130.211.0.0/22, 35.191.0.0/16"),
                ..base
            },
            Deployment::AwsAlb => ResolverConfig {
                source: xff,
                hops: Some(1),
                ..base
            },
            Deployment::Cloudflare => ResolverConfig {
                source: Some(Source::Single(HeaderName::from_static("cf-connecting-ip"))),
                ..base
            },
            Deployment::Nginx => ResolverConfig {
                source: xff,
                ..base
            },
        }
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Deployment {
    type Err = ConfigParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Deployment::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ConfigParseError::UnknownPreset(bounded(s)))
    }
}

/// Why configuration text cannot make a resolver. Each message names the
/// offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigParseError {
    /// The source is not well formed (`list:` without a name, a name that
    /// is not a valid header name).
    #[error(
        "invalid source {0:?}: expected peer, forwarded, x-forwarded-for, list:NAME, header:NAME, \
         a single-address header realip knows, or preset:NAME"
    )]
    InvalidSource(String),
    /// A bare name that is not a source realip knows. Another header is
    /// written `header:NAME` (one address) or `list:NAME` (a comma list).
    #[error("unknown source {given:?}: {}", unknown_source_advice(.closest))]
    UnknownSource {
        /// The name given (at most 64 characters of it).
        given: String,
        /// The known source it most resembles, if any is close.
        closest: Option<&'static str>,
    },
    /// An option written where the source belongs (`trust; trust=…`).
    #[error(
        "{0:?} is an option, not a source: the source comes first, then the options \
         (for example x-forwarded-for; trust=10.0.0.0/8)"
    )]
    OptionAsSource(String),
    /// An unknown deployment preset.
    #[error(
        "unknown preset {0:?}: expected direct, istio-tproxy, istio-sidecar-xff, istio-gateway, gcp-lb, aws-alb, cloudflare or nginx"
    )]
    UnknownPreset(String),
    /// An unknown option.
    #[error(
        "unknown option {0:?}: expected trust=, hops=, any-peer, all-trusted=, max-hops= or unix-peer"
    )]
    UnknownOption(String),
    /// An option given twice.
    #[error("option {0:?} is given twice")]
    DuplicateOption(String),
    /// A value that is not what the option takes.
    #[error("invalid value for {option}: {value:?} ({expected})")]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given (at most 64 characters of it).
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// A trusted-proxy entry that is not an address, range or preset.
    #[error(transparent)]
    Trust(#[from] TrustParseError),
    /// `any-peer` without `hops=`.
    #[error("any-peer only applies with hops=N")]
    AnyPeerWithoutHops,
    /// `any-peer` and `trust=` together: either any peer may send the
    /// header or only the listed ones.
    #[error(
        "any-peer and trust= contradict each other: list the peers that may send the header, or accept any peer"
    )]
    AnyPeerWithTrust,
    /// The settings parse but do not make a sound resolver.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

fn unknown_source_advice(closest: &Option<&'static str>) -> String {
    let known = "peer, forwarded, x-forwarded-for, list:NAME, header:NAME, preset:NAME, or a \
                 single-address header realip knows (x-real-ip, cf-connecting-ip, …)";
    match closest {
        Some(name) => format!(
            "did you mean {name}? (another single-address header is written header:NAME, a \
             comma-list header list:NAME)"
        ),
        None => format!("expected {known}"),
    }
}

fn bounded(s: &str) -> String {
    s.trim().chars().take(64).collect()
}

/// The options of the text form, which are never a source.
const OPTIONS: [&str; 6] = [
    "trust",
    "hops",
    "any-peer",
    "all-trusted",
    "max-hops",
    "unix-peer",
];

/// A plain decimal number: digits only, no sign, no leading zero.
fn decimal(text: &str) -> Option<usize> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

impl FromStr for Source {
    type Err = ConfigParseError;

    /// `peer`, `forwarded`, `x-forwarded-for`, `list:NAME`, `header:NAME`,
    /// or the bare name of a single-address header realip knows
    /// (`x-real-ip`, `cf-connecting-ip`, …); case-insensitive. Any other
    /// bare name is refused, with the closest known source.
    ///
    /// ```
    /// use realip::Source;
    /// use realip::config::ConfigParseError;
    ///
    /// assert_eq!("X-Real-IP".parse::<Source>().unwrap().to_string(), "x-real-ip");
    /// assert_eq!("header:X-My-IP".parse::<Source>().unwrap().to_string(), "header:x-my-ip");
    /// assert!(matches!(
    ///     "x_forwarded_for".parse::<Source>(),
    ///     Err(ConfigParseError::UnknownSource { closest: Some("x-forwarded-for"), .. })
    /// ));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = || ConfigParseError::InvalidSource(bounded(s));
        let name = |n: &str| HeaderName::from_bytes(n.trim().as_bytes()).map_err(|_| invalid());
        let lower = s.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "peer" => Source::Peer,
            "forwarded" => Source::Forwarded,
            "x-forwarded-for" => Source::x_forwarded_for(),
            _ => {
                if let Some(n) = lower.strip_prefix("list:") {
                    Source::List(name(n)?)
                } else if let Some(n) = lower.strip_prefix("header:") {
                    Source::Single(name(n)?)
                } else if OPTIONS.contains(&lower.as_str()) {
                    return Err(ConfigParseError::OptionAsSource(lower));
                } else {
                    let header = name(&lower)?;
                    if !header_names::is_known_single(&header) {
                        return Err(ConfigParseError::UnknownSource {
                            given: bounded(s),
                            closest: closest_source(&lower),
                        });
                    }
                    Source::Single(header)
                }
            }
        })
    }
}

/// The known source `given` most resembles, if one is close enough to be
/// a likely typo.
fn closest_source(given: &str) -> Option<&'static str> {
    // Spellings that are far from the name by edit distance but mean it.
    let given = given.replace('_', "-");
    if matches!(given.as_str(), "xff" | "x-forwarded" | "forwarded-for") {
        return Some("x-forwarded-for");
    }
    let known = ["peer", "forwarded", "x-forwarded-for"]
        .into_iter()
        .chain(header_names::single_address_headers().iter().copied());
    let (distance, name) = known
        .map(|name| (edit_distance(&given, name), name))
        .min_by_key(|&(distance, _)| distance)?;
    // A third of the name may be wrong: typos, not other words.
    (distance <= name.len().div_ceil(3)).then_some(name)
}

/// Levenshtein distance, over bytes (names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

impl FromStr for AllTrusted {
    type Err = ConfigParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "leftmost" => Ok(AllTrusted::Leftmost),
            "error" => Ok(AllTrusted::Error),
            _ => Err(ConfigParseError::InvalidValue {
                option: "all-trusted",
                value: bounded(s),
                expected: "leftmost or error",
            }),
        }
    }
}

impl fmt::Display for AllTrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllTrusted::Leftmost => "leftmost",
            AllTrusted::Error => "error",
        })
    }
}

/// Settings for a [`Resolver`], each optional: what the text form and
/// configuration files hold before they are checked.
///
/// ```
/// use realip::config::{Deployment, ResolverConfig};
///
/// let config: ResolverConfig = "preset:aws-alb; trust=10.0.0.0/16".parse().unwrap();
/// assert_eq!(config.preset, Some(Deployment::AwsAlb));
/// assert_eq!(config.hops, None); // the preset's hop count applies at build
/// let resolver = config.build().unwrap();
/// assert_eq!(resolver.to_string(), "x-forwarded-for; hops=1; trust=10.0.0.0/16");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// A deployment preset the other settings refine.
    pub preset: Option<Deployment>,
    /// What to read (default: the peer).
    pub source: Option<Source>,
    /// Trusted proxies, or with `hops` the peers allowed to send the header.
    pub trust: Option<ProxySet>,
    /// Trust by count: this many nearest proxies, the peer included.
    pub hops: Option<usize>,
    /// With `hops`: accept the header from any peer.
    pub any_peer: bool,
    /// The answer when every hop is trusted.
    pub all_trusted: Option<AllTrusted>,
    /// The most hops walked.
    pub max_hops: Option<usize>,
    /// Trust a Unix-socket peer.
    pub unix_peer: bool,
}

impl ResolverConfig {
    /// Applies the preset (if any) under the explicit settings, checks the
    /// result and makes the resolver.
    pub fn build(&self) -> Result<Resolver, ConfigParseError> {
        let base = self.preset.map(Deployment::config).unwrap_or_default();
        let source = self.source.clone().or(base.source).unwrap_or(Source::Peer);
        let trust = self.trust.clone().or(base.trust);
        let hops = self.hops.or(base.hops);
        let mut builder = Resolver::builder().source(source);
        match (hops, self.any_peer) {
            (Some(_), true) if self.trust.is_some() => {
                return Err(ConfigParseError::AnyPeerWithTrust);
            }
            (Some(n), true) => builder = builder.trusted_hops_from_any_peer(n),
            (Some(n), false) => builder = builder.trusted_hops(n, trust.unwrap_or_default()),
            (None, true) => return Err(ConfigParseError::AnyPeerWithoutHops),
            (None, false) => {
                if let Some(set) = trust {
                    builder = builder.trusted_proxies(set);
                }
            }
        }
        if let Some(policy) = self.all_trusted {
            builder = builder.all_trusted(policy);
        }
        if let Some(max) = self.max_hops {
            builder = builder.max_hops(max);
        }
        Ok(builder.trust_unix_peer(self.unix_peer).build()?)
    }
}

impl FromStr for ResolverConfig {
    type Err = ConfigParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(';').map(str::trim);
        let mut config = ResolverConfig::default();
        let first = parts.next().unwrap_or("");
        let preset = first
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("preset:"))
            .map(|_| &first[7..]);
        if let Some(preset) = preset {
            config.preset = Some(preset.parse()?);
        } else if !first.is_empty() {
            config.source = Some(first.parse()?);
        }
        let mut seen: Vec<&str> = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part, None),
            };
            let key_lower = key.to_ascii_lowercase();
            let option: &'static str = OPTIONS
                .into_iter()
                .find(|&option| option == key_lower)
                .ok_or_else(|| ConfigParseError::UnknownOption(bounded(key)))?;
            if seen.contains(&option) {
                return Err(ConfigParseError::DuplicateOption(option.to_owned()));
            }
            seen.push(option);
            let needs_value = |expected: &'static str| {
                value.ok_or(ConfigParseError::InvalidValue {
                    option,
                    value: String::new(),
                    expected,
                })
            };
            let number = |v: &str| {
                decimal(v).ok_or_else(|| ConfigParseError::InvalidValue {
                    option,
                    value: bounded(v),
                    expected: "a plain decimal number: digits only, no sign or leading zero",
                })
            };
            match option {
                "trust" => {
                    config.trust =
                        Some(needs_value("a list of addresses, CIDRs or presets")?.parse()?)
                }
                "hops" => config.hops = Some(number(needs_value("a number")?)?),
                "max-hops" => config.max_hops = Some(number(needs_value("a number")?)?),
                "all-trusted" => {
                    config.all_trusted = Some(needs_value("leftmost or error")?.parse()?)
                }
                flag => {
                    if let Some(v) = value {
                        return Err(ConfigParseError::InvalidValue {
                            option,
                            value: bounded(v),
                            expected: "no value",
                        });
                    }
                    if flag == "any-peer" {
                        config.any_peer = true;
                    } else {
                        config.unix_peer = true;
                    }
                }
            }
        }
        Ok(config)
    }
}

impl FromStr for Resolver {
    type Err = ConfigParseError;

    /// Parses the text form (see the [module docs](crate::config)).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<ResolverConfig>()?.build()
    }
}

#[cfg(feature = "serde")]
mod serde_impls {
    use std::fmt;

    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::{Deserialize, Serialize, Serializer};

    use super::*;
    use crate::resolution::ClientIp;

    /// The file form, checked strictly.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(default)]
        preset: Option<String>,
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        trust: Option<ProxySet>,
        #[serde(default)]
        hops: Option<usize>,
        #[serde(default, alias = "any-peer")]
        any_peer: bool,
        #[serde(default, alias = "all-trusted")]
        all_trusted: Option<String>,
        #[serde(default, alias = "max-hops")]
        max_hops: Option<usize>,
        #[serde(default, alias = "unix-peer")]
        unix_peer: bool,
    }

    impl<'de> Deserialize<'de> for ResolverConfig {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            // A table only: a derived struct would also take a sequence.
            struct Table;
            impl<'de> Visitor<'de> for Table {
                type Value = Raw;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a table of realip settings (source, trust, hops, …)")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Raw, A::Error> {
                    Raw::deserialize(de::value::MapAccessDeserializer::new(map))
                }
            }
            let raw = d.deserialize_map(Table)?;
            Ok(ResolverConfig {
                preset: raw
                    .preset
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(de::Error::custom)?,
                source: raw
                    .source
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(de::Error::custom)?,
                trust: raw.trust,
                hops: raw.hops,
                any_peer: raw.any_peer,
                all_trusted: raw
                    .all_trusted
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(de::Error::custom)?,
                max_hops: raw.max_hops,
                unix_peer: raw.unix_peer,
            })
        }
    }

    /// Deserialises the file form and checks it; errors name the bad
    /// setting.
    impl<'de> Deserialize<'de> for Resolver {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            ResolverConfig::deserialize(d)?
                .build()
                .map_err(de::Error::custom)
        }
    }

    /// A string (`"10.0.0.0/8, private"`) or a list of strings.
    impl<'de> Deserialize<'de> for ProxySet {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = ProxySet;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list of addresses, CIDR ranges or presets")
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<ProxySet, E> {
                    s.parse().map_err(E::custom)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProxySet, A::Error> {
                    let mut set = ProxySet::new();
                    while let Some(item) = seq.next_element::<String>()? {
                        // An item may itself be a comma list ("10.0.0.0/8, private").
                        let part: ProxySet = item.parse().map_err(de::Error::custom)?;
                        set.extend(part.entries().iter().copied());
                    }
                    Ok(set)
                }
            }
            d.deserialize_any(V)
        }
    }

    impl Serialize for ProxySet {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl Serialize for ClientIp {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.ip().serialize(s)
        }
    }

    /// As [`IpAddr`](std::net::IpAddr) is: a string in text formats, bytes in
    /// binary ones; canonical and never unspecified.
    impl<'de> Deserialize<'de> for ClientIp {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let ip = std::net::IpAddr::deserialize(d)?.to_canonical();
            if ip.is_unspecified() {
                return Err(de::Error::custom(crate::addr::HopError::Unspecified));
            }
            Ok(ClientIp::new(ip))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let table = [
            ("peer", "peer"),
            ("", "peer"),
            ("forwarded; trust=private", "forwarded; trust=private"),
            (
                "X-Forwarded-For; trust=10.0.0.0/8, istio-sidecar",
                "x-forwarded-for; trust=10.0.0.0/8, istio-sidecar",
            ),
            ("x-real-ip; trust=127.0.0.1", "x-real-ip; trust=127.0.0.1"),
            (
                "header:x-real-ip; trust=127.0.0.1",
                "x-real-ip; trust=127.0.0.1",
            ),
            (
                "list:x-custom; hops=2; any-peer",
                "list:x-custom; hops=2; any-peer",
            ),
            (
                "x-forwarded-for ; trust = 10.0.0.0/8 ; all-trusted=error ; max-hops=8 ; unix-peer",
                "x-forwarded-for; trust=10.0.0.0/8; all-trusted=error; max-hops=8; unix-peer",
            ),
            (
                "preset:istio-sidecar-xff",
                "x-forwarded-for; trust=istio-sidecar",
            ),
            ("preset:direct", "peer"),
            (
                "preset:aws-alb; trust=10.0.0.0/16",
                "x-forwarded-for; hops=1; trust=10.0.0.0/16",
            ),
            (
                "preset:cloudflare; trust=173.245.48.0/20",
                "cf-connecting-ip; trust=173.245.48.0/20",
            ),
            (
                "preset:gcp-lb; max-hops=4",
                "x-forwarded-for; hops=2; trust=130.211.0.0/22, 35.191.0.0/16; max-hops=4",
            ),
        ];
        for (text, shown) in table {
            let resolver: Resolver = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(resolver.to_string(), shown, "{text:?}");
            let again: Resolver = shown.parse().unwrap();
            assert_eq!(again, resolver, "{shown:?} does not round-trip");
        }
    }

    #[test]
    fn text_form_errors_name_the_problem() {
        let table: &[(&str, &str)] = &[
            ("x-forwarded-for; trust=10.0.0.0/33", "10.0.0.0/33"),
            ("x-forwarded-for; trust=10.0.0.0/8; colour=blue", "colour"),
            (
                "x-forwarded-for; trust=10.0.0.0/8; trust=::1",
                "given twice",
            ),
            ("x-forwarded-for; hops=two; trust=10.0.0.0/8", "two"),
            (
                "x-forwarded-for; trust=10.0.0.0/8; all-trusted=maybe",
                "maybe",
            ),
            ("x-forwarded-for; any-peer; trust=10.0.0.0/8", "any-peer"),
            ("x-forwarded-for", "trusts no proxy"),
            ("preset:aws-alb", "trusts no proxy"),
            ("preset:heroku", "heroku"),
            ("bad header name", "bad header name"),
            ("list:", "list:"),
            ("x-forwarded-for; trust", "trust"),
            ("x-forwarded-for; trust=::1; unix-peer=yes", "yes"),
        ];
        for (text, needle) in table {
            let err = text.parse::<Resolver>().unwrap_err().to_string();
            assert!(
                err.contains(needle),
                "{text:?} gave {err:?}, which does not name {needle:?}"
            );
        }
    }
}
