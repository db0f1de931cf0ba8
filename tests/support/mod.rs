//! Shared by the integration tests (`mod support;`): one moto emulator per test binary (moto
//! with outbound's extensions behind the call-recording, fault-injecting proxy, from
//! `tests/support/moto/`), a region of its own for every test, and the proxy's control API.
//!
//! ```ignore
//! let region = support::region();                   // unique in this test binary
//! let moto = support::moto();                       // started on first use, shared
//! // point outbound at `moto.proxy` (`--endpoint-url`) in `region`, with `support::cli_env`
//! moto.fault(&region, json!({"operation": "CreateConnector", "fault": "throttle"}));
//! assert_eq!(moto.operations(&region), ["CreateConnector", "CreateConnector"]);
//! ```
//!
//! `project::Project` builds on this: a throwaway project that runs the `outbound` binary.
//!
//! The launcher runs with `OUTBOUND_MOTO_PYTHON`, else `<repo>/.venv/bin/python` (made by
//! `scripts/moto-venv.sh`); without one the tests fail, they never skip. It exits when this
//! process does (its stdin is a pipe held here). Its log is `moto-<binary>-<pid>.log` in
//! cargo's `CARGO_TARGET_TMPDIR`. See docs/testing.md for the emulator's behaviour.
#![allow(dead_code)] // each test binary uses a part of this

pub mod project;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use outbound::aws::AwsOptions;

/// The dummy credentials every test uses; moto maps them to [`ACCOUNT`].
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";
pub const ACCOUNT: &str = "123456789012";

/// Variables a process talking to the emulator must not inherit: they could point the SDK
/// at a real account.
pub const ENV_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "OUTBOUND_RATE_LIMIT",
    "OUTBOUND_FINGERPRINT_KEY",
];

/// Real commercial region names known to both services in the `aws` partition
/// (docs/testing.md); after these, [`region`] hands out `test-0001`, `test-0002`, … which the
/// launcher's `MOTO_ALLOW_NONEXISTENT_REGION` accepts.
const REGIONS: [&str; 34] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-east-1",
    "ap-east-2",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "af-south-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// A region no other test of this binary gets: moto keeps resources per region, and the call
/// log, faults and knobs are scoped by it.
pub fn region() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    match REGIONS.get(n) {
        Some(name) => (*name).to_owned(),
        None => format!("zz-test-{}", n + 1 - REGIONS.len()),
    }
}

/// The emulator of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

/// [`AwsOptions`] that point the AWS layer at the proxy in `region` (calls are logged).
pub fn aws_options(region: &str) -> AwsOptions {
    AwsOptions {
        region: Some(region.to_owned()),
        profile: None,
        endpoint_url: Some(moto().proxy.clone()),
        ..AwsOptions::default()
    }
}

/// [`AwsOptions`] that go straight to moto: setup or "changes outside outbound" that must not
/// appear in the call log nor meet armed faults.
pub fn direct_options(region: &str) -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(moto().moto.clone()),
        ..aws_options(region)
    }
}

/// Environment for a process (the `outbound` binary) that talks to the emulator in `region`:
/// the dummy credentials, no metadata service, no profile files, the proxy as endpoint. Remove
/// [`ENV_REMOVE`] as well.
pub fn cli_env(region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_ENDPOINT_URL", moto().proxy.clone()),
    ]
}

/// A running launcher: moto and the proxy in front of it.
pub struct Moto {
    /// moto itself, `http://127.0.0.1:P1`: bypasses the call log and faults.
    pub moto: String,
    /// The proxy, `http://127.0.0.1:P2`: the endpoint tests use.
    pub proxy: String,
    pub pid: u32,
    /// The launcher's log (moto's requests, tracebacks).
    pub log: PathBuf,
    /// Held for its stdin: the launcher exits when this process does and the pipe closes.
    _child: Mutex<Child>,
}

/// One call as the proxy recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Call {
    pub seq: u64,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub region: Option<String>,
    /// The HTTP status sent; `None` while in flight.
    pub status: Option<u16>,
    /// The injected fault kind.
    pub fault: Option<String>,
    /// The error code of a non-2xx answer.
    pub error: Option<String>,
}

