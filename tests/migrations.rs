//! The generated migrations for SQLite and PostgreSQL stay equivalent: for
//! every feature set, the same migration files, defining the same tables with
//! the same columns, in the same order and with the same nullability. Types
//! differ on purpose (`BLOB`/`UUID`, `TEXT`/`TIMESTAMPTZ`); sqlx maps both to
//! the same Rust types, so the service's code is the same for both.

use std::collections::BTreeMap;

use nestflux::answers::{Answers, Database, DeploySet, Feature, FeatureSet, Idp, ProjectName};
use nestflux::render::{DEFAULT_ROLES, FileSet, render};
use nestflux::secrets::{Secrets, seeded_rng};

/// A column: its name and whether it may be NULL.
type Column = (String, bool);

fn render_for(database: Database, features: FeatureSet) -> FileSet {
    let answers = Answers {
        name: ProjectName::parse("shop").unwrap(),
        idp: Idp::Oidc,
        database,
        features,
        deploy: DeploySet::none(),
    };
    render(
        &answers,
        &Secrets::generate(&mut seeded_rng(1), DEFAULT_ROLES),
    )
    .expect("render")
}

/// Migration file name (without the database's directory) to its SQL.
fn migrations(files: &FileSet, database: Database) -> BTreeMap<String, String> {
    let prefix = format!("migrations/{}/", database.key());
    files
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix(&prefix)?;
            Some((name.to_owned(), String::from_utf8(bytes.clone()).unwrap()))
        })
        .collect()
}

/// The tables created by `sql`, each with its columns in order.
fn tables(sql: &str) -> BTreeMap<String, Vec<Column>> {
    let sql: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut tables = BTreeMap::new();
    let mut rest = sql.as_str();
    while let Some(start) = rest.find("CREATE TABLE ") {
        rest = &rest[start + "CREATE TABLE ".len()..];
        let open = rest.find('(').expect("a column list");
        let name = rest[..open].trim().to_owned();
        // The column list ends at the parenthesis that closes the first one.
        let mut depth = 0;
        let mut definitions = vec![String::new()];
        let mut end = open;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 1 => {
                    definitions.push(String::new());
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                end = open + i;
                break;
            }
            if !(depth == 1 && c == '(') {
                definitions.last_mut().unwrap().push(c);
            }
        }
        let columns = definitions
            .iter()
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|d| {
                let upper = d.to_ascii_uppercase();
                ![
                    "CHECK",
                    "PRIMARY KEY",
                    "UNIQUE",
                    "FOREIGN KEY",
                    "CONSTRAINT",
                ]
                .iter()
                .any(|keyword| upper.starts_with(keyword))
            })
            .map(|d| {
                let upper = d.to_ascii_uppercase();
                let name = d.split(' ').next().unwrap().to_ascii_lowercase();
                let nullable = !(upper.contains("NOT NULL") || upper.contains("PRIMARY KEY"));
                (name, nullable)
            })
            .collect();
        tables.insert(name, columns);
        rest = &rest[end..];
    }
    tables
}

fn every_feature_set() -> impl Iterator<Item = FeatureSet> {
    (0..1u32 << Feature::ALL.len()).map(|bits| {
        Feature::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, f)| f)
            .collect()
    })
}

#[test]
fn sqlite_and_postgres_migrations_define_the_same_tables_and_columns() {
    for features in every_feature_set() {
        let sqlite = migrations(
            &render_for(Database::Sqlite, features.clone()),
            Database::Sqlite,
        );
        let postgres = migrations(
            &render_for(Database::Postgres, features.clone()),
            Database::Postgres,
        );
        assert_eq!(
            sqlite.keys().collect::<Vec<_>>(),
            postgres.keys().collect::<Vec<_>>(),
            "migration files with features {features}"
        );
        for (file, sql) in &sqlite {
            let (sqlite_tables, postgres_tables) = (tables(sql), tables(&postgres[file]));
            assert!(!sqlite_tables.is_empty(), "{file} creates no table");
            assert_eq!(
                sqlite_tables, postgres_tables,
                "{file} with features {features}"
            );
        }
    }
}

