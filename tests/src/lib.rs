//! Shared helpers for the integration tests: locating the built binaries and running them.

use std::path::PathBuf;

/// The workspace's `target/` directory, found from the running test executable
/// (`target/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // .../target/<profile>/deps/test-xxxx -> .../target
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .expect("test executable lives in target/<profile>/deps")
}

/// The directory of the profile the tests were built with (`target/release`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(2)
        .map(PathBuf::from)
        .expect("test executable lives in target/<profile>/deps")
}

/// Path of a binary built by this workspace in the same profile, or a panic that says
/// how to build it (a missing binary must fail the test, never skip it).
pub fn workspace_bin(name: &str) -> PathBuf {
    let p = profile_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build it first (`cargo build --release -p launcher`, see README)",
        p.display()
    );
    p
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub mod console;
pub mod run;
