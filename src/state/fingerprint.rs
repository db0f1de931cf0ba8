//! Secret fingerprints: Argon2id over the value, salted with the state's salt and the secret's
//! place, so equal secrets in two places (or two states) do not match and a leaked state does
//! not make guessing cheap.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

use crate::manifest::secret::SecretValue;
use crate::resource::Address;

/// Memory (KiB), passes and lanes. Memory-hard enough that a guess costs real work, cheap
/// enough that a plan over 100 connections stays well under a second on two cores.
const M_COST: u32 = 8 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// A random salt for a new state.
pub fn new_salt() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    B64.encode([a.as_bytes().as_slice(), b.as_bytes().as_slice()].concat())
}

/// `argon2id$m=…,t=…,p=…$<hash>` of `value` at `address` / `path`.
pub fn fingerprint(salt: &str, address: &Address, path: &str, value: &SecretValue) -> String {
    Fingerprinter::new().fingerprint(salt, address, path, value)
}

/// Takes fingerprints with one working memory, allocated once: a fresh 8 MiB per hash is
/// what the allocator would otherwise keep around.
pub struct Fingerprinter {
    argon: Argon2<'static>,
    memory: Vec<argon2::Block>,
}

impl Fingerprinter {
    #[allow(
        clippy::expect_used,
        reason = "the Argon2 parameters are constants known to be valid"
    )]
    pub fn new() -> Self {
        let params =
            Params::new(M_COST, T_COST, P_COST, Some(32)).expect("constant parameters are valid");
        let memory = vec![argon2::Block::default(); params.block_count()];
        Fingerprinter {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            memory,
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "the salt and output lengths are constants Argon2 accepts"
    )]
    pub fn fingerprint(
        &mut self,
        salt: &str,
        address: &Address,
        path: &str,
        value: &SecretValue,
    ) -> String {
        let salted = format!("{salt}|{address}|{path}");
        let mut out = [0u8; 32];
        self.argon
            .hash_password_into_with_memory(
                value.expose().as_bytes(),
                salted.as_bytes(),
                &mut out,
                &mut self.memory,
            )
            .expect("salt and output lengths are valid");
        format!(
            "argon2id$m={M_COST},t={T_COST},p={P_COST}${}",
            B64.encode(out)
        )
    }
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new()
    }
}

/// Fingerprints of every secret of `desired`, by address and path, computed on all cores.
#[allow(
    clippy::expect_used,
    reason = "a fingerprint thread that panicked is a bug"
)]
pub fn all(
    desired: &crate::manifest::DesiredState,
    salt: &str,
) -> std::collections::BTreeMap<Address, std::collections::BTreeMap<String, String>> {
    let mut jobs = Vec::new();
    for (address, r) in &desired.resources {
        if r.secrets.is_empty() {
            continue;
        }
        let flat = crate::diff::Flat::of(r.spec.kind(), &r.spec.aws_json(&|_| None));
        for (path, pointer) in flat.sensitive() {
            if let Some(value) = r.secrets.get(pointer) {
                jobs.push((address.clone(), path.clone(), value.clone()));
            }
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let chunk = jobs.len().div_ceil(threads).max(1);
    let results: Vec<(Address, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut f = Fingerprinter::new();
                    part.iter()
                        .map(|(a, path, v)| {
                            (a.clone(), path.clone(), f.fingerprint(salt, a, path, v))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("fingerprint threads do not panic"))
            .collect()
    });
    let mut out: std::collections::BTreeMap<Address, std::collections::BTreeMap<String, String>> =
        Default::default();
    for (a, path, fp) in results {
        out.entry(a).or_default().insert(path, fp);
    }
    out
}
