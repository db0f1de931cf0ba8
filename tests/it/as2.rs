//! AS2 partners end to end against the emulator (issue 17): certificates and profiles
//! declared in the manifests, a connector naming its profiles, a rotation in two reviewed
//! steps, an expiring certificate in drift, and a profile replacement that never leaves the
//! connector pointing at a deleted profile.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::project::{Project, outside};

/// A self-signed certificate and its key, valid from yesterday for `days` days (generated:
/// no key is ever committed).
fn certificate(days: u64) -> (String, String) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let start = rcgen::date_time_ymd(1970, 1, 1) + now - Duration::from_secs(86_400);
    let mut params = rcgen::CertificateParams::new(vec!["as2.test.example".into()]).unwrap();
    params.not_before = start;
    params.not_after = start + Duration::from_secs((days + 1) * 86_400);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Writes `certs/<name>.pem` (and `keys/<name>.key` when `with_key`) and the document of a
/// Certificate that imports them.
fn certificate_doc(p: &Project, name: &str, usage: &str, days: u64, with_key: bool) -> String {
    let dir = p.dir.path().join("manifests");
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let (pem, key) = certificate(days);
    std::fs::write(dir.join(format!("certs/{name}.pem")), pem).unwrap();
    let key_line = if with_key {
        std::fs::write(dir.join(format!("keys/{name}.key")), key).unwrap();
        format!("  privateKey: {{ fromFile: keys/{name}.key }}\n")
    } else {
        String::new()
    };
    format!(
        "apiVersion: outbound/v1
kind: Certificate
metadata: {{ name: {name} }}
spec:
  usage: {usage}
  certificate: {{ fromFile: certs/{name}.pem }}
{key_line}  description: {name}
  tags: {{ team: edi }}
"
    )
}

fn profile_doc(name: &str, profile_type: &str, as2_id: &str, certificates: &[&str]) -> String {
    format!(
        "apiVersion: outbound/v1
kind: Profile
metadata: {{ name: {name} }}
spec:
  profileType: {profile_type}
  as2Id: {as2_id}
  certificates: [{}]
  tags: {{ team: edi }}
",
        certificates.join(", ")
    )
}

const CONNECTOR: &str = "apiVersion: outbound/v1
kind: Connector
metadata: { name: acme-as2 }
spec:
  url: https://as2.acme.example/as2
  accessRole: arn:aws:iam::111122223333:role/TransferConnector
  as2Config:
    localProfile: ours
    partnerProfile: acme
    compression: ZLIB
    encryptionAlgorithm: AES256_CBC
    signingAlgorithm: SHA256
    mdnResponse: SYNC
";

/// A partner from empty: our signing certificate (with its key), the partner's signing and
/// encryption certificates, a LOCAL and a PARTNER profile, and the connector.
fn onboard(p: &Project) {
    for (name, usage, key) in [
        ("ours-signing", "SIGNING", true),
        ("acme-signing-2026", "SIGNING", false),
        ("acme-encryption-2026", "ENCRYPTION", false),
    ] {
        p.write(
            &format!("cert-{name}.yaml"),
            &certificate_doc(p, name, usage, 3650, key),
        );
    }
    p.write(
        "profiles.yaml",
        &[
            profile_doc("ours", "LOCAL", "OURS", &["ours-signing"]),
            profile_doc(
                "acme",
                "PARTNER",
                "ACME-AS2",
                &["acme-signing-2026", "acme-encryption-2026"],
            ),
        ]
        .join("---\n"),
    );
    p.write("connector.yaml", CONNECTOR);
}

fn id(p: &Project, address: &str) -> String {
    p.state()["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} is not recorded"))
        .to_owned()
}

fn described_profile(p: &Project, address: &str) -> Option<Value> {
    let id = id(p, address);
    outside(&p.region, async |aws| {
        let live = aws
            .describe_profile(&outbound::resource::ResourceId::name(id))
            .await
            .unwrap();
        live.map(|l| l.spec.value())
    })
}

