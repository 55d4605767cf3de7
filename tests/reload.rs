//! Sets that reload: a `SharedProxySet` replaced while requests are being
//! resolved, on demand from a file, and by a watcher when the file
//! changes.
//!
//! - Under load, every answer is the old set's or the new set's, never a
//!   mix: the sets are made so that a peer judged by one and a hop judged
//!   by the other gives an answer neither set gives.
//! - Only sets a resolver would accept are swapped in; a failed reload
//!   keeps the last good set and says why (the file, the line).
//! - The watcher sees a rewritten file, a file renamed over, and a
//!   Kubernetes-style symlink swap; it reports a failure once and clears
//!   it when a reload succeeds; it stops when dropped.
//! - With feature `tracing`, a refusal is a warning and a change is said.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use realip::trust::{PublishedListError, ReloadError, TrustParseError};
use realip::{ConfigError, ProxySet, Resolver, SharedProxySet, Trust};

/// Far beyond what any change here takes to be seen: only a bug reaches it.
const DEADLINE: Duration = Duration::from_secs(30);

/// How often the watchers here read their file.
const INTERVAL: Duration = Duration::from_millis(20);

fn set(text: &str) -> ProxySet {
    text.parse().unwrap()
}

fn xff(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
    headers
}

fn peer(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn resolver(shared: &SharedProxySet) -> Resolver {
    Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(shared.clone())
        .build()
        .unwrap()
}

fn client(resolver: &Resolver, peer: SocketAddr, headers: &HeaderMap) -> String {
    resolver
        .resolve(peer, headers)
        .unwrap()
        .client()
        .to_string()
}

/// Waits until `done` holds, failing after `DEADLINE`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "not within {DEADLINE:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("realip-reload-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `text` to a new file beside `path` and renames it over `path`,
/// as deployment tools do: the watched path then names a new inode.
fn replace(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// Set A trusts peer 10.0.0.1 and hop 10.1.0.1; set B trusts peer
/// 10.0.0.2 and hop 10.2.0.1. Request 1 comes from 10.0.0.1 with
/// `203.0.113.7, 10.2.0.1`: A answers 10.2.0.1 (its peer, not its hop), B
/// answers 10.0.0.1 (not its peer), and only the peer judged by A with the
/// hop judged by B reaches 203.0.113.7. Request 2 is the mirror image.
const SET_A: &str = "10.0.0.1, 10.1.0.1";
const SET_B: &str = "10.0.0.2, 10.2.0.1";
const MIXED: &str = "203.0.113.7";

struct Case {
    peer: SocketAddr,
    headers: HeaderMap,
    by_a: &'static str,
    by_b: &'static str,
}

fn cases() -> [Case; 2] {
    [
        Case {
            peer: peer("10.0.0.1:40000"),
            headers: xff("203.0.113.7, 10.2.0.1"),
            by_a: "10.2.0.1",
            by_b: "10.0.0.1",
        },
        Case {
            peer: peer("10.0.0.2:40000"),
            headers: xff("203.0.113.7, 10.1.0.1"),
            by_a: "10.0.0.2",
            by_b: "10.1.0.1",
        },
    ]
}

#[test]
fn the_sets_tell_a_mix_from_either_set() {
    let a = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(set(SET_A))
        .build()
        .unwrap();
    let b = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(set(SET_B))
        .build()
        .unwrap();
    // What a resolver that judged the peer by one set and the hops by the
    // other would answer: the union trusts both.
    let mix = Resolver::builder()
        .x_forwarded_for()
        .trusted_proxies(set(&format!("{SET_A}, {SET_B}")))
        .build()
        .unwrap();
    for case in cases() {
        assert_eq!(client(&a, case.peer, &case.headers), case.by_a);
        assert_eq!(client(&b, case.peer, &case.headers), case.by_b);
        assert_eq!(client(&mix, case.peer, &case.headers), MIXED);
    }
}

/// Resolving threads and a thread that replaces the set thousands of
/// times: every answer is set A's or set B's, and each thread sees both.
#[test]
fn reloading_under_load_never_mixes_sets() {
    const READERS: usize = 4;
    const MIN_SWAPS: usize = 10_000;
    let (a, b) = (set(SET_A), set(SET_B));
    let shared = SharedProxySet::new(a.clone());
    let resolver = resolver(&shared);
    let swapping = Arc::new(AtomicBool::new(true));
    // Readers that have seen both sets' answers to both requests.
    let satisfied = Arc::new(AtomicUsize::new(0));
    // Set by a reader that saw an answer neither set gives.
    let mixed = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let resolver = resolver.clone();
            let swapping = Arc::clone(&swapping);
            let satisfied = Arc::clone(&satisfied);
            let mixed = Arc::clone(&mixed);
            std::thread::spawn(move || {
                let cases = cases();
                // [case][0: set A's answer, 1: set B's]
                let mut seen = [[0usize; 2]; 2];
                let mut counted_as_satisfied = false;
                let mut resolutions = 0usize;
                while swapping.load(Ordering::Acquire) {
                    for (i, case) in cases.iter().enumerate() {
                        let answer = client(&resolver, case.peer, &case.headers);
                        resolutions += 1;
                        if answer == case.by_a {
                            seen[i][0] += 1;
                        } else if answer == case.by_b {
                            seen[i][1] += 1;
                        } else {
                            mixed.store(true, Ordering::Release);
                            return Err(format!(
                                "request {i} answered {answer}, neither set A's {} nor set B's {}{}",
                                case.by_a,
                                case.by_b,
                                if answer == MIXED { " (a mix of both)" } else { "" }
                            ));
                        }
                    }
                    if !counted_as_satisfied && seen.iter().flatten().all(|&n| n > 0) {
                        counted_as_satisfied = true;
                        satisfied.fetch_add(1, Ordering::AcqRel);
                    }
                }
                Ok((seen, resolutions))
            })
        })
        .collect();

    let start = Instant::now();
    let mut swaps = 0;
    while !mixed.load(Ordering::Acquire)
        && (swaps < MIN_SWAPS || satisfied.load(Ordering::Acquire) < READERS)
    {
        assert!(
            start.elapsed() < DEADLINE,
            "after {swaps} swaps, only {} of {READERS} readers saw both sets",
            satisfied.load(Ordering::Acquire)
        );
        let next = if swaps % 2 == 0 { &b } else { &a };
        shared.store(next.clone()).unwrap();
        swaps += 1;
        if swaps % 64 == 0 {
            std::thread::yield_now();
        }
    }
    swapping.store(false, Ordering::Release);
    let results: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    // A mix first: the other readers stopped early because of it.
    for result in &results {
        if let Err(mix) = result {
            panic!("{mix}");
        }
    }
    for (seen, resolutions) in results.into_iter().flatten() {
        assert!(resolutions > 0);
        assert!(seen.iter().flatten().all(|&n| n > 0), "{seen:?}");
    }
    assert!(swaps >= MIN_SWAPS);
}

