//! The CI recipes (`examples/ci/`, docs/ci.md): their IAM policies against the code (every AWS
//! operation `src/aws/` calls is allowed to the apply job, every read to the plan and drift
//! jobs, and plan and drift may change nothing; docs/ci.md shows each policy exactly as the
//! file is), the docs standing alone, and the workflows' commands run in order against moto.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;
use serde_json::{Value, json};

use crate::support;
use outbound::resource::ApiDestinationSpec;
use support::project::{Project, connection, destination, outside};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Verbs of the operations the AWS layer calls (the SDK's builder methods, snake_case).
const VERBS: [&str; 10] = [
    "create",
    "update",
    "delete",
    "describe",
    "list",
    "deauthorize",
    "tag",
    "untag",
    "get",
    "put",
];

/// `events:DescribeConnection`, ... for every `.describe_connection()` in `src/aws/`, the
/// service named by the file or directory it is in.
fn operations_in_code() -> BTreeSet<String> {
    let call = Regex::new(r"\.([a-z]+(?:_[a-z0-9]+)+)\(\)").unwrap();
    let mut ops = BTreeSet::new();
    for entry in walkdir::WalkDir::new(Path::new(ROOT).join("src/aws")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(Path::new(ROOT).join("src/aws"))
            .unwrap();
        let first = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .replace(".rs", "");
        let service = match first.as_str() {
            "events" => "events",
            "transfer" => "transfer",
            "s3" => "s3",
            _ => continue,
        };
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for c in call.captures_iter(&text) {
            let name = &c[1];
            if !VERBS.contains(&name.split('_').next().unwrap()) {
                continue;
            }
            let pascal: String = name
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            ops.insert(format!("{service}:{pascal}"));
        }
    }
    ops
}

fn policy(name: &str) -> Value {
    let path = Path::new(ROOT).join("examples/ci/iam").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The actions a policy allows (it has no Deny and no wildcard action).
fn allowed(policy: &Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for s in policy["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow", "{s}");
        let list = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            other => panic!("Action {other}"),
        };
        for a in list {
            assert!(!a.contains('*'), "a wildcard action: {a}");
            actions.insert(a);
        }
    }
    actions
}

fn is_read(action: &str) -> bool {
    let op = action.split(':').nth(1).unwrap();
    ["Describe", "List", "Get"]
        .iter()
        .any(|v| op.starts_with(v))
}

#[test]
fn the_code_calls_the_operations_the_test_knows() {
    let ops = operations_in_code();
    // The scan must find something, or every check below passes vacuously.
    for op in [
        "events:CreateConnection",
        "events:DeauthorizeConnection",
        "events:ListApiDestinations",
        "transfer:CreateConnector",
        "transfer:UntagResource",
    ] {
        assert!(ops.contains(op), "{op} not found in src/aws: {ops:?}");
    }
}

#[test]
fn the_apply_policy_allows_every_operation_the_code_calls() {
    let apply = allowed(&policy("outbound-apply.json"));
    let missing: Vec<_> = operations_in_code()
        .into_iter()
        .filter(|op| !apply.contains(op))
        .collect();
    assert!(missing.is_empty(), "outbound-apply.json lacks {missing:?}");
    for a in [
        "iam:PassRole",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:GetObject",
    ] {
        assert!(apply.contains(a), "outbound-apply.json lacks {a}");
    }
}

#[test]
fn plan_and_drift_policies_read_everything_and_change_nothing() {
    let reads: BTreeSet<String> = operations_in_code()
        .into_iter()
        .filter(|op| is_read(op))
        .collect();
    for name in ["outbound-plan.json", "outbound-drift.json"] {
        let allowed = allowed(&policy(name));
        let missing: Vec<_> = reads.iter().filter(|op| !allowed.contains(*op)).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?}");
        let writes: Vec<_> = allowed.iter().filter(|a| !is_read(a)).collect();
        assert!(writes.is_empty(), "{name} allows changes: {writes:?}");
        assert!(
            allowed.contains("s3:GetObject"),
            "{name} cannot read the state"
        );
    }
}

#[test]
fn docs_show_every_policy_as_the_file_is() {
    let docs = std::fs::read_to_string(Path::new(ROOT).join("docs/ci.md")).unwrap();
    for entry in std::fs::read_dir(Path::new(ROOT).join("examples/ci/iam")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            docs.contains(&format!("```json\n{text}```")),
            "docs/ci.md does not show {name} as it is"
        );
    }
}

