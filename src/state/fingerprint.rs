//! Secret fingerprints: Argon2id over the value, salted with the state's salt and the secret's
//! place, so equal secrets in two places (or two states) do not match and a leaked state does
//! not make guessing cheap.
//!
//! With `OUTBOUND_FINGERPRINT_KEY` set, an HMAC-SHA256 under that key replaces Argon2id: hundreds
//! of times cheaper to take, and a leaked state without the key gives nothing to guess
//! against at all. Each fingerprint names its algorithm (`argon2id$…`, `hmac-sha256$…`), and a
//! secret is compared in the algorithm its recorded fingerprint was taken with, so switching
//! shows no change where there is none (see [`Scheme`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest;

use crate::manifest::DesiredState;
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

/// Where each working memory was dropped (the thread's name), for the tests.
#[cfg(test)]
static DROPPED_ON: std::sync::Mutex<Vec<Option<String>>> = std::sync::Mutex::new(Vec::new());

#[cfg(test)]
impl Drop for Fingerprinter {
    fn drop(&mut self) {
        if let Ok(mut on) = DROPPED_ON.lock() {
            on.push(std::thread::current().name().map(str::to_owned));
        }
    }
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

    /// `argon2id$m=…,t=…,p=…$<hash>` of `value` at `address` / `path`.
    pub fn fingerprint(
        &mut self,
        salt: &str,
        address: &Address,
        path: &str,
        value: &SecretValue,
    ) -> String {
        self.hash(
            value.expose().as_bytes(),
            &format!("{salt}|{address}|{path}"),
        )
    }

    /// The secret check of `bucket`: Argon2id over the bucket's [`digest`].
    fn check(&mut self, salt: &str, bucket: &str, digest: &[u8; 32]) -> String {
        self.hash(digest, &format!("{salt}|check|{bucket}"))
    }

    #[allow(
        clippy::expect_used,
        reason = "the salt and output lengths are constants Argon2 accepts"
    )]
    fn hash(&mut self, password: &[u8], salted: &str) -> String {
        let mut out = [0u8; 32];
        self.argon
            .hash_password_into_with_memory(password, salted.as_bytes(), &mut out, &mut self.memory)
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

/// Fingerprints by address, then by path.
pub type Fingerprints = BTreeMap<Address, BTreeMap<FieldPath, String>>;

/// Argon2id fingerprints of every secret of `desired`, by address and path (see [`all_with`]).
pub fn all(desired: &DesiredState, salt: &str) -> Fingerprints {
    all_with(
        desired,
        salt,
        &Scheme::Argon2id,
        &Default::default(),
        &Default::default(),
    )
    .fingerprints
}

/// What [`all_with`] takes: the fingerprints of this run's secrets, and the secret checks a
/// state holding those fingerprints should keep (empty under a key).
#[derive(Debug, Default)]
pub struct Taken {
    pub fingerprints: Fingerprints,
    pub checks: BTreeMap<String, String>,
}

/// How many buckets the secret checks spread the secrets over: with no secret changed a run
/// takes at most this many Argon2id hashes whatever the number of secrets; with one changed,
/// this many plus the secrets of its bucket.
const BUCKETS: u8 = 64;

/// The bucket of `address`: a byte of its SHA-256, so that buckets do not move when other
/// resources come and go.
fn bucket_of(address: &Address) -> String {
    let digest = sha2::Sha256::digest(address.to_string().as_bytes());
    (digest[0] % BUCKETS).to_string()
}

/// SHA-256 over a bucket's secrets in order, each as its address, path, fingerprint and
/// value, length-prefixed so that no two lists give the same bytes.
fn digest<'a>(
    entries: impl Iterator<Item = (&'a Address, &'a str, &'a str, &'a SecretValue)>,
) -> [u8; 32] {
    let mut sha = sha2::Sha256::new();
    for (address, path, fp, value) in entries {
        for part in [
            address.to_string().as_bytes(),
            path.as_bytes(),
            fp.as_bytes(),
            value.expose().as_bytes(),
        ] {
            sha.update((part.len() as u64).to_le_bytes());
            sha.update(part);
        }
    }
    sha.finalize().into()
}

