//! `nestflux audit-config` as a user meets it: generated projects audit
//! clean, a drifted project fails with its findings, the output formats
//! (SARIF validated against the official schema), exit codes and
//! suppressions.

mod common;

use std::path::Path;

use common::Sandbox;
use nestflux::answers::{Answers, Database, DeploySet, Feature, FeatureSet, Idp, ProjectName};
use nestflux::render::{DEFAULT_ROLES, render};
use nestflux::secrets::Secrets;
use predicates::str::contains;
use serde_json::Value;

/// Writes the project `nestflux new` would generate for `answers` into
/// `dir`, without compiling anything.
fn generate(dir: &Path, answers: &Answers) {
    // Fresh secrets each run, as `nestflux new` draws them.
    let secrets = Secrets::from_os_rng(DEFAULT_ROLES);
    for (path, bytes) in render(answers, &secrets).expect("render") {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
}

fn answers(idp: Idp, features: FeatureSet) -> Answers {
    Answers {
        name: ProjectName::parse("my-api").unwrap(),
        idp,
        database: Database::Sqlite,
        features,
        deploy: DeploySet::none(),
    }
}

/// A sandbox holding a generated project in `my-api/` (every feature on).
/// A generated project whose `nestflux.toml` starts with `allow = []`: every
/// feature on, and a generic OIDC provider (no local IdP credentials in
/// `deploy/` to accept).
fn generated() -> Sandbox {
    let sandbox = Sandbox::new();
    generate(
        &sandbox.join("my-api"),
        &answers(Idp::Oidc, FeatureSet::all()),
    );
    sandbox
}

/// Each identity provider and database, with every subset of the five
/// defences (32 of them), each alone, with the deployment keys `tls` and
/// `redis` (`redis` only where `rate-limit` is on, which it needs), with
/// `session` (where `encryption` is on, which it needs), and with both. The
/// other keys add files but no finding of their own, so they are combined
/// with every subset rather than with each other in every way. Every answer
/// set of the build matrix (tests/generated_projects.rs) is among these.
/// Kubernetes manifests (`--deploy kubernetes`) are rendered for the half of
/// the subsets that have `headers` (the first defence): the other keys vary
/// independently of it, so every database, provider, `rate-limit`/`redis`,
/// `tls` and `session` combination is audited with and without them, at no
/// extra count.
#[test]
fn every_generated_project_audits_clean_at_the_lowest_threshold() {
    let core: Vec<Feature> = Feature::ALL
        .into_iter()
        .filter(|f| nestflux::audit::rules::feature_off(*f).is_some())
        .collect();
    let extra: Vec<Feature> = Feature::ALL
        .into_iter()
        .filter(|f| !core.contains(f))
        .collect();
    assert_eq!(
        extra,
        [Feature::Redis, Feature::Tls, Feature::Session],
        "a new feature: decide how this test combines it"
    );
    let subsets = 1u32 << core.len();
    let combinations = (0..subsets).flat_map(|bits| {
        [(false, false), (true, false), (false, true), (true, true)]
            .map(|(deploy, session)| (bits, deploy, session))
    });
    let mut audited = 0;
    let mut with_kubernetes = 0;
    for idp in Idp::ALL {
        for database in Database::AVAILABLE {
            for (bits, deploy, session) in combinations.clone() {
                let mut features: Vec<Feature> = core
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, f)| *f)
                    .collect();
                if session && !features.contains(&Feature::Encryption) {
                    continue;
                }
                if deploy {
                    features.push(Feature::Tls);
                    if features.contains(&Feature::RateLimit) {
                        features.push(Feature::Redis);
                    }
                }
                if session {
                    features.push(Feature::Session);
                }
                let features: FeatureSet = features.into_iter().collect();
                audited += 1;
                let dir = tempfile::tempdir().unwrap();
                let kubernetes = bits & 1 != 0;
                let answers = Answers {
                    database,
                    deploy: if kubernetes {
                        DeploySet::parse_list("kubernetes").unwrap()
                    } else {
                        DeploySet::none()
                    },
                    ..answers(idp, features.clone())
                };
                if kubernetes {
                    with_kubernetes += 1;
                }
                generate(dir.path(), &answers);
                let project = nestflux::audit::Project::load(dir.path()).unwrap();
                let audit = nestflux::audit::Audit::run(&project, nestflux::audit::Date::today());
                let found: Vec<String> = audit
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {}:{} {}",
                            f.rule.id, f.location.path, f.location.line, f.message
                        )
                    })
                    .collect();
                assert!(
                    found.is_empty(),
                    "{idp:?} {database:?} features [{features}]:\n{}",
                    found.join("\n")
                );
                // Exactly the entries `new` wrote were used: one per feature
                // turned off, and the local IdP's credentials under deploy/.
                let feature_rules = audit
                    .suppressed
                    .iter()
                    .filter(|s| !s.finding.location.path.starts_with("deploy/"))
                    .count();
                let off = core.iter().filter(|f| !features.contains(**f)).count();
                assert_eq!(feature_rules, off);
                let local_idp = matches!(idp, Idp::Keycloak | Idp::Authentik);
                // Only a local IdP's credentials in deploy/ may be accepted
                // (whether the secret scan flags a given random value varies).
                assert!(
                    local_idp
                        || !audit.suppressed.iter().any(|s| s
                            .finding
                            .location
                            .path
                            .starts_with("deploy/")),
                    "{idp:?}"
                );
            }
        }
    }
    // 3 providers × 2 databases × (32 + 32 + 16 + 16), half with Kubernetes.
    assert_eq!(audited, 3 * 2 * 96);
    assert_eq!(with_kubernetes, audited / 2);
}

