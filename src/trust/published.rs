//! Readers for the lists in which providers publish their proxies'
//! addresses: Cloudflare's text lists, AWS `ip-ranges.json`, Google's
//! `cloud.json` and `goog.json`. No network: give them the text you
//! fetched (or shipped), and they make a [`ProxySet`] or say which line or
//! entry is wrong.
//!
//! An empty result is an error, never an empty trusted set: a list that
//! was cut short, or a filter that matches nothing, must not silently turn
//! a resolver into one that trusts no proxy.

#[cfg(feature = "published")]
use ipnet::IpNet;

use super::{Entry, ProxySet, TrustParseError};

/// Why a published list cannot be read. Messages name the line or entry;
/// they quote at most 64 characters of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishedListError {
    /// A line of a text list is not an entry.
    #[error("line {line}: {reason}")]
    Line {
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: TrustParseError,
    },
    /// An entry of a JSON list is not a range.
    #[error("{field}[{index}]: {reason}")]
    Entry {
        /// The list the entry is in (`prefixes`, `ipv6_prefixes`).
        field: &'static str,
        /// The entry's position in it, from 0.
        index: usize,
        /// What is wrong with it.
        reason: TrustParseError,
    },
    /// Not the JSON document the reader expects (what is wrong, quoting at
    /// most 64 characters of the document, and where).
    #[error("not the expected document: {0}")]
    Document(String),
    /// The list (after the filter, if any) holds no range.
    #[error("the list holds no range{0}; a trusted set is never empty")]
    Empty(String),
    /// The ranges read mean more than they say (see [`ProxySet::check`]).
    #[error(transparent)]
    Meaningless(TrustParseError),
}

/// One range as a provider publishes it: a CIDR with no host bits set.
#[cfg(feature = "published")]
fn range(text: &str) -> Result<IpNet, TrustParseError> {
    match text.trim().parse::<Entry>()? {
        Entry::Net(net) => Ok(net),
        // A provider's list holds ranges; a preset name there is not one.
        Entry::Preset(_) => Err(TrustParseError::NotAnAddress(crate::echo::bounded(text))),
    }
}

/// Why JSON is not the document a reader expects, quoting at most 64
/// characters of what serde_json says (which quotes a string value it did
/// not expect whole), and where.
#[cfg(feature = "published")]
fn not_the_document(error: serde_json::Error) -> PublishedListError {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let what = message.strip_suffix(&position).unwrap_or(&message);
    let mut quoted = crate::echo::bounded(what);
    if quoted.len() < what.len() {
        quoted.push('…');
    }
    if error.line() > 0 {
        quoted.push_str(&position);
    }
    PublishedListError::Document(quoted)
}

/// The set of `nets`, checked; `what` says what was read, for the error
/// when nothing was.
#[cfg(feature = "published")]
fn finish(nets: Vec<IpNet>, what: String) -> Result<ProxySet, PublishedListError> {
    if nets.is_empty() {
        return Err(PublishedListError::Empty(what));
    }
    let set: ProxySet = nets.into_iter().collect();
    set.check().map_err(PublishedListError::Meaningless)?;
    Ok(set)
}

