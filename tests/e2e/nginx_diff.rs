//! The differential check against nginx's `real_ip_recursive`.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::chains::{
    Rng, free_port, random_chain, random_trusted, realip_answer, seed_and_cases, trust_text,
};
use crate::lab::{
    Proc, TempDir, nginx, nginx_conf, processes_mentioning, program_dies_with_test, say, skip,
    spawn,
};

/// and the client's own socket address (nginx's peer).
pub fn ask_nginx(to: SocketAddr, lines: &[String]) -> (String, SocketAddr) {
    let mut stream =
        TcpStream::connect_timeout(&to, Duration::from_secs(5)).expect("nginx accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a timeout");
    let mut request = String::from("GET / HTTP/1.0\r\nHost: realip.test\r\n");
    for line in lines {
        let _ = write!(request, "X-Forwarded-For: {line}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("a request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    let peer = stream.local_addr().expect("a local address");
    let (head, body) = response.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 200"), "nginx answered {head:?}");
    (body.trim().to_owned(), peer)
}

/// realip's answer for the same request.
pub fn ask_realip(trust: &[String], peer: SocketAddr, lines: &[String]) -> Result<IpAddr, String> {
    realip_answer(
        &format!("x-forwarded-for; trust={}", trust.join(", ")),
        peer,
        lines,
    )
}

/// The set the documented differences are measured with.
pub const TABLE_TRUST: [&str; 4] = ["127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32"];

/// Where nginx and realip differ on purpose (README.md), asked with the
/// peer `::1` so that nginx's "kept the peer" is visible. `None` for realip
/// is an error: it refuses the chain rather than guess.
pub const DIFFERENCES: &[(&str, &str, Option<&str>)] = &[
    ("010.0.0.1", "10.0.0.1", None),
    ("127.1", "::1", None),
    ("1.2.3.4, garbage", "::1", None),
    ("1.2.3.4, garbage, 10.1.1.1", "10.1.1.1", None),
    ("1.2.3.4, unknown, 10.1.1.1", "10.1.1.1", None),
    ("1.2.3.4, fe80::1%eth0", "::1", None),
    ("1.2.3.4, 1.2.3.5:99999", "::1", None),
    ("1.2.3.4 5.6.7.8", "5.6.7.8", None),
    ("0.0.0.0", "0.0.0.0", None),
    ("::", "::", None),
    ("255.255.255.255", "::1", Some("255.255.255.255")),
    ("[2001:db9::1]", "::1", Some("2001:db9::1")),
    ("1.2.3.4,\t10.1.1.1", "::1", Some("1.2.3.4")),
    (",1.2.3.4", "::1", Some("1.2.3.4")),
    ("::ffff:5.6.7.8", "::ffff:5.6.7.8", Some("5.6.7.8")),
];

/// The `nginx_differential` test.
pub fn run() {
    let nginx = match nginx() {
        Ok(n) => n,
        Err(why) => return skip("nginx_differential", &why),
    };
    let (seed, cases) = seed_and_cases();
    let mut rng = Rng(seed);
    let dir = TempDir::new("nginx");
    let dir_text = dir.0.to_string_lossy().into_owned();
    let started = Instant::now();

    // Each round: one nginx, several servers, each its own trusted set and
    // its own IPv4 and IPv6 loopback ports.
    const SERVERS: usize = 20;
    let per_round = 150;
    let mut run_cases = 0;
    let mut trusted_sets = 0;
    let mut disagreements = Vec::new();
    // Answers that were the peer, a client found in the header, and the
    // leftmost hop of an all-trusted chain.
    let mut shapes = [0usize; 3];
    let mut pids = Vec::new();
    let mut round = 0;
    while run_cases < cases {
        let sets: Vec<Vec<IpNet>> = (0..SERVERS).map(|_| random_trusted(&mut rng)).collect();
        let texts: Vec<Vec<String>> = sets
            .iter()
            .map(|s| trust_text(s))
            .chain([TABLE_TRUST.map(String::from).to_vec()])
            .collect();
        // A port picked free can be taken before nginx binds it: then try
        // again with others.
        let name = format!("round{round}");
        let nginx_round = (0..3)
            .find_map(|_| start_realip_nginx(&nginx, &dir, &name, &texts))
            .expect("nginx starts (its log is printed above)");
        pids.push(nginx_round.proc.child.id());
        let addrs = &nginx_round.servers;

        for _ in 0..per_round.min(cases - run_cases) {
            let server = rng.below(SERVERS as u64) as usize;
            let set_text = &texts[server];
            let (v4, v6) = &addrs[server];
            let to = if rng.chance(50) { *v4 } else { *v6 };
            let lines = random_chain(&mut rng, &sets[server]);
            let (body, peer) = ask_nginx(to, &lines);
            let ours = ask_realip(set_text, peer, &lines);
            let theirs: Option<IpAddr> = body.parse().ok();
            let agree = matches!((&ours, theirs), (Ok(a), Some(b)) if *a == b.to_canonical());
            if let Ok(answer) = ours {
                if answer == peer.ip().to_canonical() {
                    shapes[0] += 1;
                } else if sets[server].iter().any(|n| n.contains(&answer)) {
                    shapes[2] += 1;
                } else {
                    shapes[1] += 1;
                }
            }
            if !agree {
                disagreements.push(format!(
                    "trust={} peer={peer} xff={lines:?}: nginx {body:?}, realip {ours:?}",
                    set_text.join(", ")
                ));
            }
            run_cases += 1;
        }
        trusted_sets += SERVERS;

        if round == 0 {
            let (_, v6) = &addrs[SERVERS];
            check_documented_differences(*v6);
        }
        drop(nginx_round);
        round += 1;
    }

    say(&format!(
        "e2e nginx_differential: {run_cases} chains over {trusted_sets} trusted sets \
         (answers: {} the peer, {} a client in the header, {} the leftmost of all-trusted hops), \
         {} disagreement(s), seed {seed} (REALIP_E2E_SEED={seed} replays it), {:.1} s",
        shapes[0],
        shapes[1],
        shapes[2],
        disagreements.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(
        disagreements.is_empty(),
        "realip and nginx disagree on {} of {run_cases} chains (seed {seed}):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    drop(dir);
    let alive: Vec<u32> = pids
        .into_iter()
        .filter(|pid| Path::new("/proc").join(pid.to_string()).exists())
        .collect();
    assert!(alive.is_empty(), "nginx processes left behind: {alive:?}");
    assert!(processes_mentioning(&dir_text).is_empty());
}

/// Starts nginx with one server per trusted set (`set_real_ip_from` each
/// entry, `real_ip_recursive on`, answering `$remote_addr`), each on its
/// own IPv4 and IPv6 loopback port. `None` if nginx exits before every
/// server accepts connections.
pub fn start_realip_nginx(
    nginx: &Path,
    dir: &TempDir,
    name: &str,
    sets: &[Vec<String>],
) -> Option<RealipNginx> {
    let mut servers = String::new();
    let mut addrs = Vec::new();
    let mut held = Vec::new();
    for set in sets {
        let (p4, l4) = free_port("127.0.0.1");
        let (p6, l6) = free_port("::1");
        held.extend([l4, l6]);
        let _ = write!(
            servers,
            "server {{ listen 127.0.0.1:{p4}; listen [::1]:{p6}; "
        );
        for entry in set {
            let _ = write!(servers, "set_real_ip_from {entry}; ");
        }
        let _ = writeln!(
            servers,
            "real_ip_header X-Forwarded-For; real_ip_recursive on; \
             location / {{ return 200 \"$remote_addr\\n\"; }} }}"
        );
        addrs.push((
            SocketAddr::from(([127, 0, 0, 1], p4)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, p6)),
        ));
    }
    let conf = dir.write(&format!("{name}.conf"), &nginx_conf(dir, name, &servers));
    drop(held);
    let mut cmd = match program_dies_with_test() {
        Some(setpriv) => {
            let mut cmd = Command::new(setpriv);
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(nginx);
            cmd
        }
        None => Command::new(nginx),
    };
    cmd.arg("-e")
        .arg(dir.0.join(format!("{name}.error.log")))
        .arg("-c")
        .arg(&conf);
    let mut nginx = RealipNginx {
        proc: spawn(dir, name, cmd),
        servers: addrs,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    for (v4, v6) in nginx.servers.clone() {
        for addr in [v4, v6] {
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if nginx.proc.child.try_wait().ok().flatten().is_some() {
                    let log = std::fs::read_to_string(&nginx.proc.log).unwrap_or_default();
                    say(&format!("e2e: nginx exited at start:\n{log}"));
                    return None;
                }
                assert!(Instant::now() < deadline, "nginx does not listen on {addr}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Some(nginx)
}

/// An nginx of the differential check, stopped when dropped.
pub struct RealipNginx {
    proc: Proc,
    /// Each server's IPv4 and IPv6 address, in the order of the sets.
    servers: Vec<(SocketAddr, SocketAddr)>,
}

impl Drop for RealipNginx {
    fn drop(&mut self) {
        let _ = self.proc.child.kill();
        let _ = self.proc.child.wait();
    }
}

/// Each documented difference still holds, on both sides.
pub fn check_documented_differences(nginx: SocketAddr) {
    let trust: Vec<String> = TABLE_TRUST.map(String::from).to_vec();
    let mut report = vec![format!(
        "documented differences (trust {}; peer ::1):",
        TABLE_TRUST.join(", ")
    )];
    let mut wrong = Vec::new();
    for &(xff, nginx_expected, realip_expected) in DIFFERENCES {
        let lines = vec![xff.to_owned()];
        let (theirs, peer) = ask_nginx(nginx, &lines);
        let ours = ask_realip(&trust, peer, &lines);
        let ours_text = match &ours {
            Ok(ip) => ip.to_string(),
            Err(e) => format!("error: {e}"),
        };
        report.push(format!(
            "  {xff:<32?} nginx {theirs:<16} realip {ours_text}"
        ));
        let realip_ok = match (realip_expected, &ours) {
            (Some(want), Ok(ip)) => ip.to_string() == want,
            (None, Err(_)) => true,
            _ => false,
        };
        if theirs != nginx_expected || !realip_ok {
            wrong.push(format!(
                "{xff:?}: nginx {theirs} (documented {nginx_expected}), realip {ours_text} (documented {realip_expected:?})"
            ));
        }
    }
    say(&report.join("\n"));
    assert!(
        wrong.is_empty(),
        "README.md's differences no longer hold:\n{}",
        wrong.join("\n")
    );
}
