//! Access control by the resolved client: allow and deny lists of address
//! ranges.
//!
//! An allow list written against a header is no allow list: every client
//! writes `X-Forwarded-For`. An [`AccessPolicy`] judges the client the
//! [`Resolver`](crate::Resolver) found (the first hop from the right that
//! is not one of your proxies), so a client that forges an allowed address
//! from outside your proxies is judged by its own. The lists are sets of
//! ranges written like `trust=` (addresses, CIDR ranges, the presets
//! `loopback`, `private`, `link-local`, …) and looked up by the same fast
//! membership as a [`ProxySet`]; either list can be a [`SharedProxySet`],
//! replaced whole while requests are judged.
//!
//! The rules:
//! - **Deny wins over allow**: a client in a `deny=` range is refused,
//!   whatever `allow=` says.
//! - **No allow list allows everyone** not denied; an allow list admits
//!   only the clients in its ranges.
//! - **Addresses are numbers**: a client is judged by its canonical
//!   address. A resolved client is never an IPv4-mapped IPv6 address (the
//!   resolver turns `::ffff:203.0.113.7` into `203.0.113.7`), and
//!   [`decide`](AccessPolicy::decide) turns one given to it into IPv4 too;
//!   so `::ffff:10.1.2.3` is in `10.0.0.0/8`, a range written in the
//!   mapped form (`::ffff:10.0.0.0/104`) is the IPv4 range it maps (and is
//!   shown as `10.0.0.0/8`), and an IPv6 range never matches an IPv4
//!   client. Addresses that embed IPv4 in other ways (NAT64
//!   `64:ff9b::/96`, 6to4, Teredo) stay IPv6 and match IPv6 ranges only.
//! - **Ranges mean what they say**: the refusals of
//!   [`ProxySet::check`] apply (`0.0.0.0/0`, `::/0`, and IPv6 ranges that
//!   contain the IPv4-mapped addresses, such as `::/80`, whose IPv4 part
//!   would match nobody), judged on the merged list: ranges that together
//!   hold a whole family (`0.0.0.0/1, 128.0.0.0/1`), or more public space
//!   than the bound `trust=` applies (2^28 IPv4 addresses, a `/8` of IPv6),
//!   are refused, so that a list fetched from a poisoned server never
//!   allows (or denies) everybody. A list is never empty: leave it out
//!   instead.
//!
//! # The text form
//!
//! `allow=RANGES; deny=RANGES`, each part optional, in any order, names
//! case-insensitive; `RANGES` is `trust=`'s form (commas or spaces between
//! entries). An environment variable holds it:
//!
//! ```text
//! REALIP_ACCESS="allow=10.0.0.0/8, 192.0.2.0/24; deny=10.66.0.0/16"
//! ```
//!
//! [`Display`](std::fmt::Display) writes it back (allow first), so a
//! policy round-trips; a shared list is written as the set it holds at
//! that moment. With feature `serde`, a policy is read from a table with
//! the keys `allow` and `deny` (each a string or a list of strings), or
//! from a string in the text form, and written as the table. Every mistake
//! is an [`AccessPolicyError`] that names the list and the entry.
//!
//! ```
//! use realip::access::{AccessDecision, AccessPolicy};
//!
//! let policy: AccessPolicy = "allow=10.0.0.0/8, 192.0.2.0/24; deny=10.66.0.0/16".parse()?;
//! assert_eq!(policy.decide("10.1.2.3".parse()?), AccessDecision::Allowed);
//! assert_eq!(policy.decide("10.66.0.9".parse()?), AccessDecision::Denied);
//! assert_eq!(policy.decide("203.0.113.7".parse()?), AccessDecision::NotAllowed);
//! // An IPv4-mapped address is judged as the IPv4 address it maps.
//! assert!(policy.allows("::ffff:10.1.2.3".parse()?));
//! assert_eq!(policy.to_string(), "allow=10.0.0.0/8, 192.0.2.0/24; deny=10.66.0.0/16");
//!
//! let err = "allow=0.0.0.0/0".parse::<AccessPolicy>().unwrap_err();
//! assert!(err.to_string().starts_with(r#"invalid allow= entry "0.0.0.0/0""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # In a server (feature `tower`)
//!
//! [`AccessControlLayer`] applies a policy to every request. It sits
//! **inside** [`ClientIpLayer`](crate::tower::ClientIpLayer) and reads the
//! [`Resolution`](crate::Resolution) (or the [`Error`](crate::Error)) that
//! layer stored, so each request is resolved once: in axum, add it before
//! `ClientIpLayer` (the later `.layer(…)` is the outer one). A refused
//! client gets `403 Forbidden` with [`REFUSED_BODY`], which echoes nothing
//! from the request ([`refuse_with`](AccessControlLayer::refuse_with)
//! chooses another status and body); a request whose client cannot be
//! resolved is refused as `ClientIpLayer::reject_unresolvable` refuses it
//! (`400` with [`DEFAULT_REJECTION_BODY`](crate::tower::DEFAULT_REJECTION_BODY),
//! or `500` with [`NO_PEER_BODY`](crate::tower::NO_PEER_BODY) when the
//! server passes no peer address): access control never lets in a client
//! it could not judge. A request that no `ClientIpLayer` resolved gets
//! `500` with [`NO_RESOLUTION_BODY`]: the layer does not resolve on its own,
//! so that a stack in the wrong order is an error the first request shows,
//! not a second resolution with another resolver. With feature `tracing`,
//! each refusal is a debug event naming the client and the rule.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use realip::access::{AccessControlLayer, AccessPolicy};
//! use realip::tower::ClientIpLayer;
//! use realip::{ClientIp, Peer, Resolver};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Behind a gateway in 10.0.0.0/8 that appends X-Forwarded-For.
//! let resolver: Resolver = "x-forwarded-for; trust=10.0.0.0/8".parse()?;
//! let policy: AccessPolicy = "allow=203.0.113.0/24".parse()?;
//! let app = Router::new()
//!     .route("/", get(|client: ClientIp| async move { format!("hello {client}") }))
//!     .layer(AccessControlLayer::new(policy)) // inner: judges the resolved client
//!     .layer(ClientIpLayer::new(resolver)); // outer: resolves
//!
//! let gateway = Peer::from("10.0.0.3:40000".parse::<std::net::SocketAddr>()?);
//! let request = |xff: &str| {
//!     Request::get("/")
//!         .header("x-forwarded-for", xff)
//!         .extension(gateway)
//!         .body(Body::empty())
//! };
//! // The gateway saw 203.0.113.7: allowed, whatever the client wrote left of it.
//! let response = app.clone().oneshot(request("10.9.9.9, 203.0.113.7")?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! // The gateway saw 198.51.100.66, which forged an allowed address.
//! let response = app.clone().oneshot(request("203.0.113.7, 198.51.100.66")?).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::trust::{ProxySet, SharedProxySet};

