//! `explain`: how realip would resolve one request, step by step.
//!
//! Give it what the application sees (the socket peer and the request's
//! headers) and the configuration you mean to deploy; it walks the chain the
//! way the library does, prints every hop with its verdict, the answer (or
//! the reason there is none) and what the request says about the deployment.
//! It never guesses: it runs the very resolver the application would build.
//!
//! ```text
//! explain [--peer ADDR|unix] [--header 'Name: value']...
//!         [--source peer|forwarded|x-forwarded-for|KNOWN-HEADER|header:NAME|list:NAME
//!                   |deployment:NAME]
//!         [--list-header NAME]...
//!         [--trust CIDR|IP|PRESET|unix]... [--hops N] [--any-peer]
//!         [--all-trusted leftmost|error] [--max-hops N]
//!         [--proto forwarded|x-forwarded-proto|header:NAME]
//!         [--host forwarded|x-forwarded-host|header:NAME]
//!         [--align symmetric|single] [--allowed-host NAME|*.SUFFIX]...
//!         [--identity SPIFFE-ID]... [--identity-header NAME] [--sidecar-appends] [--json]
//! ```
//!
//! - `--peer`: the socket peer (`10.0.0.3`, `10.0.0.3:41000`,
//!   `[2001:db8::1]:443`), or `unix` for a Unix-domain socket. Without it
//!   the peer is unknown, and the request cannot be resolved
//!   (`no_peer_address`).
//! - `--header`: one header line, `Name: value`; repeat it for several lines,
//!   in order (the same name twice makes two lines, as proxies that add a
//!   line per hop do). The value's surrounding whitespace is trimmed.
//! - `--source`: what the resolver reads, as in the configuration text:
//!   `peer` (the default), `forwarded`, `x-forwarded-for`, a single-address
//!   header realip knows by name (`x-real-ip`, `cf-connecting-ip`,
//!   `true-client-ip`, `fly-client-ip`, `x-envoy-external-address`,
//!   `cloudfront-viewer-address`, `fastly-client-ip`, `x-client-ip`,
//!   `x-cluster-client-ip`, `x-azure-clientip`), `header:NAME` for any
//!   other single-address header, `list:NAME` for another comma-list
//!   header, or `deployment:NAME` (`preset:NAME`, its older spelling) to
//!   start from a deployment as the configuration text does (`--trust`
//!   and `--hops` then replace its own). Names are case-insensitive. Any other bare name is a usage
//!   error that names the closest known source (a typo must not become a
//!   header that no proxy overwrites).
//! - `--list-header`: says that a header is a comma list like
//!   `X-Forwarded-For`; it matters for the header `--source` names, which is
//!   then read as a list rather than as a single address
//!   (`--source X --list-header X` is `--source list:X`).
//! - `--trust`: trusted proxies, as CIDR ranges, addresses or presets
//!   (`loopback`, `private`, `link-local`, `istio-sidecar`); repeat it or
//!   give a comma list. The word `unix` trusts a Unix-socket peer (a proxy on
//!   the same host); it needs a header `--source`.
//! - `--hops N`: trust the N nearest proxies by count (the peer included;
//!   N at least 1, plain decimal) instead of by address; `--trust` then lists the peers allowed to send
//!   the header, or `--any-peer` allows every peer (safe only when nothing
//!   but those proxies can reach the application).
//! - `--all-trusted`: when every hop is trusted, answer the leftmost
//!   (default) or refuse with an error.
//! - `--max-hops N`: the most hops walked (default 32; plain decimal).
//! - `--proto SOURCE`: also read the scheme the client used, beside the
//!   hop that named the client, as the configuration text's `proto=`:
//!   `forwarded` (the `proto=` of the client's own `Forwarded` element;
//!   with `--source forwarded` only), `x-forwarded-proto`, or
//!   `header:NAME` for another comma-list header that the proxies fill
//!   beside the source. It is read only from a trusted peer; when it
//!   cannot be read the report says `proto: none` (JSON `null`) and a
//!   `value_absent` diagnostic says why.
//! - `--host SOURCE`: the host the client asked for, likewise (`host=`):
//!   `forwarded`, `x-forwarded-host` or `header:NAME`.
//! - `--align`: how a value header (`x-forwarded-proto`, `header:NAME`)
//!   lines up with the source: `symmetric` (the default: every proxy
//!   appends to both, the counts must match, and the value is the one at
//!   the client's position) or `single` (the edge proxy overwrites the
//!   header with exactly one value).
//! - `--allowed-host NAME`: accept only this host as the original host: a
//!   name, or `*.suffix` for any name under `suffix` (not `suffix`
//!   itself); no port. Repeat it for more; any other host is none. Needs
//!   `--host`.
//! - `--identity SPIFFE-ID`: trust the caller of a trusted sidecar with
//!   this identity as a proxy, whatever its address (configuration text
//!   `identity=`): a SPIFFE id, or `spiffe://TD/ns/NS/` for one namespace;
//!   repeat it or give a comma list. It is read from the rightmost element
//!   of `x-forwarded-client-cert` (Envoy's format), which only the trusted
//!   sidecar writes; the report shows it on the step it decided, and the
//!   JSON's `caller_identity` holds it (or `null`).
//! - `--identity-header NAME`: read the identity from another header in
//!   the same format.
//! - `--sidecar-appends`: the sidecar appends its caller's address to the
//!   source (Envoy's `use_remote_address: true`); the newest hop is then
//!   the caller's, trusted exactly when its identity is.
//! - `--json`: print one JSON object instead of the readable report.
//!
//! Exit status: 0 when the request resolves, 1 when it cannot be resolved
//! (the report or the JSON says why), 2 for a usage error (the message is on
//! stderr; nothing is printed on stdout).
//!
//! An Istio sidecar that appends `X-Forwarded-For` (`use_remote_address`):
//! the app's socket says `127.0.0.6`, and only the sidecar's append counts.
//!
//! ```text
//! $ cargo run --example explain -- --peer 127.0.0.6:51234 --source x-forwarded-for \
//!     --trust istio-sidecar --header 'X-Forwarded-For: 6.6.6.6, 10.1.2.3'
//! configuration: x-forwarded-for; trust=istio-sidecar
//!   peer     127.0.0.6:51234  -> trusted proxy
//!   hop 0    10.1.2.3  -> CLIENT
//! client: 10.1.2.3 (from x-forwarded-for[0 from the right], 1 trusted proxies)
//! note: the client 10.1.2.3 is a non-public address: …
//! ```
//!
//! An ingress gateway behind a cloud L4 load balancer with
//! `externalTrafficPolicy: Local`: the gateway appends the client, the
//! sidecar appends the gateway.
//!
//! ```text
//! $ cargo run --example explain -- --peer 127.0.0.6 --source x-forwarded-for \
//!     --trust istio-sidecar,10.0.0.0/8 --header 'X-Forwarded-For: 120.244.9.8, 10.0.0.93'
//! configuration: x-forwarded-for; trust=istio-sidecar, 10.0.0.0/8
//!   peer     127.0.0.6  -> trusted proxy
//!   hop 0    10.0.0.93  -> trusted proxy
//!   hop 1    120.244.9.8  -> CLIENT
//! client: 120.244.9.8 (from x-forwarded-for[1 from the right], 2 trusted proxies)
//! ```
//!
//! A client that reaches the application directly and forges the header is
//! answered with its own address, and a warning says so:
//!
//! ```text
//! $ cargo run --example explain -- --peer 198.51.100.66:5555 --source x-forwarded-for \
//!     --trust 10.0.0.0/8 --header 'X-Forwarded-For: 1.1.1.1'
//! configuration: x-forwarded-for; trust=10.0.0.0/8
//!   peer     198.51.100.66:5555  -> CLIENT
//! client: 198.51.100.66 port 5555 (from peer, 0 trusted proxies)
//! warning: forwarding headers (x-forwarded-for) came from a peer that is not a trusted proxy, …
//! ```
//!
//! A TLS-terminating gateway (`10.0.0.2`) in front of another proxy: the
//! scheme and host come from the client's own `Forwarded` element, so a
//! `proto=` the client forged to the left of it never counts:
//!
//! ```text
//! $ cargo run --example explain -- --peer 10.0.0.3 --source forwarded --trust 10.0.0.0/8 \
//!     --proto forwarded --host forwarded \
//!     --header 'Forwarded: for=6.6.6.6;proto=http, for=203.0.113.7;proto=https;host=shop.example, for=10.0.0.2'
//! configuration: forwarded; trust=10.0.0.0/8; proto=forwarded; host=forwarded
//!   peer     10.0.0.3  -> trusted proxy
//!   hop 0    for=10.0.0.2  -> trusted proxy
//!   hop 1    for=203.0.113.7;proto=https;host=shop.example  -> CLIENT
//! client: 203.0.113.7 (from forwarded[1 from the right], 2 trusted proxies)
//! proto: https (beside hop 1)
//! host: shop.example (beside hop 1)
//! ```
//!
//! The same as JSON, for scripts:
//!
//! ```text
//! $ cargo run -q --example explain -- --peer 198.51.100.66:5555 --source x-forwarded-for \
//!     --trust 10.0.0.0/8 --header 'X-Forwarded-For: 1.1.1.1' --json | jq -c '{client, source, diagnostics: [.diagnostics[].code]}'
//! {"client":"198.51.100.66","source":"peer","diagnostics":["forwarding_headers_from_untrusted_peer"]}
//! ```
//!
//! The JSON object, on one line. When the request resolves:
//! `{"client", "port", "source", "hop_index", "trusted_proxies", "proto",
//! "host", "url_hop_index", "peer", "configuration", "hops", "diagnostics"}`,
//! where `source` is `"peer"` or the header's name and `hop_index` counts
//! from the right (0 = newest). `proto` and `host` are the original scheme
//! and host, or null when not read; `url_hop_index`, the hop they are read
//! beside (null when no trusted hop named the client), is there only with
//! `--proto` or `--host`.
//! When it cannot: `{"error": {"kind", "message", "hop_index"}, "proto",
//! "host", "url_hop_index", "peer", "configuration", "hops", "diagnostics"}`.
//! Each hop is
//! `{"position": "peer"|N, "raw", "address", "port", "verdict", "detail"}`
//! and each diagnostic `{"code", "level": "info"|"warning", "message"}`.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use http::{HeaderMap, HeaderName, HeaderValue};
use realip::config::Deployment;
use realip::{
    Align, AllTrusted, AllowedHosts, Identity, Peer, ProxySet, Resolver, Source, ValueSource,
};

