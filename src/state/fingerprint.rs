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

/// `argon2id$m=…,t=…,p=…$<hash>` of `value` at `address` / `pointer`.
pub fn fingerprint(salt: &str, address: &Address, pointer: &str, value: &SecretValue) -> String {
    let params =
        Params::new(M_COST, T_COST, P_COST, Some(32)).expect("constant parameters are valid");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salted = format!("{salt}|{address}|{pointer}");
    let mut out = [0u8; 32];
    argon
        .hash_password_into(value.expose().as_bytes(), salted.as_bytes(), &mut out)
        .expect("salt and output lengths are valid");
    format!(
        "argon2id$m={M_COST},t={T_COST},p={P_COST}${}",
        B64.encode(out)
    )
}
