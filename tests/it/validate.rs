//! `outbound validate` on a catalogue of invalid manifests (`tests/invalid/`, one case per
//! entry) and on the shipped examples. Each invalid case must fail with exit code 1, locate
//! every error by file and line, leak no secret, and match its stderr snapshot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use assert_cmd::cargo::cargo_bin_cmd;
use regex::Regex;

/// Values that must never appear in any output: a literal written where a secret belongs,
/// and the values of the environment variables behind secret references.
const LITERAL_CANARY: &str = "CANARY-LITERAL-6b1f";
const PRESENT_SECRET: &str = "CANARY-ENV-77c2";
const BAD_SECRET_CANARY: &str = "CANARY-ENV-93ad";
/// A value AWS rejects in an auth header (it holds a newline), with a canary after it.
const BAD_SECRET: &str = "first line\nCANARY-ENV-93ad";
const CANARIES: [&str; 3] = [LITERAL_CANARY, PRESENT_SECRET, BAD_SECRET_CANARY];

/// Cases whose diagnostics cannot name a line: a directory and a path that do not hold one.
const NO_LINE: [&str; 2] = ["dir-no-manifests", "does-not-exist.yaml"];
/// Cases that are not an entry of `tests/invalid/`.
const NOT_ON_DISK: [&str; 1] = ["does-not-exist.yaml"];

/// The catalogue must not shrink unnoticed.
const MIN_CASES: usize = 87;

/// One `#[test]` per case, named after it, and the list of all cases in [`CASES`].
macro_rules! cases {
    ($($(#[$attr:meta])* $test:ident: $case:literal,)+) => {
        const CASES: &[&str] = &[$($case),+];
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                check_invalid($case);
            }
        )+
    };
}

