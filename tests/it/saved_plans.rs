//! Saved plans (issue 9 §2, §2b; issue 10 item 5): `plan --out` then `apply --plan` applies
//! exactly the reviewed plan, on a project with or without state; a plan file that was
//! edited or cut short is refused before any AWS call; a plan can be made without the
//! secrets (`--secrets skip`) and applied where they are.

use std::time::Duration;

use serde_json::Value;

use crate::support::project::{CANARY, Project, Run, connection, destination, outside};

/// The plan file of `p`, made by `plan --out` (which must succeed).
fn save_plan(p: &Project, extra: &[&str]) -> String {
    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap().to_owned();
    let mut args = vec!["plan", "--out", saved.as_str()];
    args.extend_from_slice(extra);
    let run = p.run(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    saved
}

fn read(saved: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap()
}

/// The checksum a plan file must carry: SHA-256 of its canonical content (the JSON without
/// `checksum`, keys sorted, no whitespace), as docs/plan-file.md describes. A test that edits
/// a file on purpose reseals it to reach the checks behind the checksum.
fn reseal(plan: &mut Value) {
    use sha2::{Digest, Sha256};
    plan.as_object_mut().unwrap().remove("checksum");
    let digest = Sha256::digest(plan.to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    plan["checksum"] = format!("sha256:{hex}").into();
}

/// `apply --plan FILE`, with a bound so a regression cannot hang the suite.
fn apply_plan(p: &Project, saved: &str, env: &[(&str, &str)]) -> Run {
    let out = assert_cmd::Command::from_std(p.command(&["apply", "--plan", saved]))
        .envs(env.iter().copied())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    Run::checked(out)
}

/// `acme` and the destination `orders` on it.
fn acme_and_orders(p: &Project) {
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 10)
        ),
    );
}

fn two_connections_and_a_destination(p: &Project, rate: u32, description: &str) {
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}---\n{}",
            connection("acme", description),
            connection("other", "Other API"),
            destination("orders", "acme", rate)
        ),
    );
}

/// Issue 9 §2, first bullet (test first): on a project with no state, `plan --out` then
/// `apply --plan` was always refused as stale ("the state changed since the plan (serial 0
/// -> 0)"): apply drew a new lineage. The plan carries the lineage and fingerprint salt it
/// was made with, and apply creates the state with them.
#[test]
fn a_plan_saved_without_state_applies_and_the_state_takes_its_lineage() {
    let p = Project::new();
    acme_and_orders(&p);
    let saved = save_plan(&p, &[]);
    assert!(!p.state_path().exists(), "plan writes no state");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(!text.contains(CANARY), "no secret value in the plan file");
    assert!(text.contains("argon2id$"), "its fingerprints are");
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let plan = read(&saved);
    let state = p.state();
    assert_eq!(state["lineage"], plan["stateLineage"]);
    assert_eq!(state["fingerprintSalt"], plan["fingerprintSalt"]);
    assert_eq!(p.managed(), ["ApiDestination/orders", "Connection/acme"]);
    p.assert_no_changes();
}

/// Issue 9 §2, second bullet, and issue 15 item 10: edits to the manifests after `plan
/// --out` never change what is applied. `apply --plan` plans again from the manifests, the
/// state and AWS and refuses when that plan is not the saved one, naming the first
/// difference; nothing is applied. (Before issue 15 the edits were ignored and the file's
/// specs sent.)
#[test]
fn edits_to_the_manifests_after_the_plan_are_refused_naming_the_first_difference() {
    let p = Project::new();
    two_connections_and_a_destination(&p, 10, "Orders API");
    p.apply();
    // The reviewed change: the destination's rate.
    two_connections_and_a_destination(&p, 20, "Orders API");
    let saved = save_plan(&p, &[]);
    // Edited after review: the destination now points at `other`, a description changed.
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}---\n{}",
            connection("acme", "Edited after the plan"),
            connection("other", "Other API"),
            destination("orders", "other", 20)
        ),
    );
    crate::support::moto().forget_calls(&p.region);
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "the saved plan is not the plan the manifests, the state and AWS give now: \
             Connection/acme: action: the saved plan has `noop`, the plan made now has \
             `update`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: a saved plan is applied only"),
        "{}",
        run.stderr
    );
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
    let orders = outside(&p.region, async |aws| {
        aws.describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(orders.spec.value()["invocationRateLimitPerSecond"], 10);
    // With the manifests as reviewed, the same file applies.
    two_connections_and_a_destination(&p, 20, "Orders API");
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        p.mutations(),
        ["UpdateApiDestination"],
        "only the planned change"
    );
    p.assert_no_changes();
}

