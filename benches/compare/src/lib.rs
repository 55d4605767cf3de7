//! The same requests, resolved by realip and by the other Rust crates that
//! find a client IP behind proxies, with the answer each must give.
//!
//! Speed means nothing without the right answer, so every contender's
//! answer is computed once and judged against [`Input::expected`] before
//! anything is timed (`benches/compare.rs`), and the `instructions` binary
//! counts the instructions of the very same calls under callgrind.
//!
//! # The correct answer
//!
//! Every header can be written by the client; a proxy appends what it saw
//! and removes nothing. So the only addresses worth believing are the
//! rightmost ones, written by proxies we run. The client is the **rightmost
//! address that is not a trusted proxy**, found by walking from the socket
//! peer leftwards while the current hop is trusted; headers are read only
//! when the peer itself is trusted. When every hop is trusted, the leftmost
//! hop is the client (nginx, Envoy); refusing a chain that is longer than
//! any real deployment is an equally safe answer.
//!
//! Every contender trusts the same proxies: [`TRUSTED`].

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

/// The proxies every contender trusts: the private network of the gateway
/// and the IPv6 unique-local range of the mesh.
pub const TRUSTED: &str = "10.0.0.0/8, fc00::/7";

/// The bound on the hops walked, where a contender has one (realip's
/// default).
pub const MAX_HOPS: usize = 32;

/// Which header a deployment's proxies write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// `X-Forwarded-For`, appended by each proxy.
    Xff,
    /// RFC 7239 `Forwarded`, appended by each proxy.
    Forwarded,
    /// `X-Real-IP`, set (overwritten) by the nearest proxy.
    XRealIp,
}

impl Header {
    fn name(self) -> HeaderName {
        HeaderName::from_static(match self {
            Header::Xff => "x-forwarded-for",
            Header::Forwarded => "forwarded",
            Header::XRealIp => "x-real-ip",
        })
    }
}

/// The answer an input must get.
#[derive(Clone, Copy, Debug)]
pub enum Expected {
    /// Exactly this client.
    Client(IpAddr),
    /// Every hop is trusted: the leftmost hop, or an explicit refusal.
    LeftmostOrRefusal(IpAddr),
}

/// One request as the application sees it, and what it must resolve to.
#[derive(Debug)]
pub struct Input {
    /// A short name, used in benchmark ids.
    pub id: &'static str,
    /// The socket peer.
    pub peer: SocketAddr,
    /// The header the deployment's proxies write, which every contender is
    /// configured to read where it can be.
    pub header: Header,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The correct answer.
    pub expected: Expected,
    /// Why that answer is correct.
    pub why: &'static str,
    /// Addresses written by the client itself: an answer among them is
    /// spoofed.
    pub forged: Vec<IpAddr>,
    /// Whether the input is timed, or only checked (the spoofing probes).
    pub timed: bool,
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("a literal address")
}

