//! What the audit looks for, in the generated service's own vocabulary,
//! decided in one place: the spellings of its route declarations and the
//! environment variables it reads. `tests/audit.rs` renders every identity
//! provider and database with every feature and proves each name here
//! occurs in the generated code, so that no rule checks a spelling the
//! service never uses.
//!
//! The formats of the files the audit reads are those of the scaffolder:
//! `config/rbac.toml` ([`crate::rbac`]), the identity provider's files
//! ([`crate::idp_files`]) and `nestflux.toml` ([`crate::project::file`]).

/// How the generated code declares who may call a route: every route is
/// added through `Routes` (`src/access/mod.rs`) with an `Access`,
///
/// ```text
/// Routes::new()
///     .get("/items", require("items:read"), documented!(list))
///     .get("/me", authenticated(), documented!(me))
///     .get("/health/live", public(), documented!(live))
/// ```
///
/// (`documented!` hands over the handler with its API description.)
pub mod guards {
    /// `require("items:read")`: callers whose roles grant the permission.
    pub const REQUIRE: &str = "require";
    /// `authenticated()`: any caller with a valid access token.
    pub const AUTHENTICATED: &str = "authenticated";
    /// `public()`: anyone, without a token.
    pub const PUBLIC: &str = "public";
    /// The methods of `Routes` that declare a route: the path, the access,
    /// the handler.
    pub const ROUTE_METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];
    /// The routes the generated service declares `public()`, by design: the
    /// health checks, and the browser sign-in flow of `session` (the
    /// identity provider authenticates the user there).
    pub const PUBLIC_ROUTES: &[&str] = &[
        "/health/live",
        "/health/ready",
        "/auth/login",
        "/auth/callback",
        "/auth/logout",
        "/auth/backchannel-logout",
    ];
    /// A route declaration the generated code holds, shown in fixes.
    pub const EXAMPLE_ROUTE: &str = r#".get("/items", require("items:read"), documented!(list))"#;
    /// The API description, `GET /openapi.json`: added with axum's
    /// `.route(…)` past `Routes` (it describes the routes, it is not one of
    /// them), public by design, and served in production only with
    /// OPENAPI_PUBLIC=true (NF032).
    pub const DESCRIPTION_ROUTE: &str = "/openapi.json";
}

/// Environment variables the rules read: those the generated service reads
/// and names in its `.env.example`.
pub mod env {
    use crate::answers::Feature;

    pub const APP_ENV: &str = "APP_ENV";
    pub const ISSUER: &str = "AUTH_ISSUER_URL";
    pub const DATABASE_URL: &str = "DATABASE_URL";
    pub const CORS_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
    pub const RATE_PER_SECOND: &str = "RATE_LIMIT_PER_SECOND";
    pub const RATE_BURST: &str = "RATE_LIMIT_BURST";
    pub const ENCRYPTION_KEYS: &str = "DATA_ENCRYPTION_KEYS";
    /// The browser sessions (feature `session`).
    pub const COOKIE_SECURE: &str = "COOKIE_SECURE";
    pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
    /// The login flow's client secret (feature `session`).
    pub const CLIENT_SECRET: &str = "AUTH_CLIENT_SECRET";
    /// The Redis shared by every replica (feature `redis`; may hold a password).
    pub const REDIS_URL: &str = "REDIS_URL";
    /// `true` serves the API description (`GET /openapi.json`) in production.
    pub const OPENAPI_PUBLIC: &str = "OPENAPI_PUBLIC";
    /// How long a connection may wait for a request's head, idle included.
    pub const HEADER_READ_TIMEOUT: &str = "HTTP_HEADER_READ_TIMEOUT_SECONDS";
    /// How many connections are served at once.
    pub const MAX_CONNECTIONS: &str = "HTTP_MAX_CONNECTIONS";
    /// The IPv6 network a rate-limit bucket covers (feature `rate-limit`).
    pub const RATE_IPV6_PREFIX: &str = "RATE_LIMIT_IPV6_PREFIX";

    /// The secret variables each feature brings, besides `DATABASE_URL` (a
    /// secret with PostgreSQL). Deployment files reference them from a
    /// secret store and never write their values (`crate::deploy`).
    pub const FEATURE_SECRETS: &[(Feature, &str)] = &[
        (Feature::Encryption, ENCRYPTION_KEYS),
        (Feature::Session, CLIENT_SECRET),
        (Feature::Redis, REDIS_URL),
    ];

    /// Every secret variable the service may read.
    pub const SECRETS: &[&str] = &[DATABASE_URL, ENCRYPTION_KEYS, CLIENT_SECRET, REDIS_URL];

    /// Every variable above, for the test that ties them to the templates.
    pub const ALL: &[&str] = &[
        APP_ENV,
        ISSUER,
        DATABASE_URL,
        CORS_ORIGINS,
        RATE_PER_SECOND,
        RATE_BURST,
        ENCRYPTION_KEYS,
        COOKIE_SECURE,
        PUBLIC_BASE_URL,
        CLIENT_SECRET,
        REDIS_URL,
        OPENAPI_PUBLIC,
        HEADER_READ_TIMEOUT,
        MAX_CONNECTIONS,
        RATE_IPV6_PREFIX,
    ];
}

/// Files by role in the project.
pub mod files {
    use crate::project::env::ENV_FILE;

    /// Directories never walked, whatever `.gitignore` says.
    pub const SKIPPED_DIRS: &[&str] = &["target", ".git", "node_modules"];
    /// Files larger than this are never read.
    pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

    /// `.env`, `.env.production`, `deploy/.env.local`, …
    pub fn is_env_file(path: &str) -> bool {
        let name = file_name(path);
        name == ENV_FILE || name.starts_with(".env.")
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
