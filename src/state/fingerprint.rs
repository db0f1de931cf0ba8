//! Secret fingerprints: Argon2id over the value, salted with the state's salt and the secret's
//! place, so equal secrets in two places (or two states) do not match and a leaked state does
//! not make guessing cheap.
//!
//! With `OUTBOUND_FINGERPRINT_KEY` set, an HMAC-SHA256 under that key replaces Argon2id: hundreds
//! of times cheaper to take, and a leaked state without the key gives nothing to guess
//! against at all. Each fingerprint names its algorithm (`argon2id$…`, `hmac-sha256$…`), and a
//! secret is compared in the algorithm its recorded fingerprint was taken with, so switching
//! shows no change where there is none (see [`Scheme`]).

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};

use crate::manifest::secret::SecretValue;
use crate::resource::{Address, FieldPath};

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

/// The environment variable that holds the fingerprint key.
pub const KEY_VAR: &str = "OUTBOUND_FINGERPRINT_KEY";
/// The shortest key accepted: 32 bytes, so the key itself cannot be guessed.
const MIN_KEY_LEN: usize = 32;
const HMAC_PREFIX: &str = "hmac-sha256$";
const ARGON2_PREFIX: &str = "argon2id$";

/// How this run takes new fingerprints.
pub enum Scheme {
    /// Argon2id (the default): a leaked state makes every guess cost 8 MiB and two passes.
    Argon2id,
    /// HMAC-SHA256 under a key kept apart from the state (`OUTBOUND_FINGERPRINT_KEY`).
    Keyed(Key),
}

/// A fingerprint key; its `Debug` does not show it.
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(sensitive)")
    }
}

/// `OUTBOUND_FINGERPRINT_KEY` is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error(
    "{KEY_VAR} is too short ({0} bytes): a fingerprint key needs at least {MIN_KEY_LEN} bytes \
     (e.g. `openssl rand -base64 32`), or leave it unset for Argon2id fingerprints"
)]
pub struct KeyTooShort(usize);

impl Scheme {
    /// The keyed scheme when `OUTBOUND_FINGERPRINT_KEY` is set (and not empty), else Argon2id.
    pub fn from_env() -> Result<Scheme, KeyTooShort> {
        Scheme::from_key(std::env::var_os(KEY_VAR).map(|k| k.into_encoded_bytes()))
    }

    /// The scheme of a key given directly (`None` or empty: Argon2id).
    pub fn from_key(key: Option<Vec<u8>>) -> Result<Scheme, KeyTooShort> {
        match key {
            None => Ok(Scheme::Argon2id),
            Some(k) if k.is_empty() => Ok(Scheme::Argon2id),
            Some(k) if k.len() < MIN_KEY_LEN => Err(KeyTooShort(k.len())),
            Some(k) => Ok(Scheme::Keyed(Key(k))),
        }
    }
}

/// `hmac-sha256$<mac>` of `value` at `address` / `path`, under `key`.
fn keyed(key: &Key, salt: &str, address: &Address, path: &str, value: &SecretValue) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&key.0) else {
        unreachable!("HMAC takes keys of any length")
    };
    // NUL-separated: none of salt (base64), address and path contains one.
    for part in [
        b"outbound-fingerprint-v1".as_slice(),
        salt.as_bytes(),
        address.to_string().as_bytes(),
        path.as_bytes(),
    ] {
        mac.update(part);
        mac.update(b"\0");
    }
    mac.update(value.expose().as_bytes());
    format!("{HMAC_PREFIX}{}", B64.encode(mac.finalize().into_bytes()))
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

/// Argon2id fingerprints of every secret of `desired`, by address and path (see [`all_with`]).
pub fn all(
    desired: &crate::manifest::DesiredState,
    salt: &str,
) -> std::collections::BTreeMap<Address, std::collections::BTreeMap<FieldPath, String>> {
    all_with(desired, salt, &Scheme::Argon2id, &Default::default())
}