cases! {
    // Broken YAML.
    yaml_bad_indentation: "yaml-bad-indentation.yaml",
    yaml_unclosed_flow: "yaml-unclosed-flow.yaml",
    yaml_tab_indentation: "yaml-tab-indentation.yaml",
    yaml_duplicate_key: "yaml-duplicate-key.yaml",
    yaml_error_in_second_document: "yaml-error-in-second-document.yaml",
    yaml_alias_repetition_limit: "yaml-alias-repetition-limit.yaml",
    yaml_tagged_document: "yaml-tagged-document.yaml",
    yaml_merge_key_not_a_mapping: "yaml-merge-key-not-a-mapping.yaml",
    // Wrong types.
    type_string_for_integer: "type-string-for-integer.yaml",
    // Issue 18: `FILE:1:1: … expected i32` with no field, at the wrong line.
    range_integer_too_large: "range-integer-too-large.yaml",
    type_fraction_for_integer: "type-fraction-for-integer.yaml",
    type_list_for_map: "type-list-for-map.yaml",
    type_map_for_string: "type-map-for-string.yaml",
    type_bool_for_string: "type-bool-for-string.yaml",
    // Unknown fields, with and without a close name.
    unknown_field_top_level: "unknown-field-top-level.yaml",
    unknown_field_metadata: "unknown-field-metadata.yaml",
    unknown_field_spec_typo: "unknown-field-spec-typo.yaml",
    unknown_field_nested_typo: "unknown-field-nested-typo.yaml",
    unknown_field_deep_typo: "unknown-field-deep-typo.yaml",
    // Enums.
    enum_as2_compression: "enum-as2-compression.yaml",
    enum_as2_encryption_algorithm: "enum-as2-encryption-algorithm.yaml",
    enum_as2_signing_algorithm: "enum-as2-signing-algorithm.yaml",
    enum_as2_mdn_signing_algorithm: "enum-as2-mdn-signing-algorithm.yaml",
    enum_as2_mdn_response: "enum-as2-mdn-response.yaml",
    enum_as2_preserve_content_type: "enum-as2-preserve-content-type.yaml",
    enum_connection_authorization_type: "enum-connection-authorization-type.yaml",
    enum_connection_oauth_http_method: "enum-connection-oauth-http-method.yaml",
    enum_api_destination_http_method: "enum-api-destination-http-method.yaml",
    // Patterns.
    pattern_profile_id: "pattern-profile-id.yaml",
    pattern_role_arn: "pattern-role-arn.yaml",
    pattern_name_with_spaces: "pattern-name-with-spaces.yaml",
    pattern_connection_arn: "pattern-connection-arn.yaml",
    pattern_security_policy_name: "pattern-security-policy-name.yaml",
    pattern_server_id: "pattern-server-id.yaml",
    pattern_header_key: "pattern-header-key.yaml",
    // Lengths.
    length_name_65: "length-name-65.yaml",
    length_description_513: "length-description-513.yaml",
    length_trusted_host_keys: "length-trusted-host-keys.yaml",
    // Missing required fields, apiVersion and kind.
    missing_api_version: "missing-api-version.yaml",
    missing_kind: "missing-kind.yaml",
    missing_metadata_name: "missing-metadata-name.yaml",
    missing_spec: "missing-spec.yaml",
    missing_url: "missing-url.yaml",
    missing_access_role: "missing-access-role.yaml",
    missing_invocation_endpoint: "missing-invocation-endpoint.yaml",
    missing_api_key_value: "missing-api-key-value.yaml",
    missing_header_parameter_value: "missing-header-parameter-value.yaml",
    wrong_api_version: "wrong-api-version.yaml",
    unknown_kind_typo: "unknown-kind-typo.yaml",
    document_is_list: "document-is-list.yaml",
    // Cross-field rules.
    rule_auth_block_mismatch: "rule-auth-block-mismatch.yaml",
    rule_two_auth_blocks: "rule-two-auth-blocks.yaml",
    rule_oauth_without_client_parameters: "rule-oauth-without-client-parameters.yaml",
    rule_http_authorization_endpoint: "rule-http-authorization-endpoint.yaml",
    rule_encryption_none_http_url: "rule-encryption-none-http-url.yaml",
    rule_mdn_async_without_config: "rule-mdn-async-without-config.yaml",
    rule_async_mdn_config_without_async: "rule-async-mdn-config-without-async.yaml",
    rule_as2_and_sftp: "rule-as2-and-sftp.yaml",
    rule_neither_as2_nor_sftp: "rule-neither-as2-nor-sftp.yaml",
    rule_connection_and_connection_arn: "rule-connection-and-connection-arn.yaml",
    rule_neither_connection_nor_arn: "rule-neither-connection-nor-arn.yaml",
    rule_http_invocation_endpoint: "rule-http-invocation-endpoint.yaml",
    rule_sftp_url_for_as2: "rule-sftp-url-for-as2.yaml",
    rule_reserved_tag_outbound: "rule-reserved-tag-outbound.yaml",
    rule_reserved_tag_aws: "rule-reserved-tag-aws.yaml",
    rule_duplicate_http_parameter_key: "rule-duplicate-http-parameter-key.yaml",
    rule_egress_config_on_as2: "rule-egress-config-on-as2.yaml",
    rule_url_multibyte_scheme: "rule-url-multibyte-scheme.yaml",
    // AWS limits from the constraint table (src/manifest/constraints/table.rs).
    aws_description_line_break: "aws-description-line-break.yaml",
    aws_api_destination_description_line_break: "aws-api-destination-description-line-break.yaml",
    aws_tag_limits_with_a_schema_error: "aws-tag-limits-with-a-schema-error.yaml",
    // Across documents.
    across_duplicate_name: "across-duplicate-name",
    across_dangling_connection_typo: "across-dangling-connection-typo",
    across_dangling_connection_unrelated: "across-dangling-connection-unrelated",
    // Secrets.
    secret_literal: "secret-literal.yaml",
    secret_both_keys: "secret-both-keys.yaml",
    secret_unknown_source: "secret-unknown-source.yaml",
    secret_env_missing: "secret-env-missing.yaml",
    secret_file_missing: "secret-file-missing.yaml",
    secret_env_bad_value: "secret-env-bad-value.yaml",
    // Files and paths.
    file_empty: "file-empty.yaml",
    file_only_comments: "file-only-comments.yaml",
    file_not_utf8: "file-not-utf8.yaml",
    dir_no_manifests: "dir-no-manifests",
    does_not_exist: "does-not-exist.yaml",
    // Several problems.
    multi_problems_one_document: "multi-problems-one-document.yaml",
    multi_problems_two_documents: "multi-problems-two-documents.yaml",
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn catalogue() -> PathBuf {
    repo().join("tests/invalid")
}

/// What one run of the binary printed, and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `outbound validate ARGS` in `dir`, with only the given secret variables set: every
/// variable the manifests named by ARGS reference is removed first, and colors are off.
fn validate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = cargo_bin_cmd!("outbound");
    cmd.current_dir(dir).arg("validate").args(args);
    for arg in args {
        for name in env_references(&dir.join(arg)) {
            cmd.env_remove(name);
        }
    }
    for name in ["OUTBOUND_LOG", "CLICOLOR_FORCE", "CLICOLOR"] {
        cmd.env_remove(name);
    }
    cmd.env("NO_COLOR", "1");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().expect("outbound runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every `fromEnv: NAME` in the files at or under `path` (none if it does not exist).
fn env_references(path: &Path) -> BTreeSet<String> {
    static FROM_ENV: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"fromEnv:\s*([A-Za-z_][A-Za-z0-9_]*)").unwrap());
    let mut names = BTreeSet::new();
    for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
        if entry.file_type().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            names.extend(FROM_ENV.captures_iter(&text).map(|c| c[1].to_owned()));
        }
    }
    names
}

