//! Why a trusted set was not loaded or stored: the error both the shared
//! handle (which stores sets) and the file reloads (which read them) give,
//! kept apart from both so that each imports it and neither the other.

use std::io;
use std::path::{Path, PathBuf};

use super::TrustParseError;
use super::published::PublishedListError;

/// The largest file a reload reads: far more than any list of proxies
/// (AWS's whole `ip-ranges.json` is under 2 MB), and a bound on what a
/// path pointing at the wrong file can cost.
pub const MAX_FILE_LEN: u64 = 16 * 1024 * 1024;

/// Why a set was not loaded or stored; the handle keeps the set it held.
///
/// Errors about a file name it, and, when a line is wrong, the line.
///
/// ```
/// use realip::SharedProxySet;
///
/// let dir = std::env::temp_dir().join(format!("realip-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("proxies.txt");
/// std::fs::write(&path, "# balancers\n10.0.0.0/8\n10.0.0.1/8\n")?;
///
/// let err = SharedProxySet::from_file(&path).unwrap_err();
/// assert_eq!(err.path(), Some(path.as_path()));
/// assert_eq!(err.line(), Some(3));
/// assert!(err.to_string().ends_with(
///     r#"proxies.txt: line 3: invalid trusted proxy "10.0.0.1/8": host bits are set after the prefix; did you mean 10.0.0.0/8?"#
/// ));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file could not be read.
    #[error("cannot read trusted proxies from {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: io::Error,
    },
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error(
        "{}: larger than {MAX_FILE_LEN} bytes, far more than a list of trusted proxies; is it the right file?",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a list of trusted proxies: a line that is not an
    /// entry (the reason names it), no entry at all, or ranges that trust
    /// more than they say.
    #[error("{}: {reason}", path.display())]
    List {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: PublishedListError,
    },
    /// The set to store is empty: it would trust no proxy.
    #[error("the new set of trusted proxies is empty; a trusted set is never empty")]
    Empty,
    /// The set to store trusts more than it says (see
    /// [`ProxySet::check`](super::ProxySet::check)).
    #[error(transparent)]
    Refused(TrustParseError),
}

impl ReloadError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ReloadError::Read { path, .. }
            | ReloadError::TooLarge { path }
            | ReloadError::List { path, .. } => Some(path),
            ReloadError::Empty | ReloadError::Refused(_) => None,
        }
    }

    /// The line of the file that is wrong (from 1), if one is.
    pub fn line(&self) -> Option<usize> {
        match self {
            ReloadError::List {
                reason: PublishedListError::Line { line, .. },
                ..
            } => Some(*line),
            _ => None,
        }
    }
}

/// Says, with feature `tracing`, that a set was refused and the last good
/// one kept.
pub(super) fn warn_kept(error: &ReloadError) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%error, "realip: kept the last good set of trusted proxies");
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}