fn headers(lines: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in lines {
        map.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    map
}

/// About 60 KB of `10.0.0.0, 10.0.0.1, …`: a hostile header every hop of
/// which is trusted.
pub fn xff_60kb() -> String {
    let mut value = String::with_capacity(61_500);
    let mut i = 0u32;
    while value.len() < 60 * 1024 {
        if i > 0 {
            value.push_str(", ");
        }
        value.push_str(&Ipv4Addr::from(0x0a00_0000 + i).to_string());
        i += 1;
    }
    value
}

/// Every input, the timed ones first.
pub fn inputs() -> Vec<Input> {
    let gateway: SocketAddr = "10.0.0.3:41000".parse().expect("an address");
    vec![
        Input {
            id: "xff_3_hops",
            peer: gateway,
            header: Header::Xff,
            headers: headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.1, 10.0.0.2")]),
            expected: Expected::Client(ip("203.0.113.7")),
            why: "peer, 10.0.0.2 and 10.0.0.1 are trusted; 203.0.113.7 is the rightmost untrusted hop",
            forged: vec![],
            timed: true,
        },
        Input {
            id: "x_real_ip",
            peer: gateway,
            header: Header::XRealIp,
            headers: headers(&[("x-real-ip", "203.0.113.7")]),
            expected: Expected::Client(ip("203.0.113.7")),
            why: "the trusted peer set (overwrote) X-Real-IP",
            forged: vec![],
            timed: true,
        },
        Input {
            id: "forwarded_3_elements",
            peer: gateway,
            header: Header::Forwarded,
            headers: headers(&[(
                "forwarded",
                r#"for=203.0.113.7;proto=https, for=10.0.0.1, for="[fd00::2]:8080""#,
            )]),
            expected: Expected::Client(ip("203.0.113.7")),
            why: "fd00::2 and 10.0.0.1 are trusted; for=203.0.113.7 is the rightmost untrusted element",
            forged: vec![],
            timed: true,
        },
        Input {
            id: "ipv6_chain",
            peer: "[fd00::3]:41000".parse().expect("an address"),
            header: Header::Xff,
            headers: headers(&[("x-forwarded-for", "2001:db8:cafe::17, fd00::1, fd00::2")]),
            expected: Expected::Client(ip("2001:db8:cafe::17")),
            why: "fd00::3 (peer), fd00::2, fd00::1 are trusted; 2001:db8:cafe::17 is the rightmost untrusted hop",
            forged: vec![],
            timed: true,
        },
        Input {
            id: "xff_60kb_all_trusted",
            peer: gateway,
            header: Header::Xff,
            headers: headers(&[("x-forwarded-for", &xff_60kb())]),
            expected: Expected::LeftmostOrRefusal(ip("10.0.0.0")),
            why: "every hop is trusted: the leftmost (10.0.0.0), or a refusal of a chain no deployment has",
            forged: vec![],
            timed: true,
        },
        Input {
            id: "spoof_untrusted_peer",
            peer: "198.51.100.66:5555".parse().expect("an address"),
            header: Header::Xff,
            headers: headers(&[("x-forwarded-for", "1.1.1.1")]),
            expected: Expected::Client(ip("198.51.100.66")),
            why: "the peer is no proxy of ours, so it is the client and its headers mean nothing",
            forged: vec![ip("1.1.1.1")],
            timed: false,
        },
        Input {
            id: "spoof_forged_leftmost",
            peer: gateway,
            header: Header::Xff,
            headers: headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.1")]),
            expected: Expected::Client(ip("203.0.113.7")),
            why: "the client wrote 6.6.6.6; the gateway appended 203.0.113.7, the rightmost untrusted hop",
            forged: vec![ip("6.6.6.6")],
            timed: false,
        },
        Input {
            id: "spoof_forwarded_beside_xff",
            peer: gateway,
            header: Header::Xff,
            headers: headers(&[
                ("x-forwarded-for", "203.0.113.7"),
                ("forwarded", "for=6.6.6.6"),
            ]),
            expected: Expected::Client(ip("203.0.113.7")),
            why: "the proxies write X-Forwarded-For only; a Forwarded header can only come from the client",
            forged: vec![ip("6.6.6.6")],
            timed: false,
        },
    ]
}

/// What a contender answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A client address.
    Client(IpAddr),
    /// No address: an error or `None`, with its reason.
    Refused(String),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Client(ip) => write!(f, "{ip}"),
            Answer::Refused(why) => write!(f, "refused ({why})"),
        }
    }
}

/// The verdict on an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The correct client.
    Correct,
    /// An explicit refusal where refusing is safe.
    CorrectRefusal,
    /// An address the client wrote itself: spoofable.
    Spoofed,
    /// The address of one of our own proxies, or the trusted peer.
    ProxyAddress,
    /// Any other wrong answer.
    Wrong,
}

impl Verdict {
    /// Whether the answer is acceptable.
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Correct | Verdict::CorrectRefusal)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Correct => "yes",
            Verdict::CorrectRefusal => "yes (refuses)",
            Verdict::Spoofed => "NO: spoofable",
            Verdict::ProxyAddress => "NO: a proxy's address",
            Verdict::Wrong => "NO",
        })
    }
}

/// The trusted ranges as `ipnet` values, for the contenders that take them.
pub fn trusted_nets() -> Vec<IpNet> {
    TRUSTED
        .split(',')
        .map(|s| s.trim().parse().expect("a valid range"))
        .collect()
}

impl Input {
    /// Judges `answer` against this input's correct answer.
    pub fn judge(&self, answer: &Answer) -> Verdict {
        match (answer, self.expected) {
            (Answer::Client(got), Expected::Client(want) | Expected::LeftmostOrRefusal(want))
                if *got == want =>
            {
                Verdict::Correct
            }
            (Answer::Refused(_), Expected::LeftmostOrRefusal(_)) => Verdict::CorrectRefusal,
            (Answer::Refused(_), Expected::Client(_)) => Verdict::Wrong,
            (Answer::Client(got), _) if self.forged.contains(got) => Verdict::Spoofed,
            (Answer::Client(got), _) if trusted_nets().iter().any(|n| n.contains(got)) => {
                Verdict::ProxyAddress
            }
            (Answer::Client(_), _) => Verdict::Wrong,
        }
    }