/// One secret to fingerprint: where it is, its value, and its recorded fingerprint.
struct Job<'a> {
    address: &'a Address,
    path: FieldPath,
    value: &'a SecretValue,
    was: Option<&'a String>,
}

/// Fingerprints of every secret of `desired`, by address and path, computed on all cores.
///
/// **Secret checks** (Argon2id only): the state keeps, per bucket of secrets (by address), an
/// Argon2id hash over every secret of the bucket with its fingerprint (see [`digest`]). When
/// the hash of this run's values and the recorded fingerprints equals the recorded check,
/// nothing in the bucket changed since the check was taken, when those fingerprints were the
/// values' own: the recorded fingerprints stand, and one Argon2id replaces the bucket's
/// dozens. Any other bucket is fingerprinted secret by secret, and gets a new check. A guess
/// at one secret through a check still costs an Argon2id, so a leaked state is no cheaper to
/// attack. Under a key no check is kept: a leaked state then gives nothing to guess against.
///
/// A secret whose fingerprint in `recorded` (the state's, by address and path) was taken with
/// Argon2id is compared in Argon2id, whatever the scheme, so turning the key on shows no change
/// where there is none: an unchanged secret keeps its recorded fingerprint, a changed one gets
/// the keyed fingerprint (recorded when apply sends it). A fingerprint recorded with a key
/// cannot be checked without the key: the secret shows as changed and apply sends it again
/// (warned on stderr).
pub fn all_with(
    desired: &DesiredState,
    salt: &str,
    scheme: &Scheme,
    recorded: &BTreeMap<Address, crate::state::Record>,
    checks: &BTreeMap<String, String>,
) -> Taken {
    let key = match scheme {
        Scheme::Keyed(key) => Some(key),
        Scheme::Argon2id => None,
    };
    let mut taken = Taken::default();
    // 1. The secrets: under a key, those not recorded in Argon2id are hashed at once.
    let mut jobs = Vec::new();
    let mut unverifiable = 0;
    for (address, r) in &desired.resources {
        if r.secrets.is_empty() {
            continue;
        }
        let flat = crate::diff::Flat::of(r.spec.kind(), &r.spec.aws_json(&|_, _| None));
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
                    taken.insert(address, path.clone(), fp);
                }
                _ => {
                    unverifiable += usize::from(
                        key.is_none() && was.is_some_and(|w| w.starts_with(HMAC_PREFIX)),
                    );
                    jobs.push(Job {
                        address,
                        path: path.clone(),
                        value,
                        was,
                    });
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
    match key {
        // 2a. Under a key: Argon2id where it was recorded so, keyed from the first change.
        Some(key) => {
            let all: Vec<&Job> = jobs.iter().collect();
            for (job, fp) in jobs.iter().zip(argon2_each(salt, &all)) {
                let fp = if job.was == Some(&fp) {
                    fp
                } else {
                    keyed(key, salt, job.address, job.path.as_str(), job.value)
                };
                taken.insert(job.address, job.path.clone(), fp);
            }
        }
        // 2b. Argon2id, bucket by bucket.
        None => by_buckets(salt, &jobs, checks, &mut taken),
    }
    free_fingerprinters();
    taken
}

/// The name of the check over every secret (bucket names are numbers).
const WHOLE: &str = "all";

/// Argon2id fingerprints of `jobs` into `taken`. When the check over every secret holds, every
/// recorded fingerprint stands (one Argon2id for the whole run); otherwise a bucket whose
/// check holds keeps its recorded fingerprints, every other one is fingerprinted secret by
/// secret and gets its new check, and the whole gets its new check.
fn by_buckets(salt: &str, jobs: &[Job], checks: &BTreeMap<String, String>, taken: &mut Taken) {
    if jobs.is_empty() {
        return;
    }
    let all: Vec<&Job> = jobs.iter().collect();
    let mut buckets: BTreeMap<String, Vec<&Job>> = BTreeMap::new();
    for job in jobs {
        buckets.entry(bucket_of(job.address)).or_default().push(job);
    }
    // 1. Nothing changed since the whole check was taken: the records and checks stand.
    let whole = BTreeMap::from([(WHOLE.to_owned(), all.clone())]);
    if !checks_holding(salt, &whole, checks).is_empty() {
        for job in jobs {
            let fp = job.was.cloned().unwrap_or_default();
            taken.insert(job.address, job.path.clone(), fp);
        }
        taken.checks = checks
            .iter()
            .filter(|(b, _)| buckets.contains_key(*b) || b.as_str() == WHOLE)
            .map(|(b, c)| (b.clone(), c.clone()))
            .collect();
        return;
    }
    by_each_bucket(salt, buckets, checks, taken);
    // 2. The new whole check, over the fingerprints this run took or kept.
    let fps = &taken.fingerprints;
    let fp_of = |j: &Job| fps.get(j.address).and_then(|m| m.get(&j.path));
    let digest = [(WHOLE.to_owned(), bucket_digest(&all, fp_of))];
    if let Some(check) = check_each(salt, &digest).pop() {
        taken.checks.insert(WHOLE.to_owned(), check);
    }
}

/// [`by_buckets`] bucket by bucket: a bucket whose check holds keeps its recorded
/// fingerprints; every other one is fingerprinted secret by secret, then gets its new check.
fn by_each_bucket(
    salt: &str,
    buckets: BTreeMap<String, Vec<&Job>>,
    checks: &BTreeMap<String, String>,
    taken: &mut Taken,
) {
    // 1. The buckets whose checks hold.
    let held = checks_holding(salt, &buckets, checks);
    // 2. Their recorded fingerprints stand, and their checks.
    let (kept, redo): (Vec<_>, Vec<_>) = buckets.into_iter().partition(|(b, _)| held.contains(b));
    for (bucket, jobs) in kept {
        for job in jobs {
            taken.insert(
                job.address,
                job.path.clone(),
                job.was.cloned().unwrap_or_default(),
            );
        }
        if let Some(check) = checks.get(&bucket) {
            taken.checks.insert(bucket, check.clone());
        }
    }
    // 3. Every other bucket secret by secret, then its new check.
    let redo_jobs: Vec<&Job> = redo
        .iter()
        .flat_map(|(_, jobs)| jobs.iter().copied())
        .collect();
    for (job, fp) in redo_jobs.iter().zip(argon2_each(salt, &redo_jobs)) {
        taken.insert(job.address, job.path.clone(), fp);
    }
    let fps = &taken.fingerprints;
    let new_checks: Vec<(String, [u8; 32])> = redo
        .iter()
        .map(|(bucket, jobs)| {
            let fp_of = |j: &Job| fps.get(j.address).and_then(|m| m.get(&j.path));
            (bucket.clone(), bucket_digest(jobs, fp_of))
        })
        .collect();
    for ((bucket, _), check) in new_checks.iter().zip(check_each(salt, &new_checks)) {
        taken.checks.insert(bucket.clone(), check);
    }
}

/// The [`digest`] of a bucket's secrets, each with the fingerprint `fp_of` gives it.
fn bucket_digest<'a>(
    jobs: &[&'a Job<'a>],
    fp_of: impl Fn(&'a Job<'a>) -> Option<&'a String>,
) -> [u8; 32] {
    digest(jobs.iter().map(|j| {
        let fp = fp_of(j).map_or("", String::as_str);
        (j.address, j.path.as_str(), fp, j.value)
    }))
}