const USAGE: &str = "\
usage: explain [--peer ADDR|unix] [--header 'Name: value']...
               [--source peer|forwarded|x-forwarded-for|KNOWN-HEADER|header:NAME|list:NAME
                         |deployment:NAME]
               [--list-header NAME]...
               [--trust CIDR|IP|PRESET|unix]... [--hops N] [--any-peer]
               [--all-trusted leftmost|error] [--max-hops N]
               [--proto forwarded|x-forwarded-proto|header:NAME]
               [--host forwarded|x-forwarded-host|header:NAME]
               [--align symmetric|single] [--allowed-host NAME|*.SUFFIX]...
               [--identity SPIFFE-ID]... [--identity-header NAME] [--sidecar-appends] [--json]
";

const OPTIONS: &str = "
Shows how realip resolves the client of one request: every hop walked, its
verdict, the answer, and diagnostics about the deployment.

options:
  --peer ADDR|unix        the socket peer: IP, IP:port, [v6]:port, or unix
                          (absent: unknown, and the request cannot be resolved)
  --header 'Name: value'  one header line; repeat for more lines, in order
  --source SOURCE         peer (default), forwarded, x-forwarded-for, a
                          single-address header realip knows (x-real-ip,
                          cf-connecting-ip, true-client-ip, ...), header:NAME
                          for any other single-address header, list:NAME
                          for another comma-list header, or deployment:NAME
                          (or preset:NAME) to start from a deployment
  --list-header NAME      read the --source header NAME as a comma list
  --trust LIST            trusted proxies: CIDRs, IPs, presets (loopback,
                          private, link-local, istio-sidecar, cloudflare,
                          gcp-lb) and unix for a Unix-socket peer;
                          repeatable, comma-separated
  --hops N                trust the N nearest proxies by count (N >= 1); --trust
                          then lists the peers allowed to send the header
  --any-peer              with --hops: accept the header from any peer
  --all-trusted POLICY    leftmost (default) or error, when every hop is trusted
  --max-hops N            the most hops walked (default 32)
  --proto SOURCE          also read the client's scheme, beside its hop (from
                          a trusted peer only): forwarded (its own Forwarded
                          element), x-forwarded-proto, or header:NAME
  --host SOURCE           also read the host the client asked for, likewise:
                          forwarded, x-forwarded-host, or header:NAME
  --align ALIGN           how a value header lines up with the source:
                          symmetric (default: every proxy appends, counts
                          match) or single (the edge proxy sets one value)
  --allowed-host NAME     with --host: accept only this host (a name or
                          *.SUFFIX, no port); repeatable
  --identity SPIFFE-ID    trust the caller a trusted sidecar vouches for in
                          x-forwarded-client-cert, whatever its address
                          (spiffe://TD/ns/NS/sa/SA, or spiffe://TD/ns/NS/ for
                          a namespace); repeatable, comma-separated
  --identity-header NAME  read the caller identity from NAME instead
  --sidecar-appends       the sidecar appends its caller's address to the
                          source (use_remote_address: true)
  --json                  print one JSON object instead of the report
  -h, --help              print this help

