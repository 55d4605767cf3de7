//! realip in a real tonic server: gRPC calls over loopback TCP (and a Unix
//! socket), from clients bound to chosen loopback addresses.
//!
//! The server trusts `127.0.0.2` as its proxy; a client bound to
//! `127.0.0.3` is an untrusted caller. gRPC metadata is HTTP/2 headers,
//! so a client forging `x-forwarded-for` metadata is exactly the attacker
//! of DESIGN rule 1. The PROXY-protocol tests put a relay between client
//! and server that connects from `127.0.0.4` (the only trusted sender) and
//! writes a PROXY header before the client's bytes, as an L4 balancer
//! does.
//!
//! The service is written by hand (prost messages, tonic's `server::Grpc`
//! and `client::Grpc`): no code generation, no protoc. The last tests run
//! the `tonic` example binary that `cargo test` builds next to them.

mod common;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use realip::proxy_protocol::ProxyProtocolListener;
use realip::tonic::{GrpcClientIpLayer, RequestExt};
use realip::tower::ClientIpLayer;
use realip::{ProxySet, Resolver};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tonic::body::Body;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::server::{NamedService, UnaryService};
use tonic::service::Routes;
use tonic::transport::{Endpoint, Server, Uri};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Service;

use common::RunningExample;

/// Far beyond anything a loopback test needs: only a hang reaches it.
const GUARD: Duration = Duration::from_secs(20);

const TRUSTED_PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const UNTRUSTED_CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));
const BALANCER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 4));

// ---------------------------------------------------------------------------
// The service: the example's `realip.example.WhoAmI`, so that one client
// calls both.

const WHO_AM_I: &str = "/realip.example.WhoAmI/WhoAmI";

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIRequest {}

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIReply {
    #[prost(string, tag = "1")]
    client: String,
    #[prost(string, tag = "2")]
    origin: String,
    #[prost(string, tag = "3")]
    peer: String,
}

/// How the handler learns the client.
#[derive(Clone, Debug)]
enum Handler {
    /// `request.resolution()`: what `GrpcClientIpLayer` stored.
    Layer,
    /// `request.resolve_with(&resolver)`, without a layer.
    ResolveWith(Arc<Resolver>),
}

impl Handler {
    fn answer(&self, request: &Request<WhoAmIRequest>) -> Result<WhoAmIReply, Status> {
        let resolution = match self {
            Handler::Layer => request.resolution()?.clone(),
            Handler::ResolveWith(resolver) => request.resolve_with(resolver)?,
        };
        Ok(WhoAmIReply {
            client: resolution.client().to_string(),
            origin: resolution.origin().to_string(),
            peer: resolution.peer().to_string(),
        })
    }
}

#[derive(Clone, Debug)]
struct WhoAmIServer(Handler);

impl NamedService for WhoAmIServer {
    const NAME: &'static str = "realip.example.WhoAmI";
}

impl Service<http::Request<Body>> for WhoAmIServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        assert_eq!(request.uri().path(), WHO_AM_I, "the one method");
        let method = WhoAmIMethod(self.0.clone());
        Box::pin(async move {
            let codec = ProstCodec::<WhoAmIReply, WhoAmIRequest>::default();
            Ok(tonic::server::Grpc::new(codec).unary(method, request).await)
        })
    }
}

struct WhoAmIMethod(Handler);

impl UnaryService<WhoAmIRequest> for WhoAmIMethod {
    type Response = WhoAmIReply;
    type Future = Ready<Result<Response<WhoAmIReply>, Status>>;

    fn call(&mut self, request: Request<WhoAmIRequest>) -> Self::Future {
        ready(self.0.answer(&request).map(Response::new))
    }
}

fn resolver(config: &str) -> Resolver {
    config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid configuration: {e}"))
}

fn routes(handler: Handler) -> Routes {
    Routes::new(WhoAmIServer(handler))
}

