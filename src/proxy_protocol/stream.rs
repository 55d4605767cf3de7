//! The accepted connection: a TCP stream that first replays what the
//! handshake read past the PROXY header.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::conn_info::ProxyConnInfo;

/// A connection accepted by a
/// [`ProxyProtocolListener`](super::ProxyProtocolListener), positioned just
/// after the PROXY header.
///
/// Reading the header may read application data too (a sender writes the
/// header and the first request at once); the stream hands those bytes out
/// first, then reads the socket. Writes go straight to the socket.
///
/// It carries its [`ProxyConnInfo`], for servers that ask the connection
/// who it is from (tonic's `Connected`, feature `tonic`).
#[derive(Debug)]
pub struct ProxiedStream {
    inner: TcpStream,
    /// Bytes read from the socket; those from `pos` on are not yet read by
    /// the application.
    buffer: Vec<u8>,
    pos: usize,
    info: ProxyConnInfo,
}

impl ProxiedStream {
    /// `inner`, whose first bytes the application should read are
    /// `buffer[pos..]`, described by `info`.
    pub(super) fn new(inner: TcpStream, buffer: Vec<u8>, pos: usize, info: ProxyConnInfo) -> Self {
        let mut stream = Self {
            inner,
            buffer,
            pos,
            info,
        };
        stream.release_if_drained();
        stream
    }

    /// What the listener learnt about the connection: the same
    /// [`ProxyConnInfo`] that [`accept`](super::ProxyProtocolListener::accept)
    /// returns beside the stream.
    ///
    /// ```no_run
    /// use realip::proxy_protocol::ProxyProtocolListener;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let mut listener = ProxyProtocolListener::bind("0.0.0.0:8080", "10.0.0.0/24".parse().unwrap()).await?;
    /// let (stream, info) = listener.accept().await?;
    /// assert_eq!(stream.conn_info(), &info);
    /// # Ok(())
    /// # }
    /// ```
    pub fn conn_info(&self) -> &ProxyConnInfo {
        &self.info
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    /// The bytes read past the header that the application has not read
    /// yet. Reading the socket through [`get_ref`](Self::get_ref) would
    /// skip them.
    pub fn buffered(&self) -> &[u8] {
        &self.buffer[self.pos..]
    }

    /// The socket and the bytes read past the header that the application
    /// has not read yet, for servers that need the raw `TcpStream`.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        let Self {
            inner,
            mut buffer,
            pos,
            info: _,
        } = self;
        buffer.drain(..pos);
        (inner, buffer)
    }

    fn release_if_drained(&mut self) {
        if self.pos == self.buffer.len() {
            self.buffer = Vec::new();
            self.pos = 0;
        }
    }
}

impl AsyncRead for ProxiedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.buffer.len() {
            let n = buf.remaining().min(this.buffer.len() - this.pos);
            buf.put_slice(&this.buffer[this.pos..this.pos + n]);
            this.pos += n;
            this.release_if_drained();
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProxiedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