exit status: 0 resolved, 1 cannot be resolved, 2 usage error
";

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            emit(&format!("{USAGE}{OPTIONS}"));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(run)) => run.execute(),
        Err(e) => {
            eprintln!("explain: error: {e}\n\n{USAGE}\nRun with --help for details.");
            ExitCode::from(2)
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error of
/// the resolution, whose outcome the exit status still carries.
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

enum Command {
    Help,
    Run(Box<Run>),
}

/// A request to explain, with the resolver to explain it with.
struct Run {
    resolver: Resolver,
    peer: Peer,
    headers: HeaderMap,
    json: bool,
}

impl Run {
    fn execute(self) -> ExitCode {
        let explanation = self.resolver.explain(self.peer, &self.headers);
        if self.json {
            // The library serialises explanations (feature `serde`) in this shape.
            let json = serde_json::to_string(&explanation).expect("an explanation serialises");
            emit(&format!("{json}\n"));
        } else {
            emit(&explanation.to_string());
        }
        if explanation.result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// What is wrong with the command line.
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// The flags as given, before they are checked against each other.
#[derive(Default)]
struct Flags {
    peer: Option<String>,
    headers: Vec<OsString>,
    source: Option<String>,
    list_headers: Vec<String>,
    trust: Vec<String>,
    hops: Option<String>,
    any_peer: bool,
    all_trusted: Option<String>,
    max_hops: Option<String>,
    proto: Option<String>,
    host: Option<String>,
    align: Option<String>,
    allowed_hosts: Vec<String>,
    identities: Vec<String>,
    identity_header: Option<String>,
    sidecar_appends: bool,
    json: bool,
}

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let mut flags = Flags::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = utf8(arg, "an argument")?;
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(OsString::from(value)))
            }
            _ => (arg, None),
        };
        let flag = name.as_str();
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--any-peer" | "--json" | "--sidecar-appends" if inline.is_some() => {
                return Err(usage(format!("{flag} takes no value")));
            }
            "--any-peer" => flags.any_peer = true,
            "--sidecar-appends" => flags.sidecar_appends = true,
            "--identity" => flags.identities.push(utf8(value()?, flag)?),
            "--identity-header" => once(&mut flags.identity_header, flag, utf8(value()?, flag)?)?,
            "--json" => flags.json = true,
            "--header" => flags.headers.push(value()?),
            "--list-header" => flags.list_headers.push(utf8(value()?, flag)?),
            "--trust" => flags.trust.push(utf8(value()?, flag)?),
            "--allowed-host" => flags.allowed_hosts.push(utf8(value()?, flag)?),
            "--peer" => once(&mut flags.peer, flag, utf8(value()?, flag)?)?,
            "--source" => once(&mut flags.source, flag, utf8(value()?, flag)?)?,
            "--hops" => once(&mut flags.hops, flag, utf8(value()?, flag)?)?,
            "--all-trusted" => once(&mut flags.all_trusted, flag, utf8(value()?, flag)?)?,
            "--max-hops" => once(&mut flags.max_hops, flag, utf8(value()?, flag)?)?,
            "--proto" => once(&mut flags.proto, flag, utf8(value()?, flag)?)?,
            "--host" => once(&mut flags.host, flag, utf8(value()?, flag)?)?,
            "--align" => once(&mut flags.align, flag, utf8(value()?, flag)?)?,
            _ if flag.starts_with('-') => {
                return Err(usage(format!("unknown option {}", shorten(flag))));
            }
            _ => {
                return Err(usage(format!("unexpected argument {}", shorten(flag))));
            }
        }
    }
    flags.check().map(|run| Command::Run(Box::new(run)))
}

