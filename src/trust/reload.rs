//! Reloading a [`SharedProxySet`] from a file: on demand, and whenever the
//! file changes.
//!
//! The file holds the text form of `trust=` with one entry per line (an
//! address, a CIDR range or a preset), blank lines and `#` comments
//! allowed: what [`ProxySet::from_lines`] reads, and what Cloudflare
//! publishes. A reload that fails (the file cannot be read, a line is not
//! an entry, the list is empty or trusts more than it says) keeps the last
//! good set and says why: an error that names the file and the line, and
//! with feature `tracing` a warning.
//!
//! The watcher polls: every interval it reads the file through its path
//! and compares the bytes with those it last loaded. It does not use
//! inotify, which watches one inode: Kubernetes updates a mounted
//! ConfigMap by swapping a `..data` symlink to a new directory, and editors
//! and deployment tools replace a file by renaming another over it, and in
//! both cases an inotify watch stays on the old file and sees nothing
//! more. Nor does it trust the modification time and length alone: a
//! rewrite within the clock's resolution that keeps the length (one digit
//! changed) would go unseen. A list of proxies is small, so reading it
//! every few seconds costs nothing; a change is seen within one interval.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::published::PublishedListError;
use super::reload_error::{MAX_FILE_LEN, ReloadError, warn_kept};
use super::shared::SharedProxySet;
use super::{ProxySet, TrustParseError};