/// Issue 15 item 10 (test first: the forged file was applied): a pull request can upload a
/// plan file of its own. One whose spec was changed and whose checksum was computed again
/// exactly as outbound computes it passes the checksum, and is refused by the re-plan check:
/// AWS is unchanged.
#[test]
fn a_forged_and_resealed_plan_gains_nothing() {
    let p = Project::new();
    acme_and_orders(&p);
    p.apply();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API"),
            destination("orders", "acme", 20)
        ),
    );
    let saved = save_plan(&p, &[]);
    let mut plan = read(&saved);
    let orders = plan["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["address"] == "ApiDestination/orders")
        .unwrap();
    orders["spec"]["invocationEndpoint"] = "https://attacker.example/steal".into();
    reseal(&mut plan);
    std::fs::write(&saved, plan.to_string()).unwrap();
    crate::support::moto().forget_calls(&p.region);
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "ApiDestination/orders: spec /invocationEndpoint: the saved plan has \
             \"https://attacker.example/steal\", the plan made now has \
             \"https://api.example.com/orders\""
        ),
        "{}",
        run.stderr
    );
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
    let orders = outside(&p.region, async |aws| {
        aws.describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        orders.spec.value()["invocationEndpoint"],
        "https://api.example.com/orders"
    );
    assert_eq!(orders.spec.value()["invocationRateLimitPerSecond"], 10);
}

/// Issue 15 item 4: a forged plan's size is bounded. A file over the limit is refused before
/// it is read whole, and before any AWS call.
#[test]
fn a_plan_file_over_the_size_limit_is_refused_before_any_aws_call() {
    let p = Project::new();
    acme_and_orders(&p);
    let saved = p.dir.path().join("huge.json");
    let file = std::fs::File::create(&saved).unwrap();
    file.set_len(outbound::plan::file::MAX_BYTES + 1).unwrap();
    let run = apply_plan(&p, saved.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("it is larger than 67108864 bytes"),
        "{}",
        run.stderr
    );
    assert!(p.operations().is_empty(), "{:?}", p.operations());
}

/// Issue 9 §2: the manifests are read only for secret values, and each must match the
/// fingerprint in the plan, or apply refuses naming the resource and the field.
#[test]
fn a_secret_that_differs_from_the_plan_is_refused_naming_resource_and_field() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    p.write("c.yaml", &connection("acme", "Orders API, v2"));
    let saved = save_plan(&p, &[]);
    crate::support::moto().forget_calls(&p.region);
    let run = apply_plan(&p, &saved, &[("ACME_API_KEY", "another-value-9c1e")]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("Connection/acme")
            && run
                .stderr
                .contains("authParameters.apiKeyAuthParameters.apiKeyValue"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("another-value-9c1e"), "{}", run.stderr);
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
}

/// A plan file edited by hand, resealed so the checksum holds: the consistency check behind
/// it refuses a change waiting (`after`) on a change the file does not hold (issue 10
/// item 5: it made `apply --plan` spin forever, holding the lock).
#[test]
fn a_plan_file_waiting_on_a_change_it_does_not_hold_is_refused_before_any_aws_call() {
    let p = Project::new();
    p.write("d.yaml", &connection("acme", "Orders API"));
    p.apply();
    acme_and_orders(&p);
    let saved = save_plan(&p, &[]);
    let mut plan = read(&saved);
    let changes = plan["changes"].as_array_mut().unwrap();
    let orders = changes
        .iter_mut()
        .find(|c| c["address"] == "ApiDestination/orders")
        .unwrap();
    orders["after"] = serde_json::json!(["Connection/ghost"]);
    reseal(&mut plan);
    std::fs::write(&saved, plan.to_string()).unwrap();
    crate::support::moto().forget_calls(&p.region);
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ApiDestination/orders waits for Connection/ghost, which is not in the plan"),
        "{}",
        run.stderr
    );
    assert!(p.operations().is_empty(), "{:?}", p.operations());
    assert_eq!(p.managed(), ["Connection/acme"], "nothing applied");
}