/// Sets a flag that may be given once: a second value would silently win
/// in a script that builds the command line from pieces.
fn once(slot: &mut Option<String>, flag: &str, value: String) -> Result<(), UsageError> {
    if slot.is_some() {
        return Err(usage(format!("{flag} is given more than once")));
    }
    *slot = Some(value);
    Ok(())
}

fn utf8(arg: OsString, what: &str) -> Result<String, UsageError> {
    arg.into_string().map_err(|arg| {
        usage(format!(
            "{what} is not valid UTF-8: {}",
            shorten(arg.as_encoded_bytes())
        ))
    })
}

/// The most characters a message quotes of what was given.
const QUOTED: usize = 64;

/// Quotes a value for a message: at most 64 characters of it, read as
/// UTF-8 lossily (an invalid byte is `U+FFFD`), `…` when cut. Every echo
/// of the command line goes through here, so a 100 KB value costs a short
/// line on stderr whether it is UTF-8 or not.
fn shorten(text: impl AsRef<[u8]>) -> String {
    let bytes = text.as_ref();
    // A character is at most four bytes, an invalid byte one character:
    // the first 64 characters lie in the first 256 bytes.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * QUOTED)]);
    let mut short: String = head.chars().take(QUOTED).collect();
    if head.chars().nth(QUOTED).is_some() || bytes.len() > 4 * QUOTED {
        short.push('…');
    }
    format!("{short:?}")
}