#[test]
fn every_workflow_assumes_a_role_whose_trust_policy_names_its_trigger() {
    for (workflow, role, trust, sub) in [
        (
            "outbound-plan.yml",
            "outbound-plan",
            "trust-plan.json",
            ":pull_request",
        ),
        (
            "outbound-apply.yml",
            "outbound-apply",
            "trust-apply.json",
            ":environment:production",
        ),
        (
            "outbound-drift.yml",
            "outbound-drift",
            "trust-drift.json",
            ":ref:refs/heads/main",
        ),
    ] {
        let text =
            std::fs::read_to_string(Path::new(ROOT).join("examples/ci/github").join(workflow))
                .unwrap();
        assert!(text.contains(&format!(":role/{role}\n")), "{workflow}");
        let t = policy(trust);
        let s = t["Statement"][0]["Condition"]["StringEquals"]
            ["token.actions.githubusercontent.com:sub"]
            .as_str()
            .unwrap();
        assert!(s.ends_with(sub), "{trust}: {s}");
    }
}

/// The repository stands on its own: README and docs/ point at nothing outside it, and every
/// relative link resolves.
#[test]
fn docs_refer_to_nothing_outside_the_repository() {
    let link = Regex::new(r"\]\(([^)#\s]+)(#[^)]*)?\)").unwrap();
    let mut files = vec![Path::new(ROOT).join("README.md")];
    // The Markdown under docs/ (docs/screenshots/ holds PNGs beside its README).
    for entry in walkdir::WalkDir::new(Path::new(ROOT).join("docs")) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for outside in ["shared/", "SPEC.md", "../"] {
            assert!(
                !text.contains(outside),
                "{} refers to `{outside}`, outside the repository",
                file.display()
            );
        }
        for c in link.captures_iter(&text) {
            let target = &c[1];
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let path = file.parent().unwrap().join(target);
            assert!(path.exists(), "{}: broken link {target}", file.display());
        }
    }
}

