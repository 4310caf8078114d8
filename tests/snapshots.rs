//! Snapshot tests of rendered projects: for several answer sets, the list of
//! generated files and the full content of every file that depends on the
//! answers (every `.jinja` template, every variant of a file the manifest
//! chooses, and `nestflux.toml`).
//!
//! Snapshots live in `snapshots/` and are reviewed before they are accepted
//! (`cargo insta review`). CI never writes them: any drift fails the run.

use nestflux::answers::{Answers, Database, DeploySet, FeatureSet, Idp, ProjectName};
use nestflux::manifest::{RULES, varies};
use nestflux::project::PROJECT_FILE;
use nestflux::render::{DEFAULT_ROLES, FileSet, LOCK_FILE, plan, render};
use nestflux::secrets::{Secrets, seeded_rng};

struct Case {
    id: &'static str,
    name: &'static str,
    idp: Idp,
    database: Database,
    features: &'static str,
    deploy: &'static str,
}

const CASES: &[Case] = &[
    Case {
        id: "keycloak-sqlite-all",
        name: "my-api",
        idp: Idp::Keycloak,
        database: Database::Sqlite,
        features: "headers,rate-limit,cors,audit-log,encryption,redis,tls,session",
        deploy: "none",
    },
    Case {
        id: "authentik-sqlite-none",
        name: "shop",
        idp: Idp::Authentik,
        database: Database::Sqlite,
        features: "none",
        deploy: "none",
    },
    Case {
        id: "oidc-sqlite-headers-cors",
        name: "edge-gateway",
        idp: Idp::Oidc,
        database: Database::Sqlite,
        features: "headers,cors",
        deploy: "none",
    },
    Case {
        id: "keycloak-sqlite-data",
        name: "billing_service",
        idp: Idp::Keycloak,
        database: Database::Sqlite,
        features: "rate-limit,audit-log,encryption",
        deploy: "none",
    },
    Case {
        id: "oidc-postgres-all",
        name: "ledger",
        idp: Idp::Oidc,
        database: Database::Postgres,
        features: "headers,rate-limit,cors,audit-log,encryption,session",
        deploy: "none",
    },
    // Sessions without the audit log: their events are only logged.
    Case {
        id: "authentik-sqlite-session",
        name: "portal",
        idp: Idp::Authentik,
        database: Database::Sqlite,
        features: "encryption,session",
        deploy: "none",
    },
    Case {
        id: "authentik-postgres-none",
        name: "inventory",
        idp: Idp::Authentik,
        database: Database::Postgres,
        features: "none",
        deploy: "none",
    },
    // Kubernetes manifests for a service that scales out: PostgreSQL, rate
    // limits shared through Redis, sessions, its own TLS.
    Case {
        id: "keycloak-postgres-kubernetes",
        name: "orders_api",
        idp: Idp::Keycloak,
        database: Database::Postgres,
        features: "headers,rate-limit,cors,audit-log,encryption,redis,tls,session",
        deploy: "kubernetes",
    },
];

fn answers(case: &Case) -> Answers {
    Answers {
        name: ProjectName::parse(case.name).unwrap(),
        idp: case.idp,
        database: case.database,
        features: FeatureSet::parse_list(case.features).unwrap(),
        deploy: DeploySet::parse_list(case.deploy).unwrap(),
    }
}

/// The secrets of a snapshot: from a seeded generator, so that the rendered
/// `.env` and IdP setup files are the same on every run.
fn secrets() -> Secrets {
    Secrets::generate(&mut seeded_rng(42), DEFAULT_ROLES)
}

fn render_case(case: &Case) -> FileSet {
    render(&answers(case), &secrets()).expect("render")
}

