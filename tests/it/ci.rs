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
use support::project::{CANARY, Project, connection, destination, outside};

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
    change_rate_outside_in(&p.region, rate);
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

/// docs/ci.md's set-up step 3 makes each account's IAM files from `examples/ci/iam/` with
/// `sed`: run as written, for one environment's values, it leaves no placeholder (account,
/// region, bucket, state key, repository, environment, connector role names) and valid JSON.
#[test]
fn the_set_up_replaces_every_placeholder_in_the_iam_files() {
    let docs = std::fs::read_to_string(Path::new(ROOT).join("docs/ci.md")).unwrap();
    let start = docs
        .find("env=staging account=")
        .expect("docs/ci.md sets the environment's values");
    let end = start + docs[start..].find("\ndone\n").expect("the sed loop ends") + 6;
    let script = &docs[start..end];
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("examples/ci")).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(Path::new(ROOT).join("examples/ci/iam"))
        .arg(dir.path().join("examples/ci/"))
        .status()
        .unwrap();
    assert!(status.success());
    // The documented values, replaced by this test's own.
    let script = script
        .replace("account=111122223333", "account=999988887777")
        .replace("region=eu-west-1", "region=ap-south-2")
        .replace("bucket=acme-outbound-state", "bucket=org-state")
        .replace("repo=acme/integrations", "repo=org/infra")
        .replace(
            "connector_role=TransferConnector",
            "connector_role=EdiAccess",
        )
        .replace("logging_role=TransferLogging", "logging_role=EdiLogs");
    let out = std::process::Command::new("bash")
        .arg("-euc")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}\n{out:?}");
    let made: Vec<_> = std::fs::read_dir(dir.path().join("iam/staging"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 6, "{made:?}");
    for path in made {
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        for placeholder in [
            "111122223333",
            "eu-west-1",
            "acme-outbound-state",
            "outbound/prod",
            "acme/integrations",
            "environment:production",
            "TransferConnector",
            "TransferLogging",
        ] {
            assert!(
                !text.contains(placeholder),
                "{path:?} still holds {placeholder}:\n{text}"
            );
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected: &[&str] = match name.as_str() {
            "trust-apply.json" => &["repo:org/infra:environment:staging", "999988887777"],
            "trust-plan.json" => &["repo:org/infra:pull_request"],
            "outbound-apply.json" => &[
                "arn:aws:s3:::org-state/staging/state.json.lock",
                "arn:aws:iam::999988887777:role/EdiAccess*",
                "arn:aws:iam::999988887777:role/EdiLogs*",
                "arn:aws:events:ap-south-2:999988887777:connection/*",
            ],
            _ => &["999988887777"],
        };
        for want in expected {
            assert!(text.contains(want), "{name} lacks {want}:\n{text}");
        }
    }
}

/// The recipes' own `run:` steps, run as GitHub would run them (`bash -eo pipefail`, one
/// job per environment in a fresh copy of the repository, files standing in for
/// `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`), against moto. The `uses:` steps are stood in
/// for: outbound's action puts the binary under test on `PATH`; configure-aws-credentials
/// gives the environment's account's credentials; upload- and download-artifact copy files;
/// github-script steps are not run (their outputs, where a later step needs them, are given).
mod recipes {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_yaml::Value as Yaml;

    use super::ROOT;
    use crate::support;

    /// What a job left: its steps' outputs, its summary, whether it failed, its log.
    pub struct JobRun {
        pub outputs: BTreeMap<String, BTreeMap<String, String>>,
        pub summary: String,
        pub failed: bool,
        pub log: String,
    }

    /// AWS credentials for one emulated account.
    #[derive(Clone)]
    pub struct Creds {
        pub key: String,
        pub secret: String,
        pub token: Option<String>,
    }

    pub struct Runner {
        /// The repository the workflows run in (outbound.yaml, manifests/, environments/).
        pub repo: PathBuf,
        /// Scratch space: one directory per job, the artifacts.
        pub work: PathBuf,
        pub region: String,
        /// Account id -> credentials (what each account's role gives the job).
        pub accounts: BTreeMap<String, Creds>,
        /// `secrets.NAME` of the GitHub environment.
        pub secrets: BTreeMap<String, String>,
        /// `github.*` values the expressions use.
        pub github: BTreeMap<String, String>,
        jobs: usize,
    }

    pub fn workflow(name: &str) -> Yaml {
        let path = Path::new(ROOT).join("examples/ci/github").join(name);
        serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// Values of `KEY=VALUE` and `KEY<<DELIM ... DELIM` lines.
    fn parse_outputs(text: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some((k, delim)) = line.split_once("<<") {
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delim {
                        break;
                    }
                    value.push(l);
                }
                out.insert(k.to_owned(), value.join("\n"));
            } else if let Some((k, v)) = line.split_once('=') {
                out.insert(k.to_owned(), v.to_owned());
            }
        }
        out
    }

    impl Runner {
        pub fn new(repo: PathBuf, work: PathBuf, region: &str) -> Runner {
            Runner {
                repo,
                work,
                region: region.to_owned(),
                accounts: BTreeMap::new(),
                secrets: BTreeMap::new(),
                github: BTreeMap::new(),
                jobs: 0,
            }
        }

        /// `${{ EXPR }}` of the forms the recipes use, in the job's context.
        fn eval(&self, expr: &str, matrix: &serde_json::Value, run: &JobRun) -> String {
            let expr = expr.trim();
            let parts: Vec<&str> = expr.split('.').collect();
            match parts.as_slice() {
                ["matrix", "env", field] => match &matrix[field] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                ["steps", id, "outputs", key] => run
                    .outputs
                    .get(*id)
                    .and_then(|o| o.get(*key))
                    .cloned()
                    .unwrap_or_default(),
                ["secrets", name] => self.secrets.get(*name).cloned().unwrap_or_default(),
                ["inputs", _] => String::new(),
                ["github", ..] => self
                    .github
                    .get(&expr["github.".len()..])
                    .cloned()
                    .unwrap_or_else(|| panic!("no value for `{expr}`")),
                ["runner", ..] => "Linux".to_owned(),
                _ => panic!("the test does not know the expression `{expr}`"),
            }
        }

        /// A text with every `${{ … }}` evaluated.
        fn expand(&self, text: &str, matrix: &serde_json::Value, run: &JobRun) -> String {
            let re = regex::Regex::new(r"\$\{\{(.*?)\}\}").unwrap();
            re.replace_all(text, |c: &regex::Captures| self.eval(&c[1], matrix, run))
                .into_owned()
        }

        /// A step's `if:`, for the forms the recipes use (`a && b`, `a || b`, `x == 'v'`,
        /// `x != 'v'`, `!cancelled()`, `always()`); no `if:` is `success()`.
        fn condition(&self, step: &Yaml, matrix: &serde_json::Value, run: &JobRun) -> bool {
            let Some(cond) = step.get("if").and_then(Yaml::as_str) else {
                return !run.failed;
            };
            let cond = cond.trim().trim_start_matches("${{").trim_end_matches("}}");
            let atom = |a: &str| -> bool {
                let a = a.trim();
                if a == "!cancelled()" || a == "always()" {
                    return true;
                }
                for (op, eq) in [("!=", false), ("==", true)] {
                    if let Some((l, r)) = a.split_once(op) {
                        let l = self.eval(l, matrix, run);
                        let r = r.trim().trim_matches('\'');
                        return (l == r) == eq;
                    }
                }
                panic!("the test does not know the condition `{a}`")
            };
            let mentions_status = cond.contains("cancelled()") || cond.contains("always()");
            let value = cond.split("||").any(|alt| alt.split("&&").all(&atom));
            value && (mentions_status || !run.failed)
        }

        /// Runs `job` of `workflow` for the matrix value `matrix` (its `env`), with
        /// `given` as the outputs of the steps the test does not run (github-script).
        pub fn job(
            &mut self,
            workflow: &Yaml,
            job: &str,
            matrix: &serde_json::Value,
            given: &[(&str, &[(&str, &str)])],
        ) -> JobRun {
            self.jobs += 1;
            let mut run = JobRun {
                outputs: BTreeMap::new(),
                summary: String::new(),
                failed: false,
                log: String::new(),
            };
            for (id, values) in given {
                let values = values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
                run.outputs.insert((*id).to_owned(), values.collect());
            }
            let mut ctx = Ctx {
                dir: self.work.join(format!("job-{}-{job}", self.jobs)),
                summary: self.work.join(format!("summary-{}", self.jobs)),
                env: BTreeMap::new(),
                path: None,
                creds: None,
                region: self.region.clone(),
            };
            copy_dir(&self.repo, &ctx.dir);
            std::fs::write(&ctx.summary, "").unwrap();
            let job_def = &workflow["jobs"][job];
            for scope in [&workflow["env"], &job_def["env"]] {
                for (k, v) in scope.as_mapping().into_iter().flatten() {
                    let v = self.expand(v.as_str().unwrap(), matrix, &run);
                    ctx.env.insert(k.as_str().unwrap().to_owned(), v);
                }
            }
            for (i, step) in job_def["steps"].as_sequence().unwrap().iter().enumerate() {
                if !self.condition(step, matrix, &run) {
                    continue;
                }
                if let Some(uses) = step.get("uses").and_then(Yaml::as_str) {
                    self.stand_in(uses, step, matrix, &run, &mut ctx);
                } else if let Some(body) = step.get("run").and_then(Yaml::as_str) {
                    let label = format!("{job} step {i}");
                    self.run_step(&label, body, step, matrix, &mut run, &ctx);
                }
            }
            run.summary = std::fs::read_to_string(&ctx.summary).unwrap();
            run
        }

        /// What a `uses:` step does, as far as the following `run:` steps can tell.
        fn stand_in(
            &self,
            uses: &str,
            step: &Yaml,
            matrix: &serde_json::Value,
            run: &JobRun,
            ctx: &mut Ctx,
        ) {
            let with = |k: &str| self.expand(step["with"][k].as_str().unwrap_or(""), matrix, run);
            let action = uses.split('@').next().unwrap();
            match action {
                "acme/outbound" => {
                    let bin = Path::new(env!("CARGO_BIN_EXE_outbound"));
                    ctx.path = Some(bin.parent().unwrap().to_owned());
                }
                "aws-actions/configure-aws-credentials" => {
                    let role = with("role-to-assume");
                    let account = role.split(':').nth(4).unwrap().to_owned();
                    let creds = self.accounts.get(&account);
                    ctx.creds = Some(
                        creds
                            .unwrap_or_else(|| panic!("no account for {role}"))
                            .clone(),
                    );
                    ctx.region = with("aws-region");
                }
                "actions/upload-artifact" => {
                    let to = self.work.join("artifacts").join(with("name"));
                    std::fs::create_dir_all(&to).unwrap();
                    for file in with("path")
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                    {
                        std::fs::copy(ctx.dir.join(file), to.join(file)).unwrap();
                    }
                }
                "actions/download-artifact" => {
                    let from = self.work.join("artifacts").join(with("name"));
                    copy_dir(&from, &ctx.dir.join(with("path")));
                }
                _ => {} // github-script, checkout: nothing a run: step reads
            }
        }

        /// A `run:` step: `bash -eo pipefail` in the job's directory, with only the
        /// variables the workflow, the job and the step set, the stood-in credentials and a
        /// fresh `GITHUB_OUTPUT` file (read back as the step's outputs).
        fn run_step(
            &self,
            label: &str,
            body: &str,
            step: &Yaml,
            matrix: &serde_json::Value,
            run: &mut JobRun,
            ctx: &Ctx,
        ) {
            assert!(
                !body.contains("${{"),
                "{label}: an expression in a run: script (pass it through env:)"
            );
            let output = self
                .work
                .join(format!("output-{}-{label}", self.jobs).replace(' ', "-"));
            std::fs::write(&output, "").unwrap();
            let mut path = std::env::var("PATH").unwrap();
            if let Some(extra) = &ctx.path {
                path = format!("{}:{path}", extra.display());
            }
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", body])
                .current_dir(&ctx.dir)
                .env_clear()
                .env("PATH", path)
                .env("HOME", &self.work)
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_STEP_SUMMARY", &ctx.summary)
                .envs(&ctx.env);
            for (k, v) in step
                .get("env")
                .and_then(Yaml::as_mapping)
                .into_iter()
                .flatten()
            {
                let v = self.expand(v.as_str().unwrap(), matrix, run);
                cmd.env(k.as_str().unwrap(), v);
            }
            // The emulator stands in for AWS; no other credential source is read.
            cmd.env("AWS_ENDPOINT_URL", &support::moto().proxy)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
                .env("AWS_REGION", &ctx.region);
            if let Some(c) = &ctx.creds {
                cmd.env("AWS_ACCESS_KEY_ID", &c.key)
                    .env("AWS_SECRET_ACCESS_KEY", &c.secret);
                if let Some(t) = &c.token {
                    cmd.env("AWS_SESSION_TOKEN", t);
                }
            }
            let out = cmd.output().unwrap();
            run.log.push_str(&format!(
                "--- {label} (exit {:?})\n{}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
            if let Some(id) = step.get("id").and_then(Yaml::as_str) {
                let values = parse_outputs(&std::fs::read_to_string(&output).unwrap());
                run.outputs.insert(id.to_owned(), values);
            }
            run.failed |= !out.status.success();
        }
    }

    /// A job's surroundings: its checkout, summary file, variables, and what the `uses:`
    /// steps so far set up.
    struct Ctx {
        dir: PathBuf,
        summary: PathBuf,
        env: BTreeMap<String, String>,
        path: Option<PathBuf>,
        creds: Option<Creds>,
        region: String,
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        let status = Command::new("cp")
            .arg("-R")
            .arg(format!("{}/.", from.display()))
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// The account of the second emulated environment (the first is [`support::ACCOUNT`]).
const OTHER_ACCOUNT: &str = "222233334444";

/// Credentials for `account` in moto: an assumed role there, as configure-aws-credentials
/// would get them; the default test credentials for [`support::ACCOUNT`].
fn account_creds(account: &str, region: &str) -> recipes::Creds {
    if account == support::ACCOUNT {
        return recipes::Creds {
            key: support::ACCESS_KEY_ID.to_owned(),
            secret: support::SECRET_ACCESS_KEY.to_owned(),
            token: None,
        };
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = sdk_config(
            region,
            aws_sdk_sts::config::Credentials::new(
                support::ACCESS_KEY_ID,
                support::SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ),
        )
        .await;
        let out = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/outbound-apply"))
            .role_session_name("ci-test")
            .send()
            .await
            .unwrap();
        let c = out.credentials.unwrap();
        recipes::Creds {
            key: c.access_key_id,
            secret: c.secret_access_key,
            token: Some(c.session_token),
        }
    })
}

async fn sdk_config(
    region: &str,
    creds: aws_sdk_sts::config::Credentials,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(support::moto().moto.clone())
        .credentials_provider(creds)
        .load()
        .await
}

fn sdk_creds(c: &recipes::Creds) -> aws_sdk_sts::config::Credentials {
    aws_sdk_sts::config::Credentials::new(&c.key, &c.secret, c.token.clone(), None, "test")
}

/// A new state bucket in the account of `creds`.
fn state_bucket(c: &recipes::Creds, name: &str, region: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = sdk_config(region, sdk_creds(c)).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let mut create = s3.create_bucket().bucket(name);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(region.into())
                    .build(),
            );
        }
        create.send().await.unwrap();
    });
}