/// Runs one case and checks everything the catalogue promises about it.
fn check_invalid(case: &str) {
    let run = validate(
        &catalogue(),
        &[case],
        &[
            ("OUTBOUND_TEST_PRESENT", PRESENT_SECRET),
            ("OUTBOUND_TEST_BAD_SECRET", BAD_SECRET),
        ],
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains("panicked"),
        "{case}: outbound panicked:\n{all}"
    );
    assert_eq!(run.code, Some(1), "{case}: exit code\n{all}");
    assert_eq!(run.stdout, "", "{case}: nothing on stdout when invalid");
    for canary in CANARIES {
        assert!(
            !all.contains(canary),
            "{case}: the secret {canary} leaked:\n{all}"
        );
    }
    assert_locations(case, &run.stderr);
    let name = case.trim_end_matches(".yaml");
    insta::with_settings!({
        description => format!("outbound validate {case}   (in tests/invalid)"),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, run.stderr);
    });
}

/// Every `error:` line starts with the case's path, and, where there is a file to point
/// into, with `:LINE` right after the file's name.
fn assert_locations(case: &str, stderr: &str) {
    let case_re = regex::escape(case);
    let located = if NO_LINE.contains(&case) {
        format!(r"^{case_re}: error: ")
    } else {
        format!(r"^{case_re}(/[^:]+\.ya?ml)?:\d+(:\d+)?: error: ")
    };
    let located = Regex::new(&located).unwrap();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert!(!errors.is_empty(), "{case}: no `error:` line in\n{stderr}");
    for line in errors {
        assert!(
            located.is_match(line),
            "{case}: not located as expected: {line}"
        );
    }
}

#[test]
fn the_catalogue_lists_every_case_on_disk() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(catalogue())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = CASES
        .iter()
        .filter(|c| !NOT_ON_DISK.contains(c))
        .map(|c| c.to_string())
        .collect();
    assert_eq!(on_disk, listed, "tests/invalid/ and the case list differ");
    for missing in NOT_ON_DISK {
        assert!(
            !catalogue().join(missing).exists(),
            "{missing} must not exist"
        );
    }
    assert!(
        CASES.len() >= MIN_CASES,
        "the catalogue has {} cases, expected at least {MIN_CASES}",
        CASES.len()
    );
}

#[test]
fn the_examples_are_valid() {
    let manifests = repo().join("manifests");
    let names = env_references(&manifests);
    assert!(
        !names.is_empty(),
        "the examples reference secrets from the environment"
    );
    let env: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), PRESENT_SECRET)).collect();
    let run = validate(repo(), &["manifests"], &env);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "15 resources in 4 files: valid\n");
    assert!(!run.stderr.contains(PRESENT_SECRET));
}

