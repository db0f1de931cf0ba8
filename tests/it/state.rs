//! State backends against moto's S3, through the binary and the real SDK: conditional writes,
//! the lock (two applies, kill -9, `unlock`), signals, one-line errors; and the local lock's
//! stale-holder takeover. A held call is the proxy's `delay` fault on the first
//! `DescribeConnector` (the apply's wait for its new connector): a read, harmless when it
//! arrives late, and the test acts while the proxy's log shows it in flight.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::project::{Project, Run, connector};
use crate::support::{self, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use outbound::state::{self, StateError};
use outbound::store::{self, Backend};

/// A direct S3 client (not through the proxy) in `region`, on a runtime of its own.
pub(crate) struct S3Direct {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
}

impl S3Direct {
    fn new(region: &str) -> S3Direct {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_owned()))
            .endpoint_url(support::moto().moto.clone())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
            .build();
        S3Direct {
            rt,
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// A new bucket named after `region` (bucket names are global in S3).
    pub(crate) fn bucket(&self, region: &str) -> String {
        let name = format!("outbound-state-{}", region.to_lowercase());
        let mut create = self.client.create_bucket().bucket(&name);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(region.into())
                    .build(),
            );
        }
        self.rt.block_on(create.send()).unwrap();
        name
    }

    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let out = self
            .rt
            .block_on(self.client.get_object().bucket(bucket).key(key).send())
            .ok()?;
        Some(
            self.rt
                .block_on(out.body.collect())
                .unwrap()
                .into_bytes()
                .to_vec(),
        )
    }

    fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body.into())
                    .send(),
            )
            .unwrap();
    }

    pub(crate) fn json(&self, bucket: &str, key: &str) -> Option<Value> {
        self.get(bucket, key)
            .map(|b| serde_json::from_slice(&b).unwrap())
    }
}

/// A project whose state is `s3://<its bucket>/team/state.json`, with the S3 client to look.
/// A project whose state is `s3://BUCKET/team/state.json` in moto's S3 (the bucket is new).
pub(crate) fn s3_project() -> (Project, S3Direct, String) {
    let p = Project::new();
    let s3 = S3Direct::new(&p.region);
    let bucket = s3.bucket(&p.region);
    let p = p.with_state(&format!("s3://{bucket}/team/state.json"));
    (p, s3, bucket)
}

pub(crate) const KEY: &str = "team/state.json";
pub(crate) const LOCK: &str = "team/state.json.lock";

/// Polls `done` until it holds (at most 60 s): the test waits on a witness, not a duration.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `outbound ARGS` (an apply) in the background, returned once it waits on its first new
/// connector: the proxy holds that `DescribeConnector` for `ms` milliseconds.
fn held_apply(p: &Project, ms: u64, args: &[&str]) -> Child {
    held(p, "DescribeConnector", ms, args)
}

/// `outbound ARGS` in the background, returned once the proxy holds its first `operation`
/// (a read) for `ms` milliseconds.
fn held(p: &Project, operation: &str, ms: u64, args: &[&str]) -> Child {
    support::moto().fault(
        &p.region,
        json!({"operation": operation, "fault": "delay", "delay_ms": ms}),
    );
    let child = spawn(p, args);
    until(operation, || {
        support::moto()
            .calls(&p.region)
            .iter()
            .any(|c| c.operation.as_deref() == Some(operation) && c.status.is_none())
    });
    child
}