/// The EventBridge connections of the account of `creds`, by name.
fn connections_in(c: &recipes::Creds, region: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = sdk_config(region, sdk_creds(c)).await;
        let out = aws_sdk_cloudwatchevents::Client::new(&config)
            .list_connections()
            .send()
            .await
            .unwrap();
        out.connections()
            .iter()
            .filter_map(|c| c.name().map(str::to_owned))
            .collect()
    })
}

/// The manifests repository of the two-environment test: staging in the default account,
/// production in [`OTHER_ACCOUNT`] with an overlay (rate 50), each state in its own bucket.
fn two_environment_repo(repo: &Path, region: &str, suffix: &str) {
    let write = |file: &str, text: &str| {
        let path = repo.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "outbound.yaml",
        &format!(
            "apiVersion: outbound/v1\nkind: Project\nenvironments:\n  \
             staging:\n    account: \"{}\"\n    region: {region}\n    \
             state: s3://ci-staging-{suffix}/staging/state.json\n    \
             overlays: [environments/staging/]\n  \
             production:\n    account: \"{OTHER_ACCOUNT}\"\n    region: {region}\n    \
             state: s3://ci-production-{suffix}/production/state.json\n    \
             overlays: [environments/production/]\n",
            support::ACCOUNT
        ),
    );
    write("manifests/c.yaml", &connection("ci-api", "Orders API"));
    write("manifests/d.yaml", &destination("ci-orders", "ci-api", 10));
    write(
        "environments/production/d.yaml",
        "apiVersion: outbound/v1\nkind: ApiDestination\nmetadata: { name: ci-orders }\n\
         spec:\n  invocationRateLimitPerSecond: 50\n",
    );
    std::fs::create_dir_all(repo.join("environments/staging")).unwrap();
}