    /// The correct answer, as text for tables.
    pub fn expected_text(&self) -> String {
        match self.expected {
            Expected::Client(ip) => ip.to_string(),
            Expected::LeftmostOrRefusal(ip) => format!("{ip} or refusal"),
        }
    }
}

/// A crate that resolves client addresses, set up for one input.
pub trait Contender: Sized {
    /// The crate's name.
    const NAME: &'static str;
    /// What one call returns, as the crate returns it.
    type Out;
    /// Sets the crate up for `input` the way its documentation says, or
    /// says why it cannot do that input at all.
    fn prepare(input: &Input) -> Result<Self, &'static str>;
    /// One resolution: the call that is timed.
    fn call(&self) -> Self::Out;
    /// What `out` says.
    fn answer(out: Self::Out) -> Answer;
}

/// realip: a [`realip::Resolver`] reading the deployment's header.
pub struct Realip {
    resolver: realip::Resolver,
    peer: SocketAddr,
    headers: HeaderMap,
}

impl Contender for Realip {
    const NAME: &'static str = "realip";
    type Out = Result<realip::Resolution, realip::Error>;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        let source = match input.header {
            Header::Xff => "x-forwarded-for",
            Header::Forwarded => "forwarded",
            Header::XRealIp => "x-real-ip",
        };
        // max-hops bounds a list's walk; a single-address header holds one
        // hop, and the option is refused there (rule 13).
        let limit = match input.header {
            Header::XRealIp => String::new(),
            Header::Xff | Header::Forwarded => format!("; max-hops={MAX_HOPS}"),
        };
        let resolver = format!("{source}; trust={TRUSTED}{limit}")
            .parse()
            .expect("a valid configuration");
        Ok(Self {
            resolver,
            peer: input.peer,
            headers: input.headers.clone(),
        })
    }

    #[inline]
    fn call(&self) -> Self::Out {
        self.resolver
            .resolve(black_box(self.peer), black_box(&self.headers))
    }

    fn answer(out: Self::Out) -> Answer {
        match out {
            Ok(resolution) => Answer::Client(resolution.client().ip()),
            Err(e) => Answer::Refused(e.kind().to_owned()),
        }
    }
}

/// client-ip (and axum-client-ip, whose extractors call it): one function
/// per header; no trusted proxies and no peer.
pub struct ClientIpCrate {
    extract: fn(&HeaderMap) -> Result<IpAddr, client_ip::Error>,
    headers: HeaderMap,
}

impl Contender for ClientIpCrate {
    const NAME: &'static str = "client-ip";
    type Out = Result<IpAddr, client_ip::Error>;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        let extract = match input.header {
            Header::Xff => client_ip::rightmost_x_forwarded_for,
            Header::Forwarded => client_ip::rightmost_forwarded,
            Header::XRealIp => client_ip::x_real_ip,
        };
        Ok(Self {
            extract,
            headers: input.headers.clone(),
        })
    }

    #[inline]
    fn call(&self) -> Self::Out {
        (self.extract)(black_box(&self.headers))
    }

    fn answer(out: Self::Out) -> Answer {
        match out {
            Ok(ip) => Answer::Client(ip),
            Err(e) => Answer::Refused(short(&e.to_string())),
        }
    }
}

/// real-ip: `real_ip(headers, peer, trusted)`; reads `Forwarded`, else
/// `X-Forwarded-For`, else `X-Real-IP` (the header cannot be chosen).
pub struct RealIpCrate {
    headers: HeaderMap,
    peer: IpAddr,
    trusted: Vec<IpNet>,
}

impl Contender for RealIpCrate {
    const NAME: &'static str = "real-ip";
    type Out = Option<IpAddr>;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        Ok(Self {
            headers: input.headers.clone(),
            peer: input.peer.ip(),
            trusted: trusted_nets(),
        })
    }

    #[inline]
    fn call(&self) -> Self::Out {
        real_ip::real_ip(
            black_box(&self.headers),
            black_box(self.peer),
            black_box(&self.trusted),
        )
    }

    fn answer(out: Self::Out) -> Answer {
        match out {
            Some(ip) => Answer::Client(ip),
            None => Answer::Refused("None".to_owned()),
        }
    }
}

/// trusted-proxies: `Trusted::from(peer, request, config)`, with only the
/// deployment's header trusted.
pub struct TrustedProxiesCrate {
    request: http::Request<()>,
    peer: IpAddr,
    config: trusted_proxies::Config,
}