/// `outbound ARGS` in the background, its output captured.
fn spawn(p: &Project, args: &[&str]) -> Child {
    p.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// The connectors in `p`'s region tagged `outbound:name = name`.
fn tagged_connectors(p: &Project, name: &str) -> usize {
    support::project::outside(&p.region, async |aws| {
        let mut n = 0;
        for c in aws.list_connectors().await.unwrap() {
            if let Some(live) = aws.describe_connector(&c.id).await.unwrap()
                && live.tags.get("outbound:name").map(String::as_str) == Some(name)
            {
                n += 1;
            }
        }
        n
    })
}

fn s3_calls(p: &Project) -> Vec<String> {
    support::moto()
        .calls(&p.region)
        .into_iter()
        .filter(|c| c.service.as_deref() == Some("s3"))
        .filter_map(|c| c.operation)
        .collect()
}

#[test]
fn s3_state_applies_plans_and_counts_its_calls() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let apply = p.run(&["apply", "--auto-approve", "-v"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    // The account guard's read, lock, read again under the lock, one write before the
    // creation (pending), one with the new connector's id (saved before anything waits on it:
    // docs/reliability.md), one after, unlock (`If-Match` on the lock's own ETag: no read).
    assert_eq!(
        s3_calls(&p),
        [
            "GetObject",
            "PutObject",
            "GetObject",
            "PutObject",
            "PutObject",
            "PutObject",
            "DeleteObject"
        ],
        "{}",
        apply.stderr
    );
    assert!(apply.stderr.contains("state: 3 writes"), "{}", apply.stderr);
    let stored = s3.json(&bucket, KEY).expect("the state is in S3");
    assert_eq!(stored["serial"], 3);
    assert!(stored["resources"]["Connector/edi"]["id"].is_string());
    assert!(stored.get("pending").is_none(), "{stored}");
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");

    support::moto().forget_calls(&p.region);
    p.assert_no_changes();
    assert_eq!(s3_calls(&p), ["GetObject"], "a plan reads the state once");
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 0, "{}", drift.stderr);
    assert!(
        !s3_calls(&p).iter().any(|o| o != "GetObject"),
        "plan and drift take no lock and write nothing"
    );
}

#[test]
fn two_applies_at_once_then_kill_9_then_unlock_converges() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let mut first = held_apply(&p, 30_000, &["apply", "--auto-approve"]);
    // Frozen while holding the lock, with its connector created and not yet recorded.
    signal(&first, "STOP");
    let lock = s3
        .json(&bucket, LOCK)
        .expect("the first apply holds the lock");
    let id = lock["id"].as_str().unwrap().to_owned();
    assert_eq!(lock["pid"], first.id());
    assert_eq!(lock["operation"], "apply");

    let second = p.run(&["apply", "--auto-approve"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {}", first.id()))
            && second.stderr.contains(&format!("outbound unlock {id}")),
        "the second names the holder and the way out:\n{}",
        second.stderr
    );
    assert_eq!(second.stderr.lines().count(), 1, "{}", second.stderr);

    first.kill().unwrap(); // SIGKILL, while stopped
    first.wait().unwrap();
    assert!(s3.get(&bucket, LOCK).is_some(), "kill -9 leaves the lock");

    let wrong = p.run(&["unlock", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("nothing was removed"),
        "{}",
        wrong.stderr
    );
    assert!(
        s3.get(&bucket, LOCK).is_some(),
        "a wrong id removes nothing"
    );

    let unlock = p.run(&["unlock", &id]);
    assert_eq!(unlock.code, 0, "{}", unlock.stderr);
    assert!(s3.get(&bucket, LOCK).is_none());

    p.apply();
    p.assert_no_changes();
    assert_eq!(
        tagged_connectors(&p, "edi"),
        1,
        "the connector the killed run created is adopted, not duplicated"
    );
}

#[test]
fn a_write_racing_another_writer_is_refused() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let apply = held_apply(&p, 5_000, &["apply", "--auto-approve"]);
    // Another writer, between this run's pending write and its next one.
    let mut theirs = s3.json(&bucket, KEY).expect("the pending write happened");
    theirs["serial"] = json!(99);
    let theirs = serde_json::to_vec_pretty(&theirs).unwrap();
    s3.put(&bucket, KEY, theirs.clone());

    let run = Run::checked(apply.wait_with_output().unwrap());
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "state s3://{bucket}/{KEY} changed since this run read it"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        s3.get(&bucket, KEY).unwrap(),
        theirs,
        "the other writer's state is kept"
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
}

/// The store itself, in-process through the SDK: `If-None-Match: *` for the first write,
/// `If-Match` after, and a state of another lineage never written.
#[test]
fn conditional_writes_refuse_lost_updates() {
    let region = support::region();
    let s3 = S3Direct::new(&region);
    let bucket = s3.bucket(&region);
    let location = format!("s3://{bucket}/{KEY}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = support::direct_options(&region);
        let (a, b) = two_stores(&location, &options).await;
        // Both found no state; the first to write creates it, the second is refused.
        assert!(a.load().unwrap().is_none() && b.load().unwrap().is_none());
        let mut ours = state::State::new();
        a.save(&ours).unwrap();
        let theirs = state::State::new();
        assert!(matches!(b.save(&theirs), Err(StateError::Conflict { .. })));
        // Read by both; written by one; the other's write is refused.
        let mut read = b.load().unwrap().unwrap();
        assert_eq!(read.lineage, ours.lineage);
        ours.serial = 1;
        a.save(&ours).unwrap();
        read.serial = 7;
        let refused = b.save(&read).unwrap_err();
        assert!(matches!(refused, StateError::Conflict { .. }), "{refused}");
        // A state of another lineage is never written over the one read.
        assert!(matches!(
            a.save(&state::State::new()),
            Err(StateError::Lineage { .. })
        ));
        assert_eq!(a.writes(), 2, "the refused one was not attempted");
    });
    let stored = s3.json(&bucket, KEY).unwrap();
    assert_eq!(stored["serial"], 1, "only the first writer's saves landed");
}