/// Issue 9 §2, third bullet: a plan file cut short, or with one byte changed, is refused
/// with exit 1 before any AWS call, and nothing is applied.
#[test]
fn a_truncated_or_edited_plan_file_is_refused_before_any_aws_call() {
    let p = Project::new();
    p.write("d.yaml", &connection("acme", "Orders API"));
    p.apply();
    p.write("d.yaml", &connection("acme", "Orders API, v2"));
    let saved = save_plan(&p, &[]);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        read(&saved)["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let cases = [
        (
            "truncated",
            text[..text.len() / 2].to_owned(),
            "is not a complete plan",
        ),
        (
            "one byte changed",
            text.replacen("Orders API, v2", "Orders API, v3", 1),
            "its checksum does not match",
        ),
    ];
    for (case, edited, says) in cases {
        assert_ne!(edited, text, "{case}");
        std::fs::write(&saved, &edited).unwrap();
        crate::support::moto().forget_calls(&p.region);
        let run = apply_plan(&p, &saved, &[]);
        assert_eq!(run.code, 1, "{case}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{case}: {}", run.stderr);
        assert!(p.operations().is_empty(), "{case}: {:?}", p.operations());
    }
    let acme = outside(&p.region, async |aws| {
        aws.describe_connection("acme").await.unwrap().unwrap()
    });
    assert_eq!(
        acme.spec.value()["description"],
        "Orders API",
        "nothing applied"
    );
}

/// Issue 9 §2b: a pull-request plan without the secret in the environment and with
/// `--secrets skip` succeeds, shows the secret fields as not compared, and its saved plan
/// says the secrets were not checked; applying it where the value is set works. Without
/// `--secrets skip` a missing secret stays an error.
#[test]
fn a_plan_without_secrets_is_made_with_secrets_skip_and_applied_where_they_are() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    let without = |args: &[&str], env: &[(&str, &str)]| {
        let out = p
            .command(args)
            .env_remove("ACME_API_KEY")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run::checked(out)
    };
    let refused = without(&["plan"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("ACME_API_KEY"),
        "{}",
        refused.stderr
    );

    let saved = p.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let run = without(&["plan", "--secrets", "skip", "--out", saved], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "Connection/acme: authParameters.apiKeyAuthParameters.apiKeyValue: not compared (no value here)"
        ),
        "{}",
        run.stdout
    );
    let plan = read(saved);
    assert_eq!(plan["secretsChecked"], false);
    let comment = without(&["plan", "--secrets", "skip", "--format", "markdown"], &[]);
    assert_eq!(comment.code, 0, "{}", comment.stderr);
    assert!(
        comment.stdout.contains("Connection/acme: authParameters.apiKeyAuthParameters.apiKeyValue: not compared (no value here)"),
        "{}",
        comment.stdout
    );
    let by_env = without(&["plan", "--out", saved], &[("OUTBOUND_SECRETS", "skip")]);
    assert_eq!(by_env.code, 0, "{}", by_env.stderr);
    assert_eq!(read(saved)["secretsChecked"], false);

    // Apply needs every value the plan may send: the manifests no longer declare `acme`.
    p.write("c.yaml", &connection("other", "Other API"));
    let refused = apply_plan(&p, saved, &[]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(
            "Connection/acme: the manifests give no value for the secret authParameters.apiKeyAuthParameters.apiKeyValue"
        ),
        "{}",
        refused.stderr
    );
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
    p.write("c.yaml", &connection("acme", "Orders API"));
    let applied = apply_plan(&p, saved, &[]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert_eq!(p.mutations(), ["CreateConnection"]);
    let text = std::fs::read_to_string(saved).unwrap();
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    assert!(!text.contains(CANARY) && !state.contains(CANARY));
    assert!(
        p.state()["resources"]["Connection/acme"]["fingerprints"]
            .as_object()
            .is_some_and(|f| f.len() == 2),
        "the sent secrets are fingerprinted: {}",
        state
    );
    p.assert_no_changes();

    // A drift run without the secret, too.
    let drift = without(&["drift", "--secrets", "skip"], &[]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
}

/// Issue 9 §2b: a plan made without the secrets cannot know a secret changed; applying it
/// where the values are sends a value whose fingerprint differs from the state's, and the
/// report says so.
#[test]
fn applying_a_plan_made_without_secrets_sends_a_changed_secret_and_says_so() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    let saved = save_plan(&p, &["--secrets", "skip"]);
    let plan = read(&saved);
    assert_eq!(
        plan["summary"]["update"], 0,
        "no change is visible without the value"
    );
    crate::support::moto().forget_calls(&p.region);
    let rotated = "rotated-value-7d2b";
    let run = apply_plan(&p, &saved, &[("ACME_API_KEY", rotated)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains(rotated) && !run.stderr.contains(rotated));
    assert!(
        run.stdout
            .contains("Connection/acme: secret value changed since the last apply"),
        "{}",
        run.stdout
    );
    assert_eq!(p.mutations(), ["UpdateConnection"]);
    let again = p.run_with_env(
        &["plan", "--detailed-exitcode"],
        &[("ACME_API_KEY", rotated)],
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// Issue 9 §2b: any apply (here without `--plan`) that sends a secret whose value differs
/// from the state's says so after its report, without the value.
#[test]
fn an_apply_that_sends_a_rotated_secret_says_so() {
    let p = Project::new();
    p.write("c.yaml", &connection("acme", "Orders API"));
    p.apply();
    let rotated = "rotated-value-41aa";
    let run = p.run_with_env(&["apply", "--auto-approve"], &[("ACME_API_KEY", rotated)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "Connection/acme: secret value changed since the last apply (authParameters.apiKeyAuthParameters.apiKeyValue, "
        ),
        "{}",
        run.stdout
    );
    // Nothing to say when the values are the ones last applied.
    p.write("c.yaml", &connection("acme", "Orders API, v2"));
    let same = p.run_with_env(&["apply", "--auto-approve"], &[("ACME_API_KEY", rotated)]);
    assert_eq!(same.code, 0, "{}\n{}", same.stdout, same.stderr);
    assert!(
        !same.stdout.contains("secret value changed"),
        "{}",
        same.stdout
    );
}

/// Issue 15 item 12 (test first: "changed in AWS (outside the planned fields)"): a saved plan
/// refused because AWS changed a field the plan leaves as it was names the field and both
/// values.
#[test]
fn a_field_changed_in_aws_outside_the_planned_ones_is_named_with_both_values() {
    let p = Project::new();
    acme_and_orders(&p);
    p.apply();
    p.write(
        "d.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders API, v2"),
            destination("orders", "acme", 10)
        ),
    );
    let saved = save_plan(&p, &[]);
    outside(&p.region, async |aws| {
        let live = aws
            .describe_api_destination("orders")
            .await
            .unwrap()
            .unwrap();
        let mut spec = live.spec.value();
        spec["invocationRateLimitPerSecond"] = 77.into();
        let arn = spec["connectionArn"].as_str().unwrap().to_owned();
        let spec: outbound::resource::ApiDestinationSpec = serde_json::from_value(spec).unwrap();
        aws.update_api_destination("orders", &spec, &arn.into(), &[])
            .await
            .unwrap();
    });
    crate::support::moto().forget_calls(&p.region);
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "ApiDestination/orders changed in AWS: invocationRateLimitPerSecond was 10, is 77"
        ),
        "{}",
        run.stderr
    );
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
}