#[test]
fn a_generated_project_passes_and_exits_zero() {
    let sandbox = generated();
    sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--fail-on", "low"])
        .assert()
        .code(0)
        .stdout(contains("no findings"))
        .stdout(contains("passed at --fail-on low"));
}

#[test]
fn a_wildcard_origin_and_headers_off_fail_with_both_findings_files_lines_and_fixes() {
    let sandbox = generated();
    let env = sandbox.read("my-api/.env.example");
    sandbox.write(
        "my-api/.env.example",
        &format!("{env}CORS_ALLOWED_ORIGINS=*\n"),
    );
    let line = env.lines().count() + 1;
    let toml = sandbox.read("my-api/nestflux.toml");
    sandbox.write("my-api/nestflux.toml", &toml.replace("\"headers\", ", ""));

    let out = sandbox
        .nestflux()
        .current_dir(sandbox.join("my-api"))
        .arg("audit-config")
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains(".env.example\n"), "{text}");
    assert!(text.contains(&format!("  {line}:22 ")), "{text}");
    assert!(
        text.contains("NF006") && text.contains("CORS_ALLOWED_ORIGINS allows the origin `*`"),
        "{text}"
    );
    assert!(
        text.contains("nestflux.toml\n") && text.contains("NF001"),
        "{text}"
    );
    assert!(text.contains("fix: list the exact origins"), "{text}");
    assert!(
        text.contains("fix: add \"headers\" to `features`"),
        "{text}"
    );
    assert!(
        text.contains("2 findings: 0 critical, 1 high, 1 medium, 0 low"),
        "{text}"
    );
    assert!(!text.contains("\u{1b}["), "no colour without a terminal");
}

#[test]
fn colour_is_used_only_when_asked_or_on_a_terminal() {
    let sandbox = generated();
    sandbox.write("my-api/.env.production", "APP_ENV=production\n");
    sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--color", "always"])
        .assert()
        .code(1)
        .stdout(contains("\u{1b}["));
}