fn connector_spec(p: &Project) -> Value {
    let id = p.connector_id("acme-as2");
    outside(&p.region, async |aws| {
        aws.describe_connector(&id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .value()
    })
}

#[test]
fn an_as2_partner_is_onboarded_from_empty_by_references() {
    let p = Project::new();
    onboard(&p);
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    let run = p.apply();
    assert!(!run.stdout.contains("BEGIN"), "PEM printed: {}", run.stdout);
    p.assert_no_changes();
    let acme = described_profile(&p, "Profile/acme").unwrap();
    let mut want = vec![
        id(&p, "Certificate/acme-signing-2026"),
        id(&p, "Certificate/acme-encryption-2026"),
    ];
    want.sort();
    assert_eq!(acme["certificateIds"], serde_json::json!(want));
    assert_eq!(acme["profileType"], "PARTNER");
    let as2 = &connector_spec(&p)["as2Config"];
    assert_eq!(as2["localProfileId"], id(&p, "Profile/ours").as_str());
    assert_eq!(as2["partnerProfileId"], id(&p, "Profile/acme").as_str());
    // The key is in no state, plan or output.
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    assert!(!state.contains("PRIVATE KEY") && !state.contains("BEGIN"));
    // Imported with outbound's ownership tags, like a connector.
    let cert = id(&p, "Certificate/ours-signing");
    let tags = outside(&p.region, async |aws| {
        aws.describe_certificate(&outbound::resource::ResourceId::name(cert))
            .await
            .unwrap()
            .unwrap()
            .tags
    });
    assert_eq!(tags["outbound:name"], "ours-signing");
}

#[test]
fn a_rotation_is_two_reviewed_steps() {
    let p = Project::new();
    onboard(&p);
    p.apply();
    let old = id(&p, "Certificate/acme-signing-2026");
    // 1. The new certificate, listed beside the old one: create, then update the profile.
    let new_doc = certificate_doc(&p, "acme-signing-2027", "SIGNING", 3650, false);
    p.write("new.yaml", &new_doc);
    p.write(
        "profiles.yaml",
        &[
            profile_doc("ours", "LOCAL", "OURS", &["ours-signing"]),
            profile_doc(
                "acme",
                "PARTNER",
                "ACME-AS2",
                &[
                    "acme-signing-2026",
                    "acme-signing-2027",
                    "acme-encryption-2026",
                ],
            ),
        ]
        .join("---\n"),
    );
    let plan = p.run(&["plan", "--format", "json"]);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("Certificate/acme-signing-2027".into(), "create".into()),
            ("Profile/acme".into(), "update".into()),
        ]
    );
    p.apply();
    p.assert_no_changes();
    assert_eq!(
        described_profile(&p, "Profile/acme").unwrap()["certificateIds"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // 2. The old one out of the profile, then deleted.
    p.remove("cert-acme-signing-2026.yaml");
    p.write(
        "profiles.yaml",
        &[
            profile_doc("ours", "LOCAL", "OURS", &["ours-signing"]),
            profile_doc(
                "acme",
                "PARTNER",
                "ACME-AS2",
                &["acme-signing-2027", "acme-encryption-2026"],
            ),
        ]
        .join("---\n"),
    );
    let plan = p.run(&["plan", "--format", "json"]);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let deleted = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "Certificate/acme-signing-2026")
        .unwrap();
    assert_eq!(deleted["action"], "delete");
    assert_eq!(deleted["after"], serde_json::json!(["Profile/acme"]));
    p.apply();
    p.assert_no_changes();
    let ids = described_profile(&p, "Profile/acme").unwrap()["certificateIds"].clone();
    assert!(!ids.to_string().contains(&old), "{ids}");
    let gone = outside(&p.region, async |aws| {
        aws.describe_certificate(&outbound::resource::ResourceId::name(old.clone()))
            .await
            .unwrap()
    });
    assert!(gone.is_none(), "the old certificate is still in AWS");
    let ops = p.mutations();
    let update = ops.iter().rposition(|o| o == "UpdateProfile").unwrap();
    let delete = ops.iter().rposition(|o| o == "DeleteCertificate").unwrap();
    assert!(update < delete, "{ops:?}");
}

#[test]
fn drift_reports_a_certificate_that_expires_soon() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &certificate_doc(&p, "short", "SIGNING", 10, false),
    );
    let applied = p.apply();
    assert!(
        applied.stderr.contains("expires in"),
        "validation warns: {}",
        applied.stderr
    );
    let drift = p.drift(&[]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(
        drift.stdout.contains("expires in 10 days"),
        "{}",
        drift.stdout
    );
    let plan = p.plan();
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stderr.contains("expires in 10 days"),
        "{}",
        plan.stderr
    );
    // Outside the window: in sync.
    let drift = p.drift(&["--expiry-warning", "5"]);
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);
}