/// Issue 18: a YAML merge key (`<<: *common`) was an unknown field `<<`; it is merged (keys
/// written beside it win), and `50.0` is the whole number the editor's schema accepts.
#[test]
fn yaml_merge_keys_are_merged_and_whole_floats_are_integers() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
apiVersion: outbound/v1
kind: ApiDestination
metadata:
  name: acme-orders
spec:
  <<: &defaults
    httpMethod: POST
    invocationRateLimitPerSecond: 50.0
  httpMethod: PUT
  connectionArn: arn:aws:events:eu-west-1:111122223333:connection/acme/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
  invocationEndpoint: https://api.acme.example/v2/orders
";
    std::fs::write(dir.path().join("m.yaml"), text).unwrap();
    let run = validate(dir.path(), &["m.yaml"], &[]);
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "1 resource in 1 file: valid\n");
}

/// SPEC §1 Validation: "report every problem, not only the first". The document holds four
/// schema problems and a reserved tag (a rule of its kind); all five must be reported.
#[test]
// Cross-field rules need a well-typed document, so they run once its schema problems are
// fixed (docs/architecture.md); every schema problem is reported in the first run.
fn every_schema_problem_of_one_document_is_reported() {
    let run = validate(&catalogue(), &["multi-problems-one-document.yaml"], &[]);
    for field in [
        "spec.accessRole",
        "spec.as2Config.compression",
        "spec.as2Config.signingAlgorithm",
        "spec.as2Config.mdnRespnse",
    ] {
        assert!(
            run.stderr.contains(&format!(": {field}: ")),
            "{field} not reported:\n{}",
            run.stderr
        );
    }
}

// ---- Files reached through symlinks, twice, with a byte-order mark --------------------

/// A valid connector document (no secrets needed) named `name`.
fn connector_doc(name: &str) -> String {
    crate::support::project::connector(name, "Invoices")
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Issue 10 item 2: a manifest file or folder reached through a symlink was skipped silently,
/// so a plan would have deleted its resources.
#[test]
#[cfg(unix)]
fn symlinked_manifest_files_and_folders_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("shared/partners")).unwrap();
    std::fs::create_dir(root.join("manifests")).unwrap();
    std::fs::write(root.join("shared/one.yaml"), connector_doc("linked-file")).unwrap();
    std::fs::write(
        root.join("shared/partners/two.yaml"),
        connector_doc("linked-folder"),
    )
    .unwrap();
    std::fs::write(root.join("manifests/own.yaml"), connector_doc("own")).unwrap();
    symlink("../shared/one.yaml", &root.join("manifests/one.yaml"));
    symlink("../shared/partners", &root.join("manifests/partners"));
    let run = validate(root, &["manifests"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "3 resources in 3 files: valid\n");
}

/// Issue 10 item 2: a symlink loop is an error naming the link, not an endless walk or a
/// silent skip.
#[test]
#[cfg(unix)]
fn a_symlink_loop_is_an_error_naming_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("manifests/sub")).unwrap();
    std::fs::write(root.join("manifests/own.yaml"), connector_doc("own")).unwrap();
    symlink("..", &root.join("manifests/sub/back"));
    let run = validate(root, &["manifests"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("manifests/sub/back: error: symlink loop: this leads back to manifests"),
        "{}",
        run.stderr
    );
}

/// A symlink whose target is gone may have been a manifest: an error, not a silent skip
/// (it was skipped before links were followed).
#[test]
#[cfg(unix)]
fn a_dangling_symlink_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("manifests")).unwrap();
    std::fs::write(root.join("manifests/own.yaml"), connector_doc("own")).unwrap();
    symlink("../moved-away.yaml", &root.join("manifests/partner.yaml"));
    let run = validate(root, &["manifests"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "manifests/partner.yaml: error: a symlink to nothing (its target does not exist)"
        ),
        "{}",
        run.stderr
    );
}