/// The official schema's `language` patterns have a stray `]`
/// (`…-[a-zA-Z]{2}]?$`), which is not a valid ECMA 262 regex, so a validator
/// that checks the schema against its meta-schema refuses it. Those patterns
/// are fixed in memory; the vendored file stays as published.
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn fix_language_patterns(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, v)| {
                if key == "pattern" && v == BROKEN_LANGUAGE_PATTERN {
                    *v = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                    1
                } else {
                    fix_language_patterns(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(fix_language_patterns).sum(),
        _ => 0,
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value =
        serde_json::from_str(include_str!("fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    assert!(
        fix_language_patterns(&mut schema) > 0,
        "the vendored schema changed: review this workaround"
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let sandbox = generated();
    // A finding for several rules, and a path that needs escaping.
    sandbox.write("my-api/.env.example", "CORS_ALLOWED_ORIGINS=*,null\n");
    sandbox.write(
        "my-api/deploy/my env/.env.prod",
        "AUTH_ISSUER_URL=http://sso.example.com\n",
    );
    sandbox.write("my-api/Dockerfile", "FROM debian\nUSER root\n");
    sandbox
        .nestflux()
        .args([
            "audit-config",
            "my-api",
            "--format",
            "sarif",
            "--output",
            "report.sarif",
        ])
        .assert()
        .code(1)
        .stderr(contains("Wrote `report.sarif`"));
    let sarif: Value = serde_json::from_str(&sandbox.read("report.sarif")).unwrap();
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // What GitHub code scanning needs beyond the schema.
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), nestflux::audit::rules::ALL.len());
    for rule in rules {
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(rule["properties"]["security-severity"].as_str().is_some());
    }
    let results = run["results"].as_array().unwrap();
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&".env.example"), "{uris:?}");
    assert!(uris.contains(&"deploy/my%20env/.env.prod"), "{uris:?}");
    assert!(
        uris.iter()
            .all(|u| !u.starts_with('/') && !u.contains("my-api")),
        "relative to the project root: {uris:?}"
    );
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
}

#[test]
fn sarif_of_a_clean_project_is_valid_too() {
    let sandbox = generated();
    let out = sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--format", "sarif"])
        .assert()
        .code(0);
    let sarif: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let validator = sarif_validator();
    assert!(validator.is_valid(&sarif));
    assert_eq!(sarif["runs"][0]["results"], Value::Array(Vec::new()));
    // The validator does reject what is not SARIF.
    let mut broken = sarif.clone();
    broken["runs"][0]["tool"]["driver"]["rules"][0]["id"] = Value::from(7);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn json_output_follows_the_documented_schema() {
    let sandbox = generated();
    sandbox.write("my-api/Dockerfile", "FROM debian\n");
    let toml = sandbox.read("my-api/nestflux.toml");
    sandbox.write(
        "my-api/nestflux.toml",
        &toml.replace("allow = []", "allow = [{ rule = \"NF020\", path = \"Dockerfile\", reason = \"the image is rebuilt by the platform\" }]"),
    );
    sandbox.write("my-api/.env.example", "RATE_LIMIT_BURST=100000\n");
    let out = sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--format", "json"])
        .assert()
        .code(0)
        .stderr(contains(
            "1 finding: 0 critical, 0 high, 1 medium, 0 low (1 suppressed)",
        ));
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["tool"]["name"], "nestflux");
    assert_eq!(report["project"], "my-api");
    assert_eq!(report["fail_on"], "high");
    assert_eq!(report["passed"], true);
    assert_eq!(report["summary"]["by_severity"]["medium"], 1);
    let finding = &report["findings"][0];
    for key in [
        "rule", "name", "severity", "title", "asvs", "path", "line", "column", "message", "fix",
    ] {
        assert!(
            !finding[key].is_null(),
            "findings[0].{key} is missing: {finding}"
        );
    }
    assert_eq!(finding["rule"], "NF019");
    assert_eq!(report["suppressed"][0]["rule"], "NF020");
    assert_eq!(
        report["suppressed"][0]["reason"],
        "the image is rebuilt by the platform"
    );
}

#[test]
fn fail_on_sets_the_threshold() {
    let sandbox = generated();
    let toml = sandbox.read("my-api/nestflux.toml");
    sandbox.write("my-api/nestflux.toml", &toml.replace("\"cors\", ", ""));
    let audit = |fail_on: &str| {
        sandbox
            .nestflux()
            .args(["audit-config", "my-api", "--fail-on", fail_on])
            .assert()
    };
    audit("medium").code(0);
    audit("low").code(1).stdout(contains("NF003"));
}

#[test]
fn a_folder_that_is_not_a_project_is_a_usage_error_saying_how_to_point_at_one() {
    let sandbox = generated();
    sandbox
        .nestflux()
        .arg("audit-config")
        .assert()
        .code(2)
        .stderr(contains("is not inside a nestflux project"))
        .stderr(contains("nestflux audit-config path/to/project"));
    sandbox
        .nestflux()
        .args(["audit-config", "my-api/src"])
        .assert()
        .code(2)
        .stderr(contains("is not a nestflux project"))
        .stderr(contains("is the nestflux project holding it"));
}

