//! The load test's server: `GET /ip` answers the client address as text,
//! with realip or without it, on one thread.
//!
//! ```text
//! hello --listen 127.0.0.1:8101                                   # the socket peer, no realip
//! hello --listen 127.0.0.1:8102 --realip 'x-forwarded-for; trust=loopback'
//! ```
//!
//! Both serve the same route with the same axum stack; "with" adds
//! `ClientIpLayer` and reads the `ClientIp` extractor, "without" reads the
//! peer from `ConnectInfo`. The difference between the two under `wrk` is
//! what realip costs a whole server (`load.sh`).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use realip::tower::ClientIpLayer;
use realip::{ClientIp, Resolver};

const USAGE: &str = "usage: hello --listen ADDR [--realip 'REALIP TEXT']";

async fn peer(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.ip().to_string()
}

async fn client(client: ClientIp) -> String {
    client.to_string()
}

fn app(resolver: Option<Resolver>) -> Router {
    match resolver {
        None => Router::new().route("/ip", get(peer)),
        Some(resolver) => Router::new()
            .route("/ip", get(client))
            .layer(ClientIpLayer::new(resolver)),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("hello: {message}\n{USAGE}");
    std::process::exit(2);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut listen: Option<SocketAddr> = None;
    let mut resolver: Option<Resolver> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--listen" => {
                listen =
                    Some(value.parse().unwrap_or_else(|_| {
                        fail(&format!("--listen {value:?} is not an address"))
                    }));
            }
            "--realip" => {
                resolver = Some(
                    value
                        .parse()
                        .unwrap_or_else(|e| fail(&format!("--realip {value:?}: {e}"))),
                );
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let listen = listen.unwrap_or_else(|| fail("--listen is required"));
    if !listen.ip().is_loopback() {
        fail("the load-test server listens on loopback addresses only");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {listen}: {e}")));
    let config = resolver.as_ref().map(ToString::to_string);
    println!(
        "hello listening on http://{listen} with realip: {}",
        config.as_deref().unwrap_or("none")
    );
    axum::serve(
        listener,
        app(resolver).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("server error");
}