/// Issue 15 item 12 (test first: "the state changed since the plan (serial 1 -> 1)"): a plan
/// of another state's lineage is refused naming both lineages.
#[test]
fn a_plan_of_another_lineage_is_refused_naming_the_lineages() {
    let p = Project::new();
    p.write("d.yaml", &connection("acme", "Orders API"));
    p.apply();
    p.write("d.yaml", &connection("acme", "Orders API, v2"));
    let saved = save_plan(&p, &[]);
    let planned = read(&saved)["stateLineage"].as_str().unwrap().to_owned();
    let mut state = p.state();
    let other = "00000000-0000-4000-8000-00000000abcd";
    state["lineage"] = other.into();
    std::fs::write(p.state_path(), state.to_string()).unwrap();
    let run = apply_plan(&p, &saved, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "the plan was made from the state of lineage {planned}, and this state is another \
             one (lineage {other})"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("serial"), "{}", run.stderr);
}

/// Issue 15 item 12: a targeted saved plan keeps the secret checks of every bucket (they
/// let the next run skip the fingerprints of unchanged secrets); a run that dropped them made
/// every later run fingerprint every other bucket's secrets again.
#[test]
fn a_targeted_saved_plan_keeps_every_buckets_secret_checks() {
    let p = Project::new();
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    let docs = |description: &str| {
        names
            .iter()
            .map(|n| connection(n, if n == "c0" { description } else { "same" }))
            .collect::<Vec<_>>()
            .join("---\n")
    };
    p.write("c.yaml", &docs("one"));
    p.apply();
    let checks = |p: &Project| p.state()["secretChecks"].clone();
    let before = checks(&p);
    assert!(
        before.as_object().is_some_and(|o| o.len() > 1),
        "several buckets: {before}"
    );
    for (description, extra) in [
        ("two", &["--target", "Connection/c0"][..]),
        (
            "three",
            &["--target", "Connection/c0", "--secrets", "skip"][..],
        ),
    ] {
        p.write("c.yaml", &docs(description));
        let saved = save_plan(&p, extra);
        let run = apply_plan(&p, &saved, &[]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(
            checks(&p),
            before,
            "{extra:?}: the other buckets' checks were dropped"
        );
    }
    p.write("c.yaml", &docs("four"));
    let run = p.run(&["apply", "--auto-approve", "--target", "Connection/c0"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        checks(&p),
        before,
        "apply --target: the other buckets' checks were dropped"
    );
}