// ---------------------------------------------------------------------------
// Servers.

/// How a server is put together.
enum Setup {
    /// `GrpcClientIpLayer` from this `ClientIpLayer`; handlers read its
    /// resolution.
    Layer(ClientIpLayer),
    /// No layer; handlers resolve with this configuration.
    ResolveWith(&'static str),
    /// No layer, and handlers read a resolution nobody stored.
    Nothing,
}

impl Setup {
    fn layer(config: &str) -> Setup {
        Setup::Layer(ClientIpLayer::new(resolver(config)))
    }
}

/// Serves `setup` on a fresh 127.0.0.1 port.
async fn serve_tcp(setup: Setup) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        match setup {
            Setup::Layer(layer) => Server::builder()
                .layer(GrpcClientIpLayer::from(layer))
                .add_routes(routes(Handler::Layer))
                .serve_with_incoming(incoming)
                .await
                .expect("serve"),
            Setup::ResolveWith(config) => Server::builder()
                .add_routes(routes(Handler::ResolveWith(Arc::new(resolver(config)))))
                .serve_with_incoming(incoming)
                .await
                .expect("serve"),
            Setup::Nothing => Server::builder()
                .add_routes(routes(Handler::Layer))
                .serve_with_incoming(incoming)
                .await
                .expect("serve"),
        }
    });
    addr
}

/// Serves tonic behind realip's PROXY listener, which accepts headers from
/// `BALANCER` only.
async fn serve_proxy_protocol(config: &str) -> SocketAddr {
    let senders: ProxySet = BALANCER.to_string().parse().expect("a valid range");
    let listener = ProxyProtocolListener::bind("127.0.0.1:0", senders)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let layer = GrpcClientIpLayer::new(resolver(config));
    tokio::spawn(async move {
        Server::builder()
            .layer(layer)
            .add_routes(routes(Handler::Layer))
            .serve_with_incoming(listener.into_incoming())
            .await
            .expect("serve")
    });
    addr
}

/// A one-connection-at-a-time L4 balancer: accepts on 127.0.0.1, connects
/// to `server` from `BALANCER`, writes `header`, then relays both ways.
async fn relay(server: SocketAddr, header: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.expect("accept");
            let header = header.clone();
            tokio::spawn(async move {
                let mut upstream = connect_from(BALANCER, server).await.expect("connect");
                upstream.write_all(&header).await.expect("write header");
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    addr
}

/// A TCP connection to `server` whose source address is `from`.
async fn connect_from(from: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(server).await
}

// ---------------------------------------------------------------------------
// The client.

/// Calls `WhoAmI` on `server` over a connection from `from`, with
/// `metadata` (repeated keys make repeated header lines).
async fn call_from(
    from: IpAddr,
    server: SocketAddr,
    metadata: &[(&str, &str)],
) -> Result<WhoAmIReply, Status> {
    let connector = tower::service_fn(move |_: Uri| async move {
        connect_from(from, server).await.map(TokioIo::new)
    });
    let endpoint = Endpoint::from_shared(format!("http://{server}")).expect("a valid URI");
    let call = async {
        let channel = endpoint
            .connect_with_connector(connector)
            .await
            .map_err(|e| Status::unavailable(format!("connect: {e}")))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("ready: {e}")))?;
        let mut request = Request::new(WhoAmIRequest {});
        for (key, value) in metadata {
            let key = MetadataKey::from_bytes(key.as_bytes()).expect("a valid key");
            let value = MetadataValue::try_from(*value).expect("a valid value");
            request.metadata_mut().append(key, value);
        }
        let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
        grpc.unary(request, PathAndQuery::from_static(WHO_AM_I), codec)
            .await
            .map(Response::into_inner)
    };
    tokio::time::timeout(GUARD, call)
        .await
        .expect("the call hangs")
}