impl Taken {
    fn insert(&mut self, address: &Address, path: FieldPath, fp: String) {
        self.fingerprints
            .entry(address.clone())
            .or_default()
            .insert(path, fp);
    }
}

/// The buckets whose recorded check equals the check of this run's values with their
/// recorded fingerprints (every secret of the bucket must have one).
fn checks_holding(
    salt: &str,
    buckets: &BTreeMap<String, Vec<&Job>>,
    checks: &BTreeMap<String, String>,
) -> std::collections::BTreeSet<String> {
    let candidates: Vec<(String, [u8; 32])> = buckets
        .iter()
        .filter(|(b, jobs)| checks.contains_key(*b) && jobs.iter().all(|j| j.was.is_some()))
        .map(|(b, jobs)| (b.clone(), bucket_digest(jobs, |j| j.was)))
        .collect();
    candidates
        .iter()
        .zip(check_each(salt, &candidates))
        .filter(|((b, _), check)| checks.get(b) == Some(check))
        .map(|((b, _), _)| b.clone())
        .collect()
}

/// The fingerprint workers, one per core (rayon's default count). Every hash runs on them
/// ([`rayon::ThreadPool::install`]), never on the thread that asks: a parallel iterator too
/// short to split runs on its caller's thread, so each environment of `plan --env all`, each
/// on its own thread, held a working memory of its own for its one check (measured: three at
/// once, 25 MB), where the workers bound them to one a core whatever the environments.
static WORKERS: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    #[allow(
        clippy::expect_used,
        reason = "only fails when no thread can be started, as rayon's own global pool"
    )]
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("fingerprint-{i}"))
        .build()
        .expect("the fingerprint workers start")
});

