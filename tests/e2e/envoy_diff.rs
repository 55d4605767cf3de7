//! The differential check against Envoy's own original-IP detection.
//!
//! One Envoy on loopback per round, with listeners that each decide the
//! client their own way and answer it (`x-decided:
//! %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`, beside `x-peer`, the socket
//! peer): `use_remote_address: false` with `xff_num_trusted_hops: N`;
//! `use_remote_address: true` with `N >= 1` (an Istio gateway's
//! `numTrustedProxies`); and the XFF original-IP detection extension with
//! `xff_trusted_cidrs`. Random chains go to random listeners, over IPv4
//! from random 127/8 addresses and over IPv6 from ::1; realip resolves the
//! same request for the equivalent configuration.
//!
//! Every answer of Envoy must be what `envoy_model` (the lab's reading of
//! Envoy's rules, written from what it measured) says; every disagreement
//! with realip must be explained by a set of the documented differences
//! (`Rule`): the model with those of realip's rules swapped in must give
//! realip's answer. Anything else fails the test. Then the documented
//! cases (README, "Compared with Envoy") are pinned on both sides.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde_json::{Value, json};

use crate::chains::{
    Rng, free_port, random_chain, random_net, random_trusted, realip_answer, seed_and_cases,
    trust_text,
};
use crate::envoy::{bootstrap, http_chain, http_connection_manager, listener};
use crate::lab::{Proc, TempDir, processes_mentioning, program_dies_with_test, say, skip, spawn};

/// How one listener decides the client.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `use_remote_address: false`, `xff_num_trusted_hops: N`.
    Hops(usize),
    /// `use_remote_address: true`, `xff_num_trusted_hops: N` (N >= 1).
    Gateway(usize),
    /// The `envoy.http.original_ip_detection.xff` extension with
    /// `xff_trusted_cidrs` (and `skip_xff_append`).
    Cidrs(Vec<IpNet>),
}

impl Mode {
    /// realip's configuration for the same deployment.
    pub fn realip_config(&self) -> String {
        match self {
            // Envoy trusts N hops beyond its peer, and any peer.
            Mode::Hops(n) => format!("x-forwarded-for; hops={}; any-peer", n + 1),
            // Envoy's own peer is not in XFF yet when it decides: N - 1
            // entries beyond its peer.
            Mode::Gateway(n) => format!("x-forwarded-for; hops={n}; any-peer"),
            Mode::Cidrs(set) => format!("x-forwarded-for; trust={}", trust_text(set).join(", ")),
        }
    }

    /// The connection manager's settings for this mode.
    fn configure(&self, hcm: &mut Value) {
        match self {
            Mode::Hops(n) => {
                hcm["use_remote_address"] = json!(false);
                hcm["xff_num_trusted_hops"] = json!(n);
            }
            Mode::Gateway(n) => {
                hcm["use_remote_address"] = json!(true);
                hcm["xff_num_trusted_hops"] = json!(n);
            }
            Mode::Cidrs(set) => {
                let cidrs: Vec<Value> = set
                    .iter()
                    .map(|n| json!({ "address_prefix": n.network().to_string(), "prefix_len": n.prefix_len() }))
                    .collect();
                hcm["original_ip_detection_extensions"] = json!([{
                    "name": "envoy.http.original_ip_detection.xff",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.http.original_ip_detection.xff.v3.XffConfig",
                        "xff_trusted_cidrs": { "cidrs": cidrs },
                        "skip_xff_append": true
                    }
                }]);
            }
        }
    }

    fn label(&self) -> String {
        match self {
            Mode::Hops(n) => format!("xff_num_trusted_hops={n}"),
            Mode::Gateway(n) => format!("use_remote_address, xff_num_trusted_hops={n}"),
            Mode::Cidrs(set) => format!("xff_trusted_cidrs={}", trust_text(set).join(",")),
        }
    }
}

