//! The load test's server: `GET /ip` answers the client address as text,
//! with realip or without it, on one thread.
//!
//! ```text
//! hello --listen 127.0.0.1:8101                                   # the socket peer, no realip
//! hello --listen 127.0.0.1:8102 --realip 'x-forwarded-for; trust=loopback'
//! hello --listen 127.0.0.1:8103 --realip 'x-forwarded-for; trust=loopback' --wrap outer
//! ```
//!
//! Both serve the same route with the same axum stack; "with" adds
//! `ClientIpLayer` and reads the `ClientIp` extractor, "without" reads the
//! peer from `ConnectInfo`. The difference between the two under `wrk` is
//! what realip costs a whole server (`load.sh`).
//!
//! `--wrap route` (the default) adds the layer with `Router::layer`, which
//! axum applies to every route and boxes again; `--wrap outer` wraps the
//! whole `Router` in the layer instead, so that the two costs can be told
//! apart.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use realip::tower::ClientIpLayer;
use realip::{ClientIp, Resolver};
use tower_layer::Layer;

const USAGE: &str = "usage: hello --listen ADDR [--realip 'REALIP TEXT' [--wrap route|outer]]";

async fn peer(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.ip().to_string()
}

async fn client(client: ClientIp) -> String {
    client.to_string()
}

/// Where the layer goes.
#[derive(Clone, Copy, PartialEq)]
enum Wrap {
    /// `Router::layer`: around each route, boxed again by axum.
    Route,
    /// Around the whole `Router`, once.
    Outer,
}

fn app(resolver: Option<Resolver>, wrap: Wrap) -> Router {
    match resolver {
        None => Router::new().route("/ip", get(peer)),
        Some(resolver) if wrap == Wrap::Route => Router::new()
            .route("/ip", get(client))
            .layer(ClientIpLayer::new(resolver)),
        Some(_) => Router::new().route("/ip", get(client)),
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
    let mut wrap = Wrap::Route;
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
            "--wrap" => {
                wrap = match value.as_str() {
                    "route" => Wrap::Route,
                    "outer" => Wrap::Outer,
                    _ => fail(&format!("--wrap {value:?}: route or outer")),
                };
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
    match (resolver, wrap) {
        (Some(resolver), Wrap::Outer) => {
            let app = ClientIpLayer::new(resolver.clone()).layer(app(Some(resolver), wrap));
            axum::serve(
                listener,
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    SocketAddr,
                >(app),
            )
            .await
        }
        (resolver, wrap) => {
            axum::serve(
                listener,
                app(resolver, wrap).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        }
    }
    .expect("server error");
}
