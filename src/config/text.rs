//! The text form, both ways: `FromStr` reads `REALIP="x-forwarded-for;
//! trust=10.0.0.0/8"` into settings, `Display` writes settings back in the
//! same words, so a configuration round-trips.
//!
//! Reading only turns words into settings; whether the settings are sound
//! is decided once, by the check every way of configuring shares. What
//! reading refuses is what cannot be a word of the form: a bare source name
//! realip does not know (a typo must not become a header no proxy
//! overwrites), an option it does not know or given twice, a number that is
//! not plain decimal.

use std::fmt;
use std::str::FromStr;

use http::HeaderName;

use super::{Deployment, ResolverConfig};
use crate::echo;
use crate::header_names;
use crate::resolver::{Align, AllTrusted, ConfigError, Resolver, Source, Trust, ValueSource};

/// Declares the options of the text form from one table: the enum, each
/// option's name and the list of them all come from the same rows, and the
/// parser matches the enum exhaustively, so an option added here and not
/// handled there does not compile.
macro_rules! options {
    ($($(#[doc = $doc:literal])+ $option:ident = $name:literal,)+) => {
        /// An option of the text form (what follows the source).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum TextOption {
            $($(#[doc = $doc])+ $option,)+
        }

        impl TextOption {
            /// Every option.
            const ALL: &'static [TextOption] = &[$(TextOption::$option),+];

            /// The option's name, as the text form writes it.
            fn name(self) -> &'static str {
                match self {
                    $(TextOption::$option => $name,)+
                }
            }
        }
    };
}

options! {
    /// `trust=SET`: the trusted proxies, or with `hops=` the peers that
    /// may send the header.
    Trust = "trust",
    /// `hops=N`: trust the N nearest proxies.
    Hops = "hops",
    /// `any-peer`: with `hops=`, accept the header from any peer.
    AnyPeer = "any-peer",
    /// `all-trusted=leftmost|error`: the answer when every hop is trusted.
    AllTrusted = "all-trusted",
    /// `max-hops=N`: the most hops walked.
    MaxHops = "max-hops",
    /// `unix-peer`: trust a Unix-socket peer.
    UnixPeer = "unix-peer",
    /// `proto=forwarded|x-forwarded-proto|header:NAME`: where the original
    /// scheme is read.
    Proto = "proto",
    /// `host=forwarded|x-forwarded-host|header:NAME`: where the original
    /// host is read.
    Host = "host",
    /// `align=symmetric|single`: how value headers line up with the
    /// source.
    Align = "align",
    /// `allowed-hosts=NAME, *.SUFFIX, …`: the hosts accepted.
    AllowedHosts = "allowed-hosts",
    /// `identity=SPIFFE-ID, …` (repeatable): caller identities trusted as
    /// proxies.
    Identity = "identity",
    /// `identity-header=NAME`: where the caller identity is read.
    IdentityHeader = "identity-header",
    /// `sidecar-appends`: the sidecar appends its caller to the source.
    SidecarAppends = "sidecar-appends",
}

impl TextOption {
    /// The option named `key`, case-insensitively.
    fn named(key: &str) -> Option<TextOption> {
        TextOption::ALL
            .iter()
            .copied()
            .find(|option| option.name().eq_ignore_ascii_case(key))
    }
}

/// At most 64 characters of what was given, trimmed, for an error to
/// quote: enough to find the mistake, never an echo of unbounded input.
fn bounded(s: &str) -> String {
    echo::bounded(s.trim())
}

/// A plain decimal number: digits only, no sign, no leading zero.
fn decimal(text: &str) -> Option<usize> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

impl FromStr for Source {
    type Err = ConfigError;

    /// `peer`, `forwarded`, `x-forwarded-for`, `list:NAME`, `header:NAME`,
    /// or the bare name of a single-address header realip knows
    /// (`x-real-ip`, `cf-connecting-ip`, …); case-insensitive. Any other
    /// bare name is refused, with the closest known source.
    ///
    /// ```
    /// use realip::{ConfigError, Source};
    ///
    /// assert_eq!("X-Real-IP".parse::<Source>().unwrap().to_string(), "x-real-ip");
    /// assert_eq!("header:X-My-IP".parse::<Source>().unwrap().to_string(), "header:x-my-ip");
    /// assert!(matches!(
    ///     "x_forwarded_for".parse::<Source>(),
    ///     Err(ConfigError::UnknownSource { closest: Some("x-forwarded-for"), .. })
    /// ));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = || ConfigError::InvalidSource(bounded(s));
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
                } else if TextOption::named(&lower).is_some() {
                    return Err(ConfigError::OptionAsSource(lower));
                } else {
                    let header = name(&lower)?;
                    if !header_names::is_known_single(&header) {
                        return Err(ConfigError::UnknownSource {
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

impl fmt::Display for Source {
    /// `peer`, `forwarded`, `x-forwarded-for`, `list:NAME` for another list
    /// header, the bare name of a single-address header realip knows
    /// (`x-real-ip`, …), or `header:NAME` for any other: the text form that
    /// parses back to this source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Peer => f.write_str("peer"),
            Source::Forwarded => f.write_str("forwarded"),
            Source::List(name) if name == "x-forwarded-for" => f.write_str("x-forwarded-for"),
            Source::List(name) => write!(f, "list:{name}"),
            Source::Single(name) if header_names::is_known_single(name) => {
                f.write_str(name.as_str())
            }
            Source::Single(name) => write!(f, "header:{name}"),
        }
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
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "leftmost" => Ok(AllTrusted::Leftmost),
            "error" => Ok(AllTrusted::Error),
            _ => Err(ConfigError::InvalidValue {
                option: TextOption::AllTrusted.name(),
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

impl FromStr for Deployment {
    type Err = ConfigError;

    /// A deployment's name, case-insensitive.
    ///
    /// ```
    /// use realip::ConfigError;
    /// use realip::config::Deployment;
    ///
    /// assert_eq!("AWS-ALB".parse::<Deployment>(), Ok(Deployment::AwsAlb));
    /// assert!(matches!("heroku".parse::<Deployment>(), Err(ConfigError::UnknownDeployment(_))));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Deployment::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ConfigError::UnknownDeployment(bounded(s)))
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The deployment's name when the first part is `deployment:NAME`, or
/// `preset:NAME` as the text form was first written (scripts still say
/// it); either prefix in any case.
fn deployment_name(first: &str) -> Option<&str> {
    ["deployment:", "preset:"].into_iter().find_map(|prefix| {
        // `get`, not slicing: the first part may be any text, and a
        // multi-byte character must not panic the comparison.
        let head = first.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| &first[prefix.len()..])
    })
}

impl FromStr for ResolverConfig {
    type Err = ConfigError;

    /// Reads the text form without checking it: the settings as written,
    /// the deployment (if any) not yet applied.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(';').map(str::trim);
        let mut config = ResolverConfig::default();
        let first = parts.next().unwrap_or("");
        if let Some(name) = deployment_name(first) {
            config.deployment = Some(name.parse()?);
        } else if !first.is_empty() {
            config.source = Some(first.parse()?);
        }
        let mut seen: Vec<TextOption> = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part, None),
            };
            let option =
                TextOption::named(key).ok_or_else(|| ConfigError::UnknownOption(bounded(key)))?;
            // identity= may be repeated, one identity (or list) each.
            if seen.contains(&option) && option != TextOption::Identity {
                return Err(ConfigError::DuplicateOption(option.name().to_owned()));
            }
            seen.push(option);
            let needs_value = |expected: &'static str| {
                value.ok_or(ConfigError::InvalidValue {
                    option: option.name(),
                    value: String::new(),
                    expected,
                })
            };
            let number = |v: &str| {
                decimal(v).ok_or_else(|| ConfigError::InvalidValue {
                    option: option.name(),
                    value: bounded(v),
                    expected: "a plain decimal number: digits only, no sign or leading zero",
                })
            };
            // A flag is set by its name alone.
            let flag = || match value {
                Some(v) => Err(ConfigError::InvalidValue {
                    option: option.name(),
                    value: bounded(v),
                    expected: "no value",
                }),
                None => Ok(true),
            };
            match option {
                TextOption::Trust => {
                    config.trust =
                        Some(needs_value("a list of addresses, CIDRs or presets")?.parse()?)
                }
                TextOption::Hops => config.hops = Some(number(needs_value("a number")?)?),
                TextOption::AnyPeer => config.any_peer = flag()?,
                TextOption::AllTrusted => {
                    config.all_trusted = Some(needs_value("leftmost or error")?.parse()?)
                }
                TextOption::MaxHops => config.max_hops = Some(number(needs_value("a number")?)?),
                TextOption::UnixPeer => config.unix_peer = flag()?,
                TextOption::Proto => {
                    config.proto = Some(value_source(option, needs_value(VALUE_SOURCES)?)?)
                }
                TextOption::Host => {
                    config.host = Some(value_source(option, needs_value(VALUE_SOURCES)?)?)
                }
                TextOption::Align => {
                    config.align = Some(needs_value("symmetric or single")?.parse()?)
                }
                TextOption::AllowedHosts => {
                    let text = needs_value(ALLOWED_HOSTS)?;
                    let hosts = text.parse().map_err(|_| ConfigError::InvalidValue {
                        option: option.name(),
                        value: bounded(text),
                        expected: ALLOWED_HOSTS,
                    })?;
                    config.allowed_hosts = Some(hosts);
                }
                TextOption::Identity => {
                    let list =
                        needs_value("SPIFFE ids (spiffe://TD/ns/NS/sa/SA), separated by commas")?;
                    let identities = config.identities.get_or_insert_with(Vec::new);
                    for identity in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                        identities.push(identity.parse()?);
                    }
                    if identities.is_empty() {
                        return Err(ConfigError::InvalidValue {
                            option: option.name(),
                            value: String::new(),
                            expected: "at least one SPIFFE id",
                        });
                    }
                }
                TextOption::IdentityHeader => {
                    let text = needs_value("a header name")?;
                    let name = HeaderName::from_bytes(text.as_bytes()).map_err(|_| {
                        ConfigError::InvalidValue {
                            option: option.name(),
                            value: bounded(text),
                            expected: "a header name",
                        }
                    })?;
                    config.identity_header = Some(name);
                }
                TextOption::SidecarAppends => config.sidecar_appends = flag()?,
            }
        }
        Ok(config)
    }
}

impl FromStr for Resolver {
    type Err = ConfigError;

    /// Parses the text form (see the [module docs](crate::config)) and
    /// checks it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<ResolverConfig>()?.build()
    }
}

impl fmt::Display for Resolver {
    /// A one-line summary: `x-forwarded-for; trust=10.0.0.0/8; max-hops=32`.
    /// A [`SharedProxySet`](crate::SharedProxySet) is written as the set it
    /// holds at that moment: a snapshot, which reads back as a fixed set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        write!(f, "{}", s.source)?;
        match &s.trust {
            Trust::Proxies(set) if set.is_empty() => {}
            Trust::Proxies(set) => write!(f, "; trust={set}")?,
            Trust::Hops { count, peers } => {
                write!(f, "; hops={count}")?;
                // Empty when only a Unix-socket peer may send the header.
                if !peers.is_empty() {
                    write!(f, "; trust={peers}")?;
                }
            }
            Trust::HopsFromAnyPeer { count } => write!(f, "; hops={count}; any-peer")?,
            // What the shared set holds now: a snapshot.
            Trust::SharedProxies(shared) => write!(f, "; trust={shared}")?,
        }
        // Who else is trusted, beside the proxies.
        let callers = &s.callers;
        for (i, identity) in callers.identities.iter().enumerate() {
            f.write_str(if i == 0 { "; identity=" } else { ", " })?;
            write!(f, "{identity}")?;
        }
        if let Some(name) = &callers.header {
            write!(f, "; identity-header={name}")?;
        }
        if callers.sidecar_appends {
            f.write_str("; sidecar-appends")?;
        }
        // Written when given, so that the text reads back to the same
        // settings (an option given is refused where it is not read).
        if s.given.all_trusted {
            write!(f, "; all-trusted={}", s.all_trusted)?;
        }
        if s.given.max_hops {
            write!(f, "; max-hops={}", s.max_hops)?;
        }
        if s.trust_unix_peer {
            f.write_str("; unix-peer")?;
        }
        let values = &s.values;
        if let Some(source) = &values.proto {
            write!(f, "; proto={source}")?;
        }
        if let Some(source) = &values.host {
            write!(f, "; host={source}")?;
        }
        if let Some(align) = values.align {
            write!(f, "; align={align}")?;
        }
        if !values.allowed_hosts.is_empty() {
            write!(f, "; allowed-hosts={}", values.allowed_hosts)?;
        }
        Ok(())
    }
}

