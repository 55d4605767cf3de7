//! Configuration files: [`ResolverConfig`] and [`Resolver`] from a table
//! (TOML, JSON, YAML, …), read as strictly as the text form.
//!
//! Each value that has a text form (a source, a deployment, a policy) is
//! read by that form's `FromStr`, so a file and `REALIP=` text accept the
//! same words and refuse the same mistakes with the same messages.

use std::fmt;

use http::HeaderName;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::ResolverConfig;
use crate::resolver::{ConfigError, Resolver};
use crate::scheme_host::AllowedHosts;
use crate::trust::ProxySet;

/// The file form, checked strictly.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    deployment: Option<String>,
    /// The older name of `deployment`: files written for it still load.
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
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    align: Option<String>,
    /// One string (`"a.example, *.b.example"`) or a list of them.
    #[serde(default, alias = "allowed-hosts")]
    allowed_hosts: Option<StringOrList>,
    /// One string (`"spiffe://…, spiffe://…"`) or a list of them.
    #[serde(default, alias = "identities")]
    identity: Option<StringOrList>,
    #[serde(default, alias = "identity-header")]
    identity_header: Option<String>,
    #[serde(default, alias = "sidecar-appends")]
    sidecar_appends: bool,
}

/// A value written as one string or as a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    List(Vec<String>),
}

/// A text-form value of the file, read by its `FromStr`.
fn parsed<T, E>(text: Option<String>) -> Result<Option<T>, E>
where
    T: std::str::FromStr<Err = ConfigError>,
    E: de::Error,
{
    text.as_deref()
        .map(str::parse)
        .transpose()
        .map_err(E::custom)
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
        // Two names for one setting: both at once would leave a reader
        // guessing which wins.
        let deployment = match (raw.deployment, raw.preset) {
            (Some(_), Some(_)) => return Err(de::Error::custom(ConfigError::DeploymentAndPreset)),
            (name, older_name) => name.or(older_name),
        };
        Ok(ResolverConfig {
            deployment: parsed(deployment)?,
            source: parsed(raw.source)?,
            trust: raw.trust,
            hops: raw.hops,
            any_peer: raw.any_peer,
            all_trusted: parsed(raw.all_trusted)?,
            max_hops: raw.max_hops,
            unix_peer: raw.unix_peer,
            proto: parsed(raw.proto)?,
            host: parsed(raw.host)?,
            align: parsed(raw.align)?,
            allowed_hosts: raw
                .allowed_hosts
                .map(|hosts| {
                    let text = match hosts {
                        StringOrList::One(text) => text,
                        StringOrList::List(list) => list.join(","),
                    };
                    text.parse::<AllowedHosts>().map_err(|_| {
                        de::Error::custom(ConfigError::InvalidValue {
                            option: "allowed_hosts",
                            value: crate::echo::bounded(&text),
                            expected: "host names and *.suffix patterns, without ports",
                        })
                    })
                })
                .transpose()?,
            identities: raw
                .identity
                .map(|ids| {
                    let list = match ids {
                        StringOrList::One(text) => vec![text],
                        StringOrList::List(list) => list,
                    };
                    let mut identities = Vec::new();
                    for text in &list {
                        for id in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                            identities.push(
                                id.parse()
                                    .map_err(|e| de::Error::custom(ConfigError::Identity(e)))?,
                            );
                        }
                    }
                    if identities.is_empty() {
                        return Err(de::Error::custom(ConfigError::InvalidValue {
                            option: "identity",
                            value: String::new(),
                            expected: "at least one SPIFFE id",
                        }));
                    }
                    Ok(identities)
                })
                .transpose()?,
            identity_header: raw
                .identity_header
                .map(|name| {
                    HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                        de::Error::custom(ConfigError::InvalidValue {
                            option: "identity_header",
                            value: crate::echo::bounded(&name),
                            expected: "a header name",
                        })
                    })
                })
                .transpose()?,
            sidecar_appends: raw.sidecar_appends,
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
