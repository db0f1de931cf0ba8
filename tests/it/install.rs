//! `scripts/install.sh`, the install logic of `action.yml`: a release made from the binary
//! under test (archive + `.sha256`, named as `.github/workflows/release.yml` names them) is
//! served by a loopback HTTP server, and the script installs it, refuses a wrong checksum
//! naming both sums, and falls back to `cargo install` where the release has no binary. Also:
//! every third-party action the repository uses is pinned by commit SHA.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use regex::Regex;
use sha2::{Digest, Sha256};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The release target `scripts/install.sh` detects on this machine.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-musl",
        ("linux", "aarch64") => "aarch64-unknown-linux-musl",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        other => {
            panic!("no release target for {other:?}: the install tests run on Linux and macOS")
        }
    }
}

/// A directory served over HTTP on 127.0.0.1 (Python's `http.server`), with its request log.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, log: PathBuf) -> Server {
        let python = std::env::var_os("OUTBOUND_MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(ROOT).join(".venv/bin/python"));
        let script = "import functools, http.server, sys\n\
             h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n\
             s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n\
             print(s.server_address[1], flush=True)\n\
             s.serve_forever()\n";
        let mut child = Command::new(&python)
            .args(["-c", script])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The request lines served so far (`GET /v0.1.0/outbound-….tar.gz HTTP/1.1" 200`).
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"GET "))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A release of the binary under test, as release.yml publishes it:
/// `v{version}/outbound-{target}.tar.gz` (the binary at the archive's root) and
/// `outbound-{target}.tar.gz.sha256` (`<sum>  <file name>`), made once per test run (the
/// debug binary is large) and copied into `dir`. Returns the archive's sha256.
fn make_release(dir: &Path, target: &str) -> String {
    static ARCHIVE: OnceLock<(PathBuf, String)> = OnceLock::new();
    let asset = format!("outbound-{target}.tar.gz");
    let (archive, sum) = ARCHIVE.get_or_init(|| {
        let stage = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("install-release-{}", std::process::id()));
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_outbound"), stage.join("outbound")).unwrap();
        let archive = stage.join("release.tar.gz");
        // gzip -1: the format release.yml uses, at the speed a test wants.
        let status = Command::new("sh")
            .arg("-c")
            .arg("tar -cf - -C \"$1\" outbound | gzip -1 > \"$2\"")
            .arg("sh")
            .arg(&stage)
            .arg(&archive)
            .status()
            .unwrap();
        assert!(status.success());
        let sum = hex(&Sha256::digest(std::fs::read(&archive).unwrap()));
        (archive, sum)
    });
    let release = dir.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(archive, release.join(&asset)).unwrap();
    std::fs::write(
        release.join(format!("{asset}.sha256")),
        format!("{sum}  {asset}\n"),
    )
    .unwrap();
    sum.clone()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A throwaway release server and runner directory.
struct Fixture {
    dir: tempfile::TempDir,
    server: Server,
    sum: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        let sum = make_release(&www, host_target());
        let server = Server::start(&www, dir.path().join("server.log"));
        Fixture { dir, server, sum }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn root(&self) -> PathBuf {
        self.path("root")
    }