#[test]
fn without_path_the_project_is_found_upwards_like_add_finds_it() {
    let sandbox = generated();
    sandbox
        .nestflux()
        .arg("audit-config")
        .current_dir(sandbox.join("my-api/src/routes"))
        .assert()
        .code(0)
        .stdout(contains("no findings"));
}

#[test]
fn usage_errors_exit_with_two() {
    let sandbox = generated();
    for args in [
        &["audit-config", "my-api", "--format", "xml"][..],
        &["audit-config", "my-api", "--fail-on", "severe"],
        &["audit-config", "--explain", "NF999"],
    ] {
        sandbox.nestflux().args(args).assert().code(2);
    }
}

#[test]
fn a_suppression_naming_no_rule_or_with_a_bad_date_is_an_error_with_its_line() {
    let sandbox = generated();
    let toml = sandbox.read("my-api/nestflux.toml");
    let line = toml.lines().position(|l| l.starts_with("allow")).unwrap() + 1;
    sandbox.write(
        "my-api/nestflux.toml",
        &toml.replace(
            "allow = []",
            "allow = [{ rule = \"NF999\", reason = \"x\" }]",
        ),
    );
    sandbox
        .nestflux()
        .args(["audit-config", "my-api"])
        .assert()
        .code(2)
        .stderr(contains(format!(
            "line {line}, column 10: `NF999` names no rule"
        )));
    sandbox.write(
        "my-api/nestflux.toml",
        &toml.replace(
            "allow = []",
            "allow = [{ rule = \"NF001\", reason = \"x\", expires = \"31/12/2026\" }]",
        ),
    );
    sandbox
        .nestflux()
        .args(["audit-config", "my-api"])
        .assert()
        .code(2)
        .stderr(contains("`31/12/2026` is not a date"));
}

#[test]
fn an_expired_suppression_brings_its_finding_back() {
    let sandbox = generated();
    let toml = sandbox
        .read("my-api/nestflux.toml")
        .replace("\"headers\", ", "");
    sandbox.write(
        "my-api/nestflux.toml",
        &toml.replace(
            "allow = []",
            "allow = [{ rule = \"NF001\", reason = \"proxy\", expires = \"2001-01-01\" }]",
        ),
    );
    sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--fail-on", "medium"])
        .assert()
        .code(1)
        .stdout(contains("NF001"))
        .stdout(contains("NF029"))
        .stdout(contains("expired on 2001-01-01"));
}

#[test]
fn explain_prints_a_rules_documentation() {
    Sandbox::new()
        .nestflux()
        .args(["audit-config", "--explain", "nf018"])
        .assert()
        .code(0)
        .stdout(contains("NF018 weak-encryption-key"))
        .stdout(contains("OWASP ASVS 4.0.3: V6.2.3, V6.4.1"))
        .stdout(contains("fix: generate a key"));
}

#[test]
fn help_lists_the_audit_flags_and_exit_codes() {
    Sandbox::new()
        .nestflux()
        .args(["audit-config", "--help"])
        .assert()
        .success()
        .stdout(contains("--format <FORMAT>"))
        .stdout(contains("--fail-on <SEVERITY>"))
        .stdout(contains("--output <FILE>"))
        .stdout(contains("--explain <RULE>"))
        .stdout(contains("[default: high]"))
        .stdout(contains("Exit codes: 0 nothing at or above --fail-on"));
}

#[test]
fn the_rule_table_in_the_docs_matches_the_rules() {
    let docs = include_str!("../docs/audit.md");
    for rule in nestflux::audit::rules::ALL {
        let row = format!(
            "| {} | `{}` | {} | {} | {} |",
            rule.id,
            rule.name,
            rule.severity,
            rule.title,
            rule.asvs.join(", ")
        );
        assert!(
            docs.contains(&row),
            "docs/audit.md lacks or differs from:\n{row}"
        );
    }
}