/// A listener that answers the address Envoy decided, on 127.0.0.1 and
/// ::1 (`port`).
pub fn deciding_listener(name: &str, port: u16, mode: &Mode) -> Value {
    let mut hcm = http_connection_manager(
        name,
        vec![json!({ "match": { "prefix": "/" }, "direct_response": { "status": 200 } })],
    );
    hcm["route_config"]["virtual_hosts"][0]["response_headers_to_add"] = json!([
        { "header": { "key": "x-decided", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" } },
        { "header": { "key": "x-peer", "value": "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%" } }
    ]);
    // The test reads each answer to its end: Envoy's default would hold
    // the connection open for a second after `Connection: close`, waiting
    // for the client to close first.
    hcm["delayed_close_timeout"] = json!("0s");
    mode.configure(&mut hcm);
    listener(
        name,
        &[("127.0.0.1", port), ("::1", port)],
        vec![],
        vec![http_chain(json!({}), hcm, None)],
    )
}

/// Where realip reads differently from Envoy, on purpose (README,
/// "Compared with Envoy"). Each is one of realip's rules that, swapped
/// into the model of Envoy, turns its answer into realip's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// An empty list element (`a,,b`, `a,`) is no hop (RFC 9110 §5.6.1);
    /// Envoy counts it, and when it is the element to read, fails and
    /// answers its socket peer.
    EmptyIsNoHop,
    /// `1.2.3.4:80` and `[2001:db8::1]:443` are read as their address;
    /// Envoy cannot read them and answers its socket peer.
    PortIsRead,
    /// `::ffff:a.b.c.d` is the IPv4 address, also against IPv4 ranges;
    /// Envoy matches it against IPv6 ranges only.
    MappedIsIpv4,
    /// Fewer hops than trusted: realip refuses the chain (the deployment is
    /// not what the configuration says); Envoy answers its socket peer.
    ShortChainRefused,
}

const RULES: [Rule; 4] = [
    Rule::EmptyIsNoHop,
    Rule::PortIsRead,
    Rule::MappedIsIpv4,
    Rule::ShortChainRefused,
];

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::EmptyIsNoHop => "empty element is no hop",
            Rule::PortIsRead => "port is read",
            Rule::MappedIsIpv4 => "IPv4-mapped is IPv4",
            Rule::ShortChainRefused => "fewer hops than trusted",
        }
    }
}

/// Envoy's most entries read in `xff_trusted_cidrs` mode.
pub const ENVOY_MAX_XFF_ENTRIES: usize = 20;

/// One element as Envoy reads it (`inet_pton` after trimming whitespace),
/// or with `rules` as realip reads it.
fn read(element: &str, rules: &[Rule]) -> Option<IpAddr> {
    let text = element.trim();
    let ip = text.parse::<IpAddr>().ok().or_else(|| {
        if !rules.contains(&Rule::PortIsRead) {
            return None;
        }
        if let Some(rest) = text.strip_prefix('[') {
            let (v6, port) = rest.split_once("]:")?;
            port.parse::<u16>().ok()?;
            return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
        }
        let (v4, port) = text.split_once(':')?;
        port.parse::<u16>().ok()?;
        v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    })?;
    Some(if rules.contains(&Rule::MappedIsIpv4) {
        ip.to_canonical()
    } else {
        ip
    })
}

/// What Envoy decides for `lines` from `peer`, as the lab measured its
/// rules; with `rules`, what it would decide with those of realip's
/// (`None`: refused, which only `ShortChainRefused` does).
///
/// Envoy joins repeated `X-Forwarded-For` lines with `,`. Counting mode
/// (N entries skipped from the right, unread): the entry before them, or
/// the socket peer when there are not enough entries or it cannot be read.
/// CIDR mode, from a trusted peer: the rightmost entry outside the ranges,
/// the leftmost when all are inside; the socket peer when an entry cannot
/// be read, or there are more than 20.
pub fn envoy_model(mode: &Mode, lines: &[String], peer: IpAddr, rules: &[Rule]) -> Option<IpAddr> {
    // No header: no entry (a header always has one, if empty).
    let joined = lines.join(",");
    let elements: Vec<&str> = (!lines.is_empty())
        .then(|| joined.split(','))
        .into_iter()
        .flatten()
        .filter(|e| !(rules.contains(&Rule::EmptyIsNoHop) && e.trim().is_empty()))
        .collect();
    let skip = match mode {
        Mode::Hops(n) => Some(*n),
        Mode::Gateway(n) => Some(n - 1),
        Mode::Cidrs(_) => None,
    };
    if let Some(skip) = skip {
        if elements.len() < skip + 1 {
            if rules.contains(&Rule::ShortChainRefused) {
                return None;
            }
            return Some(peer);
        }
        return Some(read(elements[elements.len() - 1 - skip], rules).unwrap_or(peer));
    }
    let Mode::Cidrs(set) = mode else {
        unreachable!()
    };
    let trusted = |ip: IpAddr| set.iter().any(|n| n.contains(&ip));
    if !trusted(peer) || elements.is_empty() || elements.len() > ENVOY_MAX_XFF_ENTRIES {
        return Some(peer);
    }
    for element in elements.iter().rev() {
        match read(element, rules) {
            None => return Some(peer),
            Some(ip) if !trusted(ip) => return Some(ip),
            Some(_) => {}
        }
    }
    Some(
        elements
            .first()
            .and_then(|e| read(e, rules))
            .unwrap_or(peer),
    )
}

