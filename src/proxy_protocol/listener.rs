//! A TCP listener that reads a PROXY header on connections from configured
//! senders, concurrently and with a deadline.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::{AbortHandle, JoinSet};

use super::conn_info::ProxyConnInfo;
use super::decode::decode;
use super::error::{DecodeError, InvalidHeader};
use super::stream::ProxiedStream;
use crate::trust::{ProxySet, SharedProxySet};

/// How long a sender has to deliver a complete header, by default. The
/// specification asks for at least 3 seconds, to cover a TCP retransmit.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How many headers are read at once, by default: the pool of pending
/// handshakes that
/// [`max_handshakes`](ProxyProtocolListenerBuilder::max_handshakes) sets.
pub const DEFAULT_MAX_HANDSHAKES: usize = 1024;

/// Most headers are far shorter; the specification promises that every
/// header fits in this many bytes (the TCP minimum segment size).
const FIRST_READ: usize = 536;

/// What to do with connections from peers outside the trusted senders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Close them: every connection must come from a trusted sender and
    /// start with a PROXY header. The setting the specification asks for.
    #[default]
    Required,
    /// Serve them as plain connections, their socket peer being the
    /// client; no byte of theirs is read as a header. Trusted senders must
    /// still send a header (it is never guessed). For a port that both a
    /// load balancer and internal clients reach directly.
    Mixed,
}

/// Why a connection was dropped before the application saw it.
#[derive(Debug)]
#[cfg_attr(not(feature = "tracing"), allow(dead_code))] // read by the reports only
enum Dropped {
    Invalid(InvalidHeader),
    Timeout,
    Closed,
    Io(io::Error),
}

/// Configures a [`ProxyProtocolListener`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ProxyProtocolListenerBuilder {
    senders: SharedProxySet,
    mode: Mode,
    header_timeout: Duration,
    max_handshakes: usize,
}

impl ProxyProtocolListenerBuilder {
    /// What to do with connections from other peers (default
    /// [`Mode::Required`]: close them).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How long a trusted sender has to deliver the whole header after the
    /// connection is accepted (default [`DEFAULT_HEADER_TIMEOUT`]).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How many headers may be read at once (default
    /// [`DEFAULT_MAX_HANDSHAKES`], at least 1): the bound on the sockets
    /// and memory that slow or silent senders hold.
    ///
    /// A full pool never stops the listener. Connections from other peers
    /// are still closed (or, in [`Mode::Mixed`], served) at once, and a new
    /// connection from a trusted sender takes the slot of the oldest
    /// pending handshake, which is closed (a `tracing` debug event names
    /// its peer). So a sender that sends its header at once is served at
    /// once, however many connections sit silent.
    pub fn max_handshakes(mut self, max: usize) -> Self {
        self.max_handshakes = max.max(1);
        self
    }

