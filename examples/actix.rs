//! httpbin's `/ip` on actix-web, behind realip: the `httpbin` example's
//! surface and flags, so the end-to-end lab can start either.
//!
//! ```text
//! cargo run --features actix --example actix        # listens on 127.0.0.1:8000, reads the peer
//! curl -s localhost:8000/ip                         # {"origin":"127.0.0.1"}
//! curl -s localhost:8000/ip/explain                 # every hop, its verdict, diagnostics
//! curl -s localhost:8000/headers                    # the request headers, as received
//!
//! REALIP="x-forwarded-for; trust=istio-sidecar" cargo run --features actix --example actix -- --listen 0.0.0.0:8000
//! ```
//!
//! Options: `--listen ADDR` (or the `PORT` variable: `127.0.0.1:$PORT`),
//! `--config TEXT` (or the `REALIP` variable; the text form of
//! `realip::config`, default `peer`).
//!
//! `GET /ip` answers `{"origin": "<client>"}` like httpbin does, and a
//! request whose client cannot be told gets `400` with a short reason.
//! `GET /ip/explain` answers the explanation as JSON (the `explain`
//! example's shape) for any request, resolvable or not; building it copies
//! the headers into an `http` 1 map (`realip::actix::explain`), which
//! `/ip` never does.

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use realip::actix::ClientIpMiddleware;
use realip::{ClientIp, Resolver};
use serde_json::{Map, Value, json};

const USAGE: &str = "usage: actix [--listen ADDR] [--config 'REALIP TEXT']\n\
  ADDR defaults to 127.0.0.1:$PORT, or 127.0.0.1:8000; the configuration to $REALIP, or 'peer'.";

struct Options {
    listen: SocketAddr,
    config: String,
}

fn options() -> Result<Options, String> {
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .parse::<u16>()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 8000,
    };
    let mut listen = SocketAddr::from(([127, 0, 0, 1], port));
    let mut config = std::env::var("REALIP").unwrap_or_else(|_| "peer".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                listen = v.parse().map_err(|_| {
                    format!("--listen {v:?}: expected an address such as 127.0.0.1:8000")
                })?;
            }
            "--config" => config = value("--config")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options { listen, config })
}

/// `GET /ip`: exactly httpbin's answer.
async fn ip(client: ClientIp) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "origin": client.to_string() }))
}

/// `GET /ip/explain`: the whole reasoning, for resolvable requests and
/// others alike.
async fn explain(resolver: web::Data<Resolver>, request: HttpRequest) -> HttpResponse {
    let explanation = realip::actix::explain(&resolver, &request);
    let status = if explanation.result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    HttpResponse::build(status).json(explanation)
}

/// `GET /headers`: the request headers, like httpbin (repeated lines joined
/// with a comma).
async fn headers(request: HttpRequest) -> HttpResponse {
    let headers = request.headers();
    let mut out = Map::new();
    for name in headers.keys() {
        let value = headers
            .get_all(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(name.to_string(), Value::String(value));
    }
    HttpResponse::Ok().json(json!({ "headers": out }))
}

fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("actix: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let resolver: Resolver = opts.config.parse().unwrap_or_else(|e| {
        eprintln!("actix: invalid configuration {:?}: {e}", opts.config);
        std::process::exit(2);
    });
    let realip = ClientIpMiddleware::new(resolver.clone());
    let data = web::Data::new(resolver.clone());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(realip.clone())
            .app_data(data.clone())
            .route("/ip", web::get().to(ip))
            .route("/ip/explain", web::get().to(explain))
            .route("/headers", web::get().to(headers))
    })
    .bind(opts.listen)
    .unwrap_or_else(|e| {
        eprintln!("actix: cannot listen on {}: {e}", opts.listen);
        std::process::exit(1);
    });
    let local = server.addrs()[0];
    // Tests and scripts read this line to learn the port when asked for port 0.
    println!("actix listening on http://{local} with realip configuration: {resolver}");
    actix_web::rt::System::new()
        .block_on(server.run())
        .expect("server error");
}