/// The smallest set of documented rules that explains realip's answer
/// (`realip`) where Envoy answered `envoy`; `None` if none does.
pub fn classify(
    mode: &Mode,
    lines: &[String],
    peer: IpAddr,
    answer: Option<IpAddr>,
) -> Option<Vec<Rule>> {
    let sets: Vec<Vec<Rule>> = (1u32..1 << RULES.len())
        .map(|bits| {
            RULES
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, r)| *r)
                .collect::<Vec<Rule>>()
        })
        .collect();
    let mut sets = sets;
    sets.sort_by_key(|s| s.len());
    sets.into_iter().find(|rules| {
        envoy_model(mode, lines, peer, rules).map(|ip| ip.to_canonical())
            == answer.map(|ip| ip.to_canonical())
    })
}

/// Sends a request with these `X-Forwarded-For` lines from `from` (an
/// address of this host, port chosen by the system) to `to`: Envoy's
/// decision and the socket peer it saw.
fn ask_envoy(
    runtime: &tokio::runtime::Runtime,
    from: IpAddr,
    to: SocketAddr,
    lines: &[String],
) -> (String, SocketAddr) {
    let stream = runtime.block_on(async {
        let socket = match from {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .expect("a socket");
        socket.bind(SocketAddr::new(from, 0)).expect("bind");
        socket.connect(to).await.expect("Envoy accepts")
    });
    let mut stream = stream.into_std().expect("a std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a timeout");
    let mut request = String::from("GET / HTTP/1.1\r\nHost: realip.test\r\nConnection: close\r\n");
    for line in lines {
        request.push_str(&format!("X-Forwarded-For: {line}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("a request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    let peer = stream.local_addr().expect("a local address");
    let (head, _) = response.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 200"), "Envoy answered {head:?}");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    assert_eq!(
        header("x-peer").parse::<IpAddr>().ok(),
        Some(peer.ip()),
        "Envoy's socket peer is the test's socket"
    );
    (header("x-decided"), peer)
}

/// An Envoy of the differential, stopped when dropped.
struct DecidingEnvoy {
    proc: Proc,
    /// Each listener's port (127.0.0.1 and ::1), in the order of the modes.
    ports: Vec<u16>,
}

impl Drop for DecidingEnvoy {
    fn drop(&mut self) {
        let _ = self.proc.child.kill();
        let _ = self.proc.child.wait();
    }
}

/// Starts Envoy with one deciding listener per mode; `None` if it exits
/// before every listener accepts (a port taken meanwhile).
fn start_deciding_envoy(
    envoy: &Path,
    dir: &TempDir,
    name: &str,
    modes: &[Mode],
) -> Option<DecidingEnvoy> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut listeners = Vec::new();
    for (i, mode) in modes.iter().enumerate() {
        let (port, l4) = free_port("127.0.0.1");
        let v6 = std::net::TcpListener::bind(("::1", port));
        let Ok(l6) = v6 else {
            return None;
        };
        held.extend([l4, l6]);
        listeners.push(deciding_listener(&format!("l{i}"), port, mode));
        ports.push(port);
    }
    let config = dir.write(
        &format!("{name}.json"),
        &serde_json::to_string(&bootstrap(listeners, vec![])).expect("JSON"),
    );
    drop(held);
    let mut cmd = match program_dies_with_test() {
        Some(setpriv) => {
            let mut cmd = Command::new(setpriv);
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(envoy);
            cmd
        }
        None => Command::new(envoy),
    };
    cmd.args(crate::envoy::args(&config));
    let mut running = DecidingEnvoy {
        proc: spawn(dir, name, cmd),
        ports,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    for port in running.ports.clone() {
        for ip in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            let addr = SocketAddr::new(ip, port);
            while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if running.proc.child.try_wait().ok().flatten().is_some() {
                    let log = std::fs::read_to_string(&running.proc.log).unwrap_or_default();
                    say(&format!("e2e: envoy exited at start:\n{log}"));
                    return None;
                }
                assert!(Instant::now() < deadline, "envoy does not listen on {addr}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Some(running)
}

/// A random listener: one of the three modes.
fn random_mode(rng: &mut Rng) -> Mode {
    match rng.below(3) {
        0 => Mode::Hops(rng.below(4) as usize),
        1 => Mode::Gateway(1 + rng.below(3) as usize),
        _ => Mode::Cidrs(random_trusted(rng)),
    }
}

/// The client's address: ::1, or an address of 127/8 (127.0.0.1 mostly,
/// so that loopback ranges and single addresses both matter).
fn random_client(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else if rng.chance(70) {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::new(
            127,
            rng.below(256) as u8,
            rng.below(256) as u8,
            1 + rng.below(254) as u8,
        ))
    }
}

/// The trusted ranges of a CIDR listener's chains: its own, plus for
/// counting modes a random range, so that chains hold trusted-looking
/// addresses there too.
fn chain_nets(rng: &mut Rng, mode: &Mode) -> Vec<IpNet> {
    match mode {
        Mode::Cidrs(set) => set.clone(),
        _ => vec![random_net(rng), random_net(rng)],
    }
}

/// The `envoy_differential` test.
pub fn run() {
    let (envoy, version) = match crate::envoy::envoy() {
        Ok(found) => found,
        Err(why) => return skip("envoy_differential", &why),
    };
    let (seed, cases) = seed_and_cases();
    let mut rng = Rng(seed);
    let dir = TempDir::new("envoy");
    let dir_text = dir.0.to_string_lossy().into_owned();
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime");

    const LISTENERS: usize = 40;
    let per_round = 500;
    let mut run_cases = 0;
    let mut modes_seen = 0;
    let mut agreed = 0;
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut pids = Vec::new();
    let mut round = 0;
    while run_cases < cases {
        let mut modes: Vec<Mode> = (0..LISTENERS).map(|_| random_mode(&mut rng)).collect();
        modes.extend(documented_modes());
        let name = format!("round{round}");
        let running = (0..3)
            .find_map(|_| start_deciding_envoy(&envoy, &dir, &name, &modes))
            .expect("envoy starts (its log is printed above)");
        pids.push(running.proc.child.id());
        for _ in 0..per_round.min(cases - run_cases) {
            let at = rng.below(LISTENERS as u64) as usize;
            let mode = &modes[at];
            let v6 = rng.chance(40);
            let from = random_client(&mut rng, v6);
            let to = SocketAddr::new(
                if v6 {
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                } else {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                },
                running.ports[at],
            );
            let nets = chain_nets(&mut rng, mode);
            let lines = random_chain(&mut rng, &nets);
            let (decided, peer) = ask_envoy(&runtime, from, to, &lines);
            let theirs: Option<IpAddr> = decided.parse().ok();
            let ours = realip_answer(&mode.realip_config(), peer, &lines);
            let modelled = envoy_model(mode, &lines, peer.ip(), &[])
                .expect("Envoy's own rules refuse nothing");
            let case = || {
                format!(
                    "{} peer={peer} xff={lines:?}: envoy {decided:?} (model {modelled}), realip {ours:?}",
                    mode.label()
                )
            };
            run_cases += 1;
            if theirs.map(|ip| ip.to_canonical()) != Some(modelled.to_canonical()) {
                unexplained.push(format!("Envoy is not as modelled: {}", case()));
                continue;
            }
            match &ours {
                Ok(ip) if ip.to_canonical() == modelled.to_canonical() => agreed += 1,
                _ => match classify(mode, &lines, peer.ip(), ours.as_ref().ok().copied()) {
                    Some(rules) => {
                        let class = rules
                            .iter()
                            .map(|r| r.name())
                            .collect::<Vec<_>>()
                            .join(" + ");
                        *classes.entry(class).or_default() += 1;
                    }
                    None => unexplained.push(format!("unclassified: {}", case())),
                },
            }
        }
        modes_seen += LISTENERS;
        if round == 0 {
            let first = LISTENERS;
            check_documented_differences(&runtime, &running.ports[first..]);
        }
        drop(running);
        round += 1;
    }

    let summary: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
    say(&format!(
        "e2e envoy_differential (Envoy {version}): {run_cases} chains over {modes_seen} listeners, \
         {agreed} agree, disagreements by documented class: {}; {} unexplained; \
         seed {seed} (REALIP_E2E_SEED={seed} replays it), {:.1} s",
        if summary.is_empty() {
            "none".to_owned()
        } else {
            summary.join(", ")
        },
        unexplained.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(
        unexplained.is_empty(),
        "{} of {run_cases} chains are not explained by a documented difference (seed {seed}):\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    drop(dir);
    let alive: Vec<u32> = pids
        .into_iter()
        .filter(|pid| Path::new("/proc").join(pid.to_string()).exists())
        .collect();
    assert!(alive.is_empty(), "envoy processes left behind: {alive:?}");
    assert!(processes_mentioning(&dir_text).is_empty());
}

/// The listeners of the documented cases, after the random ones.
fn documented_modes() -> Vec<Mode> {
    let nets = ["127.0.0.0/8", "10.0.0.0/8"].map(|n| n.parse().expect("a net"));
    vec![
        Mode::Hops(0),
        Mode::Hops(1),
        Mode::Hops(2),
        Mode::Cidrs(nets.to_vec()),
    ]
}

/// Where Envoy and realip differ (README, "Compared with Envoy"), from
/// 127.0.0.1: (listener of `documented_modes`, XFF, Envoy's answer,
/// realip's; `None` is realip's error). The first rows are realip's
/// refusals and Envoy's limit, which random chains do not hold.
const DIFFERENCES: &[(usize, &str, &str, Option<&str>)] = &[
    // Counting: Envoy skips what it does not read; realip reads every hop.
    (1, "1.2.3.4, garbage", "1.2.3.4", None),
    // CIDRs: an element Envoy cannot read ends its walk at the peer.
    (3, "1.2.3.4, garbage, 10.1.1.1", "127.0.0.1", None),
    (3, "unknown", "127.0.0.1", None),
    // At most 20 entries in CIDR mode: 20 are read, 21 are not at all.
    (3, "CHAIN20", "1.2.3.4", Some("1.2.3.4")),
    (3, "CHAIN21", "127.0.0.1", Some("1.2.3.4")),
    // The documented classes of the random chains.
    (0, "1.2.3.4:80", "127.0.0.1", Some("1.2.3.4")),
    (0, "[2001:db8::1]:443", "127.0.0.1", Some("2001:db8::1")),
    (0, "1.2.3.4,", "127.0.0.1", Some("1.2.3.4")),
    (1, "1.2.3.4,,10.1.1.1", "127.0.0.1", Some("1.2.3.4")),
    (2, "1.2.3.4", "127.0.0.1", None),
    (
        3,
        "1.2.3.4, ::ffff:10.1.1.1",
        "::ffff:10.1.1.1",
        Some("1.2.3.4"),
    ),
];

/// `CHAINn`: `1.2.3.4` then trusted entries, n in all.
fn expand(xff: &str) -> String {
    match xff.strip_prefix("CHAIN") {
        Some(n) => {
            let n: usize = n.parse().expect("a length");
            std::iter::once("1.2.3.4".to_owned())
                .chain((1..n).map(|i| format!("10.0.0.{i}")))
                .collect::<Vec<_>>()
                .join(",")
        }
        None => xff.to_owned(),
    }
}

/// Each documented difference still holds, on both sides.
fn check_documented_differences(runtime: &tokio::runtime::Runtime, ports: &[u16]) {
    let modes = documented_modes();
    let mut report = vec!["documented differences (peer 127.0.0.1):".to_owned()];
    let mut wrong = Vec::new();
    for &(at, xff, envoy_expected, realip_expected) in DIFFERENCES {
        let lines = vec![expand(xff)];
        let to = SocketAddr::from(([127, 0, 0, 1], ports[at]));
        let (theirs, peer) = ask_envoy(runtime, IpAddr::V4(Ipv4Addr::LOCALHOST), to, &lines);
        let ours = realip_answer(&modes[at].realip_config(), peer, &lines);
        let ours_text = match &ours {
            Ok(ip) => ip.to_string(),
            Err(e) => format!("error: {e}"),
        };
        report.push(format!(
            "  {:<36} {xff:<30?} envoy {theirs:<16} realip {ours_text}",
            modes[at].label()
        ));
        let realip_ok = match (realip_expected, &ours) {
            (Some(want), Ok(ip)) => ip.to_string() == want,
            (None, Err(_)) => true,
            _ => false,
        };
        if theirs != envoy_expected || !realip_ok {
            wrong.push(format!(
                "{} {xff:?}: envoy {theirs} (documented {envoy_expected}), realip {ours_text} \
                 (documented {realip_expected:?})",
                modes[at].label()
            ));
        }
    }
    say(&report.join("\n"));
    assert!(
        wrong.is_empty(),
        "README.md's differences from Envoy no longer hold:\n{}",
        wrong.join("\n")
    );
}