async fn call_ok(from: IpAddr, server: SocketAddr, metadata: &[(&str, &str)]) -> WhoAmIReply {
    call_from(from, server, metadata)
        .await
        .unwrap_or_else(|status| panic!("call from {from} with {metadata:?} failed: {status:?}"))
}

/// Metadata to send: (key, value) pairs.
type Metadata<'a> = &'a [(&'a str, &'a str)];

fn xff(value: &str) -> [(&str, &str); 1] {
    [("x-forwarded-for", value)]
}

// ---------------------------------------------------------------------------
// Rule 1 through tonic: the peer is tonic's TcpConnectInfo.

const CONFIG: &str = "x-forwarded-for; trust=127.0.0.2";

#[tokio::test]
async fn untrusted_caller_is_the_client_whatever_its_metadata_says() {
    for setup in [Setup::layer(CONFIG), Setup::ResolveWith(CONFIG)] {
        let server = serve_tcp(setup).await;
        for forged in ["203.0.113.7", "127.0.0.2", "1.1.1.1, 127.0.0.2", "garbage"] {
            let reply = call_ok(UNTRUSTED_CLIENT, server, &xff(forged)).await;
            assert_eq!(reply.client, "127.0.0.3", "forged {forged:?}");
            assert_eq!(reply.origin, "peer");
            assert!(reply.peer.starts_with("127.0.0.3:"), "{}", reply.peer);
        }
        let reply = call_ok(UNTRUSTED_CLIENT, server, &[]).await;
        assert_eq!(reply.client, "127.0.0.3");
    }
}

#[tokio::test]
async fn trusted_proxy_metadata_names_the_client() {
    // (metadata, client, origin)
    let table: [(Metadata, &str, &str); 4] = [
        (
            &xff("203.0.113.7"),
            "203.0.113.7",
            "x-forwarded-for[0 from the right]",
        ),
        // The client forged the left part; the proxy appended the rest.
        (
            &xff("1.1.1.1, 203.0.113.7"),
            "203.0.113.7",
            "x-forwarded-for[0 from the right]",
        ),
        // Metadata lines are header lines: all of them, in order (rule 3).
        (
            &[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "203.0.113.7, 127.0.0.2"),
            ],
            "203.0.113.7",
            "x-forwarded-for[1 from the right]",
        ),
        // A proxy that sent no header: the proxy is the only address known.
        (&[], "127.0.0.2", "peer"),
    ];
    for setup in [Setup::layer(CONFIG), Setup::ResolveWith(CONFIG)] {
        let server = serve_tcp(setup).await;
        for (metadata, client, origin) in table {
            let reply = call_ok(TRUSTED_PROXY, server, metadata).await;
            assert_eq!(reply.client, client, "{metadata:?}");
            assert_eq!(reply.origin, origin, "{metadata:?}");
            assert!(reply.peer.starts_with("127.0.0.2:"), "{}", reply.peer);
        }
    }
}