/// Two stores on the same location, as two processes would have.
async fn two_stores(
    location: &str,
    options: &outbound::aws::AwsOptions,
) -> (store::Store, store::Store) {
    (
        open_with_test_credentials(location, options).await,
        open_with_test_credentials(location, options).await,
    )
}

async fn open_with_test_credentials(
    location: &str,
    options: &outbound::aws::AwsOptions,
) -> store::Store {
    let backend = store::s3::S3State::open_with_credentials(
        location,
        options,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
    )
    .await
    .unwrap();
    store::Store::new(std::sync::Arc::new(backend) as std::sync::Arc<dyn Backend>)
}

/// `plan` and `apply` exit 1 with one line on stderr that contains `expected`.
fn plan_and_apply_fail_in_one_line(p: &Project, expected: &str) {
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = p.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
}

#[test]
fn a_missing_bucket_is_a_one_line_error() {
    let p = Project::new().with_state("s3://no-such-outbound-bucket/state.json");
    p.write("k.yaml", &connector("edi", "Orders"));
    plan_and_apply_fail_in_one_line(&p, "the bucket `no-such-outbound-bucket` does not exist");
    assert!(
        p.mutations().iter().all(|o| o.ends_with("Object")),
        "nothing but the state was asked for: {:?}",
        p.mutations()
    );
}