thread_local! {
    /// Each worker's one Argon2 working memory while a run fingerprints. (rayon's `map_init`
    /// makes one per piece of work it splits off: measured, 274 MB of peak memory for 60
    /// secrets, against about 8 MiB a core this way.)
    static FINGERPRINTER: std::cell::RefCell<Option<Fingerprinter>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's [`Fingerprinter`], made on first use.
fn with_fingerprinter<T>(f: impl FnOnce(&mut Fingerprinter) -> T) -> T {
    FINGERPRINTER.with_borrow_mut(|slot| f(slot.get_or_insert_with(Fingerprinter::new)))
}

/// Frees every worker's working memory (8 MiB each): a plan at account scale peaks after
/// fingerprinting, while it builds the plan, and needs none of it then. Each is dropped on its
/// worker (`set`), not handed back in `broadcast`'s answer to live until every worker is done.
fn free_fingerprinters() {
    WORKERS.broadcast(|_| FINGERPRINTER.set(None));
}

/// The Argon2id fingerprint of each job, in order, on the workers.
fn argon2_each(salt: &str, jobs: &[&Job]) -> Vec<String> {
    use rayon::prelude::*;
    WORKERS.install(|| {
        jobs.par_iter()
            .map(|j| {
                with_fingerprinter(|f| f.fingerprint(salt, j.address, j.path.as_str(), j.value))
            })
            .collect()
    })
}

/// The check of each bucket digest, in order, on the workers.
fn check_each(salt: &str, digests: &[(String, [u8; 32])]) -> Vec<String> {
    use rayon::prelude::*;
    WORKERS.install(|| {
        digests
            .par_iter()
            .map(|(bucket, d)| with_fingerprinter(|f| f.check(salt, bucket, d)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` connections `conn-0`… with an API key and a secret header each, read from files in
    /// `dir`; the value of connection `i`'s key is `value-{i}` unless `changed` names it.
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn connections(dir: &std::path::Path, n: usize, changed: Option<usize>) -> DesiredState {
        let docs: Vec<String> = (0..n)
            .map(|i| {
                let value = if changed == Some(i) { "changed".to_owned() } else { format!("value-{i}") };
                std::fs::write(dir.join(format!("k{i}")), value).unwrap();
                format!(
                    "apiVersion: outbound/v1\nkind: Connection\nmetadata: {{ name: conn-{i} }}\nspec:\n  authorizationType: API_KEY\n  authParameters:\n    apiKeyAuthParameters: {{ apiKeyName: x-api-key, apiKeyValue: {{ fromFile: k{i} }} }}\n    invocationHttpParameters:\n      headerParameters:\n        - {{ key: X-Sig, value: {{ fromFile: k{i} }} }}\n"
                )
            })
            .collect();
        std::fs::write(dir.join("c.yaml"), docs.join("---\n")).unwrap();
        crate::manifest::validate(&[dir.join("c.yaml")]).unwrap()
    }

    /// Records holding `fps`, and checks taken over those fingerprints (true or not) and the
    /// values of `desired`: what a state written after a plan of `desired` holds.
    fn state_of(
        desired: &DesiredState,
        salt: &str,
        fps: &Fingerprints,
    ) -> (
        BTreeMap<Address, crate::state::Record>,
        BTreeMap<String, String>,
    ) {
        let records: BTreeMap<Address, crate::state::Record> = fps
            .iter()
            .map(|(a, fps)| {
                let record = crate::state::Record {
                    id: crate::resource::ResourceId::name(a.name.clone()),
                    arn: crate::resource::Arn::new(""),
                    spec: serde_json::Value::Null.into(),
                    fingerprints: fps.clone(),
                    protect: false,
                    live: Default::default(),
                    imported: false,
                };
                (a.clone(), record)
            })
            .collect();
        let mut buckets: BTreeMap<String, Vec<(&Address, FieldPath, &SecretValue, &String)>> =
            BTreeMap::new();
        for (address, r) in &desired.resources {
            let flat = crate::diff::Flat::of(r.spec.kind(), &r.spec.aws_json(&|_, _| None));
            for path in flat.sensitive() {
                if let (Some(value), Some(fp)) =
                    (r.secrets.get(&path.pointer()), fps[address].get(path))
                {
                    let entry = (address, path.clone(), value, fp);
                    buckets
                        .entry(bucket_of(address))
                        .or_default()
                        .push(entry.clone());
                    buckets.entry(WHOLE.to_owned()).or_default().push(entry);
                }
            }
        }
        let mut f = Fingerprinter::new();
        let checks = buckets
            .into_iter()
            .map(|(b, entries)| {
                let d = digest(
                    entries
                        .iter()
                        .map(|(a, p, v, fp)| (*a, p.as_str(), fp.as_str(), *v)),
                );
                let check = f.check(salt, &b, &d);
                (b, check)
            })
            .collect();
        (records, checks)
    }

    /// Every fingerprint of `fps` replaced by a made-up one.
    fn made_up(fps: &Fingerprints) -> Fingerprints {
        fps.iter()
            .map(|(a, m)| {
                (
                    a.clone(),
                    m.keys()
                        .map(|p| (p.clone(), format!("{ARGON2_PREFIX}made-up")))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn a_holding_check_keeps_the_recorded_fingerprints_without_taking_them() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 8, None);
        let real = all(&desired, "salt");
        // Made-up fingerprints under checks taken over them: kept, so none was recomputed.
        let fake = made_up(&real);
        let (records, checks) = state_of(&desired, "salt", &fake);
        let taken = all_with(&desired, "salt", &Scheme::Argon2id, &records, &checks);
        assert_eq!(taken.fingerprints, fake);
        assert_eq!(taken.checks, checks);
        // Without the checks each secret is fingerprinted: the made-up ones show as changed.
        let taken = all_with(
            &desired,
            "salt",
            &Scheme::Argon2id,
            &records,
            &BTreeMap::new(),
        );
        assert_eq!(taken.fingerprints, real);
        // And the checks it hands back hold for the real fingerprints next time.
        let (records, _) = state_of(&desired, "salt", &real);
        let again = all_with(&desired, "salt", &Scheme::Argon2id, &records, &taken.checks);
        assert_eq!(again.fingerprints, real);
        assert_eq!(again.checks, taken.checks);
    }

    /// Each environment of `plan --env all` fingerprints on a thread of its own; a plan with
    /// no secret changed hashes one check, too little for rayon to split off. Hashed on the
    /// asking thread, every environment held an 8 MiB working memory at once.
    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn the_one_check_of_a_plan_is_hashed_on_the_workers_not_the_asking_thread() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 4, None);
        let real = all(&desired, "salt");
        let (records, checks) = state_of(&desired, "salt", &real);
        let (taken, holds_memory) = std::thread::spawn(move || {
            let taken = all_with(&desired, "salt", &Scheme::Argon2id, &records, &checks);
            (taken, FINGERPRINTER.with_borrow(Option::is_some))
        })
        .join()
        .unwrap();
        assert_eq!(
            taken.fingerprints, real,
            "the check held: the recorded ones stand"
        );
        assert!(
            !holds_memory,
            "the asking thread took a working memory of its own"
        );
    }

    /// A worker's working memory is dropped on the worker as it is freed. Handed back to the
    /// thread that frees (in `broadcast`'s answer), each lived until every worker had freed
    /// its own, while a worker already done went on to the next environment's hash with a
    /// new one: three working memories at once on two cores.
    #[test]
    fn freeing_drops_each_working_memory_on_its_worker() {
        WORKERS.broadcast(|_| with_fingerprinter(|_| ()));
        free_fingerprinters();
        let on_workers = DROPPED_ON
            .lock()
            .unwrap()
            .iter()
            .filter(|name| {
                name.as_deref()
                    .is_some_and(|n| n.starts_with("fingerprint-"))
            })
            .count();
        assert!(
            on_workers >= WORKERS.current_num_threads(),
            "{on_workers} working memories dropped on the workers, of {}",
            WORKERS.current_num_threads()
        );
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn a_changed_secret_fails_its_bucket_check_and_only_that_bucket_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let before = connections(dir.path(), 8, None);
        let fake = made_up(&all(&before, "salt"));
        let (records, checks) = state_of(&before, "salt", &fake);
        let after = connections(dir.path(), 8, Some(3));
        let taken = all_with(&after, "salt", &Scheme::Argon2id, &records, &checks);
        let changed = Address::new(crate::resource::Kind::Connection, "conn-3");
        let real = all(&after, "salt");
        // The changed connection's bucket is fingerprinted for real (the new value shows)...
        assert_eq!(taken.fingerprints[&changed], real[&changed]);
        // ...every other bucket keeps its recorded fingerprints.
        for (address, fps) in &taken.fingerprints {
            let same_bucket = bucket_of(address) == bucket_of(&changed);
            let expected = if same_bucket {
                &real[address]
            } else {
                &fake[address]
            };
            assert_eq!(fps, expected, "{address}");
        }
        assert_ne!(
            taken.checks[&bucket_of(&changed)],
            checks[&bucket_of(&changed)]
        );
        assert_ne!(taken.checks[WHOLE], checks[WHOLE]);
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn the_whole_check_alone_keeps_every_recorded_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 8, None);
        let fake = made_up(&all(&desired, "salt"));
        let (records, mut checks) = state_of(&desired, "salt", &fake);
        // Every bucket check made up: had one been taken, its bucket would be taken again.
        for (bucket, check) in checks.iter_mut() {
            if bucket != WHOLE {
                *check = format!("{ARGON2_PREFIX}made-up");
            }
        }
        let taken = all_with(&desired, "salt", &Scheme::Argon2id, &records, &checks);
        assert_eq!(taken.fingerprints, fake);
        assert_eq!(taken.checks, checks);
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn a_state_without_the_whole_check_keeps_its_buckets_and_gains_it() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 8, None);
        let fake = made_up(&all(&desired, "salt"));
        let (records, checks) = state_of(&desired, "salt", &fake);
        let mut older = checks.clone();
        older.remove(WHOLE);
        // The bucket checks hold: the made-up fingerprints stand...
        let taken = all_with(&desired, "salt", &Scheme::Argon2id, &records, &older);
        assert_eq!(taken.fingerprints, fake);
        // ...and the whole check it adds is the one taken over them.
        assert_eq!(taken.checks, checks);
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn a_record_that_differs_from_the_checked_one_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 4, None);
        let real = all(&desired, "salt");
        let (_, checks) = state_of(&desired, "salt", &real);
        // A record apply did not bring up to date (its change failed): taken again.
        let (records, _) = state_of(&desired, "salt", &made_up(&real));
        let taken = all_with(&desired, "salt", &Scheme::Argon2id, &records, &checks);
        assert_eq!(taken.fingerprints, real);
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test set-up")]
    fn under_a_key_no_check_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let desired = connections(dir.path(), 4, None);
        let key = Scheme::from_key(Some([b'k'; 32].to_vec())).unwrap();
        let taken = all_with(&desired, "salt", &key, &BTreeMap::new(), &BTreeMap::new());
        assert!(taken.checks.is_empty());
        assert!(
            taken
                .fingerprints
                .values()
                .flat_map(|m| m.values())
                .all(|f| f.starts_with(HMAC_PREFIX))
        );
    }

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