/// `peer_from_extensions` reads tonic's connection info after what any
/// server can insert (a `Peer`), the PROXY info, and axum's. (Unix only:
/// tonic's `UdsConnectInfo` exists there alone.)
#[cfg(unix)]
#[test]
fn peer_lookup_order() {
    use axum::extract::ConnectInfo;
    use realip::Peer;
    use realip::proxy_protocol::{ProxyConnInfo, decode};
    use realip::tower::peer_from_extensions;
    use tonic::transport::server::{TcpConnectInfo, UdsConnectInfo};

    let socket: SocketAddr = "10.0.0.3:40000".parse().unwrap();
    let tcp = |remote_addr| TcpConnectInfo {
        local_addr: None,
        remote_addr,
    };
    let uds = UdsConnectInfo {
        peer_addr: None,
        peer_cred: None,
    };
    let proxied = ProxyConnInfo::from_header(
        "10.0.0.5:1".parse().unwrap(),
        &decode(b"PROXY TCP4 203.0.113.7 10.0.0.9 51000 443\r\n").unwrap(),
    );
    let other: SocketAddr = "192.0.2.1:1".parse().unwrap();

    let mut ext = http::Extensions::new();
    assert_eq!(peer_from_extensions(&ext), Peer::Unknown);
    ext.insert(uds);
    assert_eq!(peer_from_extensions(&ext), Peer::Unix);
    // (tonic inserts one or the other; TCP is read first.)
    ext.insert(tcp(Some(socket)));
    assert_eq!(peer_from_extensions(&ext), Peer::from(socket));
    ext.insert(ConnectInfo(other));
    assert_eq!(peer_from_extensions(&ext), Peer::from(other));
    ext.insert(proxied.clone());
    assert_eq!(peer_from_extensions(&ext), proxied.peer());
    ext.insert(Peer::Unix);
    assert_eq!(peer_from_extensions(&ext), Peer::Unix);

    // A TCP connection whose address the socket no longer gave: no peer,
    // which the resolver reports as the server's problem.
    let mut ext = http::Extensions::new();
    ext.insert(tcp(None));
    assert_eq!(peer_from_extensions(&ext), Peer::Unknown);
}

// ---------------------------------------------------------------------------
// Failures are gRPC statuses.

#[tokio::test]
async fn unreadable_chain_is_invalid_argument() {
    // Through the handler's `?` (the layer lets the call through) and
    // through the layer's own rejection (the call never reaches the
    // handler): the same code, a message that echoes nothing.
    let rejecting = ClientIpLayer::new(resolver(CONFIG)).reject_unresolvable();
    for setup in [
        Setup::layer(CONFIG),
        Setup::ResolveWith(CONFIG),
        Setup::Layer(rejecting),
    ] {
        let server = serve_tcp(setup).await;
        let status = call_from(TRUSTED_PROXY, server, &xff("203.0.113.7, secret-garbage"))
            .await
            .expect_err("an unreadable hop is an error");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status
                .message()
                .starts_with("could not determine the client address"),
            "{status:?}"
        );
        assert!(!status.message().contains("secret"), "{status:?}");
    }
}

#[tokio::test]
async fn handler_without_the_layer_is_told_what_to_add() {
    let server = serve_tcp(Setup::Nothing).await;
    let status = call_from(UNTRUSTED_CLIENT, server, &[])
        .await
        .expect_err("no resolution was stored");
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains("GrpcClientIpLayer"), "{status:?}");
}

// ---------------------------------------------------------------------------
// A connection type of one's own (a TLS stream made outside tonic, say)
// names its peer with `realip::Peer` as its `ConnectInfo`.

/// A TCP stream that says it is from `peer`, as a wrapper that knows
/// better than the socket would (here, a fixed documentation address).
struct OwnConnection {
    tcp: TcpStream,
    peer: realip::Peer,
}

impl tonic::transport::server::Connected for OwnConnection {
    type ConnectInfo = realip::Peer;

    fn connect_info(&self) -> realip::Peer {
        self.peer
    }
}

impl tokio::io::AsyncRead for OwnConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for OwnConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn own_connection_type_names_its_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let peer = realip::Peer::from("192.0.2.1:5000".parse::<SocketAddr>().unwrap());
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let incoming = tokio_stream::StreamExt::map(incoming, move |tcp| {
        tcp.map(|tcp| OwnConnection { tcp, peer })
    });
    tokio::spawn(async move {
        Server::builder()
            .layer(GrpcClientIpLayer::new(resolver(
                "x-forwarded-for; trust=192.0.2.1",
            )))
            .add_routes(routes(Handler::Layer))
            .serve_with_incoming(incoming)
            .await
            .expect("serve")
    });
    let reply = call_ok(UNTRUSTED_CLIENT, addr, &xff("203.0.113.7")).await;
    assert_eq!(reply.client, "203.0.113.7");
    assert_eq!(reply.peer, "192.0.2.1:5000");
}