/// moto's S3 does not enforce bucket policies or IAM unless its IAM mode is on for every
/// service, so the denial is the proxy's (an S3 XML `AccessDenied`, 403).
#[test]
fn an_access_denied_bucket_is_a_one_line_error() {
    let (p, _s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    support::moto().fault(
        &p.region,
        json!({"operation": "*", "service": "s3", "fault": "access_denied", "count": -1}),
    );
    plan_and_apply_fail_in_one_line(&p, &format!("state s3://{bucket}/{KEY}: access denied"));
    support::moto().clear_faults(&p.region);
    assert!(p.mutations().iter().all(|o| o.ends_with("Object")));
}

#[test]
fn sigterm_during_apply_finishes_what_is_in_flight_and_exits_143_without_a_lock() {
    let (p, s3, bucket) = s3_project();
    p.write("a.yaml", &connector("a-first", "Orders"));
    p.write("b.yaml", &connector("b-second", "Invoices"));
    let apply = held_apply(
        &p,
        3_000,
        &["apply", "--auto-approve", "--parallelism", "1"],
    );
    signal(&apply, "TERM");
    let run = Run::checked(apply.wait_with_output().unwrap());
    assert_eq!(run.code, 143, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("SIGTERM received"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Apply interrupted: 1 done, 0 failed, 0 skipped, 1 not started."),
        "{}",
        run.stdout
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
    let stored = s3.json(&bucket, KEY).unwrap();
    let managed: Vec<&String> = stored["resources"].as_object().unwrap().keys().collect();
    assert_eq!(
        managed,
        ["Connector/a-first"],
        "the finished change is saved"
    );
    assert!(stored.get("pending").is_none(), "{stored}");
    p.apply();
    p.assert_no_changes();
}

#[test]
fn sigterm_while_reading_aws_changes_nothing_and_releases_the_lock() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let apply = held(&p, "ListConnectors", 3_000, &["apply", "--auto-approve"]);
    assert!(
        s3.get(&bucket, LOCK).is_some(),
        "the lock is held while AWS is read"
    );
    signal(&apply, "TERM");
    let run = Run::checked(apply.wait_with_output().unwrap());
    assert_eq!(run.code, 143, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("stopped by SIGTERM while AWS was read; no change was made to AWS"),
        "the reads stop at once: {}",
        run.stderr
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
    assert!(
        p.mutations().iter().all(|o| o.ends_with("Object")),
        "{:?}",
        p.mutations()
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_still_releases_the_lock() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let mut apply = held_apply(&p, 60_000, &["apply", "--auto-approve"]);
    let lines = std::io::BufReader::new(apply.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(lines).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    signal(&apply, "INT");
    let mut stderr = Vec::new();
    while !stderr
        .iter()
        .any(|l: &String| l.contains("Ctrl-C (SIGINT) received"))
    {
        stderr.push(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    }
    // The change in flight is held for a minute: only the second signal ends the run now.
    signal(&apply, "INT");
    let status = apply.wait().unwrap();
    stderr.extend(rx.iter());
    let stderr = stderr.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Stopped at once"), "{stderr}");
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
    p.apply();
    p.assert_no_changes();
    assert_eq!(tagged_connectors(&p, "edi"), 1, "adopted, not duplicated");
}

/// `outbound apply` on a terminal (a pty, through util-linux's `script`), returned once it
/// asks for confirmation, with the rest of its output.
fn apply_at_the_prompt(p: &Project) -> (Child, std::sync::mpsc::Receiver<Vec<u8>>) {
    let inner = p.command(&["apply"]);
    let line = format!("{} apply", env!("CARGO_BIN_EXE_outbound"));
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("Only 'yes' is accepted") {
        seen.extend(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    }
    (child, rx)
}

fn type_in(child: &mut Child, keys: &[u8]) {
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), keys).unwrap();
}

#[test]
fn ctrl_c_at_the_prompt_leaves_no_lock_and_changes_nothing() {
    let p = Project::new();
    p.write("k.yaml", &connector("edi", "Orders"));
    let (mut child, _output) = apply_at_the_prompt(&p);
    let lock = p.dir.path().join("state.json.lock");
    assert!(!lock.exists(), "no lock while the question waits");
    type_in(&mut child, b"\x03");
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status:?}");
    assert!(!lock.exists(), "no lock after Ctrl-C");
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
}

#[test]
fn yes_to_a_plan_the_state_moved_on_from_applies_nothing() {
    let p = Project::new();
    p.write("k.yaml", &connector("edi", "Orders"));
    let (mut child, output) = apply_at_the_prompt(&p);
    p.apply(); // another apply while the question waits
    let before = p.mutations();
    type_in(&mut child, b"yes\n");
    let status = child.wait().unwrap();
    let said = String::from_utf8_lossy(&output.iter().flatten().collect::<Vec<u8>>()).into_owned();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains("the state changed while the plan was shown"),
        "{said}"
    );
    assert_eq!(p.mutations(), before, "nothing more was applied");
    assert!(!p.dir.path().join("state.json.lock").exists());
    assert_eq!(tagged_connectors(&p, "edi"), 1);
}

#[test]
fn a_question_is_asked_before_the_lock_is_taken() {
    let p = Project::new();
    p.write("k.yaml", &connector("edi", "Orders"));
    // Someone else's apply holds the lock (this test process is alive).
    let lock = json!({
        "id": "11111111-2222-3333-4444-555555555555", "holder": "ci", "host": "elsewhere",
        "pid": std::process::id(), "operation": "apply", "since": "2026-01-01T00:00:00Z"
    });
    std::fs::write(p.dir.path().join("state.json.lock"), lock.to_string()).unwrap();
    // Without a terminal the question cannot be asked: the run gets that far, lock or not.
    let run = p.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refusing to apply without a terminal"),
        "{}",
        run.stderr
    );
    // With the answer given up front, the lock comes first and is refused.
    let auto = p.run(&["apply", "--auto-approve"]);
    assert_eq!(auto.code, 1);
    assert!(
        auto.stderr.contains("is locked by ci@elsewhere (pid")
            && auto
                .stderr
                .contains("outbound unlock 11111111-2222-3333-4444-555555555555"),
        "{}",
        auto.stderr
    );
    assert!(p.mutations().is_empty());
    // plan and drift never take the lock.
    assert_eq!(p.plan().code, 2);
}

#[test]
fn a_local_lock_of_a_dead_process_is_taken_over_saying_so() {
    let p = Project::new();
    p.write("k.yaml", &connector("edi", "Orders"));
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let host = hostname::get().unwrap().to_string_lossy().into_owned();
    let lock = json!({
        "id": "dead0000-0000-0000-0000-000000000000", "holder": "someone", "host": host,
        "pid": dead, "operation": "apply", "since": "2026-01-01T00:00:00Z"
    });
    let path = p.dir.path().join("state.json.lock");
    std::fs::write(&path, lock.to_string()).unwrap();
    let run = p.apply();
    assert!(
        run.stderr.contains(&format!(
            "taking over the lock of someone@{host} (pid {dead}"
        )) && run.stderr.contains("no longer running"),
        "{}",
        run.stderr
    );
    assert!(!path.exists(), "the run released the lock it took over");
    p.assert_no_changes();
}

#[test]
fn unlock_removes_a_local_lock_only_with_its_id() {
    let p = Project::new();
    let path = p.dir.path().join("state.json.lock");
    let none = p.run(&["unlock", "abc"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("is not locked"), "{}", none.stderr);
    let lock = json!({
        "id": "abc", "holder": "ci", "host": "elsewhere", "pid": 1, "operation": "apply",
        "since": "2026-01-01T00:00:00Z"
    });
    std::fs::write(&path, lock.to_string()).unwrap();
    let wrong = p.run(&["unlock", "abd"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .contains("is locked with id abc by ci@elsewhere"),
        "{}",
        wrong.stderr
    );
    assert!(path.exists());
    let right = p.run(&["unlock", "abc"]);
    assert_eq!(right.code, 0, "{}", right.stderr);
    assert!(!path.exists());
}

/// Issue 15 item 5: the answer to the lock's conditional `PutObject` is lost after S3 made
/// it; the SDK's retry gets 412. The lock read back is this run's own: the run goes on.
#[test]
fn a_lost_answer_to_the_lock_write_is_this_runs_own_lock() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    support::moto().fault(
        &p.region,
        json!({"operation": "PutObject", "service": "s3", "fault": "drop"}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        support::moto()
            .calls(&p.region)
            .iter()
            .any(|c| c.fault.as_deref() == Some("drop")),
        "the answer was dropped"
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
    p.assert_no_changes();
}

/// Issue 15 item 5: the answer to a state write (the pending marks, before any change) is
/// lost after S3 made it; the retry gets 412. The state read back is this run's own bytes.
#[test]
fn a_lost_answer_to_a_state_write_is_this_runs_own_write() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    support::moto().fault(
        &p.region,
        json!({"operation": "PutObject", "service": "s3", "fault": "drop", "skip": 1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(s3.get(&bucket, LOCK).is_none(), "the lock is released");
    p.assert_no_changes();
    assert_eq!(tagged_connectors(&p, "edi"), 1);
}

/// A write refused before any change names what happened: nothing was made in AWS.
#[test]
fn a_refused_first_write_says_no_change_was_made() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    // The state read, then another writer before this run's first write.
    let apply = held(&p, "ListConnectors", 3_000, &["apply", "--auto-approve"]);
    s3.put(&bucket, KEY, b"{\"formatVersion\": 1}".to_vec());
    let run = Run::checked(apply.wait_with_output().unwrap());
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("no change was made to AWS")
            && !run.stderr.contains("after a change to AWS"),
        "{}",
        run.stderr
    );
    assert_eq!(tagged_connectors(&p, "edi"), 0);
}

/// A lock on S3 as a killed run leaves it, its lease ending `expires`.
fn killed_runs_lock(s3: &S3Direct, bucket: &str, expires: &str) -> Value {
    let lock = json!({
        "id": "dead0000-0000-0000-0000-000000000000", "holder": "ci", "host": "runner-7",
        "pid": 4242, "operation": "apply", "since": "2026-01-01T00:00:00Z", "expires": expires
    });
    s3.put(bucket, LOCK, serde_json::to_vec(&lock).unwrap());
    lock
}

/// Issue 15 item 4: a kill -9 on S3 leaves the lock; once its lease ran out the next run
/// takes it over, saying so; while it runs, the lock refuses naming its holder and lease.
#[test]
fn an_s3_lock_whose_lease_ran_out_is_taken_over_and_a_live_one_refuses() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    killed_runs_lock(&s3, &bucket, "2099-01-01T00:00:00Z");
    let refused = p.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("ci@runner-7 (pid 4242")
            && refused.stderr.contains("lease until 2099-01-01T00:00:00Z")
            && refused
                .stderr
                .contains("outbound unlock dead0000-0000-0000-0000-000000000000"),
        "{}",
        refused.stderr
    );
    killed_runs_lock(&s3, &bucket, "2026-01-01T00:01:00Z");
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("taking over the lock of ci@runner-7 (pid 4242")
            && run
                .stderr
                .contains("its lease ended at 2026-01-01T00:01:00Z"),
        "{}",
        run.stderr
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "released at the end");
    p.assert_no_changes();
}

/// Issue 15 item 12: an unreadable lock is removed with the id its error names.
#[test]
fn an_unreadable_s3_lock_is_removed_with_the_id_its_error_names() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    s3.put(&bucket, LOCK, b"{\"id\": \"cut sh".to_vec());
    let refused = p.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let id = refused
        .stderr
        .split("outbound unlock ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no unlock id named: {}", refused.stderr))
        .to_owned();
    assert!(id.starts_with("unreadable-"), "{id}");
    let unlock = p.run(&["unlock", &id]);
    assert_eq!(unlock.code, 0, "{}", unlock.stderr);
    assert!(s3.get(&bucket, LOCK).is_none());
    p.apply();
    p.assert_no_changes();
}