mod error;
#[cfg(feature = "tower")]
mod layer;
#[cfg(feature = "serde")]
mod serde;
mod text;

pub use error::AccessPolicyError;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{AccessControlLayer, AccessControlService, NO_RESOLUTION_BODY, REFUSED_BODY};

/// The names of the two lists, as the text form and errors write them.
const ALLOW: &str = "allow";
const DENY: &str = "deny";

/// Which clients are let in: allow and deny lists of address ranges,
/// applied to the resolved client. Deny wins over allow; without an allow
/// list, every client not denied is allowed. See the [module
/// documentation](self) for the text form and what a range matches.
///
/// Cloning copies fixed lists and shares shared ones; the
/// [layer](AccessControlLayer) shares one policy between its services.
///
/// ```
/// use realip::access::{AccessDecision, AccessPolicy};
/// use realip::{ProxySet, SharedProxySet};
///
/// let blocked = SharedProxySet::new("198.51.100.0/24".parse::<ProxySet>()?);
/// let policy = AccessPolicy::new().deny_shared(blocked.clone())?;
/// let client: std::net::IpAddr = "198.51.100.7".parse()?;
/// assert_eq!(policy.decide(client), AccessDecision::Denied);
///
/// // A new list arrives: every decision from now on uses it.
/// blocked.store("192.0.2.0/24".parse()?)?;
/// assert_eq!(policy.decide(client), AccessDecision::Allowed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct AccessPolicy {
    allow: Option<Ranges>,
    deny: Option<Ranges>,
}

/// One list: a set fixed when the policy was made, or a handle whose set
/// a reload replaces.
#[derive(Clone, PartialEq, Eq)]
enum Ranges {
    Fixed(ProxySet),
    Shared(SharedProxySet),
}

impl Ranges {
    /// A fixed list, refused if it is empty or means more than it says.
    fn fixed(list: &'static str, set: ProxySet) -> Result<Self, AccessPolicyError> {
        sound(list, &set)?;
        Ok(Ranges::Fixed(set))
    }

    /// A shared list, refused if the set it holds now is empty or means
    /// more than it says (every set stored later is checked by the
    /// handle).
    fn shared(list: &'static str, set: SharedProxySet) -> Result<Self, AccessPolicyError> {
        sound(list, &set.current())?;
        Ok(Ranges::Shared(set))
    }

