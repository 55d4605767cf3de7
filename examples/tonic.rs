//! A gRPC service that tells callers who they are, behind realip: the
//! gRPC counterpart of httpbin's `/ip`.
//!
//! ```text
//! cargo run --example tonic                      # listens on 127.0.0.1:50051, reads the peer
//! cargo run --example tonic -- --call 127.0.0.1:50051
//!     # {"client":"127.0.0.1","origin":"peer","peer":"127.0.0.1:41236"}
//! cargo run --example tonic -- --call 127.0.0.1:50051 --forwarded-for 203.0.113.7
//!     # still 127.0.0.1: the configuration reads no header
//!
//! REALIP="x-forwarded-for; trust=loopback" cargo run --example tonic
//! cargo run --example tonic -- --call 127.0.0.1:50051 --forwarded-for 203.0.113.7
//!     # {"client":"203.0.113.7","origin":"x-forwarded-for[0 from the right]",…}
//!
//! # Behind PROXY-protocol balancers in 10.0.0.0/24 (HAProxy send-proxy-v2, AWS NLB):
//! cargo run --example tonic -- --listen 0.0.0.0:50051 --proxy-protocol 10.0.0.0/24
//! ```
//!
//! Options: `--listen ADDR` (default `127.0.0.1:50051`), `--config TEXT`
//! (or the `REALIP` variable; the text form of `realip::config`, default
//! `peer`), `--proxy-protocol SENDERS` (accept PROXY headers from these
//! ranges, and only connections that send one: the PROXY source is the
//! peer). `--call ADDR [--forwarded-for LIST]` calls a running server
//! instead and prints its answer.
//!
//! The service, `realip.example.WhoAmI`, has one method, which answers
//! the client realip resolved, where it read it (`origin`) and the peer it
//! started from. It is written without code generation, so the example
//! builds without `protoc`: the messages are prost structs written by hand
//! and the server is the routing that `tonic-build` would generate. With
//! generated code, only `who_am_i` is yours. Its `.proto`, for `grpcurl`
//! (`grpcurl -plaintext -proto whoami.proto -H 'x-forwarded-for: 203.0.113.7'
//! 127.0.0.1:50051 realip.example.WhoAmI/WhoAmI`):
//!
//! ```text
//! syntax = "proto3";
//! package realip.example;
//! service WhoAmI { rpc WhoAmI (WhoAmIRequest) returns (WhoAmIReply); }
//! message WhoAmIRequest {}
//! message WhoAmIReply { string client = 1; string origin = 2; string peer = 3; }
//! ```

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::uri::PathAndQuery;
use realip::proxy_protocol::ProxyProtocolListener;
use realip::tonic::{GrpcClientIpLayer, RequestExt};
use realip::{ProxySet, Resolver};
use serde_json::json;
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Service;

const USAGE: &str = "usage: tonic [--listen ADDR] [--config 'REALIP TEXT'] [--proxy-protocol SENDERS]\n\
  \x20      tonic --call ADDR [--forwarded-for LIST]\n\
  ADDR defaults to 127.0.0.1:50051, the configuration to $REALIP, or 'peer'.";

/// The method's path: `/package.Service/Method`.
const WHO_AM_I: &str = "/realip.example.WhoAmI/WhoAmI";

/// The messages, as prost derives them from the `.proto` above.
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

/// The method: the client `GrpcClientIpLayer` resolved for this call. A
/// call whose chain cannot be read fails with `INVALID_ARGUMENT`.
fn who_am_i(request: Request<WhoAmIRequest>) -> Result<Response<WhoAmIReply>, Status> {
    let resolution = request.resolution()?;
    Ok(Response::new(WhoAmIReply {
        client: resolution.client().to_string(),
        origin: resolution.origin().to_string(),
        peer: resolution.peer().to_string(),
    }))
}

/// What `tonic-build` generates for `service WhoAmI`: a service that routes
/// by path, and for the method, decodes the request, calls it, encodes the
/// reply.
#[derive(Clone, Debug)]
struct WhoAmIServer;

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
        if request.uri().path() != WHO_AM_I {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
            Ok(grpc.unary(WhoAmIMethod, request).await)
        })
    }
}

