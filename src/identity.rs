//! Caller identities: which callers of a trusted sidecar are trusted
//! proxies because of who they are, not where they connect from (DESIGN
//! rule 15).
//!
//! An identity is a SPIFFE id, written exactly as the workload's
//! certificate carries it in its URI SAN (and Envoy in
//! `x-forwarded-client-cert`). The SPIFFE specification fixes what one may
//! hold, so a configured identity is checked against it: a typo that could
//! never match a certificate is an error, not a silent "trust nobody".

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The longest SPIFFE id (the SPIFFE specification's bound, in bytes).
const MAX_LEN: usize = 2048;

/// A trusted caller identity: one SPIFFE id, or every workload of one
/// namespace.
///
/// Written as the id itself (`spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`)
/// or as a namespace prefix ending in `/`
/// (`spiffe://cluster.local/ns/istio-system/`). Nothing broader: a trust
/// domain alone would trust every workload of the mesh, which is what
/// identity trust exists to avoid.
///
/// ```
/// use realip::Identity;
///
/// let gateway: Identity =
///     "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account".parse()?;
/// assert!(gateway.admits("spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"));
/// assert!(!gateway.admits("spiffe://cluster.local/ns/default/sa/sleep"));
///
/// let system: Identity = "spiffe://cluster.local/ns/istio-system/".parse()?;
/// assert!(system.admits("spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway"));
///
/// // The whole mesh is refused, and says why.
/// let err = "spiffe://cluster.local/".parse::<Identity>().unwrap_err();
/// assert!(err.to_string().contains("namespace"));
/// # Ok::<(), realip::IdentityError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The id, or the prefix with its trailing `/`.
    text: Box<str>,
}

impl Identity {
    /// Whether `caller` (a SPIFFE id read from a request) is this identity,
    /// or in this namespace. Exact and case-sensitive, as SPIFFE ids are
    /// compared.
    pub fn admits(&self, caller: &str) -> bool {
        match self.is_namespace() {
            // Something must follow the prefix: the namespace itself is
            // not a workload.
            true => caller.len() > self.text.len() && caller.starts_with(&*self.text),
            false => caller == &*self.text,
        }
    }

    /// Whether this is a namespace prefix (every workload of one
    /// namespace) rather than one id.
    pub fn is_namespace(&self) -> bool {
        self.text.ends_with('/')
    }

    /// The id or prefix, as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why text is not an [`Identity`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid identity {given:?}: {why}")]
pub struct IdentityError {
    /// What was given (at most 64 characters of it).
    pub given: String,
    /// What is wrong, in words.
    pub why: &'static str,
}

impl FromStr for Identity {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let err = |why| IdentityError {
            given: s.chars().take(64).collect(),
            why,
        };
        if s.len() > MAX_LEN {
            return Err(err("longer than a SPIFFE id may be (2048 bytes)"));
        }
        let rest = s
            .strip_prefix("spiffe://")
            .ok_or_else(|| err("a caller identity is a SPIFFE id: spiffe://TRUST-DOMAIN/PATH"))?;
        let (domain, path) = rest.split_once('/').unwrap_or((rest, ""));
        if domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        {
            return Err(err(
                "the trust domain is lowercase letters, digits, '.', '-' and '_' only, and not empty",
            ));
        }
        if path.is_empty() {
            return Err(err(
                "a trust domain alone would trust every workload of the mesh: name a workload \
                 (spiffe://TD/ns/NS/sa/SA) or a namespace (spiffe://TD/ns/NS/)",
            ));
        }
        let (path, namespace) = match path.strip_suffix('/') {
            Some(prefix) => (prefix, true),
            None => (path, false),
        };
        let segments: Vec<&str> = path.split('/').collect();
        for segment in &segments {
            if segment.is_empty() || *segment == "." || *segment == ".." {
                return Err(err(
                    "a path segment is empty, '.' or '..', which no SPIFFE id holds",
                ));
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            {
                return Err(err(
                    "a path segment holds a character other than letters, digits, '.', '-' and '_'",
                ));
            }
        }
        if namespace && !(segments.len() == 2 && segments[0] == "ns") {
            return Err(err(
                "a prefix (ending in '/') names one namespace: spiffe://TD/ns/NS/; anything \
                 broader would trust workloads you did not name",
            ));
        }
        Ok(Identity { text: s.into() })
    }
}

/// Who called the trusted sidecar, as it vouched (DESIGN rule 15): the
/// SPIFFE id from its caller's certificate, and whether the resolver
/// trusts it.
///
/// [`Resolver::caller`](crate::Resolver::caller) reads it borrowed from
/// the request, allocating nothing; [`into_owned`](Caller::into_owned)
/// keeps it past the request (the tower layer stores a `Caller<'static>`
/// in the request's extensions, and axum extracts it).
///
/// ```
/// use realip::Resolver;
/// use http::HeaderMap;
///
/// let resolver: Resolver = "deployment:istio-gateway".parse()?;
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "x-forwarded-client-cert",
///     "By=spiffe://cluster.local/ns/shop/sa/web;Hash=ab;Subject=\"\";\
///      URI=spiffe://cluster.local/ns/shop/sa/frontend".parse()?,
/// );
/// let peer: std::net::SocketAddr = "127.0.0.6:40000".parse()?;
/// let caller = resolver.caller(peer, &headers).expect("the sidecar vouched for a caller");
/// assert_eq!(caller.uri(), "spiffe://cluster.local/ns/shop/sa/frontend");
/// assert!(!caller.is_trusted()); // a workload of the mesh, not the gateway
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Caller<'h> {
    pub(crate) uri: Cow<'h, str>,
    pub(crate) trusted: bool,
}