impl Contender for TrustedProxiesCrate {
    const NAME: &'static str = "trusted-proxies";
    type Out = IpAddr;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        let mut config = trusted_proxies::Config::new();
        for net in TRUSTED.split(',') {
            config.add_trusted_ip(net.trim()).expect("a valid range");
        }
        match input.header {
            Header::Xff => config.trust_x_forwarded_for(),
            Header::Forwarded => config.trust_forwarded(),
            Header::XRealIp => return Err("reads no X-Real-IP"),
        }
        let mut request = http::Request::new(());
        *request.headers_mut() = input.headers.clone();
        Ok(Self {
            request,
            peer: input.peer.ip(),
            config,
        })
    }

    #[inline]
    fn call(&self) -> Self::Out {
        trusted_proxies::Trusted::from(
            black_box(self.peer),
            black_box(&self.request),
            black_box(&self.config),
        )
        .ip()
    }

    fn answer(out: Self::Out) -> Answer {
        Answer::Client(out)
    }
}

/// parse-net: `client_address(peer, source, trust, max_hops)` over the
/// header's field lines; trust is a closure over the same ranges.
pub struct ParseNetCrate {
    headers: HeaderMap,
    name: HeaderName,
    forwarded: bool,
    peer: IpAddr,
    trusted: Vec<IpNet>,
}

/// The most field lines handed to parse-net (it takes a slice of lines).
const MAX_LINES: usize = 8;

impl Contender for ParseNetCrate {
    const NAME: &'static str = "parse-net";
    type Out = Result<parse_net::ClientAddress, parse_net::ParseError>;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        if input.header == Header::XRealIp {
            return Err("reads no X-Real-IP");
        }
        Ok(Self {
            headers: input.headers.clone(),
            name: input.header.name(),
            forwarded: input.header == Header::Forwarded,
            peer: input.peer.ip(),
            trusted: trusted_nets(),
        })
    }

    #[inline]
    fn call(&self) -> Self::Out {
        // Collecting the field lines from the header map is part of the
        // cost a caller pays: it is timed too, without allocating.
        let mut lines: [&[u8]; MAX_LINES] = [&[]; MAX_LINES];
        let mut n = 0;
        for value in black_box(&self.headers).get_all(&self.name) {
            if n < MAX_LINES {
                lines[n] = value.as_bytes();
                n += 1;
            }
        }
        let lines = &lines[..n];
        let source = if self.forwarded {
            parse_net::ForwardedSource::Forwarded(lines)
        } else {
            parse_net::ForwardedSource::XForwardedFor(lines)
        };
        let trusted = |a: IpAddr| self.trusted.iter().any(|net| net.contains(&a));
        parse_net::client_address(black_box(self.peer), source, &trusted, MAX_HOPS as u8)
    }

    fn answer(out: Self::Out) -> Answer {
        match out {
            Ok(parse_net::ClientAddress::Peer(ip)) => Answer::Client(ip),
            Ok(parse_net::ClientAddress::Forwarded { addr, .. }) => Answer::Client(addr),
            Ok(other) => Answer::Refused(format!("{other:?}")),
            Err(e) => Answer::Refused(format!("{:?}", e.kind())),
        }
    }
}

fn short(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Not a crate: a plainly written resolver for the IPv4 `X-Forwarded-For`
/// inputs only, hard-wired to this one deployment (peer and trusted set
/// fixed to 10.0.0.0/8, IPv4 only, one header line, no `max_hops`, no
/// error names, no port, no resolution record). It answers what realip
/// answers on those inputs (a test checks), and shows for scale what that
/// job costs without generality. Counted by `profile.sh` (`instructions
/// floor xff_3_hops`); not in [`CONTENDERS`], so never timed or ranked.
pub struct Floor {
    name: HeaderName,
    peer: SocketAddr,
    headers: HeaderMap,
}

impl Floor {
    /// A bare dotted-quad without leading zeros, as an integer.
    #[inline]
    fn v4(s: &[u8]) -> Option<u32> {
        let (mut ip, mut octet, mut digits, mut dots) = (0u32, 0u32, 0u32, 0u32);
        for &b in s {
            if b == b'.' {
                if digits == 0 || dots == 3 {
                    return None;
                }
                ip = ip << 8 | octet;
                (octet, digits, dots) = (0, 0, dots + 1);
            } else {
                let d = u32::from(b.wrapping_sub(b'0'));
                if d > 9 || (digits > 0 && octet == 0) {
                    return None;
                }
                octet = octet * 10 + d;
                if octet > 255 {
                    return None;
                }
                digits += 1;
            }
        }
        (dots == 3 && digits > 0).then_some(ip << 8 | octet)
    }
}

impl Contender for Floor {
    const NAME: &'static str = "floor";
    type Out = Option<IpAddr>;

    fn prepare(input: &Input) -> Result<Self, &'static str> {
        match (input.header, input.peer.ip()) {
            (Header::Xff, IpAddr::V4(_)) => Ok(Self {
                name: HeaderName::from_static("x-forwarded-for"),
                peer: input.peer,
                headers: input.headers.clone(),
            }),
            _ => Err("the floor is written for IPv4 X-Forwarded-For only"),
        }
    }

    #[inline]
    fn call(&self) -> Self::Out {
        let peer = black_box(self.peer);
        let headers = black_box(&self.headers);
        let IpAddr::V4(peer) = peer.ip() else {
            return None;
        };
        if u32::from(peer) >> 24 != 10 {
            return Some(IpAddr::V4(peer));
        }
        let line = headers.get_all(&self.name).iter().next_back()?.as_bytes();
        let mut end = line.len();
        loop {
            let start = line[..end]
                .iter()
                .rposition(|&b| b == b',')
                .map_or(0, |comma| comma + 1);
            let ip = Self::v4(line[start..end].trim_ascii())?;
            if ip >> 24 != 10 || start == 0 {
                return Some(IpAddr::V4(ip.into()));
            }
            end = start - 1;
        }
    }

    fn answer(out: Self::Out) -> Answer {
        match out {
            Some(ip) => Answer::Client(ip),
            None => Answer::Refused("malformed".into()),
        }
    }
}