#[test]
fn a_replaced_profile_is_deleted_only_after_the_connector_is_repointed() {
    let p = Project::new();
    onboard(&p);
    p.apply();
    let old = id(&p, "Profile/acme");
    let profiles = std::fs::read_to_string(p.dir.path().join("manifests/profiles.yaml")).unwrap();
    p.write(
        "profiles.yaml",
        &profiles.replace("ACME-AS2", "ACME-AS2-NEW"),
    );
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    crate::support::moto().forget_calls(&p.region);
    p.apply();
    p.assert_no_changes();
    let new = id(&p, "Profile/acme");
    assert_ne!(new, old);
    assert_eq!(
        connector_spec(&p)["as2Config"]["partnerProfileId"],
        new.as_str()
    );
    let ops = p.mutations();
    let at = |op: &str| {
        ops.iter()
            .position(|o| o == op)
            .unwrap_or_else(|| panic!("{op}: {ops:?}"))
    };
    assert!(at("CreateProfile") < at("UpdateConnector"), "{ops:?}");
    assert!(at("UpdateConnector") < at("DeleteProfile"), "{ops:?}");
    let gone = outside(&p.region, async |aws| {
        aws.describe_profile(&outbound::resource::ResourceId::name(old.clone()))
            .await
            .unwrap()
    });
    assert!(gone.is_none(), "the old profile is still in AWS");
}