impl Caller<'_> {
    /// The caller's SPIFFE id (the `URI` its sidecar wrote).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Whether the resolver trusts this caller as a proxy (it is among the
    /// configured identities).
    pub fn is_trusted(&self) -> bool {
        self.trusted
    }

    /// The same caller, owning its id.
    pub fn into_owned(self) -> Caller<'static> {
        Caller {
            uri: Cow::Owned(self.uri.into_owned()),
            trusted: self.trusted,
        }
    }
}

impl fmt::Display for Caller<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids_and_namespaces() {
        for good in [
            "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
            "spiffe://example.org/workload",
            "spiffe://a_b-c.d/x/y.z/A-B_c",
            "spiffe://cluster.local/ns/istio-system/",
        ] {
            let id: Identity = good.parse().unwrap();
            assert_eq!(id.to_string(), good);
        }
        for bad in [
            "",
            "https://cluster.local/ns/a/sa/b",
            "SPIFFE://cluster.local/ns/a/sa/b",
            "spiffe://",
            "spiffe:///ns/a",
            "spiffe://Cluster.local/ns/a/sa/b",
            "spiffe://cluster.local",
            "spiffe://cluster.local/",
            "spiffe://cluster.local/ns/a//sa",
            "spiffe://cluster.local/ns/../sa/b",
            "spiffe://cluster.local/ns/a b/sa/b",
            "spiffe://cluster.local/ns/a/sa/b?x",
            "spiffe://cluster.local/ns/",
            "spiffe://cluster.local/ns/a/sa/",
            "spiffe://cluster.local/other/a/",
            "spiffe://user@cluster.local/ns/a",
            "spiffe://cluster.local:8080/ns/a",
        ] {
            assert!(bad.parse::<Identity>().is_err(), "{bad:?}");
        }
        let long = format!("spiffe://td/{}", "a".repeat(MAX_LEN));
        assert!(long.parse::<Identity>().is_err());
    }

    #[test]
    fn admits_exactly() {
        let id: Identity = "spiffe://td/ns/gw/sa/gateway".parse().unwrap();
        assert!(id.admits("spiffe://td/ns/gw/sa/gateway"));
        for other in [
            "spiffe://td/ns/gw/sa/gateway2",
            "spiffe://td/ns/gw/sa/Gateway",
            "spiffe://td/ns/gw/sa/gateway/",
            "spiffe://td/ns/gw/sa",
            "",
        ] {
            assert!(!id.admits(other), "{other:?}");
        }
        let ns: Identity = "spiffe://td/ns/gw/".parse().unwrap();
        assert!(ns.admits("spiffe://td/ns/gw/sa/anything"));
        for other in [
            "spiffe://td/ns/gw/",
            "spiffe://td/ns/gw",
            "spiffe://td/ns/gw2/sa/x",
            "spiffe://td2/ns/gw/sa/x",
        ] {
            assert!(!ns.admits(other), "{other:?}");
        }
    }
}
