//! The command line: clap derive types and their help text.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::answers::{Database, DeploySet, DeployTarget, Feature, FeatureSet, Idp, ProjectName};
use crate::audit::Severity;
use crate::audit::report::Format;

const ABOUT: &str = "Scaffold secured Rust web services";

const LONG_ABOUT: &str = "\
Scaffold secured Rust web services.

nestflux generates a complete axum service that is secure by default:
input validation, deny-by-default routing, parameterized queries, RFC 9457
errors and request tracing, plus the security features you choose.";

const AFTER_HELP: &str = "\
Examples:
  nestflux new my-api                          ask the questions (on a terminal)
  nestflux new my-api --yes                    take the defaults, ask nothing
  nestflux new my-api --idp authentik --features headers,cors --yes
  nestflux audit-config my-api                 check a project's security settings
  nestflux dev                                 run a project with a development IdP
  nestflux upgrade --dry-run                   what this nestflux would change in a project

Exit codes: 0 success, 1 failure (or audit findings), 2 usage error.";

#[derive(Debug, Parser)]
#[command(
    name = "nestflux",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colours in messages
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print only errors
    #[arg(
        short,
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// Print more detail, such as every file written
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour only when writing to a terminal (honours NO_COLOR)
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new secured web service in a new directory
    #[command(after_help = new_after_help())]
    New(NewArgs),

    /// Grow a generated project: its access-control policy (`config/rbac.toml`)
    /// or its deployment files
    #[command(subcommand)]
    Add(AddCommand),

    /// Check a generated project's configuration for security problems
    #[command(name = "audit-config", after_help = AUDIT_AFTER_HELP)]
    AuditConfig(AuditArgs),

    /// Run a generated project with a development identity provider (no Docker)
    #[command(after_help = DEV_AFTER_HELP, args_conflicts_with_subcommands = true)]
    Dev(DevArgs),

    /// Bring a generated project up to this nestflux, keeping your edits
    #[command(long_about = UPGRADE_LONG_ABOUT, after_help = UPGRADE_AFTER_HELP)]
    Upgrade(UpgradeArgs),
}

const DEV_AFTER_HELP: &str = "\
`nestflux dev` runs inside a generated project (found upwards from the current
directory by its nestflux.toml) or in --project DIR. It starts a development
identity provider, then `cargo run` (the service's output follows), waits until
/health/ready answers 200 and prints, for every role of config/rbac.toml, a
curl line with a fresh token of its test user `test-<role>`. Ctrl-c (or SIGTERM)
stops both.

The provider serves the AUTH_ISSUER_URL of .env, shaped like the project's
identity provider: Keycloak http://localhost:8180/realms/<name>, Authentik
http://localhost:9000/application/o/<name>/, generic OpenID Connect
http://localhost:8190. Tokens live 5 minutes; the password grant takes the
DEV_CLIENT_* and DEV_PASSWORD_<ROLE> of .env, as the real provider of
compose.yaml does. Projects with browser sessions also get the sign-in page
(pick a test user), refresh, revocation and logout. Its key is new each run.

It is for development only: it listens on loopback and refuses any other
address or issuer. When the port is taken (compose.yaml's provider is running,
say), `nestflux dev` says so and runs only the service.

Examples:
  nestflux dev                                 provider + service, tokens printed
  nestflux dev -- --release                    arguments after -- go to cargo run
  nestflux dev idp                             only the provider, in the foreground
  nestflux dev token editor                    one access token, for scripts:
  curl -H \"Authorization: Bearer $(nestflux dev token editor)\" 127.0.0.1:8080/api/me";

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: Option<DevCommand>,

    #[command(flatten)]
    pub run: DevRunArgs,
}

#[derive(Debug, Args)]
pub struct DevRunArgs {
    #[command(flatten)]
    pub provider: DevProviderArgs,

    /// Arguments for `cargo run`, after `--` (e.g. `-- --release`)
    #[arg(last = true, value_name = "CARGO_RUN_ARGS")]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DevProviderArgs {
    /// The generated project to run [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Loopback address for the provider to listen on (127.0.0.1, ::1)
    /// [default: the host of AUTH_ISSUER_URL; any other address is refused]
    #[arg(long, value_name = "IP")]
    pub bind: Option<IpAddr>,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Run only the development identity provider, in the foreground
    #[command(after_help = DEV_IDP_AFTER_HELP)]
    Idp(DevProviderArgs),

    /// Print an access token of a test user, from the provider serving the issuer
    #[command(after_help = DEV_TOKEN_AFTER_HELP)]
    Token(DevTokenArgs),
}