impl Flags {
    fn check(self) -> Result<Run, UsageError> {
        let peer = match &self.peer {
            None => Peer::Unknown,
            Some(text) => text.parse::<Peer>().map_err(|e| {
                usage(format!(
                    "--peer {}: expected an IP address, IP:port, [v6]:port or unix ({e})",
                    shorten(text)
                ))
            })?,
        };
        let headers = self.header_map()?;
        // `--source deployment:NAME` (or `preset:NAME`, its older spelling)
        // starts from that deployment, as the configuration text does; the
        // other flags refine it.
        let deployment = self.deployment()?;
        let base = deployment.map(Deployment::config).unwrap_or_default();
        let source = match &base.source {
            Some(source) => source.clone(),
            None => self.source()?,
        };
        let (mut proxies, trust_unix) = self.trusted()?;
        if self.trust.is_empty() {
            if let Some(set) = base.trust {
                proxies = set;
            }
        }
        let hops = match number(self.hops.as_deref(), "--hops")? {
            Some(count) => Some(count),
            None => base.hops,
        };

        if trust_unix && source == Source::Peer {
            return Err(usage(
                "--trust unix trusts a Unix-socket proxy to forward headers, \
                 but --source is the peer alone; choose a header to read",
            ));
        }
        let mut builder = Resolver::builder()
            .source(source)
            .trust_unix_peer(trust_unix);
        match (hops, self.any_peer) {
            (None, true) => {
                return Err(usage("--any-peer only makes sense with --hops N"));
            }
            (None, false) => builder = builder.trusted_proxies(proxies),
            (Some(_), true) if !proxies.is_empty() => {
                return Err(usage(
                    "--any-peer accepts the header from every peer, \
                     so --trust would have no effect; give one or the other",
                ));
            }
            (Some(count), true) => builder = builder.trusted_hops_from_any_peer(count),
            (Some(_), false) if proxies.is_empty() && !trust_unix => {
                return Err(usage(
                    "--hops N needs the peers that may send the header: \
                     --trust CIDR, or --any-peer",
                ));
            }
            (Some(count), false) => builder = builder.trusted_hops(count, proxies),
        }
        match self.all_trusted.as_deref() {
            None => {}
            Some("leftmost") => builder = builder.all_trusted(AllTrusted::Leftmost),
            Some("error") => builder = builder.all_trusted(AllTrusted::Error),
            Some(other) => {
                return Err(usage(format!(
                    "--all-trusted {}: expected leftmost or error",
                    shorten(other)
                )));
            }
        }
        if let Some(max_hops) = number(self.max_hops.as_deref(), "--max-hops")? {
            builder = builder.max_hops(max_hops);
        }
        let proto = value_source(
            self.proto.as_deref(),
            "--proto",
            "forwarded, x-forwarded-proto or header:NAME",
        )?;
        if let Some(proto) = proto {
            builder = builder.proto(proto);
        }
        let host = value_source(
            self.host.as_deref(),
            "--host",
            "forwarded, x-forwarded-host or header:NAME",
        )?;
        if let Some(host) = host {
            builder = builder.host(host);
        }
        if let Some(text) = self.align.as_deref() {
            let align = text.parse::<Align>().map_err(|_| {
                usage(format!(
                    "--align {}: expected symmetric or single",
                    shorten(text)
                ))
            })?;
            builder = builder.align(align);
        }
        if let Some(hosts) = self.allowed_hosts()? {
            builder = builder.allowed_hosts(hosts);
        }
        // --identity replaces the deployment's identities, as identity=
        // does in the configuration text.
        let identities = match self.identities()? {
            given if !given.is_empty() => given,
            _ => base.identities.clone().unwrap_or_default(),
        };
        for identity in identities {
            builder = builder.identity(identity);
        }
        if let Some(name) = &self.identity_header {
            builder = builder.identity_header(header_name(name, "--identity-header")?);
        }
        let resolver = builder
            .sidecar_appends(self.sidecar_appends)
            .build()
            .map_err(|e| usage(format!("invalid configuration: {e}")))?;
        Ok(Run {
            resolver,
            peer,
            headers,
            json: self.json,
        })
    }