    /// Whether `ip`, a canonical address, is in the list: one load of a
    /// shared set (no lock, no allocation), then the set's lookup.
    #[inline]
    fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Ranges::Fixed(set) => set.contains_canonical(ip),
            Ranges::Shared(shared) => shared.load().contains_canonical(ip),
        }
    }
}

impl fmt::Display for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ranges::Fixed(set) => set.fmt(f),
            Ranges::Shared(shared) => shared.fmt(f),
        }
    }
}

/// Refuses a list that is empty or holds a range [`ProxySet::check`]
/// refuses, naming the list.
fn sound(list: &'static str, set: &ProxySet) -> Result<(), AccessPolicyError> {
    let refused = |reason| AccessPolicyError::Ranges { list, reason };
    if set.is_empty() {
        return Err(refused(crate::trust::TrustParseError::Empty));
    }
    set.check().map_err(refused)
}

impl AccessPolicy {
    /// A policy with no list: it allows every client. Add lists with
    /// [`allow`](Self::allow) and [`deny`](Self::deny) (or their shared
    /// forms).
    ///
    /// ```
    /// use realip::access::AccessPolicy;
    ///
    /// assert!(AccessPolicy::new().allows("203.0.113.7".parse().unwrap()));
    /// assert_eq!(AccessPolicy::new().to_string(), "");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows only the clients in `set` (and not denied). Replaces an
    /// allow list given before.
    ///
    /// Refused: an empty set (leave the allow list out to allow every
    /// client), and a set [`ProxySet::check`] refuses (a set built from
    /// [`IpNet`](ipnet::IpNet)s is not checked until here).
    ///
    /// ```
    /// use realip::access::AccessPolicy;
    /// use realip::ProxySet;
    ///
    /// let policy = AccessPolicy::new().allow("private, 192.0.2.0/24".parse::<ProxySet>()?)?;
    /// assert!(policy.allows("10.1.2.3".parse()?));
    /// assert!(!policy.allows("203.0.113.7".parse()?));
    /// assert!(AccessPolicy::new().allow(ProxySet::new()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow(mut self, set: ProxySet) -> Result<Self, AccessPolicyError> {
        self.allow = Some(Ranges::fixed(ALLOW, set)?);
        Ok(self)
    }

    /// Allows only the clients in the set `set` holds at each decision:
    /// a reload ([`SharedProxySet::store`], a watched file) changes the
    /// list for every later request. Refused as [`allow`](Self::allow)
    /// refuses, judged by the set it holds now.
    ///
    /// ```
    /// use realip::access::AccessPolicy;
    /// use realip::{ProxySet, SharedProxySet};
    ///
    /// let offices = SharedProxySet::new("192.0.2.0/24".parse::<ProxySet>()?);
    /// let policy = AccessPolicy::new().allow_shared(offices.clone())?;
    /// assert!(!policy.allows("198.51.100.7".parse()?));
    /// offices.store("192.0.2.0/24, 198.51.100.0/24".parse()?)?;
    /// assert!(policy.allows("198.51.100.7".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_shared(mut self, set: SharedProxySet) -> Result<Self, AccessPolicyError> {
        self.allow = Some(Ranges::shared(ALLOW, set)?);
        Ok(self)
    }

    /// Refuses the clients in `set`, whatever the allow list says.
    /// Replaces a deny list given before. Refused as
    /// [`allow`](Self::allow) refuses.
    ///
    /// ```
    /// use realip::access::{AccessDecision, AccessPolicy};
    /// use realip::ProxySet;
    ///
    /// let policy = AccessPolicy::new()
    ///     .allow("10.0.0.0/8".parse::<ProxySet>()?)?
    ///     .deny("10.66.0.0/16".parse::<ProxySet>()?)?;
    /// assert_eq!(policy.decide("10.66.1.1".parse()?), AccessDecision::Denied);
    /// assert_eq!(policy.decide("10.1.1.1".parse()?), AccessDecision::Allowed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deny(mut self, set: ProxySet) -> Result<Self, AccessPolicyError> {
        self.deny = Some(Ranges::fixed(DENY, set)?);
        Ok(self)
    }

    /// Refuses the clients in the set `set` holds at each decision (see
    /// [`allow_shared`](Self::allow_shared)).
    ///
    /// ```
    /// use realip::access::AccessPolicy;
    /// use realip::{ProxySet, SharedProxySet};
    ///
    /// let blocked = SharedProxySet::new("198.51.100.0/24".parse::<ProxySet>()?);
    /// let policy = AccessPolicy::new().deny_shared(blocked)?;
    /// assert!(!policy.allows("198.51.100.7".parse()?));
    /// assert!(policy.allows("203.0.113.7".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deny_shared(mut self, set: SharedProxySet) -> Result<Self, AccessPolicyError> {
        self.deny = Some(Ranges::shared(DENY, set)?);
        Ok(self)
    }

    /// Whether `client` may in, and if not, by which rule. Give it the
    /// resolved client ([`ClientIp::ip`](crate::ClientIp::ip),
    /// [`Resolution::ip`](crate::Resolution::ip)), never an address read
    /// from a header. An IPv4-mapped IPv6 address is judged
    /// as the IPv4 address it maps. Takes no lock and allocates nothing,
    /// shared lists included.
    ///
    /// ```
    /// use realip::access::{AccessDecision, AccessPolicy};
    /// use realip::ClientIp;
    ///
    /// let policy: AccessPolicy = "allow=10.0.0.0/8; deny=10.66.0.0/16".parse()?;
    /// let client: ClientIp = "10.1.2.3".parse()?;
    /// assert_eq!(policy.decide(client.ip()), AccessDecision::Allowed);
    /// assert_eq!(policy.decide("10.66.0.1".parse()?), AccessDecision::Denied);
    /// assert_eq!(policy.decide("192.0.2.1".parse()?), AccessDecision::NotAllowed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn decide(&self, client: IpAddr) -> AccessDecision {
        let ip = client.to_canonical();
        if self.deny.as_ref().is_some_and(|deny| deny.contains(ip)) {
            return AccessDecision::Denied;
        }
        match &self.allow {
            Some(allow) if !allow.contains(ip) => AccessDecision::NotAllowed,
            _ => AccessDecision::Allowed,
        }
    }

    /// Whether `client` may in: [`decide`](Self::decide) is
    /// [`Allowed`](AccessDecision::Allowed).
    ///
    /// ```
    /// use realip::access::AccessPolicy;
    ///
    /// let policy: AccessPolicy = "deny=198.51.100.0/24".parse()?;
    /// assert!(policy.allows("203.0.113.7".parse()?));
    /// assert!(!policy.allows("198.51.100.7".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn allows(&self, client: IpAddr) -> bool {
        self.decide(client).is_allowed()
    }
}

