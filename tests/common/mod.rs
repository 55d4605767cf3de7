//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The path of an example binary built next to the running test.
///
/// Tests run from `target/<profile>/deps`; `cargo test` builds the examples
/// into `target/<profile>/examples` (a single `cargo test --test NAME` does
/// not, hence the message).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test` (which builds examples) or `cargo build --example {name}`",
        path.display()
    );
    path
}

/// An example server started on a free loopback port, killed and reaped
/// when dropped.
// Each test binary includes this module and uses part of it.
#[allow(dead_code)]
pub struct RunningExample {
    child: std::process::Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Kept open so that the example never writes to a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

#[allow(dead_code)]
impl RunningExample {
    /// Starts example `name` with `--listen 127.0.0.1:0` and `args`, with
    /// `REALIP` set to `realip` (or unset) and `PORT` unset, and waits for
    /// the "listening on http://ADDR" line it prints first.
    pub fn start(name: &str, args: &[&str], realip: Option<&str>) -> Self {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        let mut command = Command::new(example_binary(name));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match realip {
            Some(text) => command.env("REALIP", text),
            None => command.env_remove("REALIP"),
        };
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("the {name} example does not start: {e}"));
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("a piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let addr = read.ok().and_then(|_| {
            line.split("listening on http://")
                .nth(1)?
                .split_whitespace()
                .next()?
                .trim_end_matches(';')
                .parse()
                .ok()
        });
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no \"listening on http://ADDR\" line from {name} {args:?}, got {line:?}");
        };
        Self {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// The next line the example writes on standard output after the
    /// "listening on" line, without its end; `None` once it has closed its
    /// output. Blocks until the line is written: read only a line the
    /// example has written or is about to.
    pub fn stdout_line(&mut self) -> Option<String> {
        use std::io::BufRead;

        let mut line = String::new();
        match self._stdout.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
        }
    }
}

impl Drop for RunningExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
