//! realip's layer with plain hyper and tower, no axum.
//!
//! hyper hands each connection's peer address to the accept loop; the
//! service stack puts it into every request's extensions as a
//! [`realip::Peer`], and [`ClientIpLayer`] resolves from there.
//!
//! ```text
//! cargo run --example tower_hyper                    # 127.0.0.1:8001 (or --listen ADDR)
//! curl -s localhost:8001/                           # client 127.0.0.1
//! REALIP="x-forwarded-for; trust=loopback" cargo run --example tower_hyper
//! curl -s -H 'X-Forwarded-For: 203.0.113.7' localhost:8001/   # client 203.0.113.7
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use realip::tower::ClientIpLayer;
use realip::{Error, Peer, Resolution, Resolver};
use tower::{ServiceBuilder, service_fn};

/// The response body: whole, in memory.
type Body = http_body_util::Full<hyper::body::Bytes>;

async fn handle(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let extensions = request.extensions();
    let (status, text) = match (extensions.get::<Resolution>(), extensions.get::<Error>()) {
        (Some(r), _) => (
            StatusCode::OK,
            format!("client {} (from {})\n", r.client(), r.origin()),
        ),
        (None, Some(e)) => (StatusCode::BAD_REQUEST, format!("no client address: {e}\n")),
        (None, None) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the layer did not run\n".to_owned(),
        ),
    };
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:8001".parse().expect("a socket address");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr.parse().expect("--listen takes ADDR:PORT"),
            _ => {
                eprintln!("usage: tower_hyper [--listen ADDR:PORT]");
                std::process::exit(2);
            }
        }
    }
    let config = std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned());
    let resolver: Resolver = config.parse().unwrap_or_else(|e| {
        eprintln!("tower_hyper: invalid REALIP {config:?}: {e}");
        std::process::exit(2);
    });
    let layer = ClientIpLayer::new(resolver);

    let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
    println!(
        "tower_hyper listening on http://{}",
        listener.local_addr().expect("bound")
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        // Outermost first: record the peer, then resolve, then handle.
        let service = ServiceBuilder::new()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(Peer::from(peer));
                request
            })
            .layer(layer.clone())
            .service(service_fn(handle));
        tokio::spawn(async move {
            let service = TowerToHyperService::new(service);
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection from {peer}: {e}");
            }
        });
    }
}
