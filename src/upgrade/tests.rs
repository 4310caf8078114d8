//! Upgrades across a real template change: the "older nestflux" is the
//! embedded template tree with deliberate changes, rendered by the same
//! engine with the same answers, roles and secrets; its output and its
//! baseline make the project that the current templates then upgrade.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::older::{self, MARK, VERSION as OLDER, new_env_line};
use super::*;
use crate::answers::{Answers, Database, FeatureSet, Idp, ProjectName};
use crate::cli::{AddRoleArgs, ColorChoice, GlobalArgs, UpgradeArgs};
use crate::commands;
use crate::ui::Ui;

fn answers() -> Answers {
    Answers {
        name: ProjectName::parse("shop").unwrap(),
        idp: Idp::Keycloak,
        database: Database::Sqlite,
        features: FeatureSet::all(),
        deploy: crate::answers::DeploySet::none(),
    }
}

fn secrets() -> Secrets {
    Secrets::generate(&mut crate::secrets::seeded_rng(11), DEFAULT_ROLES)
}

/// A project exactly as the older nestflux's `new` wrote it.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn older() -> Self {
        let dir = tempfile::tempdir().unwrap();
        older::write_project(dir.path(), &answers(), &secrets()).unwrap();
        Fixture { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn exists(&self, rel: &str) -> bool {
        self.root().join(rel).exists()
    }

    /// Every file of the project, for "nothing changed" assertions.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for entry in walk(self.root()) {
            let rel = entry
                .strip_prefix(self.root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, fs::read(&entry).unwrap());
        }
        out
    }

    fn prepare(&self) -> Upgrade {
        Upgrade::prepare(Project::open(self.root()).unwrap()).unwrap()
    }

    /// The decision for `path` in the plan of an upgrade now.
    fn decision(&self, path: &str) -> Decision {
        let plan = self.prepare().plan().unwrap();
        plan.entries
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("{path} is not in the plan"))
            .decision
    }

    /// `nestflux upgrade --project <root> [flags]`: Ok(exit code 0?).
    fn upgrade(&self, flags: &[&str]) -> anyhow::Result<bool> {
        let has = |f: &str| flags.contains(&f);
        commands::upgrade::run(
            UpgradeArgs {
                dry_run: has("--dry-run"),
                check: has("--check"),
                allow_dirty: has("--allow-dirty"),
                adopt: has("--adopt"),
                project: Some(self.root().to_owned()),
            },
            &quiet(),
        )
    }

    fn recorded(&self) -> String {
        data::recorded_version(&self.read(PROJECT_FILE))
            .unwrap()
            .to_string()
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn quiet() -> Ui {
    Ui::new(&GlobalArgs {
        color: ColorChoice::Never,
        quiet: true,
        verbose: 0,
    })
}

/// What the current templates render for the fixture's inputs.
fn current(path: &str) -> String {
    let files = render::render(&answers(), &secrets()).unwrap();
    String::from_utf8(files[path].clone()).unwrap()
}

fn running() -> String {
    security::running_version().to_string()
}

#[test]
fn a_template_fix_reaches_a_file_the_user_never_changed() {
    let project = Fixture::older();
    assert!(
        project
            .read("src/error.rs")
            .lines()
            .next()
            .unwrap()
            .ends_with(MARK)
    );
    assert_eq!(project.decision("src/error.rs"), Decision::Updated);
    assert!(project.upgrade(&[]).unwrap(), "no conflict, exit 0");
    assert_eq!(project.read("src/error.rs"), current("src/error.rs"));
    assert_eq!(project.recorded(), running());
}

#[test]
fn a_user_edit_survives_in_a_file_the_templates_did_not_change() {
    let project = Fixture::older();
    let edited = format!(
        "{}\n// my own tracing notes\n",
        project.read("src/telemetry.rs")
    );
    project.write("src/telemetry.rs", &edited);
    assert_eq!(project.decision("src/telemetry.rs"), Decision::Kept);
    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(project.read("src/telemetry.rs"), edited);
}

#[test]
fn changes_of_both_in_different_places_merge_cleanly() {
    let project = Fixture::older();
    let readme = project.read("README.md");
    let edited = format!("{readme}\nOur team's notes.\n");
    project.write("README.md", &edited);
    assert_eq!(project.decision("README.md"), Decision::Merged);
    assert!(project.upgrade(&[]).unwrap());
    let merged = project.read("README.md");
    assert_eq!(
        merged,
        format!("{}\nOur team's notes.\n", current("README.md"))
    );
    assert!(merge::conflict_markers(&merged).is_empty());
}

#[test]
fn an_overlapping_change_gets_markers_exit_1_and_the_version_stays() {
    let project = Fixture::older();
    let old = project.read("src/extract.rs");
    let (first, rest) = old.split_once('\n').unwrap();
    let mine = "//! Our extractors (edited).";
    project.write("src/extract.rs", &format!("{mine}\n{rest}"));

    assert!(!project.upgrade(&[]).unwrap(), "a conflict exits with 1");
    let text = project.read("src/extract.rs");
    let new_first = current("src/extract.rs").lines().next().unwrap().to_owned();
    assert!(
        text.starts_with(&format!(
            "<<<<<<< yours\n{mine}\n||||||| nestflux {OLDER}\n{first}\n=======\n{new_first}\n>>>>>>> nestflux {}\n",
            running()
        )),
        "{}",
        &text[..400]
    );
    assert_eq!(
        project.recorded(),
        OLDER,
        "the version moves only without conflicts"
    );
    // The rest of the upgrade is written.
    assert_eq!(project.read("src/error.rs"), current("src/error.rs"));

    // An upgrade is not started over markers left in a file.
    let err = project.upgrade(&[]).unwrap_err();
    assert!(
        err.to_string().contains("still hold conflict markers"),
        "{err}"
    );

    // Resolved: the next run records the version and changes nothing else.
    project.write("src/extract.rs", &format!("{mine}\n{rest}"));
    let before = project.snapshot();
    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(project.recorded(), running());
    let after = project.snapshot();
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(changed, [PROJECT_FILE]);
}

#[test]
fn a_file_the_user_deleted_stays_deleted() {
    let project = Fixture::older();
    fs::remove_file(project.root().join("benches/verify.rs")).unwrap();
    assert_eq!(
        project.decision("benches/verify.rs"),
        Decision::StaysDeleted
    );
    assert!(project.upgrade(&[]).unwrap());
    assert!(!project.exists("benches/verify.rs"));
    // And on the next upgrade too.
    assert!(project.upgrade(&[]).unwrap());
    assert!(!project.exists("benches/verify.rs"));
}

#[test]
fn a_migration_is_never_touched_and_new_ones_are_added() {
    let project = Fixture::older();
    let first = "migrations/sqlite/0001_create_items.sql";
    let old = project.read(first);
    assert_eq!(project.decision(first), Decision::MigrationKept);
    assert!(!project.exists("migrations/sqlite/0003_create_sessions.sql"));
    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(
        project.read(first),
        old,
        "a migration that ran stays as it ran"
    );
    assert_eq!(
        project.read("migrations/sqlite/0003_create_sessions.sql"),
        current("migrations/sqlite/0003_create_sessions.sql")
    );
}

#[test]
fn files_removed_from_the_templates_go_only_when_the_user_never_changed_them() {
    let project = Fixture::older();
    project.write("docs/notes-edited.md", "Old notes, and mine.\n");
    assert!(project.upgrade(&[]).unwrap());
    assert!(!project.exists("docs/notes.md"));
    assert_eq!(
        project.read("docs/notes-edited.md"),
        "Old notes, and mine.\n"
    );
}

#[test]
fn a_file_the_user_created_where_the_templates_add_one_is_never_overwritten() {
    let project = Fixture::older();
    project.write(".dockerignore", "my-secrets/\n");
    assert_eq!(project.decision(".dockerignore"), Decision::Conflict);
    assert!(!project.upgrade(&[]).unwrap());
    let text = project.read(".dockerignore");
    assert!(text.contains("my-secrets/\n"), "{text}");
    assert!(text.contains("/target\n"), "{text}");
    assert_eq!(merge::conflict_markers(&text), [1]);
}

#[test]
fn roles_added_with_add_role_are_carried_over() {
    let project = Fixture::older();
    commands::add::role(
        AddRoleArgs {
            name: "auditor".into(),
            permissions: vec!["items:read".into()],
            inherits: vec![],
            description: None,
            force: false,
            dry_run: false,
            project: Some(project.root().to_owned()),
        },
        &quiet(),
    )
    .unwrap();
    // `add role` applied its edit to the baseline too.
    let stored = baseline::read(project.root()).unwrap().unwrap();
    assert_eq!(
        stored[KEYCLOAK_REALM],
        project.read(KEYCLOAK_REALM).into_bytes()
    );
    let password = recover_secrets(&stored).passwords["auditor"].clone();

    assert!(project.upgrade(&[]).unwrap());
    let realm = project.read(KEYCLOAK_REALM);
    let found = recover_secrets(&FileSet::from([(
        KEYCLOAK_REALM.to_owned(),
        realm.clone().into_bytes(),
    )]));
    assert_eq!(
        found.passwords["auditor"], password,
        "the role's password is kept"
    );
    assert!(
        realm.contains("\"accessTokenLifespan\": 300"),
        "the template fix arrived"
    );
    assert!(
        project
            .read("README.md")
            .contains("admin, editor, viewer, auditor"),
        "the README is rendered with the role"
    );
    assert!(project.read(RBAC_FILE).contains("[roles.auditor]"));
}

#[test]
fn the_projects_own_secrets_in_deploy_are_kept() {
    let project = Fixture::older();
    assert_eq!(project.decision(KEYCLOAK_REALM), Decision::Updated);
    assert!(project.upgrade(&[]).unwrap());
    let realm = project.read(KEYCLOAK_REALM);
    assert_eq!(
        realm,
        current(KEYCLOAK_REALM),
        "the new realm, with the old secrets"
    );
    let expected = secrets();
    let found = recover_secrets(&FileSet::from([(
        KEYCLOAK_REALM.to_owned(),
        realm.into_bytes(),
    )]));
    assert_eq!(
        found.client_secret.as_deref(),
        Some(expected.client_secret.as_str())
    );
    assert_eq!(found.passwords, expected.user_passwords);
}

#[test]
fn the_policy_gains_the_permission_the_new_templates_declare_and_keeps_the_users_lines() {
    let project = Fixture::older();
    let policy = format!("# our policy notes\n{}", project.read(RBAC_FILE));
    project.write(RBAC_FILE, &policy);
    assert_eq!(project.decision(RBAC_FILE), Decision::Extended);
    assert!(project.upgrade(&[]).unwrap());
    let after = project.read(RBAC_FILE);
    assert!(after.starts_with("# our policy notes\n"), "{after}");
    assert!(Policy::parse(&after).unwrap().declares("items:write-any"));
}

#[test]
fn a_second_run_changes_nothing() {
    let project = Fixture::older();
    project.write(
        "README.md",
        &format!("{}\nmine\n", project.read("README.md")),
    );
    assert!(project.upgrade(&[]).unwrap());
    let once = project.snapshot();
    let up = project.prepare();
    let plan = up.plan().unwrap();
    assert!(
        up.ops(&plan).unwrap().is_empty(),
        "{:?}",
        up.ops(&plan)
            .unwrap()
            .iter()
            .map(Op::path)
            .collect::<Vec<_>>()
    );
    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(project.snapshot(), once);
}

#[test]
fn check_and_dry_run_write_nothing() {
    let project = Fixture::older();
    let before = project.snapshot();
    assert!(!project.upgrade(&["--check"]).unwrap(), "behind: exit 1");
    assert!(project.upgrade(&["--dry-run"]).unwrap());
    assert_eq!(project.snapshot(), before);
    assert!(project.upgrade(&[]).unwrap());
    assert!(project.upgrade(&["--check"]).unwrap(), "up to date: exit 0");
}

#[test]
fn a_dirty_git_tree_is_refused() {
    let project = Fixture::older();
    git::tests::repo(project.root());
    project.write("src/lib.rs", "// work in progress\n");
    let before = project.snapshot();
    let err = project.upgrade(&[]).unwrap_err();
    assert!(err.to_string().contains("uncommitted changes"), "{err}");
    assert_eq!(project.snapshot(), before);
    assert!(project.upgrade(&["--allow-dirty"]).unwrap());
    assert_eq!(project.read("src/lib.rs"), "// work in progress\n");
}

#[test]
fn conflicts_show_in_git_as_both_modified() {
    let project = Fixture::older();
    let old = project.read("src/extract.rs");
    let (_, rest) = old.split_once('\n').unwrap();
    project.write("src/extract.rs", &format!("//! ours\n{rest}"));
    git::tests::repo(project.root());
    assert!(!project.upgrade(&[]).unwrap());
    let status = git::tests::git(project.root(), &["status", "--porcelain"]);
    assert!(status.lines().any(|l| l == "UU src/extract.rs"), "{status}");
    // Stage 2 is the user's version, stage 3 the new one.
    assert!(
        git::tests::git(project.root(), &["show", ":2:src/extract.rs"]).starts_with("//! ours\n")
    );
    assert_eq!(
        git::tests::git(project.root(), &["show", ":3:src/extract.rs"]),
        current("src/extract.rs")
    );
}

#[test]
fn a_project_without_a_baseline_is_reviewed_and_nothing_of_it_is_overwritten() {
    let project = Fixture::older();
    fs::remove_dir_all(project.root().join(".nestflux")).unwrap();
    project.write("src/error.rs", "// mine\n");
    let before = project.snapshot();
    assert!(!project.upgrade(&[]).unwrap(), "not upgraded: exit 1");
    let mut after = project.snapshot();
    let review: Vec<String> = after
        .keys()
        .filter(|k| k.starts_with(commands::upgrade::REVIEW_DIR))
        .cloned()
        .collect();
    for path in &review {
        after.remove(path);
    }
    assert_eq!(after, before, "only the review directory was written");
    assert_eq!(
        project.read(&format!("{}/src/error.rs", commands::upgrade::REVIEW_DIR)),
        current("src/error.rs")
    );
    assert!(
        !review.iter().any(|p| p.ends_with("/.env")),
        "the review holds no local secrets"
    );

    // Adopted: the render becomes the baseline, the project keeps its files,
    // and the next upgrade merges three-way and keeps the edit.
    assert!(project.upgrade(&["--adopt"]).unwrap());
    assert_eq!(project.read("src/error.rs"), "// mine\n");
    assert_eq!(project.recorded(), running());
    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(project.read("src/error.rs"), "// mine\n");
}

#[test]
fn new_variables_of_env_example_are_named() {
    let project = Fixture::older();
    let key = new_env_line().split_once('=').unwrap().0.to_owned();
    assert_eq!(project.prepare().new_env_variables(), [key]);
}

#[test]
fn the_roles_of_the_policy_render_in_the_order_new_and_add_role_wrote_them() {
    let policy = Policy::parse(
        "permissions = []\n[roles.viewer]\npermissions = []\n[roles.auditor]\npermissions = []\n[roles.editor]\npermissions = []\n[roles.admin]\npermissions = []\n",
    )
    .unwrap();
    assert_eq!(
        project_roles(Some(&policy)),
        ["admin", "editor", "viewer", "auditor"]
    );
    assert_eq!(project_roles(None), DEFAULT_ROLES);
}

#[test]
fn the_security_fixes_listed_are_those_after_the_recorded_version_for_files_the_project_has() {
    let list = security::parse(&format!(
        "[[fix]]\nid = \"session\"\nversion = \"{v}\"\ntitle = \"t\"\nfixes = \"f\"\nfiles = [\"src/routes/session.rs\"]\nasvs = [\"V3.3.1\"]\n\
         [[fix]]\nid = \"authentik-only\"\nversion = \"{v}\"\ntitle = \"t\"\nfixes = \"f\"\nfiles = [\"deploy/authentik/blueprint.yaml\"]\nasvs = [\"V3.3.1\"]\n",
        v = running()
    ))
    .unwrap();
    let project = Fixture::older();
    let ids: Vec<&str> = project
        .prepare()
        .security_fixes_in(&list)
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(ids, ["session"]);
    assert!(project.upgrade(&[]).unwrap());
    assert!(project.prepare().security_fixes_in(&list).is_empty());
}

fn add_resource(project: &Fixture, name: &str, fields: &[&str]) {
    commands::resource::run(
        crate::cli::AddResourceArgs {
            name: name.into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            roles: vec![],
            private: false,
            dry_run: false,
            project: Some(project.root().to_owned()),
        },
        &quiet(),
    )
    .unwrap();
}

#[test]
fn resources_added_with_add_resource_are_rendered_again_and_kept() {
    let project = Fixture::older();
    add_resource(
        &project,
        "customers",
        &["name:string:max=100", "email:string:email:pii"],
    );
    add_resource(
        &project,
        "orders",
        &["customer:ref(customers)", "total:decimal"],
    );
    let module = "src/resources/orders/mod.rs";
    // Its number is whatever `add resource` chose (after every migration).
    let migration = &fs::read_dir(project.root().join("migrations/sqlite"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .find(|name| name.ends_with("_create_orders.sql"))
        .map(|name| format!("migrations/sqlite/{name}"))
        .expect("the resource's migration");
    let (before_module, before_migration) = (project.read(module), project.read(migration));
    // The user's own line in a generated resource file.
    project.write(
        "src/resources/customers/model.rs",
        &format!(
            "{}\n// mine\n",
            project.read("src/resources/customers/model.rs")
        ),
    );

    assert!(project.upgrade(&[]).unwrap());
    assert_eq!(project.read(module), before_module);
    assert_eq!(project.read(migration), before_migration);
    assert!(
        project
            .read("src/resources/customers/model.rs")
            .ends_with("// mine\n")
    );
    let listing = project.read("src/resources/mod.rs");
    assert!(listing.contains("pub mod customers;") && listing.contains("pub mod orders;"));
    assert!(project.read(RBAC_FILE).contains("\"orders:write-any\""));
    assert_eq!(
        project.read("src/error.rs"),
        current("src/error.rs"),
        "the template fix arrived"
    );
    // And a second upgrade has nothing to do.
    let up = project.prepare();
    let plan = up.plan().unwrap();
    assert!(up.ops(&plan).unwrap().is_empty());
}

#[test]
fn items_is_rendered_for_a_project_made_before_it_was_a_resource_and_only_then() {
    let project_file = |version: &str| format!("schema = 1\nnestflux-version = \"{version}\"\n");
    let customers = crate::resource::Resource {
        name: "customers".to_owned(),
        fields: vec![crate::resource::parse_field("name:string").unwrap()],
        private: false,
        migration: 5,
    };
    let names = |resources: Vec<crate::resource::Resource>| {
        resources.into_iter().map(|r| r.name).collect::<Vec<_>>()
    };
    // 0.3.0 wrote items as template code: rendered again as a resource,
    // first (its migration is 0001), with the notes as the answers had them.
    let before = resources_to_render(&project_file("0.3.0"), vec![customers.clone()], &answers());
    assert_eq!(names(before.clone()), ["items", "customers"]);
    assert_eq!(before[0], crate::resource::items(true));
    // Recorded already, or a project of 0.4.0 whose user took it out: as is.
    let recorded = vec![crate::resource::items(true), customers.clone()];
    assert_eq!(
        resources_to_render(&project_file("0.3.0"), recorded.clone(), &answers()),
        recorded
    );
    assert_eq!(
        names(resources_to_render(
            &project_file("0.4.0"),
            vec![customers],
            &answers()
        )),
        ["customers"]
    );
}
