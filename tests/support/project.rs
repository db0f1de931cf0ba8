//! A throwaway outbound project for the tests that run the binary against moto: manifests in
//! a temp dir, a state file of its own, and a region of its own in the emulator.
//!
//! ```ignore
//! let p = Project::new();
//! p.write("c.yaml", &connection("acme", "Orders API"));
//! p.apply();                                        // exit 0 or the test fails
//! outside(&p.region, async |aws| aws.delete_connector(&id).await.unwrap());
//! let plan = p.plan();                              // `plan --detailed-exitcode`
//! p.assert_no_changes();
//! ```
#![allow(dead_code)] // each test binary uses a part of this

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use outbound::aws::Aws;
use outbound::resource::ConnectorId;

/// The value of `ACME_API_KEY`, the secret the tests' manifests name: no run may print it.
pub const CANARY: &str = "CANARY-SECRET-5f3a91";

/// A temp dir with `manifests/` and `state.json`, and the region outbound runs in.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub region: String,
    /// `OUTBOUND_STATE` when not the local `state.json` (an `s3://` URL).
    pub state_location: Option<String>,
}

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Project {
    /// A project in a region no other test of this binary uses.
    pub fn new() -> Self {
        Project::in_region(super::region())
    }

    /// A project (its own state) in `region`, which another project may share.
    pub fn in_region(region: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("manifests")).unwrap();
        Project {
            dir,
            region,
            state_location: None,
        }
    }

    /// This project with its state at `location` (`s3://bucket/key`) instead of `state.json`.
    pub fn with_state(mut self, location: &str) -> Self {
        self.state_location = Some(location.to_owned());
        self
    }

    /// Writes (or overwrites) `manifests/<file>`.
    pub fn write(&self, file: &str, yaml: &str) -> &Self {
        std::fs::write(self.dir.path().join("manifests").join(file), yaml).unwrap();
        self
    }

    pub fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.path().join("manifests").join(file)).unwrap();
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_path()).unwrap()).unwrap()
    }

    /// The addresses the state records, in its order.
    pub fn managed(&self) -> Vec<String> {
        self.state()["resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// The recorded `c-…` id of a connector.
    pub fn connector_id(&self, name: &str) -> ConnectorId {
        let id = &self.state()["resources"][format!("Connector/{name}")]["id"];
        ConnectorId::parse(id.as_str().unwrap()).unwrap()
    }

    /// `outbound ARGS` in this project: the emulator's environment, this state file, no
    /// colour, and the secrets the manifests name.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outbound"));
        cmd.current_dir(self.dir.path()).args(args);
        for k in super::ENV_REMOVE {
            cmd.env_remove(k);
        }
        cmd.envs(super::cli_env(&self.region))
            .env(
                "OUTBOUND_STATE",
                self.state_location
                    .clone()
                    .unwrap_or_else(|| self.state_path().display().to_string()),
            )
            .env("NO_COLOR", "1")
            .env("ACME_API_KEY", CANARY)
            .env("BASIC_PASSWORD", "basic-password-value")
            .env("CONV_SECRET", "conv-secret-value");
        cmd
    }

    /// Runs outbound; no run may panic or print the canary secret.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// [`Self::run`] with more secrets in the environment: none of `secrets`' values may be
    /// printed either.
    pub fn run_with_env(&self, args: &[&str], secrets: &[(&str, &str)]) -> Run {
        let out: Output = self
            .command(args)
            .envs(secrets.iter().copied())
            .output()
            .unwrap();
        Run::checked_with(out, secrets)
    }
}

impl Run {
    /// The run `out` tells of; no run may panic or print the canary secret.
    pub fn checked(out: Output) -> Run {
        Run::checked_with(out, &[])
    }

    /// [`Self::checked`], and none of `secrets`' values may be printed either.
    pub fn checked_with(out: Output, secrets: &[(&str, &str)]) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "outbound panicked:\n{}",
            run.stderr
        );
        for secret in secrets.iter().map(|(_, v)| *v).chain([CANARY]) {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a secret leaked:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
        run
    }
}