const DEV_IDP_AFTER_HELP: &str = "\
Serves the AUTH_ISSUER_URL of .env until ctrl-c or SIGTERM: discovery, keys,
tokens (client_credentials, and the password grant for the test users), and
with browser sessions the sign-in page, refresh, revocation and logout. Its home
page (the issuer's origin, e.g. http://localhost:8180/) lists the test users and
who is signed in. Run the service against it with `cargo run` in another
terminal.

Examples:
  nestflux dev idp
  nestflux dev idp --bind 127.0.0.1";

const DEV_TOKEN_AFTER_HELP: &str = "\
Asks the provider that serves AUTH_ISSUER_URL (`nestflux dev`, or the real one
of compose.yaml) for an access token, with the password grant and the
DEV_CLIENT_* and DEV_PASSWORD_<ROLE> of .env, and prints it on standard output.

Examples:
  nestflux dev token editor
  nestflux dev token test-admin
  TOKEN=$(nestflux dev token viewer) && curl -H \"Authorization: Bearer $TOKEN\" 127.0.0.1:8080/api/me";

#[derive(Debug, Args)]
pub struct DevTokenArgs {
    /// A role of config/rbac.toml, or its test user (`editor`, `test-editor`)
    #[arg(value_name = "ROLE|USER")]
    pub user: String,