/// The shortest interval a watcher polls at.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The bytes of the file at `path` (through any symlinks), at most
/// [`MAX_FILE_LEN`] of them.
fn read_file(path: &Path) -> Result<Vec<u8>, ReloadError> {
    let failed = |reason| ReloadError::Read {
        path: path.to_owned(),
        reason,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(ReloadError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// The set the file's bytes list. Bytes that are not UTF-8 are a line that
/// is not an entry, named like any other.
fn parse(path: &Path, bytes: &[u8]) -> Result<ProxySet, ReloadError> {
    let list = |reason| ReloadError::List {
        path: path.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let start = bytes[..e.valid_up_to()]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = bytes[start..].split(|&b| b == b'\n').next().unwrap_or(&[]);
        list(PublishedListError::Line {
            line: bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1,
            reason: TrustParseError::NotAnAddress(crate::echo::bounded_lossy(line)),
        })
    })?;
    ProxySet::from_lines(text).map_err(list)
}

/// Says, with feature `tracing`, that a reload changed the set.
fn report_changed(path: &Path, set: &ProxySet) {
    #[cfg(feature = "tracing")]
    tracing::info!(path = %path.display(), %set, "realip: reloaded the trusted proxies");
    #[cfg(not(feature = "tracing"))]
    let _ = (path, set);
}

impl SharedProxySet {
    /// A handle holding the set listed in the file at `path`: the text form
    /// of `trust=`, one entry per line, blank lines and `#` comments
    /// allowed ([`ProxySet::from_lines`]). The list must not be empty, and
    /// must pass [`ProxySet::check`].
    ///
    /// ```
    /// use realip::SharedProxySet;
    ///
    /// let dir = std::env::temp_dir().join(format!("realip-doc-from-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("proxies.txt");
    /// std::fs::write(&path, "# the balancers\n10.0.0.0/8\nistio-sidecar  # on every pod\n")?;
    ///
    /// let proxies = SharedProxySet::from_file(&path)?;
    /// assert_eq!(proxies.current().to_string(), "10.0.0.0/8, istio-sidecar");
    ///
    /// std::fs::write(&path, "# nothing yet\n")?;
    /// assert!(SharedProxySet::from_file(&path).is_err());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<SharedProxySet, ReloadError> {
        let path = path.as_ref();
        Ok(SharedProxySet::new(parse(path, &read_file(path)?)?))
    }

    /// Reads the file at `path` again (the form [`from_file`](Self::from_file)
    /// reads) and stores its set; returns whether the set changed. On any
    /// error the handle keeps the set it held, and with feature `tracing`
    /// the error is also a warning.
    ///
    /// ```
    /// use realip::{ProxySet, SharedProxySet};
    ///
    /// let dir = std::env::temp_dir().join(format!("realip-doc-reload-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("proxies.txt");
    /// std::fs::write(&path, "10.0.0.0/8\n")?;
    /// let proxies = SharedProxySet::from_file(&path)?;
    ///
    /// std::fs::write(&path, "10.0.0.0/8\n192.0.2.0/24\n")?;
    /// assert!(proxies.reload_from_file(&path)?);
    /// assert_eq!(proxies.current().to_string(), "10.0.0.0/8, 192.0.2.0/24");
    ///
    /// // A broken file keeps the last good set.
    /// std::fs::write(&path, "10.0.0.0/8\n192.0.2.0/33\n")?;
    /// let err = proxies.reload_from_file(&path).unwrap_err();
    /// assert_eq!(err.line(), Some(2));
    /// assert_eq!(proxies.current().to_string(), "10.0.0.0/8, 192.0.2.0/24");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<bool, ReloadError> {
        let path = path.as_ref();
        let reloaded = read_file(path)
            .and_then(|bytes| parse(path, &bytes))
            .and_then(|set| self.swap_in(Arc::new(set)));
        match &reloaded {
            Ok(true) => report_changed(path, &self.current()),
            Ok(false) => {}
            Err(error) => warn_kept(error),
        }
        reloaded
    }

    /// Watches the file at `path` from a thread of its own, reading it
    /// every `interval` (at least 10 ms) and storing its set whenever its
    /// bytes change; the first read is at once. Ends when the
    /// [`FileWatcher`] is dropped.
    ///
    /// A failed reload keeps the last good set: [`FileWatcher::last_error`]
    /// says why until a reload succeeds, and with feature `tracing` each
    /// failure is a warning (a failure that repeats, such as a missing
    /// file, once). The file is read through its path each time, so a
    /// file replaced by a rename, or a Kubernetes ConfigMap whose `..data`
    /// symlink is swapped, is seen (see [`FileWatcher`] for why it polls).
    /// Write
    /// the file whole (a new file renamed over it, as below): a read of a
    /// half-written file is a failed reload, whose set waits for the next
    /// read.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use realip::{ProxySet, SharedProxySet};
    ///
    /// let dir = std::env::temp_dir().join(format!("realip-doc-watch-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("proxies.txt");
    /// std::fs::write(&path, "10.0.0.0/8\n")?;
    ///
    /// let proxies = SharedProxySet::from_file(&path)?;
    /// let watcher = proxies.watch_file(&path, Duration::from_millis(50))?;
    ///
    /// // Written beside it, then renamed over it: no read sees half of it.
    /// std::fs::write(dir.join("proxies.txt.new"), "10.0.0.0/8\n192.0.2.0/24\n")?;
    /// std::fs::rename(dir.join("proxies.txt.new"), &path)?;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(30);
    /// while proxies.current().to_string() != "10.0.0.0/8, 192.0.2.0/24" {
    ///     assert!(Instant::now() < deadline, "the change was not seen");
    ///     std::thread::sleep(Duration::from_millis(10));
    /// }
    /// assert!(watcher.last_error().is_none());
    /// drop(watcher);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch_file(
        &self,
        path: impl Into<PathBuf>,
        interval: Duration,
    ) -> io::Result<FileWatcher> {
        self.watch_file_with(path, interval, |_| {})
    }

    /// [`watch_file`](Self::watch_file), calling `on_reload` after each
    /// reload it makes, from the watcher's thread: with the set now in
    /// force, or with why the last good set was kept (a failure that
    /// repeats, once). `on_reload` should return promptly: the next read
    /// waits for it.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use realip::SharedProxySet;
    ///
    /// let dir = std::env::temp_dir().join(format!("realip-doc-with-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("proxies.txt");
    /// std::fs::write(&path, "10.0.0.0/8\n")?;
    ///
    /// let proxies = SharedProxySet::from_file(&path)?;
    /// let (tx, rx) = mpsc::channel();
    /// let watcher = proxies.watch_file_with(&path, Duration::from_millis(50), move |reloaded| {
    ///     let _ = tx.send(reloaded.map(|set| set.to_string()).map_err(|e| e.to_string()));
    /// })?;
    /// // The first read, at once.
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(30))?, Ok("10.0.0.0/8".to_owned()));
    ///
    /// std::fs::write(dir.join("proxies.txt.new"), "10.0.0.0/8\nlocalhost\n")?;
    /// std::fs::rename(dir.join("proxies.txt.new"), &path)?;
    /// let kept = rx.recv_timeout(Duration::from_secs(30))?.unwrap_err();
    /// assert!(kept.contains("line 2"), "{kept}");
    /// assert_eq!(proxies.current().to_string(), "10.0.0.0/8");
    /// assert_eq!(watcher.last_error().map(|e| e.line()), Some(Some(2)));
    /// # drop(watcher);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch_file_with<F>(
        &self,
        path: impl Into<PathBuf>,
        interval: Duration,
        on_reload: F,
    ) -> io::Result<FileWatcher>
    where
        F: FnMut(Result<&ProxySet, &ReloadError>) + Send + 'static,
    {
        let path = path.into();
        let last_error = Arc::new(Mutex::new(None));
        let (stop, stopped) = mpsc::channel::<()>();
        let mut watch = Watch {
            shared: self.clone(),
            path: path.clone(),
            last_error: Arc::clone(&last_error),
            on_reload,
            loaded: None,
            reported: None,
        };
        let interval = interval.max(MIN_INTERVAL);
        let thread = thread::Builder::new()
            .name("realip-watch".to_owned())
            .spawn(move || {
                loop {
                    watch.poll();
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(FileWatcher {
            path,
            last_error,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// The watcher thread's state.
struct Watch<F> {
    shared: SharedProxySet,
    path: PathBuf,
    last_error: Arc<Mutex<Option<Arc<ReloadError>>>>,
    on_reload: F,
    /// The bytes of the last reload attempted (`None`: read them again).
    loaded: Option<Vec<u8>>,
    /// The message of the last failure reported since the last success.
    reported: Option<String>,
}

impl<F: FnMut(Result<&ProxySet, &ReloadError>)> Watch<F> {
    /// One look at the file: a reload when its bytes changed.
    fn poll(&mut self) {
        let bytes = match read_file(&self.path) {
            Ok(bytes) => bytes,
            Err(error) => {
                // Read it all again once it is back, even unchanged, so
                // that the error is cleared.
                self.loaded = None;
                return self.failed(error);
            }
        };
        if self.loaded.as_deref() == Some(bytes.as_slice()) {
            return;
        }
        let parsed = parse(&self.path, &bytes).map(Arc::new);
        self.loaded = Some(bytes);
        let set = match parsed {
            Ok(set) => set,
            Err(error) => return self.failed(error),
        };
        // Cleared first: whoever sees the new set sees no old error.
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.reported = None;
        match self.shared.swap_in(Arc::clone(&set)) {
            Ok(changed) => {
                if changed {
                    report_changed(&self.path, &set);
                }
                (self.on_reload)(Ok(&set));
            }
            Err(error) => self.failed(error),
        }
    }

    /// Keeps the last good set; says why, once per distinct failure.
    fn failed(&mut self, error: ReloadError) {
        let message = error.to_string();
        let error = Arc::new(error);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&error));
        if self.reported.as_deref() == Some(message.as_str()) {
            return;
        }
        self.reported = Some(message);
        warn_kept(&error);
        (self.on_reload)(Err(&error));
    }
}

/// A thread that reloads a [`SharedProxySet`] from a file when the file
/// changes; made by [`SharedProxySet::watch_file`]. Dropping it stops the
/// thread (and waits for it).
///
/// It polls: every interval it reads the file through its path and
/// compares the bytes with those it last loaded. It does not use inotify,
/// which watches one inode: Kubernetes updates a mounted ConfigMap by
/// swapping a `..data` symlink to a new directory, and editors and
/// deployment tools replace a file by renaming another over it, and in
/// both cases an inotify watch stays on the old file and sees nothing
/// more. Nor does it trust the modification time and length alone: a
/// rewrite within the clock's resolution that keeps the length (one digit
/// changed) would go unseen. A list of proxies is small, so reading it
/// every few seconds costs nothing; a change is seen within one interval.
///
/// ```
/// use std::time::{Duration, Instant};
/// use realip::SharedProxySet;
/// use realip::trust::ReloadError;
///
/// let dir = std::env::temp_dir().join(format!("realip-doc-watcher-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("proxies.txt");
/// std::fs::write(&path, "10.0.0.0/8\n")?;
/// let proxies = SharedProxySet::from_file(&path)?;
/// let watcher = proxies.watch_file(&path, Duration::from_millis(50))?;
/// assert_eq!(watcher.path(), path);
///
/// // The file goes away: the set stays, and the watcher says why.
/// std::fs::remove_file(&path)?;
/// let deadline = Instant::now() + Duration::from_secs(30);
/// while !matches!(watcher.last_error().as_deref(), Some(ReloadError::Read { .. })) {
///     assert!(Instant::now() < deadline, "the missing file was not reported");
///     std::thread::sleep(Duration::from_millis(10));
/// }
/// assert_eq!(proxies.current().to_string(), "10.0.0.0/8");
/// watcher.stop();
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileWatcher {
    path: PathBuf,
    last_error: Arc<Mutex<Option<Arc<ReloadError>>>>,
    /// Dropped to wake and stop the thread.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FileWatcher {
    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the last reload failed, while the set it kept is still in force:
    /// `None` once a reload succeeds (and before any failed).
    pub fn last_error(&self) -> Option<Arc<ReloadError>> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread and waits for it, as dropping the watcher does:
    /// the file is not read again.
    pub fn stop(self) {}
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A callback that drops its own watcher must not wait for
            // itself.
            if thread.thread().id() != thread::current().id() {
                // A callback that panicked ended the thread already.
                let _ = thread.join();
            }
        }
    }
}