/// What `proto=` and `host=` take.
const VALUE_SOURCES: &str = "forwarded, x-forwarded-proto, x-forwarded-host or header:NAME";

/// What `allowed-hosts=` takes.
const ALLOWED_HOSTS: &str = "host names and *.suffix patterns, separated by commas, without ports";

/// `proto=`/`host=`'s value.
fn value_source(option: TextOption, text: &str) -> Result<ValueSource, ConfigError> {
    text.parse().map_err(|_| ConfigError::InvalidValue {
        option: option.name(),
        value: bounded(text),
        expected: VALUE_SOURCES,
    })
}

impl FromStr for ValueSource {
    type Err = ConfigError;

    /// `forwarded`, `x-forwarded-proto`, `x-forwarded-host` or
    /// `header:NAME`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let invalid = || ConfigError::InvalidValue {
            option: "proto/host",
            value: bounded(s),
            expected: VALUE_SOURCES,
        };
        match lower.as_str() {
            "forwarded" => Ok(ValueSource::Forwarded),
            "x-forwarded-proto" => Ok(ValueSource::x_forwarded_proto()),
            "x-forwarded-host" => Ok(ValueSource::x_forwarded_host()),
            _ => {
                let name = lower.strip_prefix("header:").ok_or_else(invalid)?;
                let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid())?;
                Ok(ValueSource::Header(name))
            }
        }
    }
}

