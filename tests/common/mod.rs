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