// ---------------------------------------------------------------------------
// Unix sockets: tonic's UdsConnectInfo is `Peer::Unix` (rule 11).

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_peer_is_trusted_only_when_configured() {
    use tokio::net::{UnixListener, UnixStream};

    async fn serve_unix(config: &str, reject: bool) -> std::path::PathBuf {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("realip-tonic-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("grpc.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
        let mut layer = ClientIpLayer::new(resolver(config));
        if reject {
            layer = layer.reject_unresolvable();
        }
        tokio::spawn(async move {
            Server::builder()
                .layer(GrpcClientIpLayer::from(layer))
                .add_routes(routes(Handler::Layer))
                .serve_with_incoming(incoming)
                .await
                .expect("serve")
        });
        path
    }

    async fn call_unix(
        path: &std::path::Path,
        metadata: &[(&str, &str)],
    ) -> Result<WhoAmIReply, Status> {
        let path = path.to_owned();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { UnixStream::connect(path).await.map(TokioIo::new) }
        });
        let call = async {
            let channel = Endpoint::from_static("http://unix.invalid")
                .connect_with_connector(connector)
                .await
                .map_err(|e| Status::unavailable(format!("connect: {e}")))?;
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(format!("ready: {e}")))?;
            let mut request = Request::new(WhoAmIRequest {});
            for (key, value) in metadata {
                let key = MetadataKey::from_bytes(key.as_bytes()).expect("a valid key");
                request
                    .metadata_mut()
                    .append(key, MetadataValue::try_from(*value).expect("a valid value"));
            }
            let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
            grpc.unary(request, PathAndQuery::from_static(WHO_AM_I), codec)
                .await
                .map(Response::into_inner)
        };
        tokio::time::timeout(GUARD, call)
            .await
            .expect("the call hangs")
    }

    // A sidecar on a Unix socket, trusted: its header names the client.
    let trusted = serve_unix("x-forwarded-for; trust=10.0.0.0/8; unix-peer", false).await;
    let reply = call_unix(&trusted, &xff("1.1.1.1, 203.0.113.7"))
        .await
        .expect("resolved");
    assert_eq!(reply.client, "203.0.113.7");
    assert_eq!(reply.peer, "unix");
    // ... and without a header, nothing names the client.
    let status = call_unix(&trusted, &[]).await.expect_err("no address");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Not trusted: a Unix peer has no address to answer with, whatever
    // the metadata says, and the server is told so: through the handler's
    // `?`, and through the layer's own rejection.
    let untrusted = serve_unix("x-forwarded-for; trust=10.0.0.0/8", false).await;
    let rejecting = serve_unix("x-forwarded-for; trust=10.0.0.0/8", true).await;
    for server in [&untrusted, &rejecting] {
        let status = call_unix(server, &xff("203.0.113.7"))
            .await
            .expect_err("no address");
        assert_eq!(status.code(), Code::Internal, "{status:?}");
        assert!(status.message().contains("unix-peer"), "{status:?}");
    }

    for path in [trusted, untrusted, rejecting] {
        let _ = std::fs::remove_dir_all(path.parent().expect("a directory"));
    }
}

// ---------------------------------------------------------------------------
// PROXY protocol: tonic over realip's listener; the PROXY source is the
// peer (rule 12).

fn v2_tcp4(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (SocketAddr::V4(src), SocketAddr::V4(dst)) = (src, dst) else {
        panic!("IPv4 only")
    };
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    h.extend(src.ip().octets());
    h.extend(dst.ip().octets());
    h.extend(src.port().to_be_bytes());
    h.extend(dst.port().to_be_bytes());
    h
}