impl fmt::Display for ValueSource {
    /// The text form that parses back to this source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Forwarded => f.write_str("forwarded"),
            ValueSource::Header(name)
                if name == "x-forwarded-proto" || name == "x-forwarded-host" =>
            {
                f.write_str(name.as_str())
            }
            ValueSource::Header(name) => write!(f, "header:{name}"),
        }
    }
}

impl FromStr for Align {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "symmetric" => Ok(Align::Symmetric),
            "single" => Ok(Align::Single),
            _ => Err(ConfigError::InvalidValue {
                option: "align",
                value: bounded(s),
                expected: "symmetric or single",
            }),
        }
    }
}

impl fmt::Display for Align {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Align::Symmetric => "symmetric",
            Align::Single => "single",
        })
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
                "deployment:istio-sidecar-xff",
                "x-forwarded-for; trust=istio-sidecar",
            ),
            ("deployment:direct", "peer"),
            ("Deployment:Direct", "peer"),
            // The older spelling reads the same.
            ("preset:direct", "peer"),
            (
                "deployment:aws-alb; trust=10.0.0.0/16",
                "x-forwarded-for; hops=1; trust=10.0.0.0/16",
            ),
            (
                "deployment:cloudflare; trust=173.245.48.0/20",
                "cf-connecting-ip; trust=173.245.48.0/20",
            ),
            (
                "deployment:nginx; trust=10.0.0.0/8; max-hops=4",
                "x-forwarded-for; trust=10.0.0.0/8; max-hops=4",
            ),
            // Given, a default is written back: it reads back the same.
            (
                "forwarded; trust=private; all-trusted=leftmost; max-hops=32",
                "forwarded; trust=private; all-trusted=leftmost; max-hops=32",
            ),
            (
                "list:x-forwarded-for; trust=::1",
                "x-forwarded-for; trust=::1",
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
            ("deployment:aws-alb", "trusts no proxy"),
            ("deployment:heroku", "unknown deployment \"heroku\""),
            ("preset:heroku", "unknown deployment \"heroku\""),
            ("deployment:", "unknown deployment"),
            ("bad header name", "bad header name"),
            ("list:", "list:"),
            ("x-forwarded-for; trust", "trust"),
            ("x-forwarded-for; trust=::1; unix-peer=yes", "yes"),
            ("x-forwarded-for; trust=10.0.0.0/08", "10.0.0.0/08"),
            ("peer; hops=1", "hops= has no effect with peer"),
            (
                "deployment:gcp-lb; max-hops=4",
                "max-hops= has no effect with hops=2",
            ),
            (
                "header:host; trust=10.0.0.0/8",
                "header:host: host is a field HTTP",
            ),
            (
                "x-forwarded-for; trust=0.0.0.0/1, 128.0.0.0/1",
                "every IPv4 address",
            ),
        ];
        for (text, needle) in table {
            let err = text.parse::<Resolver>().unwrap_err().to_string();
            assert!(
                err.contains(needle),
                "{text:?} gave {err:?}, which does not name {needle:?}"
            );
        }
    }

    fn set(s: &str) -> crate::ProxySet {
        s.parse().unwrap()
    }

    #[test]
    fn display_summarises_the_configuration() {
        let table = [
            (Resolver::default(), "peer"),
            (
                Resolver::builder()
                    .forwarded()
                    .trusted_proxies(set("private"))
                    .build()
                    .unwrap(),
                "forwarded; trust=private",
            ),
            (
                Resolver::builder()
                    .list_header(HeaderName::from_static("x-custom"))
                    .trusted_hops_from_any_peer(2)
                    .trust_unix_peer(true)
                    .build()
                    .unwrap(),
                "list:x-custom; hops=2; any-peer; unix-peer",
            ),
            (
                Resolver::builder()
                    .single_header(HeaderName::from_static("cf-connecting-ip"))
                    .trusted_proxies(set("10.0.0.1"))
                    .build()
                    .unwrap(),
                "cf-connecting-ip; trust=10.0.0.1",
            ),
            (
                Resolver::builder()
                    .single_header(HeaderName::from_static("x-my-ip"))
                    .trusted_proxies(set("10.0.0.1"))
                    .build()
                    .unwrap(),
                "header:x-my-ip; trust=10.0.0.1",
            ),
        ];
        for (resolver, text) in table {
            assert_eq!(resolver.to_string(), text);
        }
    }

    #[test]
    fn options_are_named_once() {
        let unknown = ConfigError::UnknownOption("colour".into()).to_string();
        for option in TextOption::ALL {
            assert_eq!(TextOption::named(option.name()), Some(*option));
            let upper = option.name().to_ascii_uppercase();
            assert_eq!(TextOption::named(&upper), Some(*option), "{upper}");
            // The error for an unknown option lists every known one.
            assert!(
                unknown.contains(option.name()),
                "{unknown} omits {option:?}"
            );
            // An option is never a source.
            assert_eq!(
                option.name().parse::<Source>(),
                Err(ConfigError::OptionAsSource(option.name().to_owned()))
            );
        }
    }

    #[test]
    fn deployments_are_named_once() {
        let unknown = ConfigError::UnknownDeployment("heroku".into()).to_string();
        for deployment in Deployment::ALL {
            assert_eq!(deployment.name().parse::<Deployment>(), Ok(deployment));
            assert_eq!(deployment.to_string(), deployment.name());
            // The error for an unknown deployment lists every known one.
            assert!(
                unknown.contains(deployment.name()),
                "{unknown} omits {deployment}"
            );
            for spelling in ["deployment", "preset", "DEPLOYMENT", "Preset"] {
                let config: ResolverConfig = format!("{spelling}:{deployment}").parse().unwrap();
                assert_eq!(
                    config.deployment,
                    Some(deployment),
                    "{spelling}:{deployment}"
                );
            }
        }
        // A prefix is a prefix: the bare name is a source, and a deployment
        // named by a source is no deployment.
        assert!(matches!(
            "aws-alb".parse::<ResolverConfig>(),
            Err(ConfigError::UnknownSource { .. })
        ));
        assert!(matches!(
            "deployment:x-forwarded-for".parse::<ResolverConfig>(),
            Err(ConfigError::UnknownDeployment(_))
        ));
    }
}