#[test]
fn a_resolver_uses_each_set_stored_and_shows_the_current_one() {
    let shared = SharedProxySet::new(set("10.0.0.0/8"));
    let resolver = resolver(&shared);
    assert!(matches!(resolver.trust(), Trust::SharedProxies(s) if *s == shared));
    assert_eq!(resolver.to_string(), "x-forwarded-for; trust=10.0.0.0/8");
    let headers = xff("203.0.113.7, 192.0.2.10");
    let gateway = peer("10.0.0.3:40000");
    assert_eq!(client(&resolver, gateway, &headers), "192.0.2.10");

    assert!(shared.store(set("10.0.0.0/8, 192.0.2.0/24")).unwrap());
    assert_eq!(client(&resolver, gateway, &headers), "203.0.113.7");
    // The text form is a snapshot: it reads back as a fixed set.
    assert_eq!(
        resolver.to_string(),
        "x-forwarded-for; trust=10.0.0.0/8, 192.0.2.0/24"
    );
    let fixed: Resolver = resolver.to_string().parse().unwrap();
    assert!(matches!(fixed.trust(), Trust::Proxies(s) if *s == *shared.current()));
    // The explanation walks the same set.
    let explanation = resolver.explain(gateway, &headers);
    assert_eq!(
        explanation.result.unwrap().client().to_string(),
        "203.0.113.7"
    );

    // Storing an equal set changes nothing, and says so.
    assert!(!shared.store(set("10.0.0.0/8, 192.0.2.0/24")).unwrap());
    // A handle equals its clones, not another handle holding an equal set.
    assert_eq!(shared.clone(), shared);
    assert_ne!(SharedProxySet::new((*shared.current()).clone()), shared);
}