/// The all-features project of each identity provider and database, in
/// memory: path → text.
fn rendered_all_features() -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for idp in Idp::ALL {
        for database in Database::AVAILABLE {
            let answers = Answers {
                database,
                deploy: DeploySet::parse_list("kubernetes").unwrap(),
                ..answers(idp, FeatureSet::all())
            };
            let files = render(&answers, &Secrets::from_os_rng(DEFAULT_ROLES))
                .expect("render")
                .into_iter()
                .filter_map(|(path, bytes)| Some((path, String::from_utf8(bytes).ok()?)))
                .collect();
            out.push((format!("{idp:?}-{database:?}"), files));
        }
    }
    out
}

/// The service's Rust code (not its tests), all files together.
fn service_code(files: &std::collections::BTreeMap<String, String>) -> String {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("src/") && path.ends_with(".rs"))
        .map(|(_, text)| text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `.get("/path", public(), handler)` and the other route methods (on one
/// line or, as rustfmt breaks long ones, one argument a line): the paths
/// declared public.
fn public_declarations(code: &str) -> std::collections::BTreeSet<String> {
    use nestflux::audit::formats::guards;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = std::collections::BTreeSet::new();
    for method in guards::ROUTE_METHODS {
        let call = format!(".{method}(\"");
        for (at, _) in code.match_indices(&call) {
            let rest = &code[at + call.len()..];
            let Some((path, access)) = rest.split_once('"') else {
                continue;
            };
            if access.starts_with(&format!(",{}(),", guards::PUBLIC)) {
                out.insert(path.to_owned());
            }
        }
    }
    out
}

/// What the audit looks for is what the templates produce: each guard
/// spelling and route method of the generated `Access` API, each public
/// route, each environment variable (in `.env.example` and read by the
/// configuration code), and the code NF027's fix shows, for every identity
/// provider and database with every feature on.
#[test]
fn every_name_the_audit_relies_on_occurs_in_the_generated_code() {
    use nestflux::audit::formats::{env, guards};
    let fix = nestflux::audit::rules::by_id("NF027").unwrap().fix;
    let shown: Vec<&str> = fix
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.contains('('))
        .collect();
    assert!(shown.contains(&guards::EXAMPLE_ROUTE), "{fix}");
    for (variant, files) in rendered_all_features() {
        let code = service_code(&files);
        for guard in [guards::REQUIRE, guards::AUTHENTICATED, guards::PUBLIC] {
            assert!(
                code.contains(&format!("fn {guard}(")),
                "{variant}: the generated code defines no `{guard}(…)`"
            );
        }
        for method in guards::ROUTE_METHODS {
            assert!(
                code.contains(&format!("method!({method},"))
                    || code.contains(&format!("fn {method}<")),
                "{variant}: `Routes` has no method `{method}`"
            );
        }
        assert_eq!(
            public_declarations(&code),
            guards::PUBLIC_ROUTES
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            "{variant}: the routes declared public() are not the audit's PUBLIC_ROUTES"
        );
        for snippet in &shown {
            assert!(
                code.contains(snippet),
                "{variant}: NF027's fix shows `{snippet}`, which the generated code does not hold"
            );
        }
        let example = &files[".env.example"];
        for var in env::ALL {
            assert!(
                example.lines().any(|l| l
                    .trim_start_matches(['#', ' '])
                    .starts_with(&format!("{var}="))),
                "{variant}: .env.example does not name {var}"
            );
            assert!(
                code.contains(&format!("\"{var}\"")),
                "{variant}: the generated configuration does not read {var}"
            );
        }
        // NF025's spelling: every permission a route requires is declared.
        let policy = nestflux::rbac::Policy::parse(&files["config/rbac.toml"]).unwrap();
        let required: Vec<&str> = code
            .match_indices(&format!("{}(\"", guards::REQUIRE))
            .filter_map(|(at, call)| code[at + call.len()..].split('"').next())
            .collect();
        assert!(
            !required.is_empty(),
            "{variant}: no route requires a permission"
        );
        for permission in required {
            assert!(policy.declares(permission), "{variant}: `{permission}`");
        }
    }
}

/// The route rules fire on the generated code once it drifts: a data route
/// turned `public()` (NF027) and a permission no role grants (NF025).
#[test]
fn the_route_rules_fire_on_the_generated_route_declarations() {
    let sandbox = generated();
    let items = sandbox.join("my-api/src/resources/items/mod.rs");
    let code = std::fs::read_to_string(&items).unwrap();
    let drifted = code
        .replacen(
            r#".get("/items", require("items:read"), documented!(list))"#,
            r#".get("/items", public(), documented!(list))"#,
            1,
        )
        .replacen(
            r#"require("items:delete")"#,
            r#"require("items:archive")"#,
            1,
        );
    assert_ne!(
        drifted, code,
        "the generated routes changed: update this test"
    );
    std::fs::write(&items, drifted).unwrap();
    let output = sandbox
        .nestflux()
        .args(["audit-config", "my-api", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&output).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"NF027") && rules.contains(&"NF025"),
        "{rules:?}"
    );
}