/// Issue 10 item 2: the same file named twice, or reached through a link and directly, is
/// read once (it was a "duplicate resource" error).
#[test]
#[cfg(unix)]
fn a_file_reached_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("manifests")).unwrap();
    std::fs::write(root.join("manifests/a.yaml"), connector_doc("a")).unwrap();
    symlink("a.yaml", &root.join("manifests/b.yaml"));
    for args in [
        &["manifests/a.yaml", "manifests/a.yaml"][..],
        &["manifests", "manifests/a.yaml"][..],
        &["manifests"][..],
    ] {
        let run = validate(root, args, &[]);
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "1 resource in 1 file: valid\n", "{args:?}");
    }
}

/// Issue 10 item 8: a UTF-8 byte-order mark at the start of a file gave "missing field `kind`".
#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("\u{feff}{}---\n{}", connector_doc("a"), connector_doc("b"));
    std::fs::write(dir.path().join("bom.yaml"), text).unwrap();
    let run = validate(dir.path(), &["bom.yaml"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "2 resources in 1 file: valid\n");
}

/// Issue 10 item 8: an empty manifest set is refused unless `--allow-empty` is given, and the
/// error says so. A path that does not exist is refused even then (a typo must not delete
/// everything).
#[test]
fn an_empty_manifest_set_is_refused_with_a_hint_to_allow_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/c.yaml"), "# nothing yet\n").unwrap();
    let run = validate(dir.path(), &["manifests"], &[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("manifests/c.yaml:1:1: error: no documents in this file")
            && run.stderr.contains("pass `--allow-empty`"),
        "{}",
        run.stderr
    );
    // Issue 15 item 12: a file with no document next to one with documents is no error
    // (commenting out a file's last resource is a normal edit).
    std::fs::write(dir.path().join("manifests/d.yaml"), connector_doc("d")).unwrap();
    let run = validate(dir.path(), &["manifests"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "1 resource in 2 files: valid\n");
}

/// Issue 15 item 12: a byte-order mark at the start of a later document (after `---`, as
/// concatenated files have it) is accepted like the file's first, not "missing field kind".
#[test]
fn a_byte_order_mark_after_a_document_marker_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}---\n\u{feff}{}", connector_doc("a"), connector_doc("b"));
    std::fs::write(dir.path().join("bom.yaml"), text).unwrap();
    let run = validate(dir.path(), &["bom.yaml"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "2 resources in 1 file: valid\n");
}

/// Issue 15 item 12: `validate --secrets skip` checks a pull request without the secret
/// values (a keyless job's first step); without it, a missing value is an error.
#[test]
fn validate_with_secrets_skip_resolves_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let doc = crate::support::project::connection("acme", "Orders");
    std::fs::write(dir.path().join("c.yaml"), doc).unwrap();
    let run = validate(dir.path(), &["c.yaml"], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let run = validate(dir.path(), &["c.yaml", "--secrets", "skip"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "1 resource in 1 file: valid\n");
}

/// Issue 15 item 12: `validate` calls no AWS, so a bad `OUTBOUND_RATE_LIMIT` (an AWS setting)
/// does not fail it.
#[test]
fn a_bad_rate_limit_variable_does_not_fail_validate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), connector_doc("a")).unwrap();
    let run = validate(dir.path(), &["c.yaml"], &[("OUTBOUND_RATE_LIMIT", "sqs=5")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "1 resource in 1 file: valid\n");
}

// ---- `--allow-empty`, end to end against moto -----------------------------------------