    /// `scripts/install.sh COMMAND` as the action runs it (GITHUB_PATH and GITHUB_OUTPUT are
    /// files here), with `extra` settings.
    fn run(&self, command: &str, extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(ROOT).join("scripts/install.sh"))
            .arg(command)
            .env("OUTBOUND_VERSION", VERSION)
            .env("OUTBOUND_REPOSITORY", "acme/outbound")
            .env("OUTBOUND_BASE_URL", &self.server.url)
            .env("OUTBOUND_ROOT", self.root())
            .env("GITHUB_PATH", self.path("github_path"))
            .env("GITHUB_OUTPUT", self.path("github_output"))
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env_remove("OUTBOUND_TOKEN")
            .env_remove("OUTBOUND_TARGET")
            .env_remove("OUTBOUND_FALLBACK_DRY_RUN")
            .env_remove("GITHUB_ACTION_REF");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn installs_the_release_binary_verified_and_puts_it_on_path() {
    let f = Fixture::new();
    let out = f.run("install", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let exe = f.root().join("bin/outbound");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("sha256 {} verified", f.sum)),
        "{}",
        text(&out)
    );
    // The binary on PATH answers with the release's version.
    let version = Command::new(&exe).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with(&format!("outbound {VERSION} ")),
        "{}",
        text(&version)
    );
    assert_eq!(
        f.read("github_path"),
        format!("{}\n", f.root().join("bin").display())
    );
    assert!(
        f.read("github_output")
            .contains(&format!("path={}\n", exe.display())),
        "{}",
        f.read("github_output")
    );
    let target = host_target();
    let served = f.server.requests();
    assert_eq!(served.len(), 2, "{served:#?}");
    assert!(
        served[0].contains(&format!("GET /v{VERSION}/outbound-{target}.tar.gz HTTP"))
            && served[1].contains(&format!(
                "GET /v{VERSION}/outbound-{target}.tar.gz.sha256 HTTP"
            )),
        "{served:#?}"
    );

    // A second run (the action after a cache restore) downloads nothing.
    let out = f.run("install", &[("OUTBOUND_VERSION", &format!("v{VERSION}"))]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already in"),
        "{}",
        text(&out)
    );
    assert_eq!(f.server.requests().len(), 2, "{:#?}", f.server.requests());
}

#[test]
fn a_wrong_checksum_is_refused_naming_both_sums() {
    let f = Fixture::new();
    let asset = format!("outbound-{}.tar.gz", host_target());
    let wrong = "0".repeat(64);
    std::fs::write(
        f.path(&format!("www/v{VERSION}/{asset}.sha256")),
        format!("{wrong}  {asset}\n"),
    )
    .unwrap();
    let out = f.run("install", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: checksum mismatch for {asset}: expected sha256 {wrong}"
        )) && stderr.contains(&format!("got {}", f.sum)),
        "{}",
        text(&out)
    );
    assert!(!f.root().join("bin").exists(), "something was installed");
    assert_eq!(f.read("github_path"), "", "PATH was changed");
}

#[test]
fn a_release_without_a_checksum_installs_nothing() {
    let f = Fixture::new();
    let asset = format!("outbound-{}.tar.gz", host_target());
    std::fs::remove_file(f.path(&format!("www/v{VERSION}/{asset}.sha256"))).unwrap();
    let out = f.run("install", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the archive cannot be verified"),
        "{}",
        text(&out)
    );
    assert!(!f.root().join("bin").exists(), "something was installed");
}

/// A platform the release has no binary for: the script asks the server (404), then builds
/// with `cargo install --locked` from the tag. The command is checked, not run.
#[test]
fn a_missing_platform_falls_back_to_cargo_install() {
    let f = Fixture::new();
    let out = f.run(
        "install",
        &[
            ("OUTBOUND_TARGET", "riscv64gc-unknown-linux-gnu"),
            ("OUTBOUND_FALLBACK_DRY_RUN", "1"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let root = f.root();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "would run: cargo install --locked --git https://github.com/acme/outbound \
             --tag v{VERSION} --root {} outbound\n",
            root.display()
        ),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "release v{VERSION} has no outbound-riscv64gc-unknown-linux-gnu.tar.gz"
        )),
        "{}",
        text(&out)
    );
    let served = f.server.requests();
    assert!(
        served.len() == 1 && served[0].contains("\" 404 "),
        "{served:#?}"
    );
}

