//! Environments (SPEC §7) on moto: a project file with two environments in two emulated
//! accounts (each reached by assuming a role of its account, as moto gives the role ARN's
//! account to the credentials it hands out), overlays, values, `--env all`, `envs`.

use serde_json::Value;

use crate::support::project::{Project, connection};

const STAGING: &str = "111111111111";
const PRODUCTION: &str = "222222222222";

/// A project with `staging` (region A) and `production` (region B), each in its own
/// account through its `role`; shared manifests, one overlay each.
struct Envs {
    p: Project,
    staging_region: String,
    production_region: String,
}

fn envs() -> Envs {
    let p = Project::new();
    let production_region = crate::support::region();
    let staging_region = p.region.clone();
    let dir = p.dir.path();
    std::fs::write(
        dir.join("outbound.yaml"),
        format!(
            r#"apiVersion: outbound/v1
kind: Project
environments:
  staging:
    account: "{STAGING}"
    region: {staging_region}
    state: states/staging.json
    role: arn:aws:iam::{STAGING}:role/outbound
    overlays: [environments/staging/]
    values: {{ host: staging.partner.example }}
  production:
    account: "{PRODUCTION}"
    region: {production_region}
    state: states/production.json
    role: arn:aws:iam::{PRODUCTION}:role/outbound
    overlays: [environments/production/]
    values: {{ host: partner.example }}
    rateLimit: events=20,transfer=10
"#
        ),
    )
    .unwrap();
    p.write("c.yaml", &connection("orders", "Orders"));
    p.write(
        "d.yaml",
        "apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: orders }
spec:
  connection: orders
  invocationEndpoint: https://${values.host}/orders
  httpMethod: POST
  invocationRateLimitPerSecond: 10
",
    );
    for (env, overlay) in [
        (
            "staging",
            "kind: Connection
metadata: { name: orders }
spec:
  authParameters:
    invocationHttpParameters:
      headerParameters:
        - { key: X-Env, value: '${env.name}' }
",
        ),
        (
            "production",
            "apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: audit }
spec:
  connection: orders
  invocationEndpoint: https://audit.${values.host}/in
  httpMethod: PUT
",
        ),
    ] {
        let d = dir.join("environments").join(env);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("overlay.yaml"), overlay).unwrap();
    }
    std::fs::create_dir_all(dir.join("states")).unwrap();
    Envs {
        p,
        staging_region,
        production_region,
    }
}

impl Envs {
    fn state(&self, env: &str) -> Option<Value> {
        let path = self.p.dir.path().join(format!("states/{env}.json"));
        let text = std::fs::read_to_string(path).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }
}

