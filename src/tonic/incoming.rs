//! tonic behind a PROXY-protocol load balancer: the listener's connections
//! as the stream `serve_with_incoming` takes, each able to say who it is
//! from.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ::tonic::transport::server::Connected;
use futures_core::Stream;
use tokio::time::Sleep;

use crate::proxy_protocol::{
    ACCEPT_ERROR_PAUSE, ProxiedStream, ProxyConnInfo, ProxyProtocolListener, report_accept_failed,
};

/// tonic stores the [`ProxyConnInfo`] in each call's extensions, where
/// [`peer_from_extensions`](crate::tower::peer_from_extensions) finds it:
/// the PROXY source is the peer.
impl Connected for ProxiedStream {
    type ConnectInfo = ProxyConnInfo;

    /// A clone of [`conn_info`](ProxiedStream::conn_info): the header's
    /// bytes are shared, not copied.
    fn connect_info(&self) -> Self::ConnectInfo {
        self.conn_info().clone()
    }
}

impl ProxyProtocolListener {
    /// The listener as a stream of connections, for tonic's
    /// `serve_with_incoming` (features `tonic` and `proxy-protocol`).
    ///
    /// ```no_run
    /// use realip::proxy_protocol::ProxyProtocolListener;
    /// use realip::tonic::GrpcClientIpLayer;
    /// use tonic::transport::Server;
    ///
    /// # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = ProxyProtocolListener::bind("0.0.0.0:50051", "10.0.0.0/24".parse()?).await?;
    /// Server::builder()
    ///     .layer(GrpcClientIpLayer::new("peer".parse()?))
    ///     .add_routes(routes)
    ///     .serve_with_incoming(listener.into_incoming())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
    pub fn into_incoming(self) -> ProxiedIncoming {
        ProxiedIncoming {
            listener: self,
            pause: None,
        }
    }
}

/// The connections of a [`ProxyProtocolListener`], as a `Stream`: what
/// tonic's `serve_with_incoming` takes (made by
/// [`into_incoming`](ProxyProtocolListener::into_incoming)).
///
/// It never ends and never yields an error: an error accepting a socket
/// (such as running out of file descriptors) is reported as a `tracing`
/// event and followed by a pause of a second, as axum does, where a
/// server that retried at once would spin. Connections whose header is
/// invalid or late never reach it: the listener drops them.
///
/// ```
/// use realip::proxy_protocol::{ProxiedStream, ProxyProtocolListener};
/// use tokio::io::AsyncWriteExt;
/// use tokio_stream::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = ProxyProtocolListener::bind("127.0.0.1:0", "127.0.0.0/8".parse().unwrap()).await?;
/// let addr = listener.local_addr()?;
/// let mut incoming = listener.into_incoming();
///
/// // A balancer on loopback relays a client from 203.0.113.7:
/// let mut balancer = tokio::net::TcpStream::connect(addr).await?;
/// balancer.write_all(b"PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n").await?;
///
/// let Some(Ok(stream)) = incoming.next().await else { unreachable!("never ends, never fails") };
/// let stream: ProxiedStream = stream;
/// assert_eq!(stream.conn_info().source(), Some("203.0.113.7:51000".parse().unwrap()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ProxiedIncoming {
    listener: ProxyProtocolListener,
    /// After an accept error: the pause before the next accept. Boxed
    /// (allocated only then) so that the stream stays `Unpin`.
    pause: Option<Pin<Box<Sleep>>>,
}

impl ProxiedIncoming {
    /// The listener.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use realip::proxy_protocol::ProxyProtocolListener;
    ///
    /// let listener = ProxyProtocolListener::bind("127.0.0.1:0", "127.0.0.0/8".parse().unwrap()).await?;
    /// let incoming = listener.into_incoming();
    /// println!("listening on {}", incoming.get_ref().local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &ProxyProtocolListener {
        &self.listener
    }

    /// The listener back.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use realip::proxy_protocol::ProxyProtocolListener;
    ///
    /// let listener = ProxyProtocolListener::bind("127.0.0.1:0", "127.0.0.0/8".parse().unwrap()).await?;
    /// let mut listener = listener.into_incoming().into_inner();
    /// let (stream, info) = listener.accept().await?;
    /// # drop((stream, info));
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> ProxyProtocolListener {
        self.listener
    }
}

impl Stream for ProxiedIncoming {
    type Item = Result<ProxiedStream, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(pause) = &mut this.pause {
                ready!(pause.as_mut().poll(cx));
                this.pause = None;
            }
            match ready!(this.listener.poll_accept(cx)) {
                Ok((stream, _)) => return Poll::Ready(Some(Ok(stream))),
                Err(error) => {
                    report_accept_failed(&error);
                    this.pause = Some(Box::pin(tokio::time::sleep(ACCEPT_ERROR_PAUSE)));
                }
            }
        }
    }
}
