//! Where the files the audit reads live, and what they look like, decided
//! in one place. Identity (#3), RBAC (#4), the HTTP features (#5) and data
//! protection (#6) land in parallel; when one of them settles a file name,
//! a key or a guard's spelling, adjust it here and the rules follow.

/// The RBAC policy: `[roles.<name>]` tables with `permissions`, `inherits`
/// and `description`.
pub mod rbac {
    pub const PATH: &str = "config/rbac.toml";
    pub const ROLES_TABLE: &str = "roles";
    pub const PERMISSIONS_KEY: &str = "permissions";
    pub const INHERITS_KEY: &str = "inherits";
    /// The one role allowed to hold wildcard permissions.
    pub const ADMIN_ROLE: &str = "admin";
    /// A permission that stands for many: `*`, `items:*`, `*:read`.
    pub fn is_wildcard(permission: &str) -> bool {
        permission.contains('*')
    }
    /// Whether `granted` (possibly a wildcard) covers `wanted`.
    pub fn grants(granted: &str, wanted: &str) -> bool {
        if granted == "*" || granted == wanted {
            return true;
        }
        match (granted.split_once(':'), wanted.split_once(':')) {
            (Some((gr, ga)), Some((wr, wa))) => (gr == "*" || gr == wr) && (ga == "*" || ga == wa),
            _ => false,
        }
    }
}

/// Identity-provider setup files, checked against the RBAC roles.
pub mod idp {
    /// A Keycloak realm export: roles at `roles.realm[].name` and
    /// `roles.client.<client>[].name`.
    pub const KEYCLOAK_REALM: &str = "deploy/keycloak/realm.json";
    /// Roles every Keycloak realm has, which no policy needs to name.
    pub const KEYCLOAK_BUILTIN_ROLES: &[&str] = &["offline_access", "uma_authorization"];
    pub const KEYCLOAK_BUILTIN_ROLE_PREFIXES: &[&str] = &["default-roles-"];
    /// Keycloak's own clients, whose roles are not the service's.
    pub const KEYCLOAK_BUILTIN_CLIENTS: &[&str] = &[
        "account",
        "account-console",
        "admin-cli",
        "broker",
        "realm-management",
        "security-admin-console",
    ];
    /// An Authentik blueprint: every entry with this `model` is a group
    /// (a role), named by `attrs.name` or `identifiers.name`.
    pub const AUTHENTIK_BLUEPRINT: &str = "deploy/authentik/blueprint.yaml";
    pub const AUTHENTIK_GROUP_MODEL: &str = "authentik_core.group";
}

/// How the generated Rust code spells authorization.
pub mod guards {
    /// Calls whose first argument is a permission: `require("items:read")`.
    pub const PERMISSION_CALLS: &[&str] = &[
        "require",
        "require_permission",
        "requires_permission",
        "has_permission",
        "authorize",
    ];
    /// Types or attributes that guard a handler without a literal call.
    pub const GUARD_MARKERS: &[&str] = &["RequirePermission", "Authorized<", "#[require"];
    /// Routes that are public by design.
    pub const PUBLIC_ROUTES: &[&str] = &["/health/live", "/health/ready"];
    /// axum's method routers: `get(handler)`, `post(handler)`, …
    pub const METHOD_ROUTERS: &[&str] = &[
        "get", "post", "put", "patch", "delete", "head", "options", "trace", "any",
    ];
}

/// Environment variables the rules read (DESIGN §3).
pub mod env {
    pub const APP_ENV: &str = "APP_ENV";
    pub const ISSUER: &str = "AUTH_ISSUER_URL";
    pub const DATABASE_URL: &str = "DATABASE_URL";
    pub const CORS_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
    /// Not in DESIGN yet; read when present.
    pub const CORS_CREDENTIALS: &str = "CORS_ALLOW_CREDENTIALS";
    pub const RATE_PER_SECOND: &str = "RATE_LIMIT_PER_SECOND";
    pub const RATE_BURST: &str = "RATE_LIMIT_BURST";
    pub const ENCRYPTION_KEYS: &str = "DATA_ENCRYPTION_KEYS";
    /// The browser sessions (feature `session`).
    pub const COOKIE_SECURE: &str = "COOKIE_SECURE";
    pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
}