/// Issue 10 item 8: the last resources can be removed on purpose. Apply three resources,
/// empty the manifests; plan refuses without `--allow-empty` and says to pass it; with it,
/// plan deletes everything the state manages and apply removes it from AWS.
#[test]
fn allow_empty_plans_and_applies_the_removal_of_everything_managed() {
    use crate::support::project::{Project, connection, connector, destination};
    let p = Project::new();
    p.write("edi.yaml", &connector("edi", "Invoices"));
    p.write(
        "api.yaml",
        &format!(
            "{}---\n{}",
            connection("acme", "Orders"),
            destination("orders", "acme", 10)
        ),
    );
    p.apply();
    assert_eq!(p.managed().len(), 3, "{:?}", p.managed());
    p.remove("api.yaml");
    p.write("edi.yaml", "# The partner left; nothing to declare.\n");

    for command in ["plan", "apply"] {
        let mut args = vec![command];
        if command == "apply" {
            args.push("--auto-approve");
        }
        let run = p.run(&args);
        assert_eq!(run.code, 1, "{command}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("no documents in this file")
                && run.stderr.contains("pass `--allow-empty`"),
            "{command}: {}",
            run.stderr
        );
    }
    assert_eq!(p.managed().len(), 3, "nothing was removed without the flag");

    let plan = p.run(&["plan", "--detailed-exitcode", "--allow-empty"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    for address in ["Connector/edi", "Connection/acme", "ApiDestination/orders"] {
        assert!(
            plan.stdout.contains(&format!("- {address}")),
            "{address} not deleted in:\n{}",
            plan.stdout
        );
    }
    assert!(
        plan.stdout
            .contains("0 to create, 0 to update, 0 to replace, 3 to delete"),
        "{}",
        plan.stdout
    );

    let apply = p.run(&["apply", "--auto-approve", "--allow-empty"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(p.managed().is_empty(), "{:?}", p.managed());
    let moto = crate::support::moto();
    for op in [
        "DeleteConnector",
        "DeleteConnection",
        "DeleteApiDestination",
    ] {
        assert_eq!(moto.count(&p.region, op), 1, "{op}: {:?}", p.operations());
    }
    let again = p.run(&["plan", "--detailed-exitcode", "--allow-empty"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

/// `--allow-empty` does not lift `protect: true`.
#[test]
fn allow_empty_still_refuses_to_delete_a_protected_resource() {
    use crate::support::project::{Project, connector};
    let p = Project::new();
    p.write(
        "edi.yaml",
        &connector("edi", "Invoices").replace(
            "metadata: { name: edi }",
            "metadata: { name: edi, protect: true }",
        ),
    );
    p.apply();
    p.remove("edi.yaml");
    let run = p.run(&["apply", "--auto-approve", "--allow-empty"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("the plan would delete or replace protected resources: Connector/edi"),
        "{}",
        run.stderr
    );
    assert_eq!(
        crate::support::moto().count(&p.region, "DeleteConnector"),
        0
    );
}

/// Issue 15 item 9: `metadata.adopt` is `true` for a connection or API destination (found by
/// name) and the connector's id for a connector; anything else is refused, naming the field.
#[test]
fn the_adopt_marker_fits_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let marked = |doc: String, name: &str, adopt: &str| {
        doc.replace(
            &format!("metadata: {{ name: {name} }}"),
            &format!("metadata: {{ name: {name}, adopt: {adopt} }}"),
        )
    };
    let connection = crate::support::project::connection("acme", "Orders");
    let env = [("ACME_API_KEY", PRESENT_SECRET)];
    for (file, doc, ok) in [
        ("a.yaml", marked(connection.clone(), "acme", "true"), None),
        (
            "b.yaml",
            marked(connector_doc("edi"), "edi", "c-0123456789abcdef0"),
            None,
        ),
        ("c.yaml", marked(connector_doc("edi"), "edi", "false"), None),
        (
            "d.yaml",
            marked(connector_doc("edi"), "edi", "true"),
            Some("metadata.adopt: a connector is adopted by its id, not `true`"),
        ),
        (
            "e.yaml",
            marked(connector_doc("edi"), "edi", "edi-1"),
            Some("metadata.adopt: `edi-1` is not a connector id"),
        ),
        (
            "f.yaml",
            marked(connection, "acme", "c-0123456789abcdef0"),
            Some("metadata.adopt: a Connection is adopted by its name: `adopt: true`"),
        ),
    ] {
        std::fs::write(dir.path().join(file), doc).unwrap();
        let run = validate(dir.path(), &[file], &env);
        match ok {
            None => assert_eq!(run.code, Some(0), "{file}: {}", run.stderr),
            Some(why) => {
                assert_eq!(run.code, Some(1), "{file}: {}", run.stderr);
                assert!(run.stderr.contains(why), "{file}: {}", run.stderr);
            }
        }
    }
}