/// The mistakes a reviewer would slip into generated Kubernetes manifests,
/// each hidden where it is easy to miss, each reported by its rule at the
/// place it is written (the untouched project audits clean: see
/// `every_generated_project_audits_clean_at_the_lowest_threshold`).
#[test]
fn kubernetes_mistakes_hidden_in_overlays_and_patches_are_each_reported() {
    let dir = tempfile::tempdir().unwrap();
    let answers = Answers {
        database: Database::Postgres,
        deploy: DeploySet::parse_list("kubernetes").unwrap(),
        ..answers(Idp::Oidc, FeatureSet::all())
    };
    generate(dir.path(), &answers);
    let root = dir.path().join("deploy/kubernetes");
    let edit = |rel: &str, from: &str, to: &str| {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} lacks {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    // A "temporary" debug patch in production undoing the base's defences.
    edit(
        "overlays/production/kustomization.yaml",
        "patches:\n  - path: config.yaml\n",
        "patches:\n  - path: config.yaml\n  - path: debug.yaml\n",
    );
    std::fs::write(
        root.join("overlays/production/debug.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: my-api\nspec:\n  template:\n    spec:\n      containers:\n        - name: my-api\n          securityContext:\n            readOnlyRootFilesystem: false\n            privileged: true\n",
    )
    .unwrap();
    // Production settings copied from development.
    edit(
        "overlays/production/config.yaml",
        "APP_ENV: production",
        "APP_ENV: development",
    );
    // A key "just for now" in the ConfigMap.
    edit(
        "base/configmap.yaml",
        "  APP_ENV: production\n",
        "  APP_ENV: production\n  DATA_ENCRYPTION_KEYS: v1:q2Vk7Yp0sT9wXz3LmN8bR4cJ6hF1dG5aE0uI2oP7tYw=\n",
    );
    // A sidecar without limits, running as root, with a literal secret.
    edit(
        "base/deployment.yaml",
        "          volumeMounts:\n",
        "          volumeMounts:\n            - name: tmp\n              mountPath: /scratch\n        - name: log-shipper\n          image: shipper@sha256:1111111111111111111111111111111111111111111111111111111111111111\n          env:\n            - name: SHIPPER_API_TOKEN\n              value: 7hG2kL9pQ4vX1zR8\n          securityContext:\n            runAsUser: 0\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          volumeMounts:\n",
    );
    // The NetworkPolicy dropped from the base.
    edit("base/kustomization.yaml", "  - networkpolicy.yaml\n", "");
    std::fs::remove_file(root.join("base/networkpolicy.yaml")).unwrap();

    let project = nestflux::audit::Project::load(dir.path()).unwrap();
    let audit = nestflux::audit::Audit::run(&project, nestflux::audit::Date::today());
    let found: Vec<String> = audit
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule.id, f.location.path))
        .collect();
    let base = "deploy/kubernetes/base";
    let production = "deploy/kubernetes/overlays/production";
    for expected in [
        format!("NF035 {base}/deployment.yaml"),
        format!("NF036 {production}/debug.yaml"),
        format!("NF037 {production}/debug.yaml"),
        format!("NF038 {base}/deployment.yaml"),
        format!("NF039 {base}/configmap.yaml"),
        format!("NF039 {base}/deployment.yaml"),
        format!("NF040 {base}/deployment.yaml"),
        format!("NF041 {production}/config.yaml"),
    ] {
        assert!(
            found.contains(&expected),
            "{expected} was not reported; found:\n{}",
            found.join("\n")
        );
    }
    // Nothing else: each mistake is reported by its own rule.
    assert_eq!(found.len(), 8, "{}", found.join("\n"));
}
