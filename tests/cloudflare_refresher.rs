//! `examples/cloudflare.rs` as a real process, refreshing its trusted
//! ranges from a list server this test runs on 127.0.0.1: a peer in a
//! range the lists gain becomes trusted, one in a range they lose stops
//! being trusted, and a failing server (an error status, garbage, an empty
//! body, a preset name, then no server at all) changes nothing.
//!
//! Trust is observed through `/ip` with a `CF-Connecting-IP` header, from
//! two loopback source addresses (127.0.0.2 and 127.0.0.3: all of
//! 127.0.0.0/8 is local): a trusted peer's answer is the header's address,
//! an untrusted peer's is its own. Nothing is timed: each change is polled
//! for with a generous deadline.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::example_binary;

/// Far beyond a refresh every second: only a bug reaches it.
const DEADLINE: Duration = Duration::from_secs(30);

/// What the visitor's header says; a trusted peer's `/ip` answers it.
const VISITOR: &str = "203.0.113.7";

/// What the list server answers.
#[derive(Clone)]
enum Lists {
    /// `/ips-v4` and `/ips-v6`, with 200.
    Serve { v4: &'static str, v6: &'static str },
    /// 500 for every path.
    ErrorStatus,
    /// 200 with this body for every path.
    Body(&'static str),
}

/// A tiny HTTP/1.1 server for the lists, on 127.0.0.1.
struct ListServer {
    addr: SocketAddr,
    lists: Arc<Mutex<Lists>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ListServer {
    fn start(lists: Lists) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let lists = Arc::new(Mutex::new(lists));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (lists, stop) = (Arc::clone(&lists), Arc::clone(&stop));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        let lists = lists.lock().unwrap().clone();
                        answer(conn, &lists);
                    }
                }
            })
        };
        ListServer {
            addr,
            lists,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set(&self, lists: Lists) {
        *self.lists.lock().unwrap() = lists;
    }

    /// Closes the listening socket: connections are refused from now on.
    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accept loop, which then ends and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for ListServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Reads one request's head and answers it.
fn answer(mut conn: TcpStream, lists: &Lists) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("");
    let (status, body) = match lists {
        Lists::Serve { v4, .. } if path == "/ips-v4" => ("200 OK", *v4),
        Lists::Serve { v6, .. } if path == "/ips-v6" => ("200 OK", *v6),
        Lists::Serve { .. } => ("404 Not Found", "not found\n"),
        Lists::ErrorStatus => ("500 Internal Server Error", "try later\n"),
        Lists::Body(body) => ("200 OK", *body),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The example, started with `args`, its output lines sent to channels.
struct Refresher {
    child: Child,
    addr: SocketAddr,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// For the clients, which bind their source address before connecting.
    runtime: tokio::runtime::Runtime,
}

impl Refresher {
    fn start(args: &[&str]) -> Self {
        let mut command = Command::new(example_binary("cloudflare"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The list server is local: no proxy of the environment's in between.
        for var in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            command.env_remove(var);
        }
        let mut child = command.spawn().expect("the cloudflare example starts");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let first = stdout.recv_timeout(DEADLINE).unwrap_or_default();
        let addr = first
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!("no \"listening on http://ADDR;\" line, got {first:?}");
        };
        assert!(
            first.contains("trusting the built-in Cloudflare ranges (as of "),
            "{first}"
        );
        Refresher {
            child,
            addr,
            stdout,
            stderr,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// `/ip` from loopback source address `from`, with the visitor's
    /// `CF-Connecting-IP`: the `origin` it answers.
    fn origin(&self, from: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let request = format!(
            "GET /ip HTTP/1.1\r\nHost: {}\r\nCF-Connecting-IP: {VISITOR}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let response = self.runtime.block_on(async {
            tokio::time::timeout(DEADLINE, async {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
                let mut conn = socket.connect(self.addr).await.unwrap();
                conn.write_all(request.as_bytes()).await.unwrap();
                let mut response = Vec::new();
                conn.read_to_end(&mut response).await.unwrap();
                response
            })
            .await
            .expect("/ip answered in time")
        });
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{response}");
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        body["origin"].as_str().expect("an origin").to_owned()
    }

    /// Waits for a line on stdout (or stderr) that contains `text`, skipping
    /// others.
    fn line_with(&self, stream: Stream, text: &str) -> String {
        let lines = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        let start = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?} on {stream:?} within {DEADLINE:?}"),
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Stream {
    Stdout,
    Stderr,
}

/// Polls `done` until it holds, failing after `DEADLINE`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "not within {DEADLINE:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Drop for Refresher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn refreshes_follow_the_lists_and_failures_change_nothing() {
    let mut server = ListServer::start(Lists::Serve {
        v4: "127.0.0.2/32\n",
        v6: "2001:db8::/32\n",
    });
    let (v4, v6) = (server.url("/ips-v4"), server.url("/ips-v6"));
    let refresher = Refresher::start(&["--refresh", "1", "--ranges-url", &v4, "--ranges-url", &v6]);

    // A range the lists hold: trusted once fetched, and the change said.
    eventually("127.0.0.2 is trusted after a refresh", || {
        refresher.origin("127.0.0.2") == VISITOR
    });
    assert_eq!(refresher.origin("127.0.0.3"), "127.0.0.3");
    let changed = refresher.line_with(Stream::Stdout, "trusted ranges changed");
    for change in [
        "+127.0.0.2/32",
        "+2001:db8::/32",
        "-173.245.48.0/20",
        "(2 ranges)",
    ] {
        assert!(changed.contains(change), "{change}: {changed}");
    }

    // The lists change: the range added is trusted, the one removed not.
    server.set(Lists::Serve {
        v4: "# moved\n127.0.0.3/32\n",
        v6: "2001:db8::/32\n",
    });
    eventually("127.0.0.3 is trusted after a refresh", || {
        refresher.origin("127.0.0.3") == VISITOR
    });
    assert_eq!(refresher.origin("127.0.0.2"), "127.0.0.2");
    let changed = refresher.line_with(Stream::Stdout, "-127.0.0.2/32");
    assert!(changed.contains("+127.0.0.3/32 -127.0.0.2/32"), "{changed}");

    // A failing server: each refresh fails (and says why), and the last
    // good set stays.
    let unchanged = || {
        assert_eq!(refresher.origin("127.0.0.3"), VISITOR);
        assert_eq!(refresher.origin("127.0.0.2"), "127.0.0.2");
    };
    let failures = [
        (Lists::ErrorStatus, "http status: 500"),
        (
            Lists::Body("<html><body>Sorry</body></html>\n"),
            "line 1: invalid trusted proxy",
        ),
        (Lists::Body(""), "the list holds no range"),
        (Lists::Body("private\n"), "names the preset"),
        // A poisoned server: each line a sound range, together every IPv4
        // address (rule 13 judges the merged set).
        (
            Lists::Body("0.0.0.0/1\n128.0.0.0/1\n"),
            "together they hold every IPv4 address",
        ),
    ];
    for (lists, why) in failures {
        server.set(lists);
        let line = refresher.line_with(Stream::Stderr, why);
        assert!(line.contains("keeping the last good set"), "{line}");
        unchanged();
    }
    server.shut_down();
    refresher.line_with(Stream::Stderr, "Connection refused");
    unchanged();
}
