//! What secret fingerprints cost a plan: N generated connections with two secrets each
//! (an API key and a secret header), validated, then fingerprinted the way `plan` does, with
//! Argon2id (the default) and with a key (`OUTBOUND_FINGERPRINT_KEY`), on a first run, on a run
//! whose state holds the secret checks (nothing changed), with one secret changed, and on a
//! state without checks (how every run went before them). Prints, per case, the wall time and
//! the CPU time (user + system, from /proc/self/stat) of the fingerprinting alone.
//!
//! cargo run --release --example fingerprint_cost -- [CONNECTIONS]     (default 3000)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a measuring script: it prints its figures and stops on any error"
)]

use std::path::PathBuf;
use std::time::Instant;

use std::collections::BTreeMap;

use outbound::resource::{Address, Arn, FieldPath, ResourceId};
use outbound::state::Record;
use outbound::state::fingerprint::{self, Scheme, Taken};

/// CPU seconds (user + system) this process has used so far; Linux only, 100 ticks a second.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow::anyhow!("bad /proc/self/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// Runs `take` once and prints its wall and CPU time, per secret.
fn measure(name: &str, take: impl FnOnce() -> Taken) -> anyhow::Result<(Taken, f64)> {
    let (cpu, wall) = (cpu_seconds()?, Instant::now());
    let taken = take();
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds()? - cpu);
    let count: usize = taken.fingerprints.values().map(|m| m.len()).sum();
    println!(
        "{name:<44} {count} secrets: wall {wall:.3} s, CPU {cpu:.2} s, {:.3} ms CPU per secret",
        cpu * 1000.0 / count.max(1) as f64
    );
    Ok((taken, wall))
}

/// A state record holding `fingerprints` (the rest does not matter to fingerprinting).
fn record(fingerprints: &BTreeMap<FieldPath, String>) -> Record {
    Record {
        id: ResourceId::name(""),
        arn: Arn::new(""),
        spec: serde_json::Value::Null.into(),
        fingerprints: fingerprints.clone(),
        protect: false,
        live: Default::default(),
        imported: false,
    }
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(Ok(3000), |a| a.parse())
        .map_err(|e| anyhow::anyhow!("CONNECTIONS: {e}"))?;
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "bench-secret-value")?;
    let docs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "apiVersion: outbound/v1
kind: Connection
metadata: {{ name: conn-{i} }}
spec:
  authorizationType: API_KEY
  authParameters:
    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromFile: {path} }} }}
    invocationHttpParameters:
      headerParameters:
        - {{ key: X-Signature, value: {{ fromFile: {path} }} }}
",
                path = secret.display()
            )
        })
        .collect();
    std::fs::write(dir.path().join("bench.yaml"), docs.join("---\n"))?;
    let desired = outbound::manifest::validate(&[PathBuf::from(dir.path())])
        .map_err(|d| anyhow::anyhow!("invalid manifests: {d:?}"))?;
    let salt = fingerprint::new_salt();
    let key = Scheme::from_key(Some(b"a-benchmark-key-of-at-least-32-bytes".to_vec()))?;
    let (none, no_checks) = (BTreeMap::new(), BTreeMap::new());
    // 1. A first run: every secret, in Argon2id and with a key.
    let (first, _) = measure("argon2id, first run (no state)", || {
        fingerprint::all_with(&desired, &salt, &Scheme::Argon2id, &none, &no_checks)
    })?;
    measure("hmac-sha256, first run (no state)", || {
        fingerprint::all_with(&desired, &salt, &key, &none, &no_checks)
    })?;
    // 2. The state an apply of the first run writes: its fingerprints and checks.
    let recorded: BTreeMap<Address, Record> = first
        .fingerprints
        .iter()
        .map(|(a, fps)| (a.clone(), record(fps)))
        .collect();
    measure("argon2id, no secret changed (checks hold)", || {
        fingerprint::all_with(&desired, &salt, &Scheme::Argon2id, &recorded, &first.checks)
    })?;
    // 3. One secret changed: its bucket is fingerprinted again.
    let mut changed = recorded.clone();
    if let Some(r) = changed.values_mut().next() {
        r.fingerprints
            .values_mut()
            .for_each(|f| *f = "argon2id$other".into());
    }
    measure("argon2id, one secret changed", || {
        fingerprint::all_with(&desired, &salt, &Scheme::Argon2id, &changed, &first.checks)
    })?;
    measure("argon2id, state without checks (before)", || {
        fingerprint::all_with(&desired, &salt, &Scheme::Argon2id, &recorded, &no_checks)
    })?;
    Ok(())
}