#[tokio::test]
async fn proxy_protocol_source_is_the_peer() {
    let server = serve_proxy_protocol("peer").await;
    let v1 = format!(
        "PROXY TCP4 198.51.100.9 127.0.0.1 40000 {}\r\n",
        server.port()
    );
    let v2 = v2_tcp4("198.51.100.10:40001".parse().unwrap(), server);
    for (header, client, port) in [
        (v1.into_bytes(), "198.51.100.9", 40000),
        (v2, "198.51.100.10", 40001),
    ] {
        let balancer = relay(server, header).await;
        // The client's own address (127.0.0.3) and metadata are not what
        // the server sees: the balancer's header is.
        let reply = call_ok(UNTRUSTED_CLIENT, balancer, &xff("1.1.1.1")).await;
        assert_eq!(reply.client, client);
        assert_eq!(reply.origin, "proxy-protocol");
        assert!(
            reply
                .peer
                .starts_with(&format!("{client}:{port} (PROXY protocol from 127.0.0.4:")),
            "{}",
            reply.peer
        );
    }
}

#[tokio::test]
async fn proxy_protocol_source_may_be_a_trusted_gateway() {
    // PROXY from the balancer, then X-Forwarded-For from the gateway the
    // PROXY header names.
    let server = serve_proxy_protocol("x-forwarded-for; trust=10.1.0.5").await;
    let header = format!("PROXY TCP4 10.1.0.5 127.0.0.1 40000 {}\r\n", server.port());
    let balancer = relay(server, header.into_bytes()).await;
    let reply = call_ok(UNTRUSTED_CLIENT, balancer, &xff("1.1.1.1, 203.0.113.7")).await;
    assert_eq!(reply.client, "203.0.113.7");
    assert_eq!(reply.origin, "x-forwarded-for[0 from the right]");
}

#[tokio::test]
async fn proxy_protocol_local_header_keeps_the_balancer_and_reads_no_metadata() {
    // LOCAL (a health check): the answer is the balancer, and forwarding
    // metadata is never read, even though the balancer's address is in
    // the trusted set.
    let server = serve_proxy_protocol("x-forwarded-for; trust=127.0.0.0/8").await;
    let local = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec();
    let balancer = relay(server, local).await;
    let reply = call_ok(UNTRUSTED_CLIENT, balancer, &xff("203.0.113.7")).await;
    assert_eq!(reply.client, "127.0.0.4");
}

#[tokio::test]
async fn proxy_protocol_listener_closes_other_peers() {
    let server = serve_proxy_protocol("peer").await;
    // Closed before any answer (whether the client reports it as
    // unavailable or cancelled depends on when it notices).
    let status = call_from(UNTRUSTED_CLIENT, server, &[])
        .await
        .expect_err("a peer that is not a trusted sender is closed");
    assert!(
        matches!(
            status.code(),
            Code::Unavailable | Code::Cancelled | Code::Unknown
        ),
        "{status:?}"
    );
}

// ---------------------------------------------------------------------------
// The example binary.

#[tokio::test]
async fn example_answers_the_resolved_client() {
    let example = RunningExample::start("tonic", &[], Some(CONFIG));
    let reply = call_ok(TRUSTED_PROXY, example.addr, &xff("203.0.113.7")).await;
    assert_eq!(reply.client, "203.0.113.7");
    let reply = call_ok(UNTRUSTED_CLIENT, example.addr, &xff("203.0.113.7")).await;
    assert_eq!(reply.client, "127.0.0.3");
    let status = call_from(TRUSTED_PROXY, example.addr, &xff("garbage"))
        .await
        .expect_err("unreadable");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn example_behind_a_proxy_protocol_balancer() {
    let example = RunningExample::start("tonic", &["--proxy-protocol", "127.0.0.4"], None);
    let header = format!(
        "PROXY TCP4 198.51.100.9 127.0.0.1 40000 {}\r\n",
        example.addr.port()
    );
    let balancer = relay(example.addr, header.into_bytes()).await;
    let reply = call_ok(UNTRUSTED_CLIENT, balancer, &[]).await;
    assert_eq!(reply.client, "198.51.100.9");
    assert_eq!(reply.origin, "proxy-protocol");
}