#[test]
fn an_empty_or_unsound_set_is_never_stored() {
    let shared = SharedProxySet::new(set("10.0.0.0/8"));
    assert!(matches!(
        shared.store(ProxySet::new()),
        Err(ReloadError::Empty)
    ));
    let everything: ProxySet = ["0.0.0.0/0".parse::<IpNet>().unwrap()]
        .into_iter()
        .collect();
    assert!(matches!(
        shared.store(everything),
        Err(ReloadError::Refused(TrustParseError::WholeAddressSpace(_)))
    ));
    let mapped: ProxySet = ["::/80".parse::<IpNet>().unwrap()].into_iter().collect();
    let err = shared.store(mapped).unwrap_err();
    assert!(matches!(
        err,
        ReloadError::Refused(TrustParseError::CoversMappedIpv4(_))
    ));
    assert!(err.to_string().contains("::/80"), "{err}");
    // Sound range by range, and together every IPv4 address (rule 13,
    // judged merged); or more public space than any proxies connect from.
    for (union, says) in [
        ("0.0.0.0/1, 128.0.0.0/1", "every IPv4 address"),
        (
            "::ffff:0.0.0.0/97, ::ffff:128.0.0.0/97",
            "every IPv4 address",
        ),
        ("10.0.0.0/8, 64.0.0.0/3", "public IPv4 addresses"),
    ] {
        let built: ProxySet = union
            .split(", ")
            .map(|n| n.parse::<IpNet>().unwrap())
            .collect();
        let err = shared.store(built).unwrap_err();
        assert!(
            matches!(
                &err,
                ReloadError::Refused(
                    TrustParseError::CoversFamily { .. }
                        | TrustParseError::TooManyPublicAddresses { .. }
                )
            ),
            "{union}: {err:?}"
        );
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(shared.current().to_string(), "10.0.0.0/8");
}

/// `build` checks the set a handle holds as it checks a plain set.
#[test]
fn build_checks_the_set_held_then() {
    let empty = Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(SharedProxySet::new(ProxySet::new()))
        .build();
    assert!(matches!(empty, Err(ConfigError::NoTrust { .. })));
    let unsound: ProxySet = ["::/64".parse::<IpNet>().unwrap()].into_iter().collect();
    let unsound = Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(SharedProxySet::new(unsound))
        .build();
    assert!(matches!(
        unsound,
        Err(ConfigError::Trust(TrustParseError::CoversMappedIpv4(_)))
    ));
    let halves: ProxySet = ["0.0.0.0/1", "128.0.0.0/1"]
        .iter()
        .map(|n| n.parse::<IpNet>().unwrap())
        .collect();
    let halves = Resolver::builder()
        .x_forwarded_for()
        .trusted_shared_proxies(SharedProxySet::new(halves))
        .build();
    assert!(matches!(
        halves,
        Err(ConfigError::Trust(TrustParseError::CoversFamily { .. }))
    ));
    let peer_only = Resolver::builder()
        .trusted_shared_proxies(SharedProxySet::new(set("10.0.0.0/8")))
        .build();
    assert_eq!(peer_only.unwrap_err(), ConfigError::TrustWithoutHeader);
}

#[test]
fn reload_on_demand_keeps_the_last_good_set_and_names_file_and_line() {
    let dir = TempDir::new("on-demand");
    let path = dir.join("proxies.txt");
    std::fs::write(&path, "# the balancers\n10.0.0.0/8\n").unwrap();
    let shared = SharedProxySet::from_file(&path).unwrap();
    assert_eq!(shared.current().to_string(), "10.0.0.0/8");
    assert!(!shared.reload_from_file(&path).unwrap(), "unchanged");

    std::fs::write(
        &path,
        "10.0.0.0/8\n192.0.2.0/24  # the new balancer\nistio-sidecar\n",
    )
    .unwrap();
    assert!(shared.reload_from_file(&path).unwrap());
    let good = "10.0.0.0/8, 192.0.2.0/24, istio-sidecar";
    assert_eq!(shared.current().to_string(), good);

    // A line that is not an entry.
    std::fs::write(&path, "10.0.0.0/8\n\n# a comment\nbalancer.internal\n").unwrap();
    let err = shared.reload_from_file(&path).unwrap_err();
    assert!(
        matches!(
            &err,
            ReloadError::List {
                reason: PublishedListError::Line { line: 4, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!((err.path(), err.line()), (Some(path.as_path()), Some(4)));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: line 4: invalid trusted proxy \"balancer.internal\"",
            path.display()
        )),
        "{message}"
    );
    assert_eq!(shared.current().to_string(), good);

    // Empty: nothing, or only comments and blank lines.
    for empty in ["", "# nothing yet\n\n   \n"] {
        std::fs::write(&path, empty).unwrap();
        let err = shared.reload_from_file(&path).unwrap_err();
        assert!(
            matches!(
                &err,
                ReloadError::List {
                    reason: PublishedListError::Empty(_),
                    ..
                }
            ),
            "{empty:?}: {err:?}"
        );
        assert!(
            err.to_string().contains("a trusted set is never empty"),
            "{err}"
        );
        assert_eq!(shared.current().to_string(), good);
    }

    // A range that trusts more than it says.
    std::fs::write(&path, "10.0.0.0/8\n::/80\n").unwrap();
    let err = shared.reload_from_file(&path).unwrap_err();
    assert!(err.to_string().contains("::/80"), "{err}");
    assert_eq!(shared.current().to_string(), good);

    // Lines that each mean what they say, and together trust every IPv4
    // peer; a prefix length that is not plain decimal.
    for (text, says) in [
        ("10.0.0.0/8\n0.0.0.0/1\n128.0.0.0/1\n", "every IPv4 address"),
        (
            "::ffff:0.0.0.0/97\n::ffff:128.0.0.0/97\n",
            "every IPv4 address",
        ),
        ("10.0.0.0/8\n64.0.0.0/3\n", "public IPv4 addresses"),
        (
            "10.0.0.0/08\n",
            "line 1: invalid trusted proxy \"10.0.0.0/08\"",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = shared.reload_from_file(&path).unwrap_err();
        assert!(err.to_string().contains(says), "{text:?}: {err}");
        assert_eq!(shared.current().to_string(), good);
        assert!(SharedProxySet::from_file(&path).is_err(), "{text:?}");
    }

    // Bytes that are not text name their line too.
    std::fs::write(&path, b"10.0.0.0/8\n192.0.2.\xff/24\n").unwrap();
    let err = shared.reload_from_file(&path).unwrap_err();
    assert_eq!(err.line(), Some(2), "{err}");
    assert_eq!(shared.current().to_string(), good);

    // No file.
    let missing = dir.join("missing.txt");
    let err = shared.reload_from_file(&missing).unwrap_err();
    assert!(
        matches!(&err, ReloadError::Read { reason, .. } if reason.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert_eq!(err.path(), Some(missing.as_path()));
    assert!(err.to_string().contains("missing.txt"), "{err}");
    assert!(SharedProxySet::from_file(&missing).is_err());
    assert_eq!(shared.current().to_string(), good);
}

#[test]
fn a_file_larger_than_any_list_is_refused_unread() {
    let dir = TempDir::new("too-large");
    let path = dir.join("proxies.txt");
    let line = "10.0.0.0/8\n";
    let lines = (realip::trust::MAX_FILE_LEN as usize).div_ceil(line.len()) + 1;
    std::fs::write(&path, line.repeat(lines)).unwrap();
    let shared = SharedProxySet::new(set("192.0.2.0/24"));
    let err = shared.reload_from_file(&path).unwrap_err();
    assert!(matches!(err, ReloadError::TooLarge { .. }), "{err:?}");
    assert_eq!(shared.current().to_string(), "192.0.2.0/24");
}

#[test]
fn the_watcher_follows_the_file_and_keeps_the_last_good_set() {
    let dir = TempDir::new("watch");
    let path = dir.join("proxies.txt");
    std::fs::write(&path, "10.0.0.0/8\n").unwrap();
    let shared = SharedProxySet::from_file(&path).unwrap();
    let watcher = shared.watch_file(&path, INTERVAL).unwrap();
    assert_eq!(watcher.path(), path);
    let holds = |text: &str| shared.current().to_string() == text;

    // Rewritten in place (a read may catch it half written: the set waits
    // for the next read).
    std::fs::write(&path, "10.0.0.0/8\n192.0.2.0/24\n").unwrap();
    eventually("a rewrite is seen", || holds("10.0.0.0/8, 192.0.2.0/24"));
    // Renamed over (a new inode at the same path).
    replace(&path, "10.0.0.0/8\n198.51.100.0/24\n");
    eventually("a rename over the file is seen", || {
        holds("10.0.0.0/8, 198.51.100.0/24")
    });
    // Cleared before the set it loaded is swapped in.
    assert!(watcher.last_error().is_none());

    // Broken: the last good set stays, and the watcher says why.
    replace(&path, "10.0.0.0/8\n198.51.100.0/33\n");
    eventually("a broken file is reported", || {
        watcher.last_error().is_some()
    });
    let err = watcher.last_error().unwrap();
    assert_eq!((err.path(), err.line()), (Some(path.as_path()), Some(2)));
    assert!(holds("10.0.0.0/8, 198.51.100.0/24"));

    // Poisoned: every line sound, the whole trusting every IPv4 peer.
    replace(&path, "0.0.0.0/1\n128.0.0.0/1\n");
    eventually("a poisoned file is reported", || {
        watcher
            .last_error()
            .is_some_and(|e| e.to_string().contains("every IPv4 address"))
    });
    assert!(holds("10.0.0.0/8, 198.51.100.0/24"));

    // Fixed: loaded, and the error cleared.
    replace(&path, "10.0.0.0/8\n203.0.113.0/24\n");
    eventually("a fixed file is loaded", || {
        holds("10.0.0.0/8, 203.0.113.0/24")
    });
    assert!(watcher.last_error().is_none());

    // Emptied: an error, never an empty set.
    replace(&path, "# nobody\n");
    eventually("an empty file is reported", || {
        watcher.last_error().is_some()
    });
    assert!(matches!(
        *watcher.last_error().unwrap(),
        ReloadError::List {
            reason: PublishedListError::Empty(_),
            ..
        }
    ));
    assert!(holds("10.0.0.0/8, 203.0.113.0/24"));

    // Removed, then back with the same set as before: the error clears.
    std::fs::remove_file(&path).unwrap();
    eventually("a missing file is reported", || {
        matches!(
            watcher.last_error().as_deref(),
            Some(ReloadError::Read { .. })
        )
    });
    replace(&path, "10.0.0.0/8\n203.0.113.0/24\n");
    eventually("the file's return clears the error", || {
        watcher.last_error().is_none()
    });
    assert!(holds("10.0.0.0/8, 203.0.113.0/24"));

    // Stopped: later changes are not loaded.
    watcher.stop();
    std::fs::write(&path, "10.0.0.0/8\n").unwrap();
    std::thread::sleep(INTERVAL * 10);
    assert!(holds("10.0.0.0/8, 203.0.113.0/24"));
}

/// Kubernetes mounts a ConfigMap key as `proxies.txt -> ..data/proxies.txt`,
/// `..data -> ..2024_01_01_00_00_00.1`, and updates it by writing a new
/// directory and renaming a new `..data` symlink over the old one. The
/// watched path is the same; what it leads to is not.
#[cfg(unix)]
#[test]
fn the_watcher_sees_a_configmap_symlink_swap() {
    use std::os::unix::fs::symlink;

    let dir = TempDir::new("configmap");
    let generation = |name: &str, text: &str| {
        std::fs::create_dir(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("proxies.txt"), text).unwrap();
    };
    generation("..2024_01_01", "10.0.0.0/8\n");
    symlink("..2024_01_01", dir.join("..data")).unwrap();
    symlink("..data/proxies.txt", dir.join("proxies.txt")).unwrap();
    let path = dir.join("proxies.txt");

    let shared = SharedProxySet::from_file(&path).unwrap();
    let _watcher = shared.watch_file(&path, INTERVAL).unwrap();
    assert_eq!(shared.current().to_string(), "10.0.0.0/8");

    generation("..2024_02_01", "10.0.0.0/8\n192.0.2.0/24\n");
    symlink("..2024_02_01", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(dir.join("..2024_01_01")).unwrap();
    eventually("the swapped ConfigMap is loaded", || {
        shared.current().to_string() == "10.0.0.0/8, 192.0.2.0/24"
    });
}

/// The callback hears of every reload the watcher makes, and of each
/// failure once (a missing file is read again every interval).
#[test]
fn the_watcher_calls_back_once_per_reload_and_per_failure() {
    let dir = TempDir::new("callback");
    let path = dir.join("proxies.txt");
    std::fs::write(&path, "10.0.0.0/8\n").unwrap();
    let shared = SharedProxySet::from_file(&path).unwrap();
    let (tx, rx) = mpsc::channel();
    let watcher = shared
        .watch_file_with(&path, INTERVAL, move |reloaded| {
            let _ = tx.send(match reloaded {
                Ok(set) => format!("ok {set}"),
                Err(e) => format!("kept: {e}"),
            });
        })
        .unwrap();
    let next = || rx.recv_timeout(DEADLINE).expect("a callback in time");

    assert_eq!(next(), "ok 10.0.0.0/8", "the first read, at once");
    replace(&path, "10.0.0.0/8\n192.0.2.0/24\n");
    assert_eq!(next(), "ok 10.0.0.0/8, 192.0.2.0/24");
    replace(&path, "10.0.0.0/8\nbogus\n");
    let kept = next();
    assert!(
        kept.starts_with("kept: ") && kept.contains("line 2"),
        "{kept}"
    );

    std::fs::remove_file(&path).unwrap();
    let kept = next();
    assert!(
        kept.starts_with("kept: cannot read trusted proxies from"),
        "{kept}"
    );
    // Read again every interval, reported once.
    std::thread::sleep(INTERVAL * 10);
    replace(&path, "10.0.0.0/8\n");
    assert_eq!(next(), "ok 10.0.0.0/8");
    assert_eq!(shared.current().to_string(), "10.0.0.0/8");
    drop(watcher);
    assert!(rx.try_recv().is_err(), "nothing after the last reload");
}

/// The explanation and its diagnostics judge by the set held now, as the
/// walk does.
#[test]
fn explanations_judge_by_the_set_held_now() {
    use realip::explain::Diagnostic;

    let shared = SharedProxySet::new(set("10.0.0.0/8"));
    let resolver = resolver(&shared);
    let headers = xff("192.0.2.10, 10.0.0.2");
    let gateway = peer("10.0.0.3:40000");
    let diagnostics = |resolver: &Resolver| resolver.explain(gateway, &headers).diagnostics;
    assert!(!diagnostics(&resolver).contains(&Diagnostic::AllHopsTrusted));
    shared.store(set("10.0.0.0/8, 192.0.2.0/24")).unwrap();
    assert!(diagnostics(&resolver).contains(&Diagnostic::AllHopsTrusted));

    // Untrusted peer with forwarding headers, then trusted.
    let outsider = peer("198.51.100.7:40000");
    let untrusted =
        |d: &Diagnostic| matches!(d, Diagnostic::ForwardingHeadersFromUntrustedPeer { .. });
    assert!(
        resolver
            .explain(outsider, &headers)
            .diagnostics
            .iter()
            .any(untrusted)
    );
    shared.store(set("10.0.0.0/8, 198.51.100.0/24")).unwrap();
    assert!(
        !resolver
            .explain(outsider, &headers)
            .diagnostics
            .iter()
            .any(untrusted)
    );

    // Dated lists are named from the set held now.
    assert!(resolver.explain(gateway, &headers).dated_ranges.is_empty());
    shared.store(set("10.0.0.0/8, cloudflare")).unwrap();
    let explanation = resolver.explain(gateway, &headers);
    assert_eq!(explanation.dated_ranges, [realip::Preset::Cloudflare]);
    assert_eq!(
        explanation.configuration,
        "x-forwarded-for; trust=10.0.0.0/8, cloudflare"
    );
}

/// Collects every event as its level and its fields, written out.
#[derive(Clone, Default)]
struct Events(Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0 += &format!("{}={value:?}; ", field.name());
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = *event.metadata().level();
        self.0.lock().unwrap().push((level, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// With feature `tracing`, a refused set is a warning that says why, and a
/// reload that changes the set says so.
#[test]
fn a_failed_reload_is_a_warning_and_a_change_is_said() {
    let dir = TempDir::new("tracing");
    let path = dir.join("proxies.txt");
    std::fs::write(&path, "10.0.0.0/8\n").unwrap();
    let shared = SharedProxySet::from_file(&path).unwrap();
    let events = Events::default();
    tracing::subscriber::with_default(events.clone(), || {
        std::fs::write(&path, "10.0.0.0/8\n10.0.0.1/8\n").unwrap();
        assert!(shared.reload_from_file(&path).is_err());
        assert!(shared.store(ProxySet::new()).is_err());
        std::fs::write(&path, "10.0.0.0/8\n192.0.2.0/24\n").unwrap();
        assert!(shared.reload_from_file(&path).unwrap());
        assert!(!shared.reload_from_file(&path).unwrap());
    });
    let events = events.0.lock().unwrap();
    let [(first, broken), (second, empty), (third, changed)] = &events[..] else {
        panic!("{events:#?}");
    };
    assert_eq!(
        (*first, *second, *third),
        (
            tracing::Level::WARN,
            tracing::Level::WARN,
            tracing::Level::INFO
        )
    );
    assert!(
        broken.contains("kept the last good set") && broken.contains("line 2"),
        "{broken}"
    );
    assert!(
        empty.contains("kept the last good set") && empty.contains("empty"),
        "{empty}"
    );
    assert!(
        changed.contains("reloaded") && changed.contains("10.0.0.0/8, 192.0.2.0/24"),
        "{changed}"
    );
}
