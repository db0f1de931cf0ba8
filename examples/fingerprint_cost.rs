//! What secret fingerprints cost a plan: N generated connections with two secrets each
//! (an API key and a secret header), validated, then fingerprinted the way `plan` does, with
//! Argon2id (the default) and with a key (`OUTBOUND_FINGERPRINT_KEY`). Prints, per scheme, the
//! wall time and the CPU time (user + system, from /proc/self/stat) of the fingerprinting alone.
//!
//! cargo run --release --example fingerprint_cost -- [CONNECTIONS]     (default 3000)

use std::path::PathBuf;
use std::time::Instant;

use outbound::state::fingerprint::{self, Scheme};

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
    for (name, scheme) in [("argon2id", Scheme::Argon2id), ("hmac-sha256", key)] {
        let (cpu, wall) = (cpu_seconds()?, Instant::now());
        let fps = fingerprint::all_with(&desired, &salt, &scheme, &Default::default());
        let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds()? - cpu);
        let count: usize = fps.values().map(|m| m.len()).sum();
        println!(
            "{name:<12} {count} secrets: wall {wall:.3} s, CPU {cpu:.2} s, {:.3} ms CPU per secret",
            cpu * 1000.0 / count.max(1) as f64
        );
    }
    Ok(())
}