/// The pull request: the plan workflow's `envs` job, then its `plan` job per environment
/// (each exit 2, its Markdown in the summary, its artifact without the secret). Returns the
/// environments.
fn pull_request_plans(runner: &mut recipes::Runner, artifacts: &Path) -> Vec<Value> {
    let plan_wf = recipes::workflow("outbound-plan.yml");
    let envs = runner.job(&plan_wf, "envs", &Value::Null, &[]);
    assert!(!envs.failed, "{}", envs.log);
    let list: Vec<Value> = serde_json::from_str(&envs.outputs["envs"]["envs"]).unwrap();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["production", "staging"], "{}", envs.log);
    for env in &list {
        let name = env["name"].as_str().unwrap();
        let plan = runner.job(&plan_wf, "plan", env, &[]);
        assert!(!plan.failed, "{name}: {}", plan.log);
        assert_eq!(plan.outputs["plan"]["exit-code"], "2", "{}", plan.log);
        assert!(
            plan.summary.contains("ApiDestination/ci-orders"),
            "{name}: {}",
            plan.summary
        );
        let artifact = artifacts.join(format!("outbound-plan-{name}-0123abc"));
        let saved = std::fs::read_to_string(artifact.join("plan.json")).unwrap();
        assert!(!saved.contains(CANARY), "a secret in the artifact");
        assert!(artifact.join("plan.md").exists());
    }
    list
}