#[test]
fn the_migrations_follow_the_features() {
    let all = migrations(
        &render_for(Database::Postgres, FeatureSet::all()),
        Database::Postgres,
    );
    let items = &tables(&all["0001_create_items.sql"])["items"];
    assert!(
        items.contains(&("notes_key_id".to_owned(), true)),
        "{items:?}"
    );
    assert!(tables(&all["0002_create_audit_events.sql"]).contains_key("audit_events"));
    let sessions = &tables(&all["0003_create_sessions.sql"])["sessions"];
    assert!(
        sessions.contains(&("refresh_token".to_owned(), true))
            && sessions.contains(&("id_hash".to_owned(), false)),
        "{sessions:?}"
    );

    let none = migrations(
        &render_for(Database::Sqlite, FeatureSet::none()),
        Database::Sqlite,
    );
    assert_eq!(none.keys().collect::<Vec<_>>(), ["0001_create_items.sql"]);
    let items = &tables(&none["0001_create_items.sql"])["items"];
    let names: Vec<_> = items.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["id", "name", "notes", "owner", "created_at", "updated_at"]
    );
}

#[test]
fn the_parser_reads_columns_nullability_and_skips_constraints() {
    let sql = "-- a comment, (with parentheses)\nCREATE TABLE t (\n  a BLOB PRIMARY KEY NOT NULL,\n  b TEXT, -- note\n  c NUMERIC(10, 2) NOT NULL,\n  CHECK ((b IS NULL) = (c IS NULL))\n) STRICT;\nCREATE INDEX i ON t (a);";
    assert_eq!(
        tables(sql)["t"],
        [
            ("a".to_owned(), false),
            ("b".to_owned(), true),
            ("c".to_owned(), false)
        ]
    );
}

/// The migration of a resource with every type, on both databases: the same
/// columns, in the same order, with the same nullability.
#[test]
fn a_resource_s_migrations_define_the_same_table_on_both_databases() {
    use nestflux::render::render_project;
    use nestflux::resource::{Resource, parse_field};

    let fields = [
        "name:string:min=1:max=200",
        "email:string:email:pii:unique",
        "iban:string?:encrypted",
        "vip:bool",
        "visits:i32:min=0",
        "points:i64?",
        "ratio:f64?",
        "balance:decimal",
        "token:uuid?:unique",
        "born:date?",
        "seen:datetime?",
        "extra:json?",
        "tier:enum(gold,silver)",
    ];
    let customers = Resource {
        name: "customers".to_owned(),
        fields: fields.iter().map(|f| parse_field(f).unwrap()).collect(),
        private: false,
        migration: 9,
    };
    let orders = Resource {
        name: "orders".to_owned(),
        fields: vec![parse_field("customer:ref(customers)").unwrap()],
        private: true,
        migration: 10,
    };
    let resources = [customers, orders];
    let render = |database: Database| {
        let answers = Answers {
            name: ProjectName::parse("shop").unwrap(),
            idp: Idp::Oidc,
            database,
            features: FeatureSet::all(),
            deploy: DeploySet::none(),
        };
        let secrets = Secrets::generate(&mut seeded_rng(1), DEFAULT_ROLES);
        migrations(
            &render_project(&answers, &secrets, DEFAULT_ROLES, &resources).unwrap(),
            database,
        )
    };
    let (sqlite, postgres) = (render(Database::Sqlite), render(Database::Postgres));
    for file in ["0009_create_customers.sql", "0010_create_orders.sql"] {
        let (a, b) = (tables(&sqlite[file]), tables(&postgres[file]));
        assert_eq!(a.len(), 1, "{file}");
        assert_eq!(a, b, "{file}");
    }
    let customers = &tables(&sqlite["0009_create_customers.sql"])["customers"];
    assert!(customers.contains(&("iban_key_id".to_owned(), true)));
    assert!(customers.contains(&("vip".to_owned(), false)));
}