impl ProxySet {
    /// Reads a list with one entry per line, in the text form of `trust=`
    /// (an address, a CIDR range or a preset): Cloudflare's
    /// `https://www.cloudflare.com/ips-v4` and `ips-v6`, or a file of your
    /// own. Blank lines and `#` comments are skipped.
    ///
    /// ```
    /// use realip::ProxySet;
    ///
    /// let v4 = "173.245.48.0/20\n103.21.244.0/22\n";
    /// let set = ProxySet::from_lines(v4)?;
    /// assert!(set.contains("173.245.48.1".parse()?));
    ///
    /// let err = ProxySet::from_lines("# ours\n10.0.0.0/8\n10.0.0.1/8\n").unwrap_err();
    /// assert!(err.to_string().starts_with("line 3:"));
    /// assert!(ProxySet::from_lines("# nothing\n\n").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_lines(text: &str) -> Result<ProxySet, PublishedListError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            let entry = entry
                .parse::<Entry>()
                .map_err(|reason| PublishedListError::Line {
                    line: i + 1,
                    reason,
                })?;
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(PublishedListError::Empty(String::new()));
        }
        // One extend: the ranges are sorted and merged once, not per line.
        let set: ProxySet = entries.into_iter().collect();
        set.check().map_err(PublishedListError::Meaningless)?;
        Ok(set)
    }

    /// Reads AWS's `ip-ranges.json` (`https://ip-ranges.amazonaws.com/ip-ranges.json`),
    /// keeping the IPv4 and IPv6 prefixes of `service` (for example
    /// `CLOUDFRONT_ORIGIN_FACING`, the addresses CloudFront connects to an
    /// origin from) and, when given, of `region` only.
    ///
    /// ```
    /// use realip::ProxySet;
    ///
    /// let json = r#"{"syncToken": "1", "createDate": "2026-11-30-00-00-00",
    ///   "prefixes": [
    ///     {"ip_prefix": "120.52.22.96/27", "region": "GLOBAL", "service": "CLOUDFRONT_ORIGIN_FACING", "network_border_group": "GLOBAL"},
    ///     {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON", "network_border_group": "ap-northeast-2"}],
    ///   "ipv6_prefixes": []}"#;
    /// let set = ProxySet::from_aws_ip_ranges(json, "CLOUDFRONT_ORIGIN_FACING", None)?;
    /// assert_eq!(set.to_string(), "120.52.22.96/27");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "published")]
    #[cfg_attr(docsrs, doc(cfg(feature = "published")))]
    pub fn from_aws_ip_ranges(
        json: &str,
        service: &str,
        region: Option<&str>,
    ) -> Result<ProxySet, PublishedListError> {
        use serde::Deserialize;

        #[derive(Deserialize)]
        struct Document {
            prefixes: Vec<V4>,
            #[serde(default)]
            ipv6_prefixes: Vec<V6>,
        }
        #[derive(Deserialize)]
        struct V4 {
            ip_prefix: String,
            region: String,
            service: String,
        }
        #[derive(Deserialize)]
        struct V6 {
            ipv6_prefix: String,
            region: String,
            service: String,
        }

        let document: Document = serde_json::from_str(json).map_err(not_the_document)?;
        let wanted = |s: &str, r: &str| s == service && region.is_none_or(|region| r == region);
        let mut nets = Vec::new();
        for (index, p) in document.prefixes.iter().enumerate() {
            if wanted(&p.service, &p.region) {
                let net = range(&p.ip_prefix).map_err(|reason| PublishedListError::Entry {
                    field: "prefixes",
                    index,
                    reason,
                })?;
                nets.push(net);
            }
        }
        for (index, p) in document.ipv6_prefixes.iter().enumerate() {
            if wanted(&p.service, &p.region) {
                let net = range(&p.ipv6_prefix).map_err(|reason| PublishedListError::Entry {
                    field: "ipv6_prefixes",
                    index,
                    reason,
                })?;
                nets.push(net);
            }
        }
        let what = match region {
            Some(region) => format!(" for service {service:?} in region {region:?}"),
            None => format!(" for service {service:?}"),
        };
        finish(nets, what)
    }

    /// Reads Google's `cloud.json` (`https://www.gstatic.com/ipranges/cloud.json`)
    /// or `goog.json` (`https://www.gstatic.com/ipranges/goog.json`): every
    /// `ipv4Prefix` and `ipv6Prefix`, or only those of `scope` (a region
    /// such as `europe-west1`, in `cloud.json`) when given.
    ///
    /// ```
    /// use realip::ProxySet;
    ///
    /// let json = r#"{"syncToken": "1", "creationTime": "2026-11-30T00:00:00",
    ///   "prefixes": [{"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud", "scope": "africa-south1"},
    ///                {"ipv6Prefix": "2600:1900:8000::/44", "service": "Google Cloud", "scope": "africa-south1"}]}"#;
    /// let set = ProxySet::from_google_ranges(json, None)?;
    /// assert_eq!(set.to_string(), "34.1.208.0/20, 2600:1900:8000::/44");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "published")]
    #[cfg_attr(docsrs, doc(cfg(feature = "published")))]
    pub fn from_google_ranges(
        json: &str,
        scope: Option<&str>,
    ) -> Result<ProxySet, PublishedListError> {
        use serde::Deserialize;

        #[derive(Deserialize)]
        struct Document {
            prefixes: Vec<Prefix>,
        }
        #[derive(Deserialize)]
        struct Prefix {
            #[serde(rename = "ipv4Prefix")]
            ipv4: Option<String>,
            #[serde(rename = "ipv6Prefix")]
            ipv6: Option<String>,
            scope: Option<String>,
        }

        let document: Document = serde_json::from_str(json).map_err(not_the_document)?;
        let mut nets = Vec::new();
        for (index, p) in document.prefixes.iter().enumerate() {
            if scope.is_some_and(|scope| p.scope.as_deref() != Some(scope)) {
                continue;
            }
            let text = match (&p.ipv4, &p.ipv6) {
                (Some(text), None) | (None, Some(text)) => text,
                _ => {
                    return Err(PublishedListError::Document(format!(
                        "prefixes[{index}] holds neither or both of ipv4Prefix and ipv6Prefix"
                    )));
                }
            };
            let net = range(text).map_err(|reason| PublishedListError::Entry {
                field: "prefixes",
                index,
                reason,
            })?;
            nets.push(net);
        }
        let what = scope.map_or_else(String::new, |scope| format!(" for scope {scope:?}"));
        finish(nets, what)
    }
}