/// The recipes' `run:` steps in order, for two environments in two emulated accounts (a state
/// bucket in each): the pull request's plan of both (no secret in the job; one artifact, one
/// summary and one comment body per environment), the merge's apply of one (its reviewed
/// plan, in its own account only), the drift of both (an outside change in the applied one
/// is found there, the other is clean).
#[test]
fn the_recipes_run_for_two_environments_in_two_accounts() {
    let region = support::region();
    let a = account_creds(support::ACCOUNT, &region);
    let b = account_creds(OTHER_ACCOUNT, &region);
    let suffix = region.to_lowercase();
    state_bucket(&a, &format!("ci-staging-{suffix}"), &region);
    state_bucket(&b, &format!("ci-production-{suffix}"), &region);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    two_environment_repo(&repo, &region, &suffix);
    let mut runner = recipes::Runner::new(repo, dir.path().join("work"), &region);
    runner
        .accounts
        .insert(support::ACCOUNT.to_owned(), a.clone());
    runner.accounts.insert(OTHER_ACCOUNT.to_owned(), b.clone());
    runner
        .github
        .insert("event.pull_request.head.sha".into(), "0123abc".into());
    for k in ["server_url", "repository", "run_id"] {
        runner.github.insert(k.into(), format!("test-{k}"));
    }
    runner.secrets.insert("ACME_API_KEY".into(), CANARY.into());

    let artifacts = dir.path().join("work/artifacts");
    let list = pull_request_plans(&mut runner, &artifacts);
    // Production's overlay shows in its plan only.
    let production =
        std::fs::read_to_string(artifacts.join("outbound-plan-production-0123abc/plan.json"))
            .unwrap();
    assert!(production.contains("50"), "{production}");

    // The merge: staging applies its reviewed plan (the find step's outputs are given).
    let apply_wf = recipes::workflow("outbound-apply.yml");
    let staging = list.iter().find(|e| e["name"] == "staging").unwrap();
    let find: &[(&str, &str)] = &[
        ("pr", "7"),
        ("name", "outbound-plan-staging-0123abc"),
        ("run-id", "1"),
    ];
    let apply = runner.job(&apply_wf, "apply", staging, &[("find", find)]);
    assert!(!apply.failed, "{}", apply.log);
    assert_eq!(apply.outputs["apply"]["exit-code"], "0", "{}", apply.log);
    assert!(
        apply.summary.contains("`staging` (exit 0)"),
        "{}",
        apply.summary
    );
    assert_eq!(connections_in(&a, &region), ["ci-api"]);
    assert_eq!(connections_in(&b, &region), Vec::<String>::new());

    // Someone changes staging's destination by hand; the drift jobs of both environments.
    change_rate_outside_in(&region, 77);
    let drift_wf = recipes::workflow("outbound-drift.yml");
    let envs = runner.job(&drift_wf, "envs", &Value::Null, &[]);
    assert!(!envs.failed, "{}", envs.log);
    for env in &list {
        let name = env["name"].as_str().unwrap();
        let drift = runner.job(&drift_wf, "drift", env, &[]);
        assert!(!drift.failed, "{name}: {}", drift.log);
        let (code, text) = if name == "staging" {
            ("2", "ApiDestination/ci-orders")
        } else {
            ("0", "no drift")
        };
        assert_eq!(drift.outputs["drift"]["exit-code"], code, "{}", drift.log);
        assert!(drift.summary.contains(text), "{name}: {}", drift.summary);
    }
}