#[test]
fn a_local_profile_named_as_the_partner_is_refused_offline() {
    let p = Project::new();
    onboard(&p);
    p.write(
        "connector.yaml",
        &CONNECTOR
            .replace("localProfile: ours", "localProfile: acme")
            .replace("partnerProfile: acme", "partnerProfile: ours"),
    );
    let run = p.run(&["validate"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("connector.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("localProfile"), "{}", run.stderr);
    assert!(
        run.stderr.contains("whose profileType is PARTNER"),
        "{}",
        run.stderr
    );
    assert!(p.operations().is_empty(), "{:?}", p.operations());
}

/// Every certificate id AWS holds, as `ListCertificates` shows them.
fn certificate_ids(p: &Project) -> Vec<String> {
    outside(&p.region, async |aws| {
        aws.list_certificates().await.unwrap()
    })
    .into_iter()
    .map(|id| id.to_string())
    .collect()
}

/// Issue 17 §1: identity by tags is one mechanism. An import followed by a failure (the
/// Describe after `ImportCertificate` refused) leaves the id AWS assigned in `pending`; the
/// next run finds that certificate again by the saved id and its `outbound:` tags and adopts
/// it, never leaving a second, unmanaged copy. (Its body is a secret slot compared by the
/// fingerprint recorded at apply, and the interrupted run recorded none, so the adopted copy
/// is replaced: the body is sent again, and the copy deleted.)
#[test]
fn an_interrupted_certificate_import_is_found_again_by_its_saved_id() {
    let p = Project::new();
    p.write(
        "cert.yaml",
        &certificate_doc(&p, "acme-signing-2026", "SIGNING", 3650, false),
    );
    let moto = crate::support::moto();
    moto.fault(
        &p.region,
        serde_json::json!({"operation": "DescribeCertificate", "fault": "access_denied", "count": -1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let saved = p.state()["pending"]["Certificate/acme-signing-2026"]["id"].clone();
    let saved = saved
        .as_str()
        .unwrap_or_else(|| panic!("{}", p.state()))
        .to_owned();
    assert!(saved.starts_with("cert-"), "{saved}");
    assert_eq!(certificate_ids(&p), [saved.as_str()]);
    let plan = p.plan();
    assert!(
        plan.stdout.contains("adopt interrupted") && plan.stdout.contains("0 to create"),
        "{}",
        plan.stdout
    );
    p.apply();
    let now = id(&p, "Certificate/acme-signing-2026");
    assert_eq!(certificate_ids(&p), [now]);
    assert!(
        p.state()["pending"]
            .get("Certificate/acme-signing-2026")
            .is_none()
    );
    p.assert_no_changes();
}

/// Issue 17 §1: a certificate replacement cut short after the new import (its Describe
/// refused) leaves the old one recorded and the new copy pending; the next run deletes that
/// copy as a leftover (found by its saved id and tags) before it replaces the certificate
/// again, so AWS ends with exactly the certificate the state records.
#[test]
fn the_copy_of_an_interrupted_certificate_replacement_is_deleted_as_a_leftover() {
    let p = Project::new();
    p.write(
        "cert.yaml",
        &certificate_doc(&p, "acme-signing-2026", "SIGNING", 3650, false),
    );
    p.apply();
    let old = id(&p, "Certificate/acme-signing-2026");
    // A new body (a new certificate file) forces a replacement.
    p.write(
        "cert.yaml",
        &certificate_doc(&p, "acme-signing-2026", "SIGNING", 3650, false),
    );
    let moto = crate::support::moto();
    // The plan's Describe of the recorded certificate goes through; the one after the new
    // import is refused.
    moto.fault(
        &p.region,
        serde_json::json!({"operation": "DescribeCertificate", "fault": "access_denied", "count": -1, "skip": 1}),
    );
    let run = p.run(&["apply", "--auto-approve"]);
    moto.clear_faults(&p.region);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let mark = p.state()["pending"]["Certificate/acme-signing-2026"].clone();
    let copy = mark["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{mark}"))
        .to_owned();
    assert_eq!(mark["replaces"], old.as_str(), "{mark}");
    assert_eq!(id(&p, "Certificate/acme-signing-2026"), old);
    let mut before = certificate_ids(&p);
    before.sort();
    let mut want = vec![old.clone(), copy.clone()];
    want.sort();
    assert_eq!(before, want);
    p.apply();
    let now = id(&p, "Certificate/acme-signing-2026");
    assert!(now != old && now != copy, "{now}");
    assert_eq!(certificate_ids(&p), [now]);
    p.assert_no_changes();
}

/// A plan that would delete a certificate a profile outside outbound's manifests still lists
/// is refused, naming the certificate and the profile; nothing changes in AWS (issue 17 §4).
#[test]
fn deleting_a_certificate_a_profile_outside_lists_is_refused() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &certificate_doc(&p, "shared", "SIGNING", 3650, false),
    );
    p.apply();
    let cert = id(&p, "Certificate/shared");
    let profile = outside(&p.region, async |aws| {
        let spec = outbound::resource::ProfileSpec {
            profile_type: outbound::resource::profile::ProfileType::Partner,
            as2_id: "ELSEWHERE".into(),
            certificates: Vec::new(),
            certificate_ids: vec![cert.clone()],
            tags: Default::default(),
        };
        aws.create_profile(&spec, &Default::default())
            .await
            .unwrap()
    });
    p.remove("c.yaml");
    p.write(
        "other.yaml",
        &certificate_doc(&p, "other", "SIGNING", 3650, false),
    );
    crate::support::moto().forget_calls(&p.region);
    for run in [p.plan(), p.run(&["apply", "--auto-approve"])] {
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        for named in ["Certificate/shared", cert.as_str(), profile.as_str()] {
            assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
        }
        assert!(
            run.stderr.contains("hint: remove it from them"),
            "{}",
            run.stderr
        );
    }
    assert!(p.mutations().is_empty(), "{:?}", p.mutations());
    // Once the profile no longer lists it, the delete goes ahead.
    outside(&p.region, async |aws| {
        let spec = outbound::resource::ProfileSpec {
            profile_type: outbound::resource::profile::ProfileType::Partner,
            as2_id: "ELSEWHERE".into(),
            certificates: Vec::new(),
            certificate_ids: Vec::new(),
            tags: Default::default(),
        };
        aws.update_profile(&profile, &spec).await.unwrap()
    });
    p.apply();
    p.assert_no_changes();
}

/// A certificate imported outside outbound (as in the console), with a chain: its id and
/// the PEM of its body.
fn certificate_outside(p: &Project, usage: &str) -> (String, String) {
    let (id, pem, _) = certificate_outside_with(p, usage, false);
    (id, pem)
}

/// [`certificate_outside`], with its private key when `with_key`: its id, PEM and key.
fn certificate_outside_with(p: &Project, usage: &str, with_key: bool) -> (String, String, String) {
    let (pem, key) = certificate(3650);
    let (chain, _) = certificate(3650);
    let dir = tempfile::tempdir().unwrap();
    let mut secrets = outbound::aws::events::Secrets::new();
    let mut files = vec![
        ("/spec/certificate", "body.pem", &pem),
        ("/spec/certificateChain", "chain.pem", &chain),
    ];
    if with_key {
        files.push(("/spec/privateKey", "key.pem", &key));
    }
    for (pointer, file, value) in files {
        std::fs::write(dir.path().join(file), value).unwrap();
        let value = outbound::manifest::secret::SecretRef::FromFile(file.into())
            .resolve(dir.path())
            .unwrap();
        secrets.insert(pointer.to_owned(), value);
    }
    let spec: outbound::resource::CertificateSpec = serde_json::from_value(serde_json::json!({
        "usage": usage,
        "certificate": { "fromFile": "body.pem" },
        "certificateChain": { "fromFile": "chain.pem" },
        "description": "made-elsewhere",
    }))
    .unwrap();
    let id = outside(&p.region, async |aws| {
        aws.import_certificate(&spec, &secrets, &Default::default())
            .await
            .unwrap()
    });
    (id.as_str().to_owned(), pem, key)
}

/// A profile created outside outbound: its id.
fn profile_outside(p: &Project, as2_id: &str, certificate_ids: &[&str]) -> String {
    let spec = outbound::resource::ProfileSpec {
        profile_type: outbound::resource::profile::ProfileType::Partner,
        as2_id: as2_id.into(),
        certificates: Vec::new(),
        certificate_ids: certificate_ids.iter().map(|s| (*s).to_owned()).collect(),
        tags: std::collections::BTreeMap::from([("team".to_owned(), "edi".to_owned())]),
    };
    outside(&p.region, async |aws| {
        aws.create_profile(&spec, &Default::default())
            .await
            .unwrap()
            .as_str()
            .to_owned()
    })
}

/// `drift --include-unmanaged` lists the certificates and profiles no manifest or state
/// names, with the import command of each.
#[test]
fn include_unmanaged_lists_certificates_and_profiles() {
    let p = Project::new();
    onboard(&p);
    p.apply();
    let (cert, _) = certificate_outside(&p, "SIGNING");
    let profile = profile_outside(&p, "ELSEWHERE", &[&cert]);
    let run = p.drift(&["--include-unmanaged"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let section = &run.stdout[run.stdout.find("Unmanaged").unwrap()..];
    let section = section.split("\n\n").next().unwrap();
    assert_eq!(
        section.lines().skip(1).collect::<Vec<_>>(),
        [
            format!("  + Certificate/{cert}"),
            format!("      adopt it: outbound import Certificate/NAME={cert}"),
            format!("  + Profile/{profile}"),
            format!("      adopt it: outbound import Profile/NAME={profile}"),
        ],
        "{}",
        run.stdout
    );
}

/// `import` of certificates and profiles: the PEM body and chain written as files beside the
/// manifest, the private key as a file to fill (listed on stderr), a profile naming the
/// certificate imported with it (the other by id); the manifests validate, and the next plan
/// adopts them (with outbound's tags) and nothing else.
#[test]
fn import_writes_certificates_as_pem_files_and_profiles_by_name() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &certificate_doc(&p, "ours-signing", "SIGNING", 3650, false),
    );
    p.apply();
    let (signing, pem) = certificate_outside(&p, "SIGNING");
    let (other, _) = certificate_outside(&p, "ENCRYPTION");
    let (local, _, key) = certificate_outside_with(&p, "SIGNING", true);
    let profile = profile_outside(&p, "ACME-AS2", &[&signing, &other]);
    let run = p.run(&[
        "import",
        &format!("Certificate/acme-signing={signing}"),
        &format!("Certificate/ours-local={local}"),
        &format!("Profile/acme={profile}"),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("BEGIN"), "{}", run.stderr);
    let dir = p.dir.path().join("manifests/imported");
    assert_eq!(
        std::fs::read_to_string(dir.join("certs/acme-signing.pem")).unwrap(),
        pem,
        "the PEM AWS holds, with one newline more (a `fromFile` value drops one)"
    );
    assert!(dir.join("certs/acme-signing-chain.pem").is_file());
    let manifest = std::fs::read_to_string(dir.join("certificate-acme-signing.yaml")).unwrap();
    assert!(
        manifest.contains("fromFile: certs/acme-signing.pem"),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!("adopt: {signing}")),
        "{manifest}"
    );
    // The key is a file to fill, never in AWS's answers.
    assert!(
        run.stderr
            .contains("keys/ours-local.key  Certificate/ours-local"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("keys/ours-local.key").exists());
    let profile_doc = std::fs::read_to_string(dir.join("profile-acme.yaml")).unwrap();
    assert!(
        profile_doc.contains("- acme-signing") && profile_doc.contains(&format!("- {other}")),
        "{profile_doc}"
    );
    // Until the key is written, the manifests do not validate (the file is named).
    let run = p.run(&["validate"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("ours-local.key"), "{}", run.stderr);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys/ours-local.key"), key).unwrap();
    let run = p.run(&["validate"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The plan adopts the three, adding outbound's tags; apply records them.
    let plan = p.plan();
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    for address in [
        "Certificate/acme-signing",
        "Certificate/ours-local",
        "Profile/acme",
    ] {
        assert!(plan.stdout.contains(address), "{address}: {}", plan.stdout);
    }
    assert!(!plan.stdout.contains("will be replaced"), "{}", plan.stdout);
    crate::support::moto().forget_calls(&p.region);
    p.apply();
    // Only outbound's tags: the ids of the certificates adopted with the profile are known.
    let mutations = p.mutations();
    assert!(
        mutations.iter().all(|m| m == "TagResource"),
        "an adoption only tags: {mutations:?}"
    );
    assert!(
        !plan.stdout.contains("known after apply"),
        "{}",
        plan.stdout
    );
    p.assert_no_changes();
    assert_eq!(id(&p, "Certificate/acme-signing"), signing);
    assert_eq!(id(&p, "Profile/acme"), profile);
    let tags = outside(&p.region, async |aws| {
        aws.describe_certificate(&outbound::resource::ResourceId::name(signing.clone()))
            .await
            .unwrap()
            .unwrap()
            .tags
    });
    assert_eq!(tags["outbound:name"], "acme-signing");
}

/// `import --all --kind Certificate --kind Profile` finds the ones no state manages (named by
/// their id, untagged) and leaves out the managed ones.
#[test]
fn import_all_finds_unmanaged_certificates_and_profiles() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &certificate_doc(&p, "ours-signing", "SIGNING", 3650, false),
    );
    p.apply();
    let (cert, _) = certificate_outside(&p, "SIGNING");
    let profile = profile_outside(&p, "ACME-AS2", &[&cert]);
    let run = p.run(&[
        "import",
        "--all",
        "--kind",
        "Certificate",
        "--kind",
        "Profile",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Imported 2 resources"),
        "{}",
        run.stdout
    );
    let dir = p.dir.path().join("manifests/imported");
    assert!(dir.join(format!("certificate-{cert}.yaml")).is_file());
    let profile_doc = std::fs::read_to_string(dir.join(format!("profile-{profile}.yaml"))).unwrap();
    assert!(profile_doc.contains(&format!("- {cert}")), "{profile_doc}");
    assert!(!profile_doc.contains("certificateIds"), "{profile_doc}");
    let run = p.run(&["validate"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    p.apply();
    p.assert_no_changes();
}

/// The AWS limits of the certificate's members (the generated constraints table) hold for
/// its resolved PEM too: a body past `CertificateBodyType`'s 16,384 characters is refused
/// offline, naming the field and the shape, never quoting the value.
#[test]
fn a_certificate_body_past_the_aws_limit_is_refused_offline() {
    let p = Project::new();
    p.write(
        "c.yaml",
        &certificate_doc(&p, "big", "SIGNING", 3650, false),
    );
    let body = format!("{}\n", "A".repeat(16_385));
    std::fs::write(p.dir.path().join("manifests/certs/big.pem"), &body).unwrap();
    let run = p.run(&["validate"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("c.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("CertificateBodyType"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("AAAAAAAA"),
        "the value is quoted: {}",
        run.stderr
    );
    assert!(p.operations().is_empty(), "{:?}", p.operations());
}

/// Issue 15 item 12: an apply with nothing to change writes no state, here where a profile's
/// certificates are references resolved at apply (the first no-change apply used to record
/// the profile again without its resolved ids and bump the serial: every saved plan stale).
#[test]
fn an_apply_without_changes_keeps_the_serial_of_resolved_references() {
    let p = Project::new();
    onboard(&p);
    p.apply();
    let before = std::fs::read_to_string(p.state_path()).unwrap();
    for _ in 0..2 {
        let run = p.run(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(p.state_path()).unwrap(),
            before,
            "an apply without changes rewrote the state"
        );
    }
}