    /// Wraps a bound listener.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`], whose inner error is the
    /// [`TrustParseError`](crate::trust::TrustParseError), when the trusted
    /// senders are not a sound set ([`ProxySet::check`]: ranges that
    /// together hold every IPv4 address, say), as a resolver refuses them.
    pub fn build(self, listener: TcpListener) -> io::Result<ProxyProtocolListener> {
        self.checked()?;
        Ok(ProxyProtocolListener {
            tcp: listener,
            config: self,
            handshakes: JoinSet::new(),
            pending: VecDeque::new(),
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Binds to `addr` and wraps the listener; refused as
    /// [`build`](Self::build) refuses, before anything is bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<ProxyProtocolListener> {
        self.checked()?;
        self.build(TcpListener::bind(addr).await?)
    }

    /// Refuses trusted senders that are not a sound set.
    fn checked(&self) -> io::Result<()> {
        let senders = self.senders.current();
        senders
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
}

/// A TCP listener for connections relayed by PROXY-protocol senders (L4
/// load balancers, HAProxy `send-proxy`/`send-proxy-v2`).
///
/// A connection from a trusted sender must start with a PROXY header (v1
/// or v2); the application gets the connection after the header, with a
/// [`ProxyConnInfo`] that names the client. A connection from anyone else
/// is closed, or served plain in [`Mode::Mixed`]. Headers are read in
/// spawned tasks, at most [`max_handshakes`] at a time and each within
/// [`header_timeout`], so a slow or silent sender never holds up other
/// connections; when the pool is full, the oldest pending handshake is
/// closed to make room, and the listener never stops accepting. Invalid
/// headers, timeouts and early closes drop the connection, as the
/// specification requires.
///
/// It implements axum's `Listener` (feature `axum`), and
/// [`accept`](Self::accept) serves hyper or any tokio server.
///
/// ```no_run
/// use realip::ProxySet;
/// use realip::proxy_protocol::ProxyProtocolListener;
///
/// # async fn run() -> std::io::Result<()> {
/// let balancers: ProxySet = "10.0.0.0/24".parse().expect("valid ranges");
/// let mut listener = ProxyProtocolListener::bind("0.0.0.0:8080", balancers).await?;
/// loop {
///     let (stream, info) = listener.accept().await?;
///     println!("client {} via {}", info.remote_addr(), info.socket_peer());
///     # drop(stream);
///     // serve `stream` (AsyncRead + AsyncWrite) with hyper, etc.
/// }
/// # }
/// ```
///
/// [`max_handshakes`]: ProxyProtocolListenerBuilder::max_handshakes
/// [`header_timeout`]: ProxyProtocolListenerBuilder::header_timeout
#[derive(Debug)]
pub struct ProxyProtocolListener {
    tcp: TcpListener,
    config: ProxyProtocolListenerBuilder,
    handshakes: JoinSet<Result<(ProxiedStream, ProxyConnInfo), (SocketAddr, Dropped)>>,
    /// The handshakes in the order they started, oldest first: the
    /// `JoinSet` cannot say which is oldest. Entries whose slot is free are
    /// dropped lazily.
    pending: VecDeque<Pending>,
    /// How many slots are taken: handshakes neither finished nor evicted.
    in_flight: Arc<AtomicUsize>,
}

/// A handshake task, as the listener sees it.
#[derive(Debug)]
struct Pending {
    peer: SocketAddr,
    slot: Arc<Slot>,
    task: AbortHandle,
}

/// One handshake's place in the pool. It is freed exactly once: by the
/// task when it ends (finished, timed out, panicked or aborted) or by the
/// listener when it evicts the task, whichever comes first. Eviction frees
/// it at once, though the aborted task stops a moment later: so the pool
/// never holds more than `max_handshakes` slots, and the task cannot free
/// a slot twice.
#[derive(Debug, Default)]
struct Slot {
    freed: AtomicBool,
}

impl Slot {
    /// Frees the slot; false if it was free already.
    fn free(&self, in_flight: &AtomicUsize) -> bool {
        let first = !self.freed.swap(true, Ordering::AcqRel);
        if first {
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        first
    }

    fn is_free(&self) -> bool {
        self.freed.load(Ordering::Acquire)
    }
}

/// Held by a handshake task: frees its slot when the task's future is
/// dropped, however it ends.
struct SlotGuard {
    slot: Arc<Slot>,
    in_flight: Arc<AtomicUsize>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slot.free(&self.in_flight);
    }
}

impl ProxyProtocolListener {
    /// A builder for a listener that accepts PROXY headers from
    /// `trusted_senders` only: a [`ProxySet`], or a [`SharedProxySet`]
    /// whose set can be replaced while the listener runs (each connection
    /// is judged by the set held when it is accepted).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use realip::SharedProxySet;
    /// use realip::proxy_protocol::ProxyProtocolListener;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // The balancers' addresses, kept in a file that deployments update.
    /// let balancers = SharedProxySet::from_file("/etc/realip/balancers.txt")?;
    /// let _watcher = balancers.watch_file("/etc/realip/balancers.txt", Duration::from_secs(10))?;
    /// let mut listener = ProxyProtocolListener::builder(balancers)
    ///     .bind("0.0.0.0:8080")
    ///     .await?;
    /// let (stream, info) = listener.accept().await?;
    /// # drop((stream, info));
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(trusted_senders: impl Into<SharedProxySet>) -> ProxyProtocolListenerBuilder {
        ProxyProtocolListenerBuilder {
            senders: trusted_senders.into(),
            mode: Mode::Required,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
        }
    }

    /// Binds to `addr` with the defaults: [`Mode::Required`],
    /// [`DEFAULT_HEADER_TIMEOUT`], [`DEFAULT_MAX_HANDSHAKES`].
    pub async fn bind(
        addr: impl ToSocketAddrs,
        trusted_senders: ProxySet,
    ) -> io::Result<ProxyProtocolListener> {
        Self::builder(trusted_senders).bind(addr).await
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The senders whose headers are accepted now (a snapshot, when they
    /// are a [`SharedProxySet`]).
    pub fn trusted_senders(&self) -> Arc<ProxySet> {
        self.config.senders.current()
    }

    /// What happens to connections from other peers.
    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// How many headers are being read now: never more than
    /// [`max_handshakes`](ProxyProtocolListenerBuilder::max_handshakes).
    pub fn handshakes_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The next connection: its header read and accepted (or, in
    /// [`Mode::Mixed`], a plain connection from another peer).
    ///
    /// Errors are those of accepting a socket (such as running out of file
    /// descriptors), not of any one connection; a server logs them and
    /// calls again. Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&mut self) -> io::Result<(ProxiedStream, ProxyConnInfo)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// [`accept`](Self::accept) as a poll, for the connection streams
    /// that servers such as tonic take.
    pub(crate) fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(ProxiedStream, ProxyConnInfo)>> {
        loop {
            // Finished handshakes first: their clients have waited longest.
            if let Poll::Ready(Some(done)) = self.handshakes.poll_join_next(cx) {
                self.drop_freed_entries();
                match done {
                    Ok(Ok(conn)) => return Poll::Ready(Ok(conn)),
                    Ok(Err((peer, why))) => report_dropped(peer, &why),
                    // Evicted: reported when it was.
                    Err(error) if error.is_cancelled() => {}
                    // Only a bug makes a handshake panic; its connection is
                    // gone, and the others are served on.
                    Err(error) => report_failed(&error),
                }
                continue;
            }
            // The pool is never waited on: a full one makes room below,
            // when a trusted sender needs a slot.
            let (tcp, peer) = match self.tcp.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(accepted)) => accepted,
                Poll::Ready(Err(e)) if is_connection_error(&e) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            };
            if self.config.senders.load().contains(peer.ip()) {
                self.start_handshake(tcp, peer);
                continue;
            }
            match self.config.mode {
                Mode::Required => report_refused(peer),
                Mode::Mixed => {
                    return Poll::Ready(Ok((
                        ProxiedStream::new(tcp, Vec::new(), 0, ProxyConnInfo::plain(peer)),
                        ProxyConnInfo::plain(peer),
                    )));
                }
            }
        }
    }

    /// Reads `tcp`'s header in a task of its own, in a slot of the pool;
    /// when the pool is full, the oldest pending handshake gives up its
    /// slot.
    fn start_handshake(&mut self, tcp: TcpStream, peer: SocketAddr) {
        while self.handshakes_in_flight() >= self.config.max_handshakes {
            if !self.evict_oldest() {
                // Every slot was freed meanwhile.
                break;
            }
        }
        let slot = Arc::new(Slot::default());
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = SlotGuard {
            slot: Arc::clone(&slot),
            in_flight: Arc::clone(&self.in_flight),
        };
        let task = self
            .handshakes
            .spawn(handshake(tcp, peer, self.config.header_timeout, guard));
        self.pending.push_back(Pending { peer, slot, task });
    }

    /// Closes the oldest pending handshake; false if none is pending.
    fn evict_oldest(&mut self) -> bool {
        while let Some(oldest) = self.pending.pop_front() {
            // A handshake that has just ended has freed its slot already.
            if oldest.slot.free(&self.in_flight) {
                // Dropping the task's socket closes the connection.
                oldest.task.abort();
                report_evicted(oldest.peer, self.config.max_handshakes);
                return true;
            }
        }
        false
    }

    /// Forgets handshakes that have ended (each holds its task's memory),
    /// so that `pending` stays about as long as the pool, however out of
    /// order handshakes end. Called as each one is reaped; a full pass
    /// drops more than half of what it reads, so this costs O(1) amortized.
    fn drop_freed_entries(&mut self) {
        while self.pending.front().is_some_and(|p| p.slot.is_free()) {
            self.pending.pop_front();
        }
        let live = self.handshakes_in_flight();
        if self.pending.len() > 2 * live.max(8) {
            self.pending.retain(|p| !p.slot.is_free());
        }
    }
}

/// Reads and decodes the header of a trusted sender's connection; `_slot`
/// frees the handshake's slot when the task ends, however it ends.
async fn handshake(
    mut tcp: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    _slot: SlotGuard,
) -> Result<(ProxiedStream, ProxyConnInfo), (SocketAddr, Dropped)> {
    let mut buffer = Vec::with_capacity(FIRST_READ);
    let read = read_header(&mut tcp, &mut buffer, peer);
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok((info, header_len))) => Ok((
            ProxiedStream::new(tcp, buffer, header_len, info.clone()),
            info,
        )),
        Ok(Err(why)) => Err((peer, why)),
        Err(_) => Err((peer, Dropped::Timeout)),
    }
}

/// Reads until `buffer` starts with a complete header; returns what the
/// header says and its length (the rest of `buffer` is application data).
async fn read_header(
    tcp: &mut TcpStream,
    buffer: &mut Vec<u8>,
    peer: SocketAddr,
) -> Result<(ProxyConnInfo, usize), Dropped> {
    loop {
        let needed = match decode(buffer) {
            Ok(header) => {
                return Ok((
                    ProxyConnInfo::from_header(peer, &header),
                    header.encoded_len(),
                ));
            }
            Err(DecodeError::Invalid(why)) => return Err(Dropped::Invalid(why)),
            Err(DecodeError::Incomplete(needed)) => needed,
        };
        buffer.reserve(needed.max(FIRST_READ));
        match tcp.read_buf(buffer).await {
            Ok(0) => return Err(Dropped::Closed),
            Ok(_) => {}
            Err(e) => return Err(Dropped::Io(e)),
        }
    }
}

/// Errors that concern one connection only, which `accept` skips.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(feature = "tracing")]
fn report_dropped(peer: SocketAddr, why: &Dropped) {
    match why {
        Dropped::Invalid(reason) => {
            tracing::debug!(%peer, %reason, "realip: dropped a connection with an invalid PROXY header")
        }
        Dropped::Timeout => {
            tracing::debug!(%peer, "realip: dropped a connection whose PROXY header did not arrive in time")
        }
        Dropped::Closed => {
            tracing::debug!(%peer, "realip: a connection closed before its PROXY header was complete")
        }
        Dropped::Io(error) => {
            tracing::debug!(%peer, %error, "realip: a connection failed while its PROXY header was read")
        }
    }
}

#[cfg(not(feature = "tracing"))]
fn report_dropped(_: SocketAddr, _: &Dropped) {}

#[cfg(feature = "tracing")]
fn report_failed(error: &tokio::task::JoinError) {
    tracing::error!(%error, "realip: a PROXY header handshake failed");
}

#[cfg(not(feature = "tracing"))]
fn report_failed(_: &tokio::task::JoinError) {}

#[cfg(feature = "tracing")]
fn report_refused(peer: SocketAddr) {
    tracing::debug!(
        %peer,
        "realip: closed a connection from a peer that is not a trusted PROXY-protocol sender"
    );
}

#[cfg(not(feature = "tracing"))]
fn report_refused(_: SocketAddr) {}

#[cfg(feature = "tracing")]
fn report_evicted(peer: SocketAddr, max_handshakes: usize) {
    tracing::debug!(
        %peer,
        max_handshakes,
        "realip: closed the oldest pending PROXY header handshake to make room for a new connection"
    );
}

#[cfg(not(feature = "tracing"))]
fn report_evicted(_: SocketAddr, _: usize) {}

/// How long a server that never sees accept errors (axum's, tonic's
/// through [`ProxiedIncoming`](crate::tonic::ProxiedIncoming)) waits after
/// one. Such errors (out of file descriptors, …) last a while: retrying at
/// once would spin. axum waits the same.
#[cfg(any(feature = "axum", feature = "tonic"))]
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

#[cfg(all(feature = "tracing", any(feature = "axum", feature = "tonic")))]
pub(crate) fn report_accept_failed(error: &io::Error) {
    tracing::error!(%error, "realip: accepting a connection failed");
}

#[cfg(all(not(feature = "tracing"), any(feature = "axum", feature = "tonic")))]
pub(crate) fn report_accept_failed(_: &io::Error) {}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::serve::Listener for ProxyProtocolListener {
    type Io = ProxiedStream;
    type Addr = ProxyConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match ProxyProtocolListener::accept(self).await {
                Ok(conn) => return conn,
                Err(error) => {
                    report_accept_failed(&error);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    /// The listener's own address, as a connection without a header.
    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr().map(ProxyConnInfo::plain)
    }
}

// Here rather than beside `ProxyConnInfo`: it names the listener, and
// `conn_info` sits below `listener`, which must not be imported back.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, ProxyProtocolListener>>
    for ProxyConnInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, ProxyProtocolListener>) -> Self {
        stream.remote_addr().clone()
    }
}