#[test]
fn the_version_comes_from_the_input_or_the_action_ref() {
    let f = Fixture::new();
    // No input: the action's own tag (`uses: OWNER/outbound@v0.1.0`).
    let out = f.run(
        "resolve",
        &[
            ("OUTBOUND_VERSION", ""),
            ("OUTBOUND_ACTION_REF", &format!("v{VERSION}")),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let output = f.read("github_output");
    for line in [
        format!("version={VERSION}\n"),
        format!("tag=v{VERSION}\n"),
        format!("target={}\n", host_target()),
        format!("dir={}\n", f.root().display()),
    ] {
        assert!(output.contains(&line), "{line:?} not in {output}");
    }
    // A branch ref with no input, or a version that is not one, is refused.
    for (input, action_ref, message) in [
        ("", "main", "the action's ref `main` is not a version tag"),
        ("latest", "", "`latest` is not a release version"),
    ] {
        let out = f.run(
            "resolve",
            &[
                ("OUTBOUND_VERSION", input),
                ("OUTBOUND_ACTION_REF", action_ref),
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{}",
            text(&out)
        );
    }
}

/// Third-party actions run with the workflow's token and credentials: every `uses:` in the
/// release workflow, the action and the example workflows names a full commit SHA and, in a
/// comment, the tag it is. outbound's own action (`acme/outbound@vX.Y.Z` in the examples) is
/// the exception: its tag is the version it installs.
#[test]
fn every_action_used_is_pinned_by_commit_sha() {
    let uses = Regex::new(r"(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$").unwrap();
    let pinned = Regex::new(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$").unwrap();
    let tag = Regex::new(r"^\s*#\s*v\d").unwrap();
    let mut files = vec![Path::new(ROOT).join("action.yml")];
    for dir in [".github/workflows", "examples/ci/github"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for c in uses.captures_iter(&text) {
            seen += 1;
            if c[1].starts_with("acme/outbound@v") {
                continue;
            }
            assert!(
                pinned.is_match(&c[1]),
                "{}: `{}` is not pinned by commit SHA",
                file.display(),
                &c[1]
            );
            assert!(
                tag.is_match(&c[2]),
                "{}: `{}` names no tag in a comment",
                file.display(),
                &c[1]
            );
        }
    }
    assert!(seen >= 10, "only {seen} `uses:` found in {files:?}");
}

/// One Rust version everywhere: `rust-version` in Cargo.toml is the version README and
/// docs/ci.md name and release.yml builds with, and no other `Rust X.Y` is mentioned.
#[test]
fn one_rust_version_everywhere() {
    let read = |p: &str| std::fs::read_to_string(Path::new(ROOT).join(p)).unwrap();
    let cargo = read("Cargo.toml");
    let version = Regex::new(r#"(?m)^rust-version = "([0-9.]+)"$"#)
        .unwrap()
        .captures(&cargo)
        .expect("Cargo.toml has a rust-version")[1]
        .to_owned();
    let mention = Regex::new(r"Rust (?:≥ )?([0-9]+\.[0-9]+(?:\.[0-9]+)?)").unwrap();
    for file in ["README.md", "docs/ci.md"] {
        let text = read(file);
        let found: Vec<&str> = mention
            .captures_iter(&text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        assert!(!found.is_empty(), "{file} names no Rust version");
        assert!(
            found.iter().all(|v| *v == version),
            "{file} names Rust {found:?}, Cargo.toml {version}"
        );
    }
    assert!(
        read(".github/workflows/release.yml").contains(&format!("RUST_VERSION: \"{version}\"")),
        "release.yml does not build with Rust {version}"
    );
}

/// action.yml drives scripts/install.sh: its steps run the script's two commands, and every
/// variable a step sets is one the script reads.
#[test]
fn the_action_runs_the_script_with_variables_it_reads() {
    let read = |p: &str| std::fs::read_to_string(Path::new(ROOT).join(p)).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&read("action.yml")).unwrap();
    let script = read("scripts/install.sh");
    let mut commands = Vec::new();
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step["run"].as_str() {
            let command = run
                .strip_prefix("bash \"$GITHUB_ACTION_PATH/scripts/install.sh\" ")
                .unwrap_or_else(|| panic!("a step runs something else: {run}"));
            commands.push(command.trim().to_owned());
        }
        for key in step["env"].as_mapping().into_iter().flatten() {
            let key = key.0.as_str().unwrap();
            assert!(
                script.contains(&format!("${{{key}")) || script.contains(&format!("${key}")),
                "action.yml sets {key}, which scripts/install.sh does not read"
            );
        }
    }
    assert_eq!(commands, ["resolve", "install"]);
}