/// Issue 15 item 12: an apply with nothing to change writes nothing (no serial bump, so the
/// plans saved from this state stay fresh).
#[test]
fn an_apply_without_changes_writes_no_state() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    p.write("c.yaml", &support::project::connection("conn", "one"));
    p.apply();
    let before = s3.get(&bucket, KEY).unwrap();
    support::moto().forget_calls(&p.region);
    let run = p.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        s3.get(&bucket, KEY).unwrap(),
        before,
        "the state is unchanged"
    );
    let calls = s3_calls(&p);
    assert_eq!(
        calls.iter().filter(|o| *o == "PutObject").count(),
        1,
        "only the lock is written: {calls:?}"
    );
}

/// Issue 15 item 4: GitHub's cancel sequence (SIGINT; SIGTERM 7.5 s later; SIGKILL 2.5 s
/// after; the gaps shortened to 1.5 s and 0.5 s, the order kept) while a large apply reads
/// AWS slowly (every read held 400 ms): the first signal ends the run, with no lock left.
#[test]
fn githubs_cancel_sequence_during_the_reads_leaves_no_lock() {
    let (p, s3, bucket) = s3_project();
    let many: Vec<String> = (0..12)
        .map(|i| support::project::connection(&format!("c{i}"), "one"))
        .collect();
    let many = many.join("---\n");
    p.write("m.yaml", &many);
    p.apply();
    let more: Vec<String> = (0..12)
        .map(|i| support::project::connection(&format!("c{i}"), "two"))
        .collect();
    let more = more.join("---\n");
    p.write("m.yaml", &more);
    support::moto().forget_calls(&p.region);
    let run = cancelled_like_github(&p, &["apply", "--auto-approve"]);
    assert!(
        matches!(run.code, 130 | 143),
        "ended by the signal, not SIGKILL: {}\n{}",
        run.code,
        run.stderr
    );
    assert!(
        run.stderr.contains("no change was made to AWS"),
        "{}",
        run.stderr
    );
    assert!(s3.get(&bucket, LOCK).is_none(), "no lock left");
    assert!(
        p.mutations().iter().all(|o| o.ends_with("Object")),
        "{:?}",
        p.mutations()
    );
}

