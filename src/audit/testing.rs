//! Test fixtures for rules: a project in a temporary directory, built file
//! by file, with a `nestflux.toml` that has every feature on.

use std::fs;

use super::{Finding, Findings, Project, Rule};

/// `nestflux.toml` of a project with every feature on and nothing allowed.
pub const ALL_FEATURES_TOML: &str = "schema = 1\n\n[project]\nname = \"demo\"\nidp = \"keycloak\"\ndatabase = \"sqlite\"\nfeatures = [\"headers\", \"rate-limit\", \"cors\", \"audit-log\", \"encryption\"]\n\n[audit]\nallow = []\n";

/// A valid `config/rbac.toml`: a viewer and an admin.
pub const POLICY: &str = "permissions = [\"items:read\", \"items:write\"]\n\n[roles.admin]\npermissions = [\"*\"]\n\n[roles.viewer]\npermissions = [\"items:read\"]\n";

pub struct TestProject {
    dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new() -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        project.file("nestflux.toml", ALL_FEATURES_TOML)
    }

    pub fn file(self, path: &str, contents: &str) -> Self {
        let full = self.dir.path().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, contents).unwrap();
        self
    }

    pub fn load(&self) -> Project {
        Project::load(self.dir.path()).expect("the test project loads")
    }

    /// The findings of `rule` alone.
    pub fn check(&self, rule: &'static Rule) -> Vec<Finding> {
        run(rule, &self.load())
    }
}

pub fn run(rule: &'static Rule, project: &Project) -> Vec<Finding> {
    let mut findings = Findings::new(rule);
    (rule.check)(project, &mut findings);
    let mut found = findings.into_vec();
    found.sort_by(|a, b| a.location.cmp(&b.location));
    found
}

/// `path:line:column` of each finding, for compact assertions.
pub fn places(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}",
                f.location.path, f.location.line, f.location.column
            )
        })
        .collect()
}