/// The server the test may create a database and a role on: the one the
/// generated projects' tests use.
fn superuser_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `psql` at `url` with `args`: its output, or the test fails showing it.
fn psql(url: &str, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("psql")
        .args(["--no-psqlrc", "--set", "ON_ERROR_STOP=1", "-At", url])
        .args(args)
        .output()
        .expect(
            "run psql (install the PostgreSQL client, e.g. `apt-get install postgresql-client`)",
        );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Drops the database and the role of the test, passed or failed.
struct Cleanup {
    database: String,
    role: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let url = superuser_url();
        let _ = psql(
            &url,
            &[
                "-c",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database),
            ],
        );
        let _ = psql(&url, &["-c", &format!("DROP ROLE IF EXISTS {}", self.role)]);
    }
}

#[test]
fn the_compose_postgres_gives_the_service_a_role_that_owns_its_schema_and_nothing_more() {
    // A name of its own, so that parallel runs do not share the role.
    let name = format!("role-check-{}", std::process::id());
    let role = name.replace('-', "_");
    let answers = Answers {
        name: ProjectName::parse(&name).unwrap(),
        idp: Idp::Oidc,
        database: Database::Postgres,
        features: Feature::ALL.into_iter().collect(),
        deploy: DeploySet::none(),
    };
    let files = render(
        &answers,
        &Secrets::generate(&mut seeded_rng(1), DEFAULT_ROLES),
    )
    .expect("render");
    let compose = String::from_utf8(files["compose.yaml"].clone()).unwrap();
    assert!(
        compose.contains("./deploy/postgres:/docker-entrypoint-initdb.d:ro"),
        "{compose}"
    );
    let env = String::from_utf8(files[".env"].clone()).unwrap();
    assert!(
        env.contains(&format!("DATABASE_URL=postgres://{role}:")),
        "the service must connect as its own role:\n{env}"
    );

    let dir = std::env::temp_dir().join(format!("nestflux-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("init-app-role.sh");
    std::fs::write(&script, &files["deploy/postgres/init-app-role.sh"]).unwrap();
    let superuser = superuser_url();
    let _cleanup = Cleanup {
        database: name.clone(),
        role: role.clone(),
    };
    psql(&superuser, &["-c", &format!("CREATE DATABASE \"{name}\"")])
        .expect("create the test database (is PostgreSQL on TEST_DATABASE_URL?)");

    // As the postgres image runs it: sourced, as the superuser, in POSTGRES_DB.
    let server = superuser.rsplit_once('/').unwrap().0;
    let output = std::process::Command::new("sh")
        .arg("-ec")
        .arg(format!(". '{}'", script.display()))
        .env("POSTGRES_USER", "postgres")
        .env("POSTGRES_DB", &name)
        .env("APP_DATABASE_PASSWORD", "app-password")
        .env("PGHOST", "127.0.0.1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The service's migrations run as the role, into its schema.
    let service = format!(
        "{}/{name}",
        server.replacen("postgres@", &format!("{role}:app-password@"), 1)
    );
    for (file, sql) in migrations(&files, Database::Postgres) {
        psql(&service, &["-c", &sql]).unwrap_or_else(|e| panic!("{file} as {role}: {e}"));
    }
    let attributes = psql(
        &service,
        &[
            "-c",
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        ],
    )
    .unwrap();
    assert_eq!(attributes.trim(), "f|f|f|f");
    let schema = psql(
        &service,
        &[
            "-c",
            "SELECT schemaname FROM pg_tables WHERE tablename = 'items'",
        ],
    )
    .unwrap();
    assert_eq!(schema.trim(), role);

    // Nothing beyond its schema: no tables in `public`, no databases, no roles.
    for statement in [
        "CREATE TABLE public.elsewhere (a int)".to_owned(),
        format!("CREATE DATABASE \"{name}-more\""),
        "CREATE ROLE another".to_owned(),
    ] {
        let refused = psql(&service, &["-c", &statement]).expect_err(&statement);
        assert!(
            refused.contains("permission denied"),
            "{statement}: {refused}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