/// Rate-limits `orders` to `rate` outside outbound, as a person in the console would.
fn change_rate_outside(p: &Project, rate: i64) {
    outside(&p.region, async |aws| {
        let live = aws
            .describe_api_destination("ci-orders")
            .await
            .unwrap()
            .unwrap();
        let mut spec = live.spec.value();
        spec["invocationRateLimitPerSecond"] = json!(rate);
        let spec: ApiDestinationSpec = serde_json::from_value(spec).unwrap();
        let arn = live.spec.value()["connectionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        aws.update_api_destination("ci-orders", &spec, &arn.into(), &[])
            .await
            .unwrap();
    });
}

/// What the pull-request workflow runs: validate, then plan with the JSON plan saved and the
/// Markdown plan on stdout (the comment body). Returns (exit code, comment body).
fn pr_plan(p: &Project, out: &str) -> (i32, String) {
    let (validate, plan, comment) = pr_jobs(p, out);
    assert_eq!(validate, 0, "{comment}");
    (plan, comment)
}

/// [`pr_plan`] whatever `validate` says (the workflow plans even when it fails, so the
/// comment shows the problems): (validate's exit code, plan's, the comment body).
fn pr_jobs(p: &Project, out: &str) -> (i32, i32, String) {
    let validate = p.run(&["validate", "manifests"]).code;
    let run = p.run(&[
        "plan",
        "manifests",
        "--out",
        out,
        "--format",
        "markdown",
        "--detailed-exitcode",
    ]);
    (validate, run.code, run.stdout)
}

/// The commands of `examples/ci/github/*.yml`, in the order a team meets them, against the
/// emulator: a pull request's plan and comment, the merge's `apply --plan` of exactly that
/// plan, a second pull request whose plan goes stale (refused, naming the resource and the
/// field), an out-of-band change, and the drift job's report and exit codes. The state is on
/// moto's S3, as the workflows keep it (docs/ci.md).
#[test]
fn the_workflows_commands_in_order() {
    // The state is on S3, as in the workflows (`--state s3://…`, lock `KEY.lock`).
    let (p, s3, bucket) = crate::state::s3_project();
    p.write("c.yaml", &connection("ci-api", "Orders API"));
    p.write("d.yaml", &destination("ci-orders", "ci-api", 10));
    // Pull request 0 on a project with no state yet: its reviewed plan is applied on merge,
    // and the state is created in S3 with the plan's lineage.
    let (code, comment) = pr_plan(&p, "pr0.json");
    assert_eq!(code, 2, "{comment}");
    let run = p.run(&["apply", "--plan", "pr0.json", "manifests"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let state = s3
        .json(&bucket, crate::state::KEY)
        .expect("the state is in S3");
    let planned: Value =
        serde_json::from_str(&std::fs::read_to_string(p.dir.path().join("pr0.json")).unwrap())
            .unwrap();
    assert_eq!(state["lineage"], planned["stateLineage"]);
    assert!(
        s3.get(&bucket, crate::state::LOCK).is_none(),
        "the merge's apply released its lock"
    );

    // Pull request 1: a rate change. The comment names the resource and the new value.
    p.write("d.yaml", &destination("ci-orders", "ci-api", 20));
    let (code, comment) = pr_plan(&p, "pr1.json");
    assert_eq!(code, 2, "{comment}");
    assert!(comment.contains("ApiDestination/ci-orders"), "{comment}");
    assert!(
        comment.contains("invocationRateLimitPerSecond"),
        "{comment}"
    );
    // Merge: exactly the reviewed plan, then nothing left to do.
    let run = p.run(&["apply", "--plan", "pr1.json", "manifests"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    p.assert_no_changes();

    // Pull request 2 is planned; before it merges, someone changes the same destination by
    // hand. The merge's apply refuses the stale plan, naming resource and field, and changes
    // nothing.
    p.write("d.yaml", &destination("ci-orders", "ci-api", 30));
    let (code, _) = pr_plan(&p, "pr2.json");
    assert_eq!(code, 2);
    change_rate_outside(&p, 77);
    support::moto().forget_calls(&p.region);
    let run = p.run(&["apply", "--plan", "pr2.json", "manifests"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("saved plan is stale"), "{}", run.stderr);
    assert!(
        run.stderr.contains("ApiDestination/ci-orders")
            && run.stderr.contains("invocationRateLimitPerSecond"),
        "{}",
        run.stderr
    );
    // Only the state's own S3 calls (the lock taken and released, the state read).
    let changed: Vec<String> = p
        .mutations()
        .into_iter()
        .filter(|op| !op.ends_with("Object"))
        .collect();
    assert_eq!(changed, Vec::<String>::new(), "a stale plan changed AWS");

    // The drift job: the out-of-band change is drift (exit 2), its Markdown is the issue body.
    p.write("d.yaml", &destination("ci-orders", "ci-api", 20));
    let run = p.drift(&["manifests", "--format", "markdown"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("drift found"), "{}", run.stdout);
    assert!(
        run.stdout.contains("ApiDestination/ci-orders"),
        "{}",
        run.stdout
    );
    // Pull request 2 re-planned (as the job says) and applied reverts it; the next drift
    // run is clean (exit 0: the workflow closes the issue).
    p.write("d.yaml", &destination("ci-orders", "ci-api", 30));
    let (code, _) = pr_plan(&p, "pr2.json");
    assert_eq!(code, 2);
    let run = p.run(&["apply", "--plan", "pr2.json", "manifests"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run = p.drift(&["manifests", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("no drift"), "{}", run.stdout);
}

/// A pull request whose plan fails posts the Markdown error block outbound prints on stdout,
/// never an empty comment (the workflow's stderr fallback is not needed), uploads no plan,
/// and changes nothing: first invalid manifests (validate fails too, and the plan job still
/// runs), then a change that would delete a protected resource.
#[test]
fn a_failing_pull_request_comments_the_error_block() {
    let p = Project::new();
    p.write("c.yaml", &connection("ci-api", "Orders API"));
    p.write("d.yaml", &destination("ci-orders", "ci-api", 10));
    p.write(
        "k.yaml",
        &connection("ci-kept", "Kept").replace(
            "metadata: { name: ci-kept }",
            "metadata: { name: ci-kept, protect: true }",
        ),
    );
    p.apply();
    support::moto().forget_calls(&p.region);

    // Pull request 1: a rate that is not a number.
    p.write(
        "d.yaml",
        &destination("ci-orders", "ci-api", 10).replace(
            "invocationRateLimitPerSecond: 10",
            "invocationRateLimitPerSecond: fast",
        ),
    );
    let (validate, code, comment) = pr_jobs(&p, "pr1.json");
    assert_eq!((validate, code), (1, 1), "{comment}");
    assert!(
        comment.starts_with("### outbound plan failed\n"),
        "{comment}"
    );
    assert!(
        comment.contains("manifests/d.yaml:9:")
            && comment.contains("spec.invocationRateLimitPerSecond"),
        "{comment}"
    );
    assert!(
        !p.dir.path().join("pr1.json").exists(),
        "a failed plan was saved"
    );

    // Pull request 2: the protected connection's manifest is removed.
    p.write("d.yaml", &destination("ci-orders", "ci-api", 10));
    p.remove("k.yaml");
    let (validate, code, comment) = pr_jobs(&p, "pr2.json");
    assert_eq!((validate, code), (0, 1), "{comment}");
    assert!(
        comment.starts_with("### outbound plan failed\n"),
        "{comment}"
    );
    assert!(
        comment.contains(
            "error: the plan would delete or replace protected resources: Connection/ci-kept"
        ) && comment
            .contains("hint: Connection/ci-kept: restore its manifest, or remove `protect: true`"),
        "{comment}"
    );
    // The refused plan is still shown, the protected delete marked.
    assert!(
        comment.contains("\nThe plan that was refused:\n")
            && comment.contains("| `-` delete | `Connection/ci-kept` |"),
        "{comment}"
    );
    assert!(
        !p.dir.path().join("pr2.json").exists(),
        "a refused plan was saved"
    );
    assert_eq!(
        p.mutations(),
        Vec::<String>::new(),
        "a failed plan changed AWS"
    );
}
