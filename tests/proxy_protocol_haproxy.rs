//! End to end through a real HAProxy (`send-proxy-v2`, `send-proxy`)
//! started by the test on loopback.
//!
//! The client connects from 127.0.0.77, HAProxy from 127.0.0.1: the app
//! must see the client's address while its socket peer is HAProxy. HAProxy's
//! HTTP health checks arrive with a `LOCAL` header and keep the socket
//! peer.
//!
//! Skipped, with a message, when `haproxy` is not installed — unless
//! `REALIP_REQUIRE_E2E=1`, which turns the skip into a failure. Debian:
//! `apt-get install haproxy`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::response::Json;
use axum::routing::get;
use axum::{Extension, Router};
use realip::proxy_protocol::{Command as PpCommand, ProxyConnInfo, ProxyProtocolListener};
use realip::tower::{ClientIpLayer, peer_from_extensions};
use realip::{ClientIp, Resolver};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);
const GUARD: Duration = Duration::from_secs(20);

/// Whether the test may run; prints why not, or panics when it must run.
fn haproxy_available() -> bool {
    let found = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let message = "haproxy is not installed (Debian: apt-get install haproxy)";
        if std::env::var("REALIP_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("REALIP_REQUIRE_E2E=1 but {message}");
        }
        println!(
            "SKIPPED proxy_protocol_haproxy: {message}; set REALIP_REQUIRE_E2E=1 to fail instead"
        );
    }
    found
}

/// HAProxy as a child process, killed (and its directory removed) on drop.
struct HaProxy {
    child: Child,
    dir: PathBuf,
}

impl HaProxy {
    fn start(config: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("realip-haproxy-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("haproxy starts");
        HaProxy { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now, for HAProxy to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn whoami(ConnectInfo(info): ConnectInfo<ProxyConnInfo>, client: ClientIp) -> Json<Value> {
    let tlvs = info.tlvs();
    Json(json!({
        "client": client.to_string(),
        "socket_peer": info.socket_peer().to_string(),
        "source": info.source().map(|a| a.to_string()),
        "destination": info.destination().map(|a| a.to_string()),
        "version": info.version().map(|v| format!("v{v}")),
        "crc32c": tlvs.crc32c().is_some(),
        "unique_id": tlvs.unique_id().map(|v| String::from_utf8_lossy(v).into_owned()),
    }))
}

/// `GET /health`, HAProxy's check: remembers what the connection said.
async fn health(
    ConnectInfo(info): ConnectInfo<ProxyConnInfo>,
    Extension(seen): Extension<Arc<Mutex<Vec<ProxyConnInfo>>>>,
) -> &'static str {
    seen.lock().unwrap().push(info);
    "ok"
}

async fn explain(Extension(resolver): Extension<Resolver>, request: Request) -> Json<Value> {
    let peer = peer_from_extensions(request.extensions());
    Json(serde_json::to_value(resolver.explain(peer, request.headers())).unwrap())
}

/// GET `path` through `frontend`, from 127.0.0.77.
async fn get_from_client_address(frontend: SocketAddr, path: &str) -> Value {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::V4(SocketAddrV4::new(CLIENT_IP, 0)))
        .unwrap();
    let mut conn = socket.connect(frontend).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let (_, body) = text.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).unwrap()
}

/// Waits until HAProxy accepts on `port`.
async fn wait_listening(port: u16, haproxy: &HaProxy) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "haproxy did not listen on {port}: {}",
            haproxy.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn haproxy_send_proxy_v2_and_v1_name_the_client() {
    if !haproxy_available() {
        return;
    }
    // Only HAProxy (127.0.0.1) may send headers; 127.0.0.77 is a client.
    let listener = ProxyProtocolListener::bind("127.0.0.1:0", "127.0.0.1/32".parse().unwrap())
        .await
        .unwrap();
    let app_addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<ProxyConnInfo>>> = Arc::default();
    let resolver: Resolver = "peer".parse().unwrap();
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/ip/explain", get(explain))
        .route("/health", get(health))
        .layer(ClientIpLayer::new(resolver.clone()))
        .layer(Extension(resolver))
        .layer(Extension(seen.clone()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ProxyConnInfo>(),
        )
        .await
        .unwrap();
    });

    let (v2_port, v1_port) = (free_port(), free_port());
    let app_port = app_addr.port();
    let haproxy = HaProxy::start(&format!(
        "global
    maxconn 200

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    unique-id-format %{{+X}}o%ci:%cp_%fi:%fp_%Ts_%rt

frontend fe_v2
    bind 127.0.0.1:{v2_port}
    default_backend be_v2

backend be_v2
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr host localhost
    server app 127.0.0.1:{app_port} send-proxy-v2 proxy-v2-options crc32c,unique-id check inter 200ms

frontend fe_v1
    bind 127.0.0.1:{v1_port}
    default_backend be_v1

backend be_v1
    server app 127.0.0.1:{app_port} send-proxy
"
    ));

    tokio::time::timeout(GUARD, async {
        wait_listening(v2_port, &haproxy).await;
        wait_listening(v1_port, &haproxy).await;

        // v2, with CRC32C (verified on decoding) and a unique id.
        let v =
            get_from_client_address(SocketAddr::from(([127, 0, 0, 1], v2_port)), "/whoami").await;
        assert_eq!(v["client"], "127.0.0.77", "{v}\n{}", haproxy.log());
        assert_eq!(v["version"], "v2");
        assert!(
            v["source"].as_str().unwrap().starts_with("127.0.0.77:"),
            "{v}"
        );
        assert_eq!(v["destination"], format!("127.0.0.1:{v2_port}"));
        assert!(
            v["socket_peer"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{v}"
        );
        assert_eq!(v["crc32c"], true, "{v}");
        assert!(
            v["unique_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{v}"
        );

        // v1.
        let v =
            get_from_client_address(SocketAddr::from(([127, 0, 0, 1], v1_port)), "/whoami").await;
        assert_eq!(v["client"], "127.0.0.77", "{v}");
        assert_eq!(v["version"], "v1");
        assert!(
            v["socket_peer"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{v}"
        );

        // The explanation shows the PROXY hop.
        let e = get_from_client_address(SocketAddr::from(([127, 0, 0, 1], v2_port)), "/ip/explain")
            .await;
        assert_eq!(e["source"], "proxy-protocol", "{e}");
        assert_eq!(e["client"], "127.0.0.77");
        let peer = e["peer"].as_str().unwrap();
        assert!(peer.contains("(PROXY protocol from 127.0.0.1:"), "{peer}");

        // HAProxy's health checks: LOCAL, the balancer's own address kept,
        // its connection marked as one whose headers are never read.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let local = seen.lock().unwrap().iter().any(|info| {
                info.version() == Some(2)
                    && info.command() == Some(PpCommand::Local)
                    && info.peer()
                        == realip::Peer::ProxiedWithoutSource {
                            sender: info.socket_peer(),
                        }
            });
            if local {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no LOCAL health check arrived: {:?}\n{}",
                seen.lock().unwrap(),
                haproxy.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the exchange with haproxy finished in time");

    // A direct connection from the client is not from a trusted sender:
    // refused without a response.
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::V4(SocketAddrV4::new(CLIENT_IP, 0)))
        .unwrap();
    let mut direct = socket.connect(app_addr).await.unwrap();
    let _ = direct
        .write_all(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET /whoami HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(GUARD, direct.read_to_end(&mut response)).await;
    assert!(
        response.is_empty(),
        "{}",
        String::from_utf8_lossy(&response)
    );

    drop(haproxy);
}