    /// The generated project [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

const UPGRADE_LONG_ABOUT: &str = "\
Bring a generated project up to this nestflux, keeping your edits.

Template fixes, security fixes above all, reach projects generated long ago:
nestflux renders the project again from its recorded inputs (the answers of
nestflux.toml, the roles of config/rbac.toml, the project's own IdP secrets)
and merges that into the project three-way, against the baseline: every file
as nestflux last wrote it, kept in .nestflux/baseline.tar.gz (commit it;
`nestflux new`, `add` and `upgrade` keep it up to date).";

const UPGRADE_AFTER_HELP: &str = "\
What happens to each file:
  you did not change it, the templates did       the new version
  you changed it, the templates did not          yours, untouched
  both changed it, in different places           both changes, merged
  both changed the same lines                    conflict: diff3 markers
  new in the templates                           added
  removed from the templates                     deleted if you never changed it, else kept
  you deleted it                                 stays deleted (reported)
  you created a file the templates now add       conflict: both versions, in markers
Migrations are never rewritten or deleted; new ones are added. nestflux.toml
and config/rbac.toml are your data: they only gain what the new version adds
(a key, a permission, a role). .env is never written; new variables of
.env.example are named at the end. A Rust file whose merge conflicts is tried
again with all three versions formatted by rustfmt.

Conflicts are listed at the end (exit 1); in git they show as \"both modified\".
Resolve them, `git add` the files, and run `nestflux upgrade` again: the version
in nestflux.toml moves only once nothing conflicts, and a second run changes
nothing. Refuses a git working tree with uncommitted changes (--allow-dirty).

A project made before nestflux kept a baseline cannot be merged three-way:
`nestflux upgrade` writes the new render to target/nestflux-upgrade/ for review
and overwrites nothing; after taking what you want, `--adopt` records it as the
baseline.

Exit codes: 0 upgraded (or up to date), 1 conflicts, a project behind with
--check, or the review of a project without baseline, 2 usage error.

Examples:
  nestflux upgrade --dry-run        the decisions, the security fixes and the diff
  nestflux upgrade                  upgrade the project in this directory
  nestflux upgrade --check          in CI: fail when the project is behind";

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Print each file's decision, the security fixes and the unified diff;
    /// write nothing
    #[arg(long, conflicts_with_all = ["check", "adopt"])]
    pub dry_run: bool,

    /// Write nothing; exit with 1 when the project is behind this nestflux
    /// (for CI)
    #[arg(long, conflicts_with = "adopt")]
    pub check: bool,

    /// Upgrade even though the git working tree has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,

    /// For a project made before nestflux kept a baseline: record this
    /// nestflux's render as its baseline (after you took what you wanted
    /// from the review); changes no other file
    #[arg(long)]
    pub adopt: bool,

    /// The generated project [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

const AUDIT_AFTER_HELP: &str = "\
Reads the project as it is on disk (nestflux.toml, config/rbac.toml, committed
env files, .gitignore, Dockerfiles, IdP setup files and the Rust sources) and
never runs it. Files ignored by .gitignore, target/, .git/, node_modules/ and
files over 1 MiB are skipped; files in git's index are read even if ignored.

Accept a finding on purpose in nestflux.toml, with a reason:
  [audit]
  allow = [{ rule = \"NF003\", path = \"nestflux.toml\", reason = \"…\", expires = \"2027-01-31\" }]

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 usage error, or a folder that is not a nestflux project.

Examples:
  nestflux audit-config                         audit the project this directory is in
  nestflux audit-config my-api --fail-on medium
  nestflux audit-config --format sarif --output nestflux.sarif
  nestflux audit-config --explain NF006         what a rule checks and how to fix it";

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The project to audit: the directory holding its nestflux.toml [default:
    /// found from the current directory upwards]
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    /// Exit with 1 when a finding of this severity or higher remains
    #[arg(long, value_enum, default_value_t = Severity::High, value_name = "SEVERITY")]
    pub fail_on: Severity,

    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print the documentation of a rule (e.g. NF006) and exit
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Add a role to the policy and to the identity provider's setup files
    #[command(after_help = ADD_ROLE_AFTER_HELP)]
    Role(AddRoleArgs),
    /// Declare a permission (`resource:action`) and grant it to roles
    #[command(after_help = ADD_PERMISSION_AFTER_HELP)]
    Permission(AddPermissionArgs),
    /// Add a deployment target's files (e.g. Kubernetes manifests) to the project
    #[command(after_help = ADD_DEPLOY_AFTER_HELP)]
    Deploy(AddDeployArgs),
    /// Add a resource of your own data: module, migration, permissions and tests
    #[command(after_help = ADD_RESOURCE_AFTER_HELP)]
    Resource(AddResourceArgs),
}

const ADD_RESOURCE_AFTER_HELP: &str = "\
Fields are NAME:TYPE[?][:MODIFIER]... (`?`: optional). Types: string, text,
bool, i32, i64, f64, decimal, uuid, date, datetime (UTC), json, enum(a,b,...),
ref(resource). Modifiers: unique, min=N, max=N (length of text, value of
numbers), email, url, nonblank (not whitespace only), encrypted (needs the
`encryption` feature; not with unique), pii (never logged), and last
pattern=REGEX (the `regex` crate's syntax). README.md of nestflux: the SQL
type of each type. `items`, the resource `new` writes, is recorded the same
way in nestflux.toml.

Generates src/resources/NAME/ (model, repository, handlers with their access),
a new migration per database, tests/api/resources/NAME.rs, and the permissions
NAME:read, NAME:write, NAME:write-any, NAME:delete (and NAME:read-any with
--private) in config/rbac.toml. Everything is checked before anything is
written; the same command again changes nothing.

Examples:
  nestflux add resource customers name:string:max=200 email:string:email:pii
  nestflux add resource orders customer:ref(customers) total:decimal note:text?:max=2000
  nestflux add resource products 'sku:string:unique:pattern=^[A-Z]{3}-[0-9]{2}' price:decimal
  nestflux add resource notes body:text --private --roles viewer=read,editor=write
  nestflux add resource customers name:string --dry-run";

#[derive(Debug, Args)]
pub struct AddResourceArgs {
    /// Resource name: snake_case, the table and the path `/api/NAME` (e.g. `invoices`)
    pub name: String,

    /// The fields, as NAME:TYPE[?][:MODIFIER]...
    #[arg(value_name = "FIELD")]
    pub fields: Vec<String>,

    /// Who is granted what, as ROLE=ACTION[+ACTION], comma-separated (actions: read,
    /// read-any, write, write-any, delete) [default: viewer=read,editor=write]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub roles: Vec<String>,

    /// Records visible only to their owner and to holders of NAME:read-any (others get 404)
    #[arg(long)]
    pub private: bool,

    /// Print the changes as a diff and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The generated project to extend [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

const ADD_DEPLOY_AFTER_HELP: &str = "\
Renders the target's files for the project's answers (nestflux.toml), as
`nestflux new --deploy TARGET` would have, and writes only the files that are
new: no existing file is changed, except nestflux.toml, which records the
target under [deploy]. A file that already exists where a new one would go
stops the command before anything is written.

Examples:
  nestflux add deploy kubernetes               writes deploy/kubernetes/
  nestflux add deploy kubernetes --dry-run     lists the files, writes nothing";

#[derive(Debug, Args)]
pub struct AddDeployArgs {
    /// The deployment target
    #[arg(value_enum, value_name = "TARGET")]
    pub target: DeployTarget,

    /// Print the files that would be written and the change to nestflux.toml;
    /// write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The generated project to extend [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

const ADD_ROLE_AFTER_HELP: &str = "\
Runs inside a generated project (found upwards from the current directory by
its nestflux.toml) or in --project DIR. Comments and formatting in
config/rbac.toml are kept; the identity provider's setup files under deploy/
gain the role too. Adding a role that exists with the same definition changes
nothing; a different definition is refused unless --force.

Examples:
  nestflux add role auditor --permissions items:read
  nestflux add role moderator --inherits editor --permissions items:delete
  nestflux add role auditor --permissions items:read --dry-run";

const ADD_PERMISSION_AFTER_HELP: &str = "\
Declares the permission in config/rbac.toml and grants it to the listed roles
(`admin`, which holds `*`, has every permission already). Guard a route with
it in src/routes/ to put it to use.

Examples:
  nestflux add permission reports:read --roles auditor,admin";

#[derive(Debug, Args)]
pub struct AddRoleArgs {
    /// Role name: a lowercase word (letters, digits, `-`, `_`; at most 64 characters)
    pub name: String,

    /// Permissions the role grants, comma-separated (each must be declared)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub permissions: Vec<String>,

    /// Roles whose permissions this role inherits, comma-separated
    #[arg(long, value_name = "ROLE", value_delimiter = ',')]
    pub inherits: Vec<String>,

    /// A short description, written into the policy and the IdP setup files
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Replace an existing role of that name with this definition
    #[arg(long)]
    pub force: bool,

    /// Print the changes as a diff and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The generated project to edit [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddPermissionArgs {
    /// The permission, as `resource:action` (e.g. `reports:read`)
    pub permission: String,

    /// Roles to grant it to, comma-separated
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub roles: Vec<String>,

    /// Print the changes as a diff and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The generated project to edit [default: found from the current directory upwards]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// The text after `nestflux new --help`'s options: the feature keys, from
/// [`Feature::ALL`] with their defaults and dependencies, and examples.
fn new_after_help() -> String {
    let width = Feature::ALL
        .map(|f| f.key().len())
        .into_iter()
        .max()
        .unwrap_or(0);
    let mut features = String::new();
    for feature in Feature::ALL {
        let mut notes = vec![if feature.on_by_default() { "on" } else { "off" }.to_owned()];
        if let Some(needed) = feature.requires() {
            notes.push(format!("needs {}", needed.key()));
        }
        features.push_str(&format!(
            "  {:<width$}  {}: {}\n",
            feature.key(),
            feature.label(),
            notes.join(", ")
        ));
    }
    format!(
        "\
On a terminal, nestflux asks for every answer no flag or preset gave. Without
a terminal (CI, pipes) it never asks: pass --yes to take the defaults for what
is missing, or pass every flag.

Feature keys (on or off by default):
{features}\
Input validation, deny-by-default routing and parameterized queries are always on.

{NEW_EXAMPLES}"
    )
}

/// The help of `--features`: every key, and the default set.
fn features_help() -> String {
    format!(
        "Exact set of optional security features, comma-separated, or `none` [possible values: {}] [default: {}]",
        Feature::ALL.map(Feature::key).join(", "),
        FeatureSet::defaults()
    )
}

/// The help of `--deploy`: every target; none by default.
fn deploy_help() -> String {
    format!(
        "Deployment files to generate beside the service, comma-separated, or `none` [possible values: {}] [default: none]",
        DeployTarget::ALL.map(DeployTarget::key).join(", ")
    )
}

const NEW_EXAMPLES: &str = "\
Examples:
  nestflux new my-api
  nestflux new my-api --idp keycloak --db sqlite --yes
  nestflux new services/billing --name billing-api --features headers,cors --yes
  nestflux new my-api --db postgres --features headers,rate-limit,redis --deploy kubernetes --yes
  nestflux new my-api --preset team/nestflux.toml --yes
  nestflux new my-api --yes --dry-run          show the files, write nothing";

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Directory to create (it must not exist, or be empty); its last
    /// component is the project name unless --name is given
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Project and crate name: lowercase letters, digits, `-` and `_`,
    /// starting with a letter [default: the last component of PATH]
    #[arg(long, value_parser = parse_name)]
    pub name: Option<ProjectName>,

    #[arg(long, value_enum, value_name = "IDP", help = format!("Identity provider whose access tokens the service accepts [default: {}]", Idp::DEFAULT.key()))]
    pub idp: Option<Idp>,

    #[arg(long, value_enum, value_name = "DB", help = format!("Database the service stores its data in [default: {}]", Database::DEFAULT.key()))]
    pub db: Option<Database>,

    #[arg(long, value_name = "LIST", value_parser = FeatureSet::parse_list, help = features_help())]
    pub features: Option<FeatureSet>,

    #[arg(long, value_name = "LIST", value_parser = DeploySet::parse_list, help = deploy_help())]
    pub deploy: Option<DeploySet>,

    /// Read answers from a file in the `nestflux.toml` format; flags override it
    #[arg(long, value_name = "FILE")]
    pub preset: Option<PathBuf>,

    /// Ask nothing: take the defaults for every answer no flag or preset gave
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Print the files that would be written, with their sizes, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_name(raw: &str) -> Result<ProjectName, String> {
    ProjectName::parse(raw).map_err(|e| match e.suggestion {
        Some(s) => format!("{}\n\n  tip: try `--name {s}`", e.rule),
        None => e.rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
