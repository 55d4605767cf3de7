//! The lab's machinery: prerequisites, commands, processes, network
//! namespaces and the requests sent through them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests start servers and count processes: one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes straight to the terminal: the test harness captures `eprintln!`,
/// and a skip or a result table should be seen without `--nocapture`.
pub fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

// ---------------------------------------------------------------------------
// Prerequisites

/// Skips the test (or fails it under `REALIP_REQUIRE_E2E=1`).
pub fn skip(test: &str, why: &str) {
    if std::env::var("REALIP_REQUIRE_E2E").as_deref() == Ok("1") {
        panic!("{test}: REALIP_REQUIRE_E2E=1 but {why}; run .ci/e2e-deps.sh as root");
    }
    say(&format!(
        "SKIPPED: e2e {test}: {why} (run .ci/e2e-deps.sh as root; REALIP_REQUIRE_E2E=1 makes this a failure)"
    ));
}

/// A program on `PATH`, or in the sbin directories a non-root `PATH` lacks.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

pub fn is_root() -> bool {
    // The effective uid is the second number of the `Uid:` line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// The external programs the lab starts itself; the others it runs by
/// name (`Lab::sh`) after `tools` has checked they are there.
pub struct Tools {
    pub ip: PathBuf,
    pub nginx: PathBuf,
    pub haproxy: PathBuf,
    pub curl: PathBuf,
    pub envoy: PathBuf,
    /// Each proxy's version, as the result table names them.
    pub versions: Versions,
}

/// The versions of the proxies the lab runs.
pub struct Versions {
    pub envoy: String,
    pub nginx: String,
    pub haproxy: String,
}

/// Programs `Lab::sh` and the scenarios run by name.
pub const OTHER_PROGRAMS: [&str; 6] = ["iptables", "ip6tables", "ss", "sysctl", "openssl", "bash"];

/// nginx, if it is there and has the modules the tests configure.
pub fn nginx() -> Result<PathBuf, String> {
    let nginx = program("nginx").ok_or("nginx is not installed")?;
    let out = Command::new(&nginx)
        .arg("-V")
        .output()
        .map_err(|e| format!("{} -V: {e}", nginx.display()))?;
    let flags = String::from_utf8_lossy(&out.stderr);
    for module in ["--with-http_realip_module", "--with-http_ssl_module"] {
        if !flags.contains(module) {
            return Err(format!("{} was built without {module}", nginx.display()));
        }
    }
    Ok(nginx)
}

pub fn tools() -> Result<Tools, String> {
    if !is_root() {
        return Err("not running as root (network namespaces need it)".into());
    }
    let find = |name: &str| program(name).ok_or_else(|| format!("{name} is not installed"));
    for name in OTHER_PROGRAMS {
        find(name)?;
    }
    let (envoy, envoy_version) = crate::envoy::envoy()?;
    let nginx = nginx()?;
    let haproxy = find("haproxy")?;
    let versions = Versions {
        envoy: envoy_version,
        nginx: version_of(&nginx, "-v", "nginx/"),
        haproxy: version_of(&haproxy, "-v", "version "),
    };
    Ok(Tools {
        ip: find("ip")?,
        nginx,
        haproxy,
        curl: find("curl")?,
        envoy,
        versions,
    })
}

/// The version a program prints after `marker` (on stdout or stderr).
fn version_of(program: &Path, flag: &str, marker: &str) -> String {
    let out = Command::new(program).arg(flag).output();
    let text = out
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default();
    text.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_owned()
}

// ---------------------------------------------------------------------------
// Commands

pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion; panics with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out: Output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", describe(cmd)));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}{}",
        describe(cmd),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A process the tests started, killed and reaped by its owner's drop.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

/// A temporary directory for configurations and logs.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("realip-e2e-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `cmd` with its output in `dir/<name>.log`.
pub fn spawn(dir: &TempDir, name: &str, mut cmd: Command) -> Proc {
    let log = dir.0.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).expect("a log file");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("a second log handle"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", describe(&cmd)));
    Proc {
        name: name.to_owned(),
        child,
        log,
    }
}

/// `setpriv`, which makes a process get SIGKILL when the test that
/// started it dies (interrupted with ^C, killed): the drop guards cannot
/// run then. Without it, the next run removes the namespaces only.
pub fn program_dies_with_test() -> Option<PathBuf> {
    program("setpriv")
}

/// Kills and reaps each process (they are single processes: nginx runs
/// with `master_process off`, HAProxy with `-db`).
pub fn stop_all(procs: &mut Vec<Proc>) {
    for p in procs.iter_mut() {
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
    procs.clear();
}

/// Panics, with its log, if a process has exited.
pub fn check_alive(procs: &mut [Proc]) {
    for p in procs.iter_mut() {
        if let Ok(Some(status)) = p.child.try_wait() {
            let log = std::fs::read_to_string(&p.log).unwrap_or_default();
            panic!("{} exited ({status}):\n{log}", p.name);
        }
    }
}

/// Whether `pid` (text) names no live process: absent, or a zombie.
pub fn is_dead(pid: &str) -> bool {
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match std::fs::read_to_string(Path::new("/proc").join(pid).join("status")) {
        Ok(status) => status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
        Err(_) => true,
    }
}

/// Any process whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// The lab: namespaces, links, processes

/// Network namespaces and the processes in them; dropping it stops the
/// processes, then deletes the namespaces (their veth ends go with them),
/// then the temporary directory.
pub struct Lab {
    pub tools: Tools,
    pub prefix: String,
    pub procs: Vec<Proc>,
    pub namespaces: Vec<String>,
    pub pids: Vec<u32>,
    pub dir: TempDir,
}

impl Lab {
    pub fn new(tools: Tools) -> Lab {
        let prefix = format!("rip-{}", std::process::id());
        let lab = Lab {
            tools,
            prefix,
            procs: Vec::new(),
            namespaces: Vec::new(),
            pids: Vec::new(),
            dir: TempDir::new("lab"),
        };
        lab.remove_stale();
        lab
    }

    /// Namespaces and directories left by a run of this test that was
    /// killed before its guards ran (its pid is gone; its processes died
    /// with it, see `program_dies_with_test`).
    pub fn remove_stale(&self) {
        let list = run(Command::new(&self.tools.ip).args(["netns", "list"]));
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name
                .strip_prefix("rip-")
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(pid, _)| is_dead(pid))
            {
                say(&format!("e2e: removing stale namespace {name}"));
                let _ = Command::new(&self.tools.ip)
                    .args(["netns", "del", name])
                    .output();
            }
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name
                .strip_prefix("realip-e2e-")
                .and_then(|r| r.split_once('-'))
                .is_some_and(|(pid, _)| is_dead(pid))
            {
                say(&format!("e2e: removing stale directory {name}"));
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    pub fn ip(&self, args: &[&str]) -> String {
        run(Command::new(&self.tools.ip).args(args))
    }

    /// `ip netns exec <ns> <program> <args>`.
    pub fn exec(&self, ns: &str, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.tools.ip);
        cmd.args(["netns", "exec", ns]).arg(program).args(args);
        cmd
    }

    /// Runs a command line (words split on spaces) in `ns`.
    pub fn sh(&self, ns: &str, line: &str) -> String {
        let mut words = line.split_whitespace();
        let name = words.next().expect("a program");
        let program = program(name).unwrap_or_else(|| panic!("{name} is not installed"));
        let args: Vec<&str> = words.collect();
        run(&mut self.exec(ns, &program, &args))
    }

    /// Creates namespace `<prefix>-<role>` with loopback up and IPv6
    /// duplicate address detection off (addresses usable at once).
    pub fn netns(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.prefix);
        self.ip(&["netns", "add", &name]);
        self.namespaces.push(name.clone());
        self.sh(&name, "ip link set lo up");
        self.sh(&name, "sysctl -qw net.ipv6.conf.all.accept_dad=0");
        self.sh(&name, "sysctl -qw net.ipv6.conf.default.accept_dad=0");
        name
    }

    /// A veth pair from `a` to `b` (namespace, device, addresses), created
    /// directly in the namespaces, up.
    pub fn link(&self, a: (&str, &str, &[&str]), b: (&str, &str, &[&str])) {
        self.ip(&[
            "link", "add", a.1, "netns", a.0, "type", "veth", "peer", "name", b.1, "netns", b.0,
        ]);
        for (ns, dev, addrs) in [a, b] {
            for addr in addrs {
                let nodad = if addr.contains(':') { " nodad" } else { "" };
                self.sh(ns, &format!("ip addr add {addr} dev {dev}{nodad}"));
            }
            self.sh(ns, &format!("ip link set {dev} up"));
        }
    }

    pub fn start(&mut self, ns: &str, name: &str, program: &Path, args: &[&str]) {
        let cmd = match program_dies_with_test() {
            Some(setpriv) => {
                let mut all = vec!["--pdeathsig", "KILL", "--"];
                let program = program.to_string_lossy();
                all.push(&program);
                all.extend_from_slice(args);
                self.exec(ns, &setpriv, &all)
            }
            None => self.exec(ns, program, args),
        };
        let proc = spawn(&self.dir, name, cmd);
        self.pids.push(proc.child.id());
        self.procs.push(proc);
    }

    /// Waits until `ns` has a TCP listener on each port.
    pub fn wait_listening(&mut self, ns: &str, ports: &[u16]) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            check_alive(&mut self.procs);
            let out = self.sh(ns, "ss -Hltn");
            let listening: BTreeSet<u16> = out
                .lines()
                .filter_map(|l| l.split_whitespace().nth(3))
                .filter_map(|local| local.rsplit(':').next()?.parse().ok())
                .collect();
            let missing: Vec<u16> = ports
                .iter()
                .copied()
                .filter(|p| !listening.contains(p))
                .collect();
            if missing.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{ns}: nothing listens on {missing:?} after 15 s:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The configuration file of an nginx that runs as one process in the
    /// foreground, its files in the lab's directory.
    pub fn nginx_conf(&self, name: &str, http: &str) -> PathBuf {
        let conf = nginx_conf(&self.dir, name, http);
        self.dir.write(&format!("{name}.conf"), &conf)
    }

    pub fn start_nginx(&mut self, ns: &str, name: &str, http: &str) {
        let conf = self.nginx_conf(name, http);
        let nginx = self.tools.nginx.clone();
        let error_log = self.dir.0.join(format!("{name}.error.log"));
        self.start(
            ns,
            name,
            &nginx,
            &[
                "-e",
                &error_log.to_string_lossy(),
                "-c",
                &conf.to_string_lossy(),
            ],
        );
    }

    /// Starts an Envoy in `ns` with this bootstrap (`<name>.json` in the
    /// lab's directory).
    pub fn start_envoy(&mut self, ns: &str, name: &str, config: &serde_json::Value) {
        let text = serde_json::to_string_pretty(config).expect("a JSON bootstrap");
        let path = self.dir.write(&format!("{name}.json"), &text);
        let envoy = self.tools.envoy.clone();
        let args = crate::envoy::args(&path);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.start(ns, name, &envoy, &args);
    }

    /// `curl` from `ns`: the status and the body.
    ///
    /// Clients use source ports below the kernel's ephemeral range: the
    /// TPROXY sidecar connects from the caller's address with an ephemeral
    /// port, and were it the caller's own port, both connections would have
    /// the same addresses and ports and conntrack would take the second
    /// for the first (REDIRECTed to the sidecar again).
    pub fn curl(&self, ns: &str, url: &str, headers: &[(String, String)]) -> (u16, String) {
        self.curl_with(ns, &[], url, headers)
    }

    /// `curl` with more options (a client certificate).
    pub fn curl_with(
        &self,
        ns: &str,
        options: &[String],
        url: &str,
        headers: &[(String, String)],
    ) -> (u16, String) {
        let mut args: Vec<String> = [
            "-q",
            "-sS",
            "-g",
            "-k",
            "--noproxy",
            "*",
            "--local-port",
            "20000-29999",
            "-m",
            "10",
            "-w",
            "\n%{http_code}",
        ]
        .map(String::from)
        .to_vec();
        args.extend_from_slice(options);
        for (name, value) in headers {
            args.push("-H".into());
            args.push(format!("{name}: {value}"));
        }
        args.push(url.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = self.exec(ns, &self.tools.curl, &args);
        cmd.env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
        let out = run(&mut cmd);
        let (body, status) = out.rsplit_once('\n').expect("curl wrote the status");
        (
            status.trim().parse().expect("an HTTP status"),
            body.to_owned(),
        )
    }

    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for p in &self.procs {
            let log = std::fs::read_to_string(&p.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let _ = writeln!(out, "--- {} ({})", p.name, p.log.display());
            for line in tail.into_iter().rev() {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        stop_all(&mut self.procs);
        for ns in self.namespaces.iter().rev() {
            let out = Command::new(&self.tools.ip)
                .args(["netns", "del", ns])
                .output();
            if !out.is_ok_and(|o| o.status.success()) {
                say(&format!("e2e: could not delete namespace {ns}"));
            }
        }
    }
}

/// An nginx configuration: one process, in the foreground, every file
/// under `dir`.
pub fn nginx_conf(dir: &TempDir, name: &str, http: &str) -> String {
    let d = dir.0.display();
    format!(
        "master_process off;\n\
         daemon off;\n\
         pid {d}/{name}.pid;\n\
         error_log {d}/{name}.error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         access_log off;\n\
         default_type text/plain;\n\
         client_body_temp_path {d}/{name}.body;\n\
         proxy_temp_path {d}/{name}.proxy;\n\
         fastcgi_temp_path {d}/{name}.fastcgi;\n\
         uwsgi_temp_path {d}/{name}.uwsgi;\n\
         scgi_temp_path {d}/{name}.scgi;\n\
         {http}\n\
         }}\n"
    )
}