/// [`change_rate_outside`] in `region` of the default account.
fn change_rate_outside_in(region: &str, rate: i64) {
    outside(region, async |aws| {
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

/// docs/ci.md, "Secrets": only jobs that apply see secrets, and only from their GitHub
/// environment; every job that plans or checks drift without applying runs with
/// `OUTBOUND_SECRETS: skip`.
#[test]
fn only_apply_jobs_see_secrets_the_others_skip_them() {
    let mut jobs_seen = 0;
    for name in [
        "outbound-plan.yml",
        "outbound-apply.yml",
        "outbound-drift.yml",
    ] {
        let wf = recipes::workflow(name);
        let workflow_skip = wf["env"]["OUTBOUND_SECRETS"].as_str() == Some("skip");
        for (job, def) in wf["jobs"].as_mapping().unwrap() {
            jobs_seen += 1;
            let job = job.as_str().unwrap();
            let text = serde_yaml::to_string(def).unwrap();
            let applies = text.contains("outbound apply ");
            if text.contains("secrets.") {
                assert!(
                    applies,
                    "{name} {job}: secrets in a job that does not apply"
                );
                assert!(
                    def["environment"].as_str().is_some(),
                    "{name} {job}: secrets outside a GitHub environment"
                );
            }
            let reads = text.contains("outbound plan ") || text.contains("outbound drift ");
            if reads && !applies {
                let skip = workflow_skip || def["env"]["OUTBOUND_SECRETS"].as_str() == Some("skip");
                assert!(skip, "{name} {job}: plans or drifts resolving secrets");
            }
        }
    }
    assert!(jobs_seen >= 7, "{jobs_seen} jobs");
}