/// One contender's answer to one input, or why it has none.
pub fn answer_of<C: Contender>(input: &Input) -> Result<Answer, &'static str> {
    let contender = C::prepare(input)?;
    Ok(C::answer(contender.call()))
}

/// The names of the contenders, realip first.
pub const CONTENDERS: [&str; 5] = [
    Realip::NAME,
    ClientIpCrate::NAME,
    RealIpCrate::NAME,
    TrustedProxiesCrate::NAME,
    ParseNetCrate::NAME,
];

/// Calls `f` with each contender's type, by name: the one place that lists
/// them, for the bench and the instruction counter.
#[macro_export]
macro_rules! for_contender {
    ($name:expr, $f:ident ( $($arg:expr),* )) => {
        match $name {
            "realip" => Some($f::<$crate::Realip>($($arg),*)),
            "client-ip" => Some($f::<$crate::ClientIpCrate>($($arg),*)),
            "real-ip" => Some($f::<$crate::RealIpCrate>($($arg),*)),
            "trusted-proxies" => Some($f::<$crate::TrustedProxiesCrate>($($arg),*)),
            "parse-net" => Some($f::<$crate::ParseNetCrate>($($arg),*)),
            "floor" => Some($f::<$crate::Floor>($($arg),*)),
            _ => None,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realip_answers_every_input_correctly() {
        for input in inputs() {
            let answer = answer_of::<Realip>(&input).expect("realip does every input");
            assert!(input.judge(&answer).is_ok(), "{}: {answer}", input.id);
        }
    }

    #[test]
    fn the_floor_answers_as_realip_where_it_answers() {
        let mut answered = 0;
        for input in inputs() {
            let Ok(floor) = answer_of::<Floor>(&input) else {
                continue;
            };
            let realip = answer_of::<Realip>(&input).expect("realip does every input");
            match (&floor, &realip) {
                (Answer::Client(a), Answer::Client(b)) => assert_eq!(a, b, "{}", input.id),
                // The floor has no max_hops: it may name the leftmost hop
                // of the 60 KB header, which realip refuses.
                _ => assert!(input.judge(&floor).is_ok(), "{}: {floor}", input.id),
            }
            answered += 1;
        }
        assert!(answered >= 3, "the floor answered {answered} inputs");
    }

    #[test]
    fn the_verdicts_name_the_failure() {
        let input = &inputs()[0];
        let table = [
            (Answer::Client(ip("203.0.113.7")), Verdict::Correct),
            (Answer::Client(ip("10.0.0.2")), Verdict::ProxyAddress),
            (Answer::Client(ip("192.0.2.1")), Verdict::Wrong),
            (Answer::Refused("x".into()), Verdict::Wrong),
        ];
        for (answer, verdict) in table {
            assert_eq!(input.judge(&answer), verdict, "{answer}");
        }
        let spoof = inputs()
            .into_iter()
            .find(|i| i.id == "spoof_untrusted_peer")
            .unwrap();
        assert_eq!(
            spoof.judge(&Answer::Client(ip("1.1.1.1"))),
            Verdict::Spoofed
        );
    }
}
