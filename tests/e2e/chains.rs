//! Random forwarding chains and trusted sets, for the differentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use realip::Resolver;

/// The seed (`REALIP_E2E_SEED`, or the clock) and the number of cases
/// (`REALIP_E2E_CASES`, default 2,000) of a differential run.
pub fn seed_and_cases() -> (u64, usize) {
    let seed = std::env::var("REALIP_E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos() as u64
        });
    let cases = std::env::var("REALIP_E2E_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    (seed, cases)
}

// ---------------------------------------------------------------------------
// The differential check against nginx

/// splitmix64: a seeded generator, so a failing run can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A random IPv6 address with runs of zero groups, so that every
/// compression case occurs.
pub fn random_v6(rng: &mut Rng) -> Ipv6Addr {
    let mut segments = [0u16; 8];
    for s in &mut segments {
        if !rng.chance(35) {
            *s = rng.next() as u16;
        }
    }
    Ipv6Addr::from(segments)
}

/// An address both sides read as the same host: not unspecified, not
/// 255.255.255.255 (nginx's parser returns `INADDR_NONE` for it), not an
/// IPv4-mapped IPv6 address (those are written as such on purpose).
pub fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_unspecified() && v6.to_ipv4_mapped().is_none(),
    }
}

pub fn random_ip(rng: &mut Rng) -> IpAddr {
    loop {
        let ip = if rng.chance(50) {
            IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
        } else {
            IpAddr::V6(random_v6(rng))
        };
        if usable(ip) {
            return ip;
        }
    }
}

/// A random trusted range. IPv6 ranges start with a non-zero group, so
/// none covers `::ffff:0:0/96`: realip reads mapped addresses as IPv4 and
/// nginx as IPv6 there (an intended difference, not what this measures).
pub fn random_net(rng: &mut Rng) -> IpNet {
    if rng.chance(50) {
        let len = *rng.pick(&[8u8, 12, 16, 20, 24, 28, 30, 31, 32, 32]);
        let net = Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), len).expect("a prefix length");
        IpNet::V4(net.trunc())
    } else {
        let len = *rng.pick(&[16u8, 32, 48, 56, 64, 80, 96, 112, 120, 127, 128, 128]);
        let mut segments = random_v6(rng).segments();
        segments[0] |= 0x2000;
        let net = Ipv6Net::new(Ipv6Addr::from(segments), len).expect("a prefix length");
        IpNet::V6(net.trunc())
    }
}

/// A random address inside `net`.
pub fn inside(rng: &mut Rng, net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let host = u32::from(n.hostmask()) & rng.next() as u32;
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
        }
        IpNet::V6(n) => {
            let random = u128::from(rng.next()) << 64 | u128::from(rng.next());
            let host = u128::from(n.hostmask()) & random;
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
        }
    }
}

/// One of the textual forms proxies write for `ip`, sometimes with a port.
pub fn render(rng: &mut Rng, ip: IpAddr) -> String {
    let text = match ip {
        IpAddr::V4(v4) if rng.chance(5) => {
            // IPv4-mapped, as dual-stack proxies write it.
            format!("{}:{v4}", rng.pick(&["::ffff", "::FFFF"]))
        }
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            match rng.below(5) {
                0 => v6.to_string().to_uppercase(),
                1 => s
                    .iter()
                    .map(|g| format!("{g:04x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                2 => s
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                3 => {
                    // An embedded IPv4 tail, as RFC 3986 allows.
                    let [a, b, c, d] = (u32::from(s[6]) << 16 | u32::from(s[7])).to_be_bytes();
                    let head: Vec<String> = s[..6].iter().map(|g| format!("{g:x}")).collect();
                    format!("{}:{a}.{b}.{c}.{d}", head.join(":"))
                }
                _ => v6.to_string(),
            }
        }
    };
    if rng.chance(10) {
        let port = 1 + rng.below(65535);
        if text.contains(':') {
            format!("[{text}]:{port}")
        } else {
            format!("{text}:{port}")
        }
    } else {
        text
    }
}

/// One chain: header lines, oldest first.
pub fn random_chain(rng: &mut Rng, trusted: &[IpNet]) -> Vec<String> {
    let len = rng.below(8) as usize;
    let hops: Vec<String> = (0..len)
        .map(|_| {
            let ip = if rng.chance(55) {
                let net = rng.pick(trusted);
                let ip = inside(rng, net);
                if usable(ip) { ip } else { random_ip(rng) }
            } else {
                random_ip(rng)
            };
            render(rng, ip)
        })
        .collect();
    // Split over up to three header lines.
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut rest = hops.as_slice();
    while !rest.is_empty() {
        let take = if rest.len() > 1 && rng.chance(25) {
            1 + rng.below(rest.len() as u64 - 1) as usize
        } else {
            rest.len()
        };
        lines.push(rest[..take].to_vec());
        rest = &rest[take..];
    }
    // Empty list elements (`a,,b`, `a, b,`) are not hops, for either side.
    // Never at the start of a line: nginx then reads the comma as part of
    // the address (a documented difference).
    for line in &mut lines {
        if line.len() > 1 && rng.chance(5) {
            let at = 1 + rng.below(line.len() as u64 - 1) as usize;
            line.insert(at, String::new());
        }
        if rng.chance(3) {
            line.push(String::new());
        }
    }
    lines
        .into_iter()
        .map(|hops| hops.join(*rng.pick(&[",", ", ", " , ", " ,"])))
        .collect()
}

pub fn random_trusted(rng: &mut Rng) -> Vec<IpNet> {
    let mut set = Vec::new();
    // Usually the test client's own address is trusted (nginx then reads
    // the header); sometimes not (the client is the peer).
    if rng.chance(80) {
        set.push(
            rng.pick(&["127.0.0.1/32", "127.0.0.0/8"])
                .parse()
                .expect("a net"),
        );
    }
    if rng.chance(80) {
        set.push("::1/128".parse().expect("a net"));
    }
    for _ in 0..1 + rng.below(4) {
        set.push(random_net(rng));
    }
    set
}

/// The same set, written as an address where it is one.
pub fn trust_text(set: &[IpNet]) -> Vec<String> {
    set.iter()
        .map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        })
        .collect()
}

/// A free loopback port (held until the caller drops the listener).
pub fn free_port(ip: &str) -> (u16, TcpListener) {
    let listener = TcpListener::bind((ip, 0)).expect("a free port");
    (listener.local_addr().expect("an address").port(), listener)
}

/// realip's answer, in process, for a request from `peer` with these
/// `X-Forwarded-For` lines under the configuration text `config`.
pub fn realip_answer(config: &str, peer: SocketAddr, lines: &[String]) -> Result<IpAddr, String> {
    let resolver: Resolver = config
        .parse()
        .unwrap_or_else(|e| panic!("{config:?} is a valid configuration: {e}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_str(line).expect("a header value"),
        );
    }
    resolver
        .resolve(peer, &headers)
        .map(|r| r.ip())
        .map_err(|e| e.to_string())
}
