//! The account guard (issue 15 item 1, SPEC §7): one STS `GetCallerIdentity` before any other
//! AWS call of `plan`, `apply`, `drift`, `import` and `unlock`; the state records its account
//! and region; a run in another account or region is refused (exit 1) naming both, and the
//! proxy's log shows that nothing but the STS call was made. Another account is moto's
//! answer to an `AssumeRole` into a role of that account (its credentials are that account's).

use std::process::Command;

use aws_config::BehaviorVersion;
use aws_sdk_sts::config::{Credentials, Region};

use crate::support::project::{Project, Run, connection};
use crate::support::{self, ACCOUNT};

const OTHER_ACCOUNT: &str = "222233334444";

/// Every command the guard covers, as run in the tests (`apply` without a question).
const GUARDED: [&[&str]; 5] = [
    &["plan"],
    &["apply", "--auto-approve"],
    &["drift"],
    &["import", "Connection/acme", "--out", "imported", "--force"],
    &["unlock", "00000000-0000-4000-8000-000000000000"],
];

/// Credentials of [`OTHER_ACCOUNT`]: an `AssumeRole` straight to moto (not in the proxy's log).
fn other_account_credentials(region: &str) -> Vec<(&'static str, String)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let creds = rt.block_on(async {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(support::moto().moto.clone())
            .credentials_provider(Credentials::new(
                support::ACCESS_KEY_ID,
                support::SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let answer = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{OTHER_ACCOUNT}:role/outbound-apply"))
            .role_session_name("guard-test")
            .send()
            .await
            .unwrap();
        answer.credentials.unwrap()
    });
    vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key),
        ("AWS_SESSION_TOKEN", creds.session_token),
    ]
}

/// `outbound ARGS` in `p` with `env` on top of the project's environment.
fn run_with(p: &Project, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd: Command = p.command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::checked(cmd.output().unwrap())
}

/// `acme` applied in `p`'s region, in the default account.
fn applied() -> Project {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    p
}

/// The region's calls, as `service operation`.
fn calls(region: &str) -> Vec<String> {
    support::moto()
        .calls(region)
        .into_iter()
        .map(|c| {
            format!(
                "{} {}",
                c.service.unwrap_or_default(),
                c.operation.unwrap_or_default()
            )
        })
        .collect()
}

/// The first write records the account and region the guard found.
#[test]
fn the_state_records_its_account_and_region() {
    let p = applied();
    let state = p.state();
    assert_eq!(state["account"], ACCOUNT);
    assert_eq!(state["region"], p.region.as_str());
    // The guard's call comes first, then the reads and writes of the apply.
    support::moto().forget_calls(&p.region);
    p.assert_no_changes();
    assert_eq!(
        calls(&p.region).first().map(String::as_str),
        Some("sts GetCallerIdentity"),
        "{:?}",
        calls(&p.region)
    );
}

/// Issue 15 item 1 (test first: `plan --region B` with a state of region A said "1 to create
/// (deleted outside outbound)"): every guarded command run in another region than the
/// state's is refused, naming both, with the STS call as its only AWS call.
#[test]
fn a_state_of_another_region_is_refused_before_any_other_call() {
    let p = applied();
    let before = std::fs::read_to_string(p.state_path()).unwrap();
    let other = support::region();
    for args in GUARDED {
        support::moto().forget_calls(&other);
        let run = run_with(&p, args, &[("AWS_REGION", other.clone())]);
        assert_eq!(run.code, 1, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "this run is in region {other}, but the state {} records region {}",
                p.state_path().display(),
                p.region
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: pass --region"), "{}", run.stderr);
        assert_eq!(calls(&other), ["sts GetCallerIdentity"], "{args:?}");
    }
    assert_eq!(
        std::fs::read_to_string(p.state_path()).unwrap(),
        before,
        "the state is untouched"
    );
    assert!(
        !p.dir.path().join("imported").exists(),
        "import wrote nothing"
    );
}

/// Issue 15 item 1: a state copied to another account is refused there, naming both accounts.
#[test]
fn a_state_of_another_account_is_refused_before_any_other_call() {
    let p = applied();
    let before = std::fs::read_to_string(p.state_path()).unwrap();
    let creds = other_account_credentials(&p.region);
    for args in GUARDED {
        support::moto().forget_calls(&p.region);
        let run = run_with(&p, args, &creds);
        assert_eq!(run.code, 1, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "the credentials are for account {OTHER_ACCOUNT} \
                 (arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/outbound-apply/guard-test), but \
                 the state {} records account {ACCOUNT}",
                p.state_path().display()
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(calls(&p.region), ["sts GetCallerIdentity"], "{args:?}");
        for (_, secret) in &creds {
            assert!(!run.stderr.contains(secret.as_str()), "a credential leaked");
        }
    }
    assert_eq!(std::fs::read_to_string(p.state_path()).unwrap(), before);
}

/// A state written before the guard has no account or region: it is accepted, and gains them
/// at its next write (not at a plan, which writes nothing).
#[test]
fn a_state_without_account_and_region_gains_them_at_its_next_write() {
    let p = applied();
    let mut state = p.state();
    let o = state.as_object_mut().unwrap();
    o.remove("account");
    o.remove("region");
    std::fs::write(
        p.state_path(),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    p.assert_no_changes();
    assert!(p.state().get("account").is_none(), "a plan writes nothing");
    p.write("c.yaml", &connection("acme", "Orders API, edited"));
    p.apply();
    let state = p.state();
    assert_eq!(state["account"], ACCOUNT);
    assert_eq!(state["region"], p.region.as_str());
    p.assert_no_changes();
}

/// Issue 15 item 1: a saved plan records its account and region, and `apply --plan` refuses
/// it in another account or region, even where no state says otherwise (a project without
/// state), with the STS call as its only AWS call.
#[test]
fn a_saved_plan_is_refused_in_another_account_or_region() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let run = p.run(&["plan", "--out", saved]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(file["account"], ACCOUNT);
    assert_eq!(file["region"], p.region.as_str());

    let other = support::region();
    let run = run_with(
        &p,
        &["apply", "--plan", saved],
        &[("AWS_REGION", other.clone())],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "this run is in region {other}, but the saved plan {saved} was made for region {}",
            p.region
        )),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&other), ["sts GetCallerIdentity"]);

    support::moto().forget_calls(&p.region);
    let run = run_with(
        &p,
        &["apply", "--plan", saved],
        &other_account_credentials(&p.region),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "but the saved plan {saved} was made for account {ACCOUNT}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&p.region), ["sts GetCallerIdentity"]);
    assert!(!p.state_path().exists(), "nothing was applied");
}

/// On S3 the state's own read is the second call (its account is in it): a refused run takes
/// no lock and writes nothing.
#[test]
fn a_state_on_s3_of_another_region_is_refused_after_its_read_only() {
    let (p, s3, bucket) = crate::state::s3_project();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    let before = s3.get(&bucket, crate::state::KEY).unwrap();
    let other = support::region();
    let run = run_with(
        &p,
        &["apply", "--auto-approve"],
        &[("AWS_REGION", other.clone())],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("wrong AWS region"), "{}", run.stderr);
    assert_eq!(calls(&other), ["sts GetCallerIdentity", "s3 GetObject"]);
    assert_eq!(s3.get(&bucket, crate::state::KEY).unwrap(), before);
    assert!(
        s3.get(&bucket, crate::state::LOCK).is_none(),
        "no lock left"
    );
}