impl Moto {
    /// The steps:
    /// 1. find the python;
    /// 2. spawn the launcher with its stdin piped;
    /// 3. wait for the ready file.
    fn start() -> Moto {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = match std::env::var_os("OUTBOUND_MOTO_PYTHON") {
            Some(p) => PathBuf::from(p),
            None => root.join(".venv/bin/python"),
        };
        if !python.exists() {
            panic!(
                "the moto test emulator's python is missing ({}): run scripts/moto-venv.sh \
                 (or set OUTBOUND_MOTO_PYTHON to a python with moto[server]==5.2.5)",
                python.display()
            );
        }
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".to_owned());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let stem = format!("moto-{binary}-{}", std::process::id());
        let ready = dir.join(format!("{stem}.ready.json"));
        let log = dir.join(format!("{stem}.log"));
        let stderr = dir.join(format!("{stem}.stderr"));
        let _ = fs::remove_file(&ready);
        let stderr_file = fs::File::create(&stderr)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr.display()));

        let mut child = Command::new(&python)
            .arg(root.join("tests/support/moto/launcher.py"))
            .arg("--ready-file")
            .arg(&ready)
            .arg("--log-file")
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e} (run scripts/moto-venv.sh)",
                    python.display()
                )
            });

        let deadline = Instant::now() + Duration::from_secs(60);
        let endpoints: Value = loop {
            if let Ok(text) = fs::read_to_string(&ready)
                && let Ok(v) = serde_json::from_str(&text)
            {
                break v;
            }
            let failure = match child.try_wait() {
                Ok(Some(status)) => Some(format!("the launcher exited ({status})")),
                Ok(None) if Instant::now() > deadline => {
                    Some("the launcher was not ready after 60 s".to_owned())
                }
                Ok(None) => None,
                Err(e) => Some(format!("cannot watch the launcher: {e}")),
            };
            if let Some(failure) = failure {
                let _ = child.kill();
                panic!(
                    "moto did not start: {failure}\n--- stderr ({}):\n{}\n--- log ({}):\n{}",
                    stderr.display(),
                    fs::read_to_string(&stderr).unwrap_or_default(),
                    log.display(),
                    fs::read_to_string(&log).unwrap_or_default(),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = fs::remove_file(&stderr); // empty: the launcher writes nothing once started
        let url = |key: &str| endpoints[key].as_str().unwrap_or_default().to_owned();
        Moto {
            moto: url("moto"),
            proxy: url("proxy"),
            pid: endpoints["pid"].as_u64().unwrap_or_default() as u32,
            log,
            _child: Mutex::new(child),
        }
    }

    /// The calls the proxy recorded in `region`, oldest first.
    pub fn calls(&self, region: &str) -> Vec<Call> {
        let calls = self.control("GET", &format!("/__calls?region={region}"), None);
        serde_json::from_value(calls).unwrap_or_else(|e| panic!("bad call log: {e}"))
    }

    /// The operations called in `region`, in order (each SDK retry is its own entry).
    pub fn operations(&self, region: &str) -> Vec<String> {
        self.calls(region)
            .into_iter()
            .filter_map(|c| c.operation)
            .collect()
    }

    /// How many times `operation` was called in `region`.
    pub fn count(&self, region: &str, operation: &str) -> usize {
        self.calls(region)
            .iter()
            .filter(|c| c.operation.as_deref() == Some(operation))
            .count()
    }

    /// Forgets `region`'s calls.
    pub fn forget_calls(&self, region: &str) {
        self.control("DELETE", &format!("/__calls?region={region}"), None);
    }

    /// Arms a fault rule scoped to `region` (`rule` as in docs/testing.md, without `region`),
    /// e.g. `{"operation": "CreateConnector", "fault": "throttle", "count": 2}`; returns the
    /// stored rule.
    pub fn fault(&self, region: &str, mut rule: Value) -> Value {
        rule["region"] = json!(region);
        self.control("POST", "/__faults", Some(&rule))
    }

    /// Disarms `region`'s fault rules.
    pub fn clear_faults(&self, region: &str) {
        self.control("DELETE", &format!("/__faults?region={region}"), None);
    }

    /// Arms a point at `region`'s Nth AWS call from now (`point` as in docs/testing.md,
    /// without `region`), e.g. `{"call": 7, "when": "after", "action": "hold"}`; returns the
    /// stored point.
    pub fn arm_point(&self, region: &str, mut point: Value) -> Value {
        point["region"] = json!(region);
        self.control("POST", "/__points", Some(&point))
    }

    /// `region`'s points still armed or held, with their `state` (`armed`, `firing`, `held`,
    /// `fired`) and the `operation` they fired on.
    pub fn points(&self, region: &str) -> Vec<Value> {
        match self.control("GET", &format!("/__points?region={region}"), None) {
            Value::Array(points) => points,
            other => panic!("GET /__points: not a list: {other}"),
        }
    }

    /// Releases `region`'s held requests (the client never gets an answer) and disarms its
    /// points; returns how many requests were held.
    pub fn release_points(&self, region: &str) -> u64 {
        self.control("DELETE", &format!("/__points?region={region}"), None)["released"]
            .as_u64()
            .unwrap_or_default()
    }

    /// Sets `region`'s emulator knobs: `{"settleReads": N, "pageSize": M}`.
    pub fn configure(&self, region: &str, mut knobs: Value) -> Value {
        knobs["region"] = json!(region);
        self.control("POST", "/__config", Some(&knobs))
    }

    /// Forces a resource's state in `region`, e.g.
    /// `{"connection": "NAME", "state": "DEAUTHORIZED", "stateReason": "…"}`.
    pub fn set_state(&self, region: &str, mut state: Value) -> Value {
        state["region"] = json!(region);
        self.control("POST", "/__state", Some(&state))
    }

    /// The launcher's log so far.
    /// Throttles EventBridge calls of `region` above `rate` per second (`None`: off).
    pub fn rate_limit(&self, region: &str, rate: Option<u32>) -> Value {
        let body = json!({"region": region, "rate": rate});
        self.control("POST", "/__ratelimit", Some(&body))
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request to the proxy's control API; panics unless it answers 200.
    fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = http(&self.proxy, method, path, body);
        if status != 200 {
            panic!("{method} {path} answered {status}: {text}");
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: bad JSON ({e}): {text}"))
    }
}

/// A blocking HTTP/1.1 request on loopback (std only): `(status, body)`.
fn http(base: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot reach {base}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP status in {head:?}"));
    (status, body.to_owned())
}