/// `outbound ARGS` with every read of AWS held 400 ms, cancelled as GitHub cancels a job
/// once it is reading: SIGINT, SIGTERM 1.5 s later, SIGKILL 0.5 s after (if still running).
pub(crate) fn cancelled_like_github(p: &Project, args: &[&str]) -> Run {
    let moto = support::moto();
    for service in ["events", "transfer"] {
        moto.fault(
            &p.region,
            json!({"operation": "*", "service": service, "fault": "delay", "delay_ms": 400,
                   "count": -1}),
        );
    }
    let child = spawn(p, args);
    until("the reads", || {
        moto.calls(&p.region)
            .iter()
            .any(|c| c.fault.as_deref() == Some("delay") && c.status.is_none())
    });
    signal(&child, "INT");
    let deadline = Instant::now() + Duration::from_millis(1_500);
    let mut child = child;
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        signal(&child, "TERM");
        std::thread::sleep(Duration::from_millis(500));
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
        }
    }
    moto.clear_faults(&p.region);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-9),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Issue 15 item 4: SIGTERM while `import --write-state` reads AWS (the one import that takes
/// the lock; a plain import writes manifests only): exit 143, no lock, nothing written.
#[test]
fn sigterm_during_import_leaves_no_lock_and_writes_nothing() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    p.apply();
    let out = p.dir.path().join("imported");
    let import = held(
        &p,
        "ListConnections",
        3_000,
        &[
            "import",
            "--all",
            "--yes",
            "--write-state",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(s3.get(&bucket, LOCK).is_some(), "import holds the lock");
    signal(&import, "TERM");
    let run = Run::checked(import.wait_with_output().unwrap());
    assert_eq!(run.code, 143, "{}\n{}", run.stdout, run.stderr);
    assert!(s3.get(&bucket, LOCK).is_none(), "no lock left");
    assert!(!out.exists(), "no manifest written");
}

/// The lease is pushed back on S3 while the run goes on (every third of it: 10 s here).
#[test]
fn an_s3_lock_is_renewed_while_its_run_goes_on() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    support::moto().fault(
        &p.region,
        json!({"operation": "ListConnectors", "fault": "delay", "delay_ms": 9_000}),
    );
    let child = p
        .command(&["apply", "--auto-approve"])
        .env("OUTBOUND_LOCK_LEASE", "10s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = None;
    until("the lock", || {
        first = s3.json(&bucket, LOCK);
        first.is_some()
    });
    let first = first.unwrap();
    until("a renewal", || {
        s3.json(&bucket, LOCK)
            .is_some_and(|now| now["expires"] != first["expires"])
    });
    let renewed = s3.json(&bucket, LOCK).unwrap();
    assert_eq!(renewed["id"], first["id"]);
    let run = Run::checked(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(s3.get(&bucket, LOCK).is_none(), "released at the end");
}

/// Issue 15 item 4: SIGTERM while `apply --plan` reads AWS: exit 143, no lock, no change.
#[test]
fn sigterm_while_a_saved_plan_reads_aws_leaves_no_lock() {
    let (p, s3, bucket) = s3_project();
    p.write("k.yaml", &connector("edi", "Orders"));
    let file = p.dir.path().join("plan.json");
    let plan = p.run(&["plan", "--out", file.to_str().unwrap()]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    support::moto().forget_calls(&p.region);
    let apply = held(
        &p,
        "ListConnectors",
        3_000,
        &["apply", "--plan", file.to_str().unwrap()],
    );
    signal(&apply, "TERM");
    let run = Run::checked(apply.wait_with_output().unwrap());
    assert_eq!(run.code, 143, "{}\n{}", run.stdout, run.stderr);
    assert!(s3.get(&bucket, LOCK).is_none(), "no lock left");
    assert!(
        p.mutations().iter().all(|o| o.ends_with("Object")),
        "{:?}",
        p.mutations()
    );
}