/// Files by role in the project.
pub mod files {
    /// Directories never walked, whatever `.gitignore` says.
    pub const SKIPPED_DIRS: &[&str] = &["target", ".git", "node_modules"];
    /// Files larger than this are never read.
    pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

    /// `.env`, `.env.production`, `deploy/.env.local`, …
    pub fn is_env_file(path: &str) -> bool {
        let name = file_name(path);
        name == ".env" || name.starts_with(".env.")
    }

    /// `.env.example` and its kin: documentation, committed on purpose.
    pub fn is_example_env(path: &str) -> bool {
        let name = file_name(path);
        [".example", ".sample", ".template", ".dist"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
    }

    /// `.env.production`, `.env.prod`, `prod.env`.
    pub fn is_production_name(path: &str) -> bool {
        let name = file_name(path).to_ascii_lowercase();
        name.split(['.', '-', '_'])
            .any(|part| part == "production" || part == "prod")
    }

    /// `Dockerfile`, `api.Dockerfile`, `Dockerfile.prod`, `Containerfile`.
    pub fn is_dockerfile(path: &str) -> bool {
        let name = file_name(path);
        name == "Dockerfile"
            || name == "Containerfile"
            || name.starts_with("Dockerfile.")
            || name.ends_with(".Dockerfile")
    }

    /// `compose.yaml`, `docker-compose.yml`, `compose.prod.yaml`, …
    pub fn is_compose_file(path: &str) -> bool {
        let name = file_name(path);
        (name.starts_with("compose") || name.starts_with("docker-compose"))
            && (name.ends_with(".yaml") || name.ends_with(".yml"))
    }

    /// Files whose lines are `key = value` configuration, scanned for
    /// secret-looking values.
    pub fn is_config_file(path: &str) -> bool {
        let name = file_name(path);
        if matches!(
            name,
            "Cargo.lock" | "package-lock.json" | "yarn.lock" | "pnpm-lock.yaml"
        ) {
            return false;
        }
        is_env_file(path)
            || is_dockerfile(path)
            || [
                ".toml",
                ".yaml",
                ".yml",
                ".json",
                ".ini",
                ".conf",
                ".cfg",
                ".properties",
                ".env",
            ]
            .iter()
            .any(|ext| name.ends_with(ext))
    }

    /// Rust sources of the service itself, not its tests, benches or examples.
    pub fn is_service_rust(path: &str) -> bool {
        path.ends_with(".rs")
            && !path
                .split('/')
                .any(|part| matches!(part, "tests" | "benches" | "examples" | "fixtures"))
    }

    pub fn file_name(path: &str) -> &str {
        path.rsplit('/').next().unwrap_or(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_grant_what_they_cover() {
        assert!(rbac::grants("*", "items:read"));
        assert!(rbac::grants("items:*", "items:read"));
        assert!(rbac::grants("*:read", "items:read"));
        assert!(!rbac::grants("items:*", "users:read"));
        assert!(rbac::grants("items:read", "items:read"));
    }

    #[test]
    fn files_are_classified_by_name() {
        assert!(files::is_env_file("deploy/.env.production"));
        assert!(files::is_example_env(".env.example"));
        assert!(files::is_production_name(".env.production"));
        assert!(!files::is_production_name(".env.reproduce"));
        assert!(files::is_dockerfile("docker/api.Dockerfile"));
        assert!(files::is_service_rust("src/auth/jwt.rs"));
        assert!(!files::is_service_rust("tests/api/helpers.rs"));
        assert!(!files::is_config_file("Cargo.lock"));
    }
}