    fn header_map(&self) -> Result<HeaderMap, UsageError> {
        let mut map = HeaderMap::new();
        for line in &self.headers {
            // Raw bytes, so that a header that is not UTF-8 can be tried.
            let (name, value) = header_line(line.as_encoded_bytes())?;
            map.append(name, value);
        }
        Ok(map)
    }

    /// The deployment `--source` names, if it names one.
    fn deployment(&self) -> Result<Option<Deployment>, UsageError> {
        let Some(text) = self.source.as_deref() else {
            return Ok(None);
        };
        let lower = text.trim().to_ascii_lowercase();
        let Some(name) = lower
            .strip_prefix("deployment:")
            .or_else(|| lower.strip_prefix("preset:"))
        else {
            return Ok(None);
        };
        name.parse::<Deployment>()
            .map(Some)
            .map_err(|e| usage(format!("--source {}: {e}", shorten(text))))
    }

    fn source(&self) -> Result<Source, UsageError> {
        let list_headers = self
            .list_headers
            .iter()
            .map(|name| {
                let header = header_name(name, "--list-header")?;
                if header == "forwarded" {
                    return Err(usage(
                        "--list-header forwarded: Forwarded is not a plain list; \
                         use --source forwarded",
                    ));
                }
                Ok(header)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some(text) = self.source.as_deref() else {
            return Ok(Source::Peer);
        };
        // A header named by --list-header is a list, whatever it is called:
        // the flag says so explicitly.
        if let Ok(name) = HeaderName::from_bytes(text.trim().as_bytes()) {
            if list_headers.contains(&name) {
                return Ok(Source::List(name));
            }
        }
        // Otherwise exactly as the configuration text reads it.
        text.parse::<Source>()
            .map_err(|e| usage(format!("--source {}: {e}", shorten(text))))
    }

    /// Every `--identity`, each flag a comma list.
    fn identities(&self) -> Result<Vec<Identity>, UsageError> {
        let mut out = Vec::new();
        for text in &self.identities {
            for id in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                out.push(
                    id.parse::<Identity>()
                        .map_err(|e| usage(format!("--identity: {e}")))?,
                );
            }
        }
        Ok(out)
    }

    /// All `--allowed-host` values as one list (`None` when none is given).
    fn allowed_hosts(&self) -> Result<Option<AllowedHosts>, UsageError> {
        if self.allowed_hosts.is_empty() {
            return Ok(None);
        }
        for name in &self.allowed_hosts {
            // One entry per flag, so that each mistake is named by itself.
            if name.contains(',') {
                return Err(usage(format!(
                    "--allowed-host {}: one host name or *.suffix per flag; \
                     repeat --allowed-host for more",
                    shorten(name)
                )));
            }
            name.parse::<AllowedHosts>().map_err(|e| {
                usage(format!(
                    "--allowed-host {}: expected a host name or *.suffix, without a port ({e})",
                    shorten(name)
                ))
            })?;
        }
        self.allowed_hosts
            .join(", ")
            .parse()
            .map(Some)
            .map_err(|e| usage(format!("--allowed-host: {e}")))
    }

    /// All `--trust` values merged into one set, and whether `unix` was
    /// among them (a Unix peer has no address for the set to hold).
    fn trusted(&self) -> Result<(ProxySet, bool), UsageError> {
        let mut trust_unix = false;
        let mut entries = Vec::new();
        for value in &self.trust {
            let items: Vec<&str> = value
                .split(|c: char| c == ',' || c.is_ascii_whitespace())
                .filter(|item| !item.is_empty())
                .collect();
            if items.is_empty() {
                return Err(usage("--trust needs at least one proxy"));
            }
            for item in items {
                if item.eq_ignore_ascii_case("unix") {
                    trust_unix = true;
                } else {
                    entries.push(item);
                }
            }
        }
        if entries.is_empty() {
            return Ok((ProxySet::new(), trust_unix));
        }
        let set = entries
            .join(", ")
            .parse::<ProxySet>()
            .map_err(|e| usage(format!("--trust: {e}")))?;
        Ok((set, trust_unix))
    }
}

/// A plain decimal number, as the configuration text takes it: digits
/// only, no sign, no leading zero.
fn number(text: Option<&str>, flag: &str) -> Result<Option<usize>, UsageError> {
    text.map(|t| {
        let plain = !t.is_empty()
            && t.bytes().all(|b| b.is_ascii_digit())
            && (t == "0" || !t.starts_with('0'));
        plain.then(|| t.parse::<usize>().ok()).flatten().ok_or_else(|| {
            usage(format!(
                "{flag} {}: expected a plain decimal number (digits only, no sign or leading zero)",
                shorten(t)
            ))
        })
    })
    .transpose()
}

/// A `--proto` or `--host` value, in the words of the configuration
/// text's `proto=` and `host=`.
fn value_source(
    text: Option<&str>,
    flag: &str,
    expected: &str,
) -> Result<Option<ValueSource>, UsageError> {
    text.map(|t| {
        t.parse::<ValueSource>()
            .map_err(|_| usage(format!("{flag} {}: expected {expected}", shorten(t))))
    })
    .transpose()
}

fn header_name(text: &str, flag: &str) -> Result<HeaderName, UsageError> {
    HeaderName::from_bytes(text.as_bytes())
        .map_err(|_| usage(format!("{flag} {}: not a valid header name", shorten(text))))
}

/// `Name: value`, split at the first colon, the value trimmed.
fn header_line(line: &[u8]) -> Result<(HeaderName, HeaderValue), UsageError> {
    let shown = || shorten(line);
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| usage(format!("--header {}: expected 'Name: value'", shown())))?;
    let name = HeaderName::from_bytes(&line[..colon]).map_err(|_| {
        usage(format!(
            "--header {}: the name is not a valid header name",
            shown()
        ))
    })?;
    let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).map_err(|_| {
        usage(format!(
            "--header {}: the value is not a valid header value (control characters?)",
            shown()
        ))
    })?;
    Ok((name, value))
}