/// Output paths of the files of `case` whose content depends on the answers.
/// `Cargo.lock` is left out: tests/lockfile.rs proves it exact.
fn varying_paths(case: &Case) -> Vec<String> {
    let mut out: Vec<String> = plan(&answers(case))
        .expect("plan")
        .into_iter()
        .filter(|(output, template)| output != LOCK_FILE && varies(template, RULES))
        .map(|(output, _)| output)
        .collect();
    out.push(PROJECT_FILE.to_owned());
    // `items`, the resource every project starts with: its files depend on
    // the answers too (the database, `encryption`, `audit-log`).
    let database = answers(case).database.key();
    out.extend([
        "src/resources/items/mod.rs".to_owned(),
        "src/resources/items/model.rs".to_owned(),
        "src/resources/items/repo.rs".to_owned(),
        "tests/api/resources/items.rs".to_owned(),
        format!("migrations/{database}/0001_create_items.sql"),
    ]);
    out.sort();
    out
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // The nestflux version changes with every release, not with the answers.
    settings.add_filter(
        r#"nestflux-version = "[^"]+""#,
        r#"nestflux-version = "[version]""#,
    );
    settings.add_filter(r"nestflux --version \S+", "nestflux --version [version]");
    settings
}

#[test]
fn rendered_projects_match_their_snapshots() {
    settings().bind(|| {
        for case in CASES {
            let files = render_case(case);
            let listing: Vec<&str> = files.keys().map(String::as_str).collect();
            insta::assert_snapshot!(format!("{}@files", case.id), listing.join("\n"));
            for path in &varying_paths(case) {
                let text = String::from_utf8(files[path].clone()).expect("UTF-8");
                insta::assert_snapshot!(format!("{}@{}", case.id, path.replace('/', "__")), text);
            }
        }
    });
}

#[test]
fn rendering_is_deterministic() {
    for case in CASES {
        assert_eq!(render_case(case), render_case(case), "{}", case.id);
    }
}

#[test]
fn generated_text_files_end_with_one_newline_and_have_no_trailing_spaces() {
    for case in CASES {
        for (path, bytes) in render_case(case) {
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(
                text.ends_with('\n') && !text.ends_with("\n\n"),
                "{}: {path} must end with exactly one newline",
                case.id
            );
            for (i, line) in text.lines().enumerate() {
                assert_eq!(
                    line.trim_end(),
                    line,
                    "{}: {path}:{} has trailing whitespace",
                    case.id,
                    i + 1
                );
            }
        }
    }
}

/// The name is never spelled out by a template: rendering under another
/// name changes exactly the places that name the package or the crate.
#[test]
fn the_project_name_reaches_every_place_that_names_the_crate() {
    let rename = |case: &Case, name: &'static str| {
        render(
            &Answers {
                name: ProjectName::parse(name).unwrap(),
                ..answers(case)
            },
            &secrets(),
        )
        .expect("render")
    };
    for case in CASES {
        let first = rename(case, "qqq-alpha");
        let second = rename(case, "zzz-omega-name");
        assert_eq!(
            first.keys().collect::<Vec<_>>(),
            second.keys().collect::<Vec<_>>(),
            "{}",
            case.id
        );
        let cargo = String::from_utf8_lossy(&second["Cargo.toml"]).into_owned();
        assert!(cargo.contains("name = \"zzz-omega-name\""), "{cargo}");
        for (path, bytes) in &first {
            let renamed = String::from_utf8_lossy(bytes)
                .replace("qqq-alpha", "zzz-omega-name")
                .replace("qqq_alpha", "zzz_omega_name");
            let expected = String::from_utf8_lossy(&second[path]);
            // Cargo.lock lists its packages by name: the project's own entry
            // moves with its name, so compare the entries, not their order.
            let (renamed, expected) = if path == LOCK_FILE {
                (lock_entries(&renamed), lock_entries(&expected))
            } else {
                (vec![renamed], vec![expected.into_owned()])
            };
            assert!(
                renamed == expected,
                "{}: {path} names the project somewhere the name does not reach",
                case.id
            );
        }
    }
}

/// The `[[package]]` entries of a lock file, sorted.
fn lock_entries(lock: &str) -> Vec<String> {
    let mut entries: Vec<String> = lock.split("\n[[package]]\n").map(str::to_owned).collect();
    entries.sort();
    entries
}