impl fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessPolicy({self})")
    }
}

/// What an [`AccessPolicy`] decided for one client.
///
/// ```
/// use realip::access::{AccessDecision, AccessPolicy};
///
/// let policy: AccessPolicy = "allow=10.0.0.0/8; deny=10.66.0.0/16".parse()?;
/// let decision = policy.decide("10.66.0.1".parse()?);
/// assert_eq!(decision, AccessDecision::Denied);
/// assert_eq!(decision.rule(), Some("deny"));
/// assert_eq!(decision.to_string(), "denied: in deny=");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessDecision {
    /// In no `deny=` range, and in an `allow=` range (or there is no allow
    /// list).
    Allowed,
    /// In a `deny=` range: refused, whatever the allow list says.
    Denied,
    /// Not in any `allow=` range: refused.
    NotAllowed,
}

impl AccessDecision {
    /// Whether the client may in.
    ///
    /// ```
    /// use realip::access::AccessDecision;
    ///
    /// assert!(AccessDecision::Allowed.is_allowed());
    /// assert!(!AccessDecision::NotAllowed.is_allowed());
    /// ```
    pub fn is_allowed(self) -> bool {
        self == AccessDecision::Allowed
    }

    /// The list whose rule refused the client: `deny` (the client is in
    /// it) or `allow` (the client is not); `None` when it is allowed.
    ///
    /// ```
    /// use realip::access::AccessDecision;
    ///
    /// assert_eq!(AccessDecision::NotAllowed.rule(), Some("allow"));
    /// assert_eq!(AccessDecision::Allowed.rule(), None);
    /// ```
    pub fn rule(self) -> Option<&'static str> {
        match self {
            AccessDecision::Allowed => None,
            AccessDecision::Denied => Some(DENY),
            AccessDecision::NotAllowed => Some(ALLOW),
        }
    }
}

impl fmt::Display for AccessDecision {
    /// `allowed`, `denied: in deny=` or `refused: not in allow=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessDecision::Allowed => "allowed",
            AccessDecision::Denied => "denied: in deny=",
            AccessDecision::NotAllowed => "refused: not in allow=",
        })
    }
}