impl Project {
    /// Starts outbound without waiting for it (stdout and stderr discarded), e.g. to kill it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `apply --auto-approve`, which must succeed.
    pub fn apply(&self) -> Run {
        let run = self.run(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "apply failed:\n{}\n{}", run.stdout, run.stderr);
        run
    }

    /// `plan --detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "--detailed-exitcode"])
    }

    /// `drift ARGS`.
    pub fn drift(&self, args: &[&str]) -> Run {
        let mut all = vec!["drift"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn assert_no_changes(&self) {
        let plan = self.plan();
        assert_eq!(
            plan.code, 0,
            "expected an empty plan:\n{}\n{}",
            plan.stdout, plan.stderr
        );
        assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
    }

    /// The operations the proxy recorded in this region, in order.
    pub fn operations(&self) -> Vec<String> {
        super::moto().operations(&self.region)
    }

    /// [`Self::operations`] without the reads (`Describe*`, `List*`, and the account guard's
    /// `GetCallerIdentity`).
    pub fn mutations(&self) -> Vec<String> {
        self.operations()
            .into_iter()
            .filter(|o| !o.starts_with("Describe") && !o.starts_with("List"))
            .filter(|o| o != "GetCallerIdentity")
            .collect()
    }

    /// insta filters that make this project's output stable: ARNs, connector ids, times,
    /// the region and the temp dir. Use as
    /// `filters => p.redactions().iter().map(|(r, to)| (r.as_str(), *to))`.
    pub fn redactions(&self) -> Vec<(String, &'static str)> {
        vec![
            (r#"arn:aws:[^"\s`|,)]+"#.to_owned(), "[arn]"),
            (r"\bc-[0-9a-f]{17}\b".to_owned(), "c-[id]"),
            (
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?".to_owned(),
                "[time]",
            ),
            (regex::escape(&self.region), "[region]"),
            (regex::escape(&self.dir.path().to_string_lossy()), "[dir]"),
            // What is left of an id after a long ARN was wrapped (the text plan fits its width).
            (
                r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b".to_owned(),
                "[uuid]",
            ),
        ]
    }
}

/// Changes AWS the way a person in the console would: the SDK straight to moto, so the call
/// is not in the proxy's log and meets no armed fault.
pub fn outside<T>(region: &str, f: impl AsyncFnOnce(&Aws) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let aws = Aws::connect_with_credentials(
            &super::direct_options(region),
            super::ACCESS_KEY_ID,
            super::SECRET_ACCESS_KEY,
            vec![],
        )
        .await
        .unwrap();
        f(&aws).await
    })
}

// ---- Manifests the tests write -------------------------------------------------------

/// An API-key connection with a literal and a secret header.
pub fn connection(name: &str, description: &str) -> String {
    format!(
        "apiVersion: outbound/v1
kind: Connection
metadata: {{ name: {name} }}
spec:
  description: {description}
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters:
      apiKeyName: x-api-key
      apiKeyValue: {{ fromEnv: ACME_API_KEY }}
    invocationHttpParameters:
      headerParameters:
        - {{ key: X-Env, value: prod }}
        - {{ key: X-Signature, value: {{ fromEnv: ACME_API_KEY }} }}
"
    )
}

/// An API destination on `connection`.
pub fn destination(name: &str, connection: &str, rate: u32) -> String {
    format!(
        "apiVersion: outbound/v1
kind: ApiDestination
metadata: {{ name: {name} }}
spec:
  description: Orders for {connection}
  connection: {connection}
  invocationEndpoint: https://api.example.com/{name}
  httpMethod: POST
  invocationRateLimitPerSecond: {rate}
"
    )
}

/// An AS2 connector with every algorithm set.
pub fn connector(name: &str, subject: &str) -> String {
    format!(
        "apiVersion: outbound/v1
kind: Connector
metadata: {{ name: {name} }}
spec:
  url: https://as2.partner.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config:
    localProfileId: p-0123456789abcdef0
    partnerProfileId: p-0fedcba9876543210
    messageSubject: {subject}
    compression: ZLIB
    encryptionAlgorithm: AES256_CBC
    signingAlgorithm: SHA256
    mdnSigningAlgorithm: DEFAULT
    mdnResponse: SYNC
  tags: {{ team: edi }}
"
    )
}