/// Fingerprints of every secret of `desired`, by address and path, computed on all cores.
///
/// A secret whose fingerprint in `recorded` (the state's, by address and path) was taken with
/// Argon2id is compared in Argon2id, whatever the scheme, so turning the key on shows no change
/// where there is none: an unchanged secret keeps its recorded fingerprint, a changed one gets
/// the keyed fingerprint (recorded when apply sends it). A fingerprint recorded with a key
/// cannot be checked without the key: the secret shows as changed and apply sends it again
/// (warned on stderr).
#[allow(
    clippy::expect_used,
    reason = "a fingerprint thread that panicked is a bug"
)]
pub fn all_with(
    desired: &crate::manifest::DesiredState,
    salt: &str,
    scheme: &Scheme,
    recorded: &std::collections::BTreeMap<Address, crate::state::Record>,
) -> std::collections::BTreeMap<Address, std::collections::BTreeMap<FieldPath, String>> {
    type Fingerprints =
        std::collections::BTreeMap<Address, std::collections::BTreeMap<FieldPath, String>>;
    let key = match scheme {
        Scheme::Keyed(key) => Some(key),
        Scheme::Argon2id => None,
    };
    let mut out = Fingerprints::new();
    // Argon2id jobs: the address, path, value and the recorded fingerprint.
    let mut jobs = Vec::new();
    let mut unverifiable = 0;
    for (address, r) in &desired.resources {
        if r.secrets.is_empty() {
            continue;
        }
        let flat = crate::diff::Flat::of(r.spec.kind(), &r.spec.aws_json(&|_| None));
        for path in flat.sensitive() {
            let Some(value) = r.secrets.get(&path.pointer()) else {
                continue;
            };
            let was = recorded
                .get(address)
                .and_then(|rec| rec.fingerprints.get(path));
            let recorded_argon2 = was.is_some_and(|w| w.starts_with(ARGON2_PREFIX));
            match key {
                Some(key) if !recorded_argon2 => {
                    let fp = keyed(key, salt, address, path.as_str(), value);
                    out.entry(address.clone())
                        .or_default()
                        .insert(path.clone(), fp);
                }
                _ => {
                    unverifiable += usize::from(
                        key.is_none() && was.is_some_and(|w| w.starts_with(HMAC_PREFIX)),
                    );
                    jobs.push((address, path.clone(), value, was));
                }
            }
        }
    }
    if unverifiable > 0 {
        tracing::warn!(
            "{unverifiable} secret fingerprints in the state were taken with {KEY_VAR}, which \
             is not set: they cannot be compared, so their secrets show as changed and apply \
             sends them again"
        );
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let chunk = jobs.len().div_ceil(threads).max(1);
    let results: Vec<(Address, FieldPath, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut f = Fingerprinter::new();
                    part.iter()
                        .map(|(a, path, v, was)| {
                            let (a, was) = (*a, *was);
                            let mut fp = f.fingerprint(salt, a, path.as_str(), v);
                            // Changed under a key: from now on the keyed fingerprint.
                            if let Some(key) = key.filter(|_| was != Some(&fp)) {
                                fp = keyed(key, salt, a, path.as_str(), v);
                            }
                            (a.clone(), path.clone(), fp)
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
    for (a, path, fp) in results {
        out.entry(a).or_default().insert(path, fp);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_decides_the_scheme_and_a_short_one_is_refused_unshown() {
        assert!(matches!(Scheme::from_key(None), Ok(Scheme::Argon2id)));
        assert!(matches!(
            Scheme::from_key(Some(vec![])),
            Ok(Scheme::Argon2id)
        ));
        let short = Scheme::from_key(Some(b"0123456789".to_vec()));
        let Err(e) = short else {
            panic!("a 10-byte key was accepted")
        };
        assert!(e.to_string().contains("too short (10 bytes)"), "{e}");
        assert!(!e.to_string().contains("0123456789"), "{e}");
        let long = Scheme::from_key(Some([b'k'; 32].to_vec()));
        assert!(matches!(long, Ok(Scheme::Keyed(_))));
        if let Ok(Scheme::Keyed(k)) = long {
            assert_eq!(format!("{k:?}"), "Key(sensitive)");
        }
    }
}