#[test]
fn envs_json_lists_every_environment_for_a_ci_matrix() {
    let e = envs();
    let run = e.p.run(&["envs", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([
            {"name": "production", "account": PRODUCTION, "region": e.production_region, "state": "states/production.json"},
            {"name": "staging", "account": STAGING, "region": e.staging_region, "state": "states/staging.json"},
        ])
    );
}

#[test]
fn a_project_needs_env_and_a_typo_gets_did_you_mean() {
    let e = envs();
    let run = e.p.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("pick one with --env")
            && run.stderr.contains("`production`, `staging`"),
        "{}",
        run.stderr
    );
    let run = e.p.run(&["plan", "--env", "stagign"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean `staging`?"),
        "{}",
        run.stderr
    );
    let run = e.p.run(&["apply", "--env", "all", "--auto-approve"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("takes one environment"),
        "{}",
        run.stderr
    );
    // Nothing was called.
    assert!(e.p.operations().is_empty(), "{:?}", e.p.operations());
}

#[test]
fn validate_all_checks_each_merged_set_and_names_the_overlay_line() {
    let e = envs();
    let run = e.p.run(&["validate", "--env", "all"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("production: 3 resources"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("staging: 2 resources"),
        "{}",
        run.stdout
    );
    std::fs::write(
        e.p.dir.path().join("environments/staging/bad.yaml"),
        "kind: ApiDestination\nmetadata: { name: orders }\nspec:\n  invocationEndpoint: https://${values.hots}/x\n",
    )
    .unwrap();
    let run = e.p.run(&["validate", "--env", "all"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("environments/staging/bad.yaml:4:")
            && run.stderr.contains("unknown value `${values.hots}`")
            && run.stderr.contains("did you mean `values.host`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn plan_all_then_apply_one_environment_in_its_own_account() {
    let e = envs();
    // 1. Both environments planned at once: one JSON report, a section each.
    let run = e.p.run(&[
        "plan",
        "--env",
        "all",
        "--format",
        "json",
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["environments"]["staging"]["summary"]["create"], 2);
    assert_eq!(report["environments"]["production"]["summary"]["create"], 3);
    // 2. Staging applied alone, into its own state (not OUTBOUND_STATE, which the test
    //    harness sets for the whole run: the environment's state wins over the variable).
    let run = e.p.run(&["apply", "--env", "staging", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let state = e.state("staging").expect("the staging state is written");
    assert!(e.state("production").is_none());
    assert!(!e.p.state_path().exists());
    let spec = &state["resources"]["ApiDestination/orders"]["spec"];
    assert_eq!(
        spec["invocationEndpoint"],
        "https://staging.partner.example/orders"
    );
    let arn = state["resources"]["ApiDestination/orders"]["arn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(arn.contains(&format!(":{STAGING}:")), "{state}");
    let headers = &state["resources"]["Connection/orders"]["spec"]["authParameters"]["invocationHttpParameters"]
        ["headerParameters"];
    assert!(headers.to_string().contains("\"staging\""), "{headers}");
    // 3. Staging converged; production still to create. Markdown names each environment.
    let run =
        e.p.run(&["plan", "--env", "staging", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run = e.p.run(&[
        "plan",
        "--env",
        "all",
        "--format",
        "markdown",
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    for marker in [
        "<!-- outbound-plan:staging -->",
        "<!-- outbound-plan:production -->",
        "outbound plan: staging",
        "outbound plan: production",
    ] {
        assert!(
            run.stdout.contains(marker),
            "{marker} missing:\n{}",
            run.stdout
        );
    }
    // 4. Production in its own account and region.
    let run = e.p.run(&["apply", "--env", "production", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let state = e.state("production").unwrap();
    let arn = state["resources"]["ApiDestination/audit"]["arn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        arn.contains(&format!(":{PRODUCTION}:")) && arn.contains(&e.production_region),
        "{state}"
    );
    let run = e.p.run(&["drift", "--env", "all"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("=== environment production ===")
            && run.stdout.contains("=== environment staging ==="),
        "{}",
        run.stdout
    );
}

#[test]
fn the_wrong_account_is_refused_before_any_other_call() {
    let e = envs();
    // A third environment that declares an account the run's credentials are not in (no
    // role: the harness's own account).
    let project = std::fs::read_to_string(e.p.dir.path().join("outbound.yaml")).unwrap();
    let region = crate::support::region();
    std::fs::write(
        e.p.dir.path().join("outbound.yaml"),
        format!(
            "{project}  elsewhere:\n    account: \"333333333333\"\n    region: {region}\n    state: states/elsewhere.json\n    values: {{ host: x.example }}\n"
        ),
    )
    .unwrap();
    let run = e.p.run(&["plan", "--env", "elsewhere"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("333333333333") && run.stderr.contains("environment elsewhere"),
        "{}",
        run.stderr
    );
    assert_eq!(
        crate::support::moto().operations(&region),
        ["GetCallerIdentity"],
        "only the guard's call"
    );
}

#[test]
fn a_state_moved_to_another_environment_and_a_saved_plan_of_another_are_refused() {
    let e = envs();
    let run = e.p.run(&["apply", "--env", "staging", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // 1. A saved plan of staging, applied with --env production: refused before any call.
    let run =
        e.p.run(&["plan", "--env", "staging", "--out", "staging.plan"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(e.p.dir.path().join("staging.plan")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["environment"], "staging");
    assert_eq!(saved["account"], STAGING);
    crate::support::moto().forget_calls(&e.production_region);
    let run =
        e.p.run(&["apply", "--env", "production", "--plan", "staging.plan"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("made for environment staging")
            && run
                .stderr
                .contains("this run is for environment production"),
        "{}",
        run.stderr
    );
    assert!(
        crate::support::moto()
            .operations(&e.production_region)
            .is_empty()
    );
    // 2. Staging's state put where production's belongs: refused naming both accounts.
    std::fs::copy(
        e.p.dir.path().join("states/staging.json"),
        e.p.dir.path().join("states/production.json"),
    )
    .unwrap();
    let run = e.p.run(&["plan", "--env", "production"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(STAGING) && run.stderr.contains(PRODUCTION),
        "{}",
        run.stderr
    );
    // The credentials are production's, as the environment declares: the hint points at the
    // state, not at other credentials.
    assert!(
        run.stderr
            .contains("environment production's state states/production.json records account")
            && run.stderr.contains(
                "hint: the credentials are for environment production's account; the state is not"
            )
            && !run
                .stderr
                .contains(&format!("run with credentials for account {STAGING}")),
        "{}",
        run.stderr
    );
}

/// SPEC §2 messages (issue 16 §5): a `--profile` that names no profile says so, listing
/// those there are, rather than "no AWS region".
#[test]
fn a_profile_that_does_not_exist_is_named() {
    let p = Project::new();
    p.write("c.yaml", &connection("orders", "Orders"));
    let config = p.dir.path().join("aws-config");
    std::fs::write(&config, "[profile ci]\nregion = eu-west-1\n").unwrap();
    let out = p
        .command(&["plan", "--profile", "nope"])
        .env("AWS_CONFIG_FILE", &config)
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    let run = crate::support::project::Run::checked(out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the AWS profile `nope` (--profile) does not exist")
            && run.stderr.contains("the profiles are `ci`")
            && !run.stderr.contains("no AWS region"),
        "{}",
        run.stderr
    );
    assert!(p.operations().is_empty());
}

/// Issue 16 §5: an unreachable endpoint is one line for its cause (the guard's first call),
/// not one per resource, and no "Read N resources" line comes before it.
#[test]
fn an_unreachable_endpoint_is_one_line() {
    let p = Project::new();
    p.write("c.yaml", &connection("orders", "Orders"));
    p.write(
        "d.yaml",
        &crate::support::project::destination("orders", "orders", 5),
    );
    let run = p.run(&["plan", "--endpoint-url", "http://127.0.0.1:9"]);
    // Nothing could be read: incomplete (3), as when the reads themselves fail.
    assert_eq!(run.code, 3, "{}", run.stderr);
    let errors = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .count();
    assert_eq!(errors, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("Read "), "{}", run.stderr);
}

/// Staging's shared connection and destination, and a destination of staging alone, made in
/// staging's account outside its state (through another state, whose files then go).
fn made_outside(e: &Envs) {
    let dir = e.p.dir.path();
    let overlay = dir.join("environments/staging");
    std::fs::write(
        overlay.join("extra.yaml"),
        "apiVersion: outbound/v1
kind: ApiDestination
metadata: { name: extra }
spec:
  connection: orders
  invocationEndpoint: https://extra.example/in
  httpMethod: POST
",
    )
    .unwrap();
    let run = e.p.run(&[
        "apply",
        "--env",
        "staging",
        "--state",
        "states/elsewhere.json",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    std::fs::remove_file(overlay.join("extra.yaml")).unwrap();
    std::fs::remove_file(dir.join("states/elsewhere.json")).unwrap();
}

/// Issue 16 §1: `import --env E` writes into E's overlay: a whole manifest for a resource of
/// E alone, only the adoption marker for one the shared manifests declare (their spec stays
/// the one E's plan compares with AWS); one an overlay of E leaves out is refused. The next
/// plan of E adopts all of them, and apply converges.
#[test]
fn import_env_writes_its_own_resources_whole_and_marks_shared_ones_in_its_overlay() {
    let e = envs();
    let dir = e.p.dir.path();
    let overlay = dir.join("environments/staging");
    made_outside(&e);
    let wanted = [
        "import",
        "--env",
        "staging",
        "Connection/orders",
        "ApiDestination/orders",
        "ApiDestination/extra",
    ];
    // 1. A shared resource that staging's overlay leaves out: refused, nothing written.
    std::fs::write(
        overlay.join("absent.yaml"),
        "kind: ApiDestination\nmetadata: { name: orders, absent: true }\n",
    )
    .unwrap();
    let run = e.p.run(&wanted);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("ApiDestination/orders")
            && run
                .stderr
                .contains("absent.yaml leaves it out of environment `staging`"),
        "{}",
        run.stderr
    );
    assert!(!overlay.join("apidestination-extra.yaml").exists());
    std::fs::remove_file(overlay.join("absent.yaml")).unwrap();
    // 2. The import: staging's overlay gets them, the shared manifests nothing.
    let shared_before = std::fs::read_dir(dir.join("manifests")).unwrap().count();
    let run = e.p.run(&wanted);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("into environments/staging/"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_dir(dir.join("manifests")).unwrap().count(),
        shared_before
    );
    let read = |f: &str| std::fs::read_to_string(overlay.join(f)).unwrap();
    for marker in ["connection-orders.yaml", "apidestination-orders.yaml"] {
        let doc: serde_yaml::Value = serde_yaml::from_str(&read(marker)).unwrap();
        assert_eq!(
            doc,
            serde_yaml::from_str::<serde_yaml::Value>(&format!(
                "{{kind: {}, metadata: {{name: orders, adopt: true}}}}",
                if marker.starts_with("connection") {
                    "Connection"
                } else {
                    "ApiDestination"
                }
            ))
            .unwrap(),
            "{marker}"
        );
    }
    let own: serde_yaml::Value = serde_yaml::from_str(&read("apidestination-extra.yaml")).unwrap();
    assert_eq!(own["metadata"]["adopt"], serde_yaml::Value::Bool(true));
    assert_eq!(
        own["spec"]["invocationEndpoint"],
        "https://extra.example/in"
    );
    // The shared connection named, not its ARN.
    assert_eq!(own["spec"]["connection"], "orders", "{own:?}");
    assert!(!read("connection-orders.yaml").contains("fromEnv"));
    // 3. Staging's plan adopts the three; production's set is unchanged.
    let run = e.p.run(&["plan", "--env", "staging", "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["summary"]["adopt"], 3, "{}", run.stdout);
    assert_eq!(plan["summary"]["create"], 0, "{}", run.stdout);
    let run = e.p.run(&["validate", "--env", "production"]);
    assert!(run.stdout.contains("3 resources"), "{}", run.stdout);
    // 4. Applied, staging converges.
    let run = e.p.run(&["apply", "--env", "staging", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run =
        e.p.run(&["plan", "--env", "staging", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// The reports of `plan --env all` as people, scripts and pull requests read them: staging
/// converged, production to create, and `broken` (no `values`: its placeholders are unknown)
/// failing validation. Exit 1, the most severe. On stderr, each environment's lines carry
/// its name, as the three run at once.
#[test]
fn plan_all_reports_one_section_per_environment_and_prefixes_stderr() {
    let e = envs();
    let run = e.p.run(&["apply", "--env", "staging", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let project = std::fs::read_to_string(e.p.dir.path().join("outbound.yaml")).unwrap();
    std::fs::write(
        e.p.dir.path().join("outbound.yaml"),
        format!(
            "{project}  broken:\n    account: \"333333333333\"\n    region: {}\n    state: states/broken.json\n",
            e.production_region
        ),
    )
    .unwrap();
    let mut redactions = vec![
        (regex::escape(&e.staging_region), "[staging-region]"),
        (regex::escape(&e.production_region), "[production-region]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".to_owned(),
            "[uuid]",
        ),
        // Salted per state, or hashes of what moto made: new in every run.
        (r#"argon2id\$[^"]+"#.to_owned(), "[fingerprint]"),
        (
            r#""fingerprintSalt": "[^"]+""#.to_owned(),
            r#""fingerprintSalt": "[salt]""#,
        ),
        (r"\b[0-9a-f]{64}\b".to_owned(), "[sha256]"),
    ];
    redactions.extend(e.p.redactions());
    for (format, ext) in [("text", "txt"), ("json", "json"), ("markdown", "md")] {
        let run = e.p.run(&["plan", "--env", "all", "--format", format]);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        insta::with_settings!({
            omit_expression => true,
            filters => redactions.iter().map(|(regex, to)| (regex.as_str(), *to)),
        }, {
            insta::assert_snapshot!(format!("plan-all.{ext}"), run.stdout);
        });
        for env in ["staging", "production", "broken"] {
            assert!(
                run.stderr.contains(&format!("[{env}] ")),
                "{env}:\n{}",
                run.stderr
            );
        }
        let unprefixed: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| {
                !["[staging] ", "[production] ", "[broken] "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect();
        assert!(unprefixed.is_empty(), "{unprefixed:?}\n{}", run.stderr);
    }
}
