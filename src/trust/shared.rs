//! A trusted set that can be replaced while requests are being resolved.
//!
//! Providers change the addresses their proxies connect from (Cloudflare,
//! CloudFront, Google's load balancers), and a cluster's balancers move. A
//! [`SharedProxySet`] is a handle to a [`ProxySet`] that a reload replaces
//! whole: a resolution loads the set once, without a lock and without
//! allocating, and judges the peer and every hop by that one set, so it
//! sees the old set or the new one, never a mix and never half a set.
//!
//! Only sets that a resolver would accept are swapped in: a set that is
//! empty, or that trusts more than it says ([`ProxySet::check`]), is
//! refused and the handle keeps what it held. A list cut short or a
//! filter that matches nothing must not silently turn a resolver into one
//! that trusts no proxy, or one that trusts everybody.

use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use super::ProxySet;
use super::reload_error::{ReloadError, warn_kept};

/// A shared set as loaded for one resolution: the set it held then, kept
/// alive (and unchanged) until the resolution drops it.
pub(crate) type LoadedSet = Guard<Arc<ProxySet>>;

/// A handle to a set of trusted proxies that can be replaced atomically
/// while requests are being resolved.
///
/// Clones share the set: give one to a [`Resolver`](crate::Resolver)
/// ([`trusted_shared_proxies`](crate::ResolverBuilder::trusted_shared_proxies))
/// or a PROXY-protocol listener, keep one to [`store`](Self::store) new
/// sets in, or to reload them from a file
/// ([`reload_from_file`](Self::reload_from_file),
/// [`watch_file`](Self::watch_file)). A resolution loads the current set
/// once (no lock, no allocation) and walks with it: a reload never blocks a
/// resolution, and a resolution never sees half a set or the peer judged by
/// one set and a hop by another.
///
/// ```
/// use realip::{ProxySet, Resolver, SharedProxySet};
/// use http::HeaderMap;
///
/// let proxies = SharedProxySet::new("10.0.0.0/8".parse::<ProxySet>()?);
/// let resolver = Resolver::builder()
///     .x_forwarded_for()
///     .trusted_shared_proxies(proxies.clone())
///     .build()?;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.7".parse()?);
/// let balancer: std::net::SocketAddr = "192.0.2.10:40000".parse()?;
/// // Not (yet) a trusted proxy: the balancer is the client.
/// assert_eq!(resolver.resolve(balancer, &headers)?.client().to_string(), "192.0.2.10");
///
/// // A new list arrives: every resolution from now on uses it.
/// proxies.store("10.0.0.0/8, 192.0.2.0/24".parse()?)?;
/// assert_eq!(resolver.resolve(balancer, &headers)?.client().to_string(), "203.0.113.7");
///
/// // An empty set is refused, and the last good one kept.
/// assert!(proxies.store(ProxySet::new()).is_err());
/// assert_eq!(proxies.current().to_string(), "10.0.0.0/8, 192.0.2.0/24");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SharedProxySet {
    current: Arc<ArcSwap<ProxySet>>,
}

impl SharedProxySet {
    /// A handle that holds `set` until a new one is stored.
    ///
    /// `set` is taken as the builders take a plain set: a
    /// [`Resolver`](crate::Resolver) built on the handle checks it as it
    /// checks any trusted set (an empty or unsound one does not build),
    /// and every set stored later is checked before it is swapped in.
    ///
    /// ```
    /// use realip::{Preset, ProxySet, SharedProxySet};
    ///
    /// let cloudflare = SharedProxySet::new(ProxySet::preset(Preset::Cloudflare));
    /// assert!(cloudflare.current().contains("173.245.48.1".parse().unwrap()));
    /// ```
    pub fn new(set: ProxySet) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(set)),
        }
    }

    /// The set the handle holds now: a snapshot, which later stores do not
    /// change.
    ///
    /// ```
    /// use realip::{ProxySet, SharedProxySet};
    ///
    /// let proxies = SharedProxySet::new("10.0.0.0/8".parse::<ProxySet>()?);
    /// let before = proxies.current();
    /// proxies.store("192.0.2.0/24".parse()?)?;
    /// assert_eq!(before.to_string(), "10.0.0.0/8");
    /// assert_eq!(proxies.current().to_string(), "192.0.2.0/24");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn current(&self) -> Arc<ProxySet> {
        self.current.load_full()
    }

    /// Replaces the set, atomically: resolutions that already loaded the
    /// old set finish with it, later ones use `set`. Returns whether `set`
    /// differs from the set it replaced.
    ///
    /// Refused, keeping the set the handle holds: an empty `set`
    /// ([`ReloadError::Empty`]), which would trust no proxy, and one that
    /// trusts more than it says ([`ReloadError::Refused`], the check
    /// [`ProxySet::check`] makes and configuration makes). With feature
    /// `tracing`, a refusal is also a warning.
    ///
    /// ```
    /// use realip::{ProxySet, SharedProxySet};
    /// use realip::trust::ReloadError;
    /// use ipnet::IpNet;
    ///
    /// let proxies = SharedProxySet::new("10.0.0.0/8".parse::<ProxySet>()?);
    /// assert!(proxies.store("10.0.0.0/8, 192.0.2.0/24".parse()?)?);
    /// assert!(!proxies.store("10.0.0.0/8, 192.0.2.0/24".parse()?)?);
    ///
    /// let everything: ProxySet = ["0.0.0.0/0".parse::<IpNet>()?].into_iter().collect();
    /// assert!(matches!(proxies.store(everything), Err(ReloadError::Refused(_))));
    /// assert_eq!(proxies.current().to_string(), "10.0.0.0/8, 192.0.2.0/24");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&self, set: ProxySet) -> Result<bool, ReloadError> {
        let stored = self.swap_in(Arc::new(set));
        if let Err(error) = &stored {
            warn_kept(error);
        }
        stored
    }

    /// [`store`](Self::store) without the warning, for callers that say
    /// why in their own words.
    pub(super) fn swap_in(&self, set: Arc<ProxySet>) -> Result<bool, ReloadError> {
        if set.is_empty() {
            return Err(ReloadError::Empty);
        }
        set.check().map_err(ReloadError::Refused)?;
        let replaced = self.current.swap(Arc::clone(&set));
        Ok(*replaced != *set)
    }

    /// The current set for one resolution: a load that takes no lock and,
    /// once the thread has loaded from any handle before, allocates
    /// nothing.
    #[inline]
    pub(crate) fn load(&self) -> LoadedSet {
        self.current.load()
    }
}

impl From<ProxySet> for SharedProxySet {
    /// [`SharedProxySet::new`].
    fn from(set: ProxySet) -> Self {
        Self::new(set)
    }
}

impl PartialEq for SharedProxySet {
    /// The same handle (clones of one another), whatever they hold: two
    /// handles that hold equal sets now may not later.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.current, &other.current)
    }
}

impl Eq for SharedProxySet {}

impl fmt::Display for SharedProxySet {
    /// The set held now, in the text form (a snapshot).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self.load(), f)
    }
}

impl fmt::Debug for SharedProxySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedProxySet({})", **self.load())
    }
}