/// `who_am_i` as tonic calls a unary method.
struct WhoAmIMethod;

impl UnaryService<WhoAmIRequest> for WhoAmIMethod {
    type Response = WhoAmIReply;
    type Future = Ready<Result<Response<WhoAmIReply>, Status>>;

    fn call(&mut self, request: Request<WhoAmIRequest>) -> Self::Future {
        ready(who_am_i(request))
    }
}

enum Mode {
    Serve {
        listen: SocketAddr,
        config: String,
        proxy_senders: Option<ProxySet>,
    },
    Call {
        server: SocketAddr,
        forwarded_for: Option<String>,
    },
}

fn options() -> Result<Mode, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 50051));
    let mut config = std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned());
    let mut proxy_senders = None;
    let mut call = None;
    let mut forwarded_for = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                listen = v
                    .parse()
                    .map_err(|_| format!("--listen {v:?}: expected IP:PORT"))?;
            }
            "--config" => config = value("--config")?,
            "--proxy-protocol" => {
                let v = value("--proxy-protocol")?;
                proxy_senders = Some(
                    v.parse()
                        .map_err(|e| format!("--proxy-protocol {v:?}: {e}"))?,
                );
            }
            "--call" => {
                let v = value("--call")?;
                call = Some(
                    v.parse()
                        .map_err(|_| format!("--call {v:?}: expected IP:PORT"))?,
                );
            }
            "--forwarded-for" => forwarded_for = Some(value("--forwarded-for")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(match call {
        Some(server) => Mode::Call {
            server,
            forwarded_for,
        },
        None if forwarded_for.is_some() => return Err("--forwarded-for goes with --call".into()),
        None => Mode::Serve {
            listen,
            config,
            proxy_senders,
        },
    })
}

#[tokio::main]
async fn main() {
    let mode = options().unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2);
    });
    let outcome = match mode {
        Mode::Serve {
            listen,
            config,
            proxy_senders,
        } => serve(listen, &config, proxy_senders).await,
        Mode::Call {
            server,
            forwarded_for,
        } => call(server, forwarded_for.as_deref()).await,
    };
    if let Err(e) = outcome {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

async fn serve(
    listen: SocketAddr,
    config: &str,
    proxy_senders: Option<ProxySet>,
) -> Result<(), Box<dyn std::error::Error>> {
    let resolver: Resolver = config
        .parse()
        .map_err(|e| format!("configuration {config:?}: {e}"))?;
    let shown = resolver.to_string();
    let mut server = Server::builder().layer(GrpcClientIpLayer::new(resolver));
    let router = server.add_service(WhoAmIServer);
    match proxy_senders {
        Some(senders) => {
            let listener = ProxyProtocolListener::bind(listen, senders.clone()).await?;
            // The first line is what tests wait for.
            println!(
                "listening on http://{}; PROXY headers from {senders}; resolving with \"{shown}\"",
                listener.local_addr()?
            );
            router.serve_with_incoming(listener.into_incoming()).await?;
        }
        None => {
            let incoming = TcpIncoming::bind(listen)?;
            println!(
                "listening on http://{}; resolving with \"{shown}\"",
                incoming.local_addr()?
            );
            router.serve_with_incoming(incoming).await?;
        }
    }
    Ok(())
}

async fn call(
    server: SocketAddr,
    forwarded_for: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let channel = Endpoint::from_shared(format!("http://{server}"))?
        .connect()
        .await?;
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await?;
    let mut request = Request::new(WhoAmIRequest {});
    if let Some(list) = forwarded_for {
        request
            .metadata_mut()
            .insert("x-forwarded-for", list.parse()?);
    }
    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    let reply = client
        .unary(request, PathAndQuery::from_static(WHO_AM_I), codec)
        .await?
        .into_inner();
    println!(
        "{}",
        json!({ "client": reply.client, "origin": reply.origin, "peer": reply.peer })
    );
    Ok(())
}
