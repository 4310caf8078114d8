//! Test fixtures for rules: a project in a temporary directory, built file
//! by file, with a `nestflux.toml` that has every feature on.

use std::fs;

use super::{Finding, Findings, Project, Rule};

/// `nestflux.toml` of a project with every feature on and nothing allowed.
pub const ALL_FEATURES_TOML: &str = "schema = 1\n\n[project]\nname = \"demo\"\nidp = \"keycloak\"\ndatabase = \"sqlite\"\nfeatures = [\"headers\", \"rate-limit\", \"cors\", \"audit-log\", \"encryption\"]\n\n[audit]\nallow = []\n";

/// A valid `config/rbac.toml`: a viewer and an admin.
pub const POLICY: &str = "permissions = [\"items:read\", \"items:write\"]\n\n[roles.admin]\npermissions = [\"*\"]\n\n[roles.viewer]\npermissions = [\"items:read\"]\n";

/// Whether `id` names an OWASP ASVS 4.0.3 requirement: `V`, then the
/// chapter, section and requirement numbers (`V14.5.3`). Rules and the
/// shipped security fixes cite them.
pub fn is_asvs_requirement(id: &str) -> bool {
    id.strip_prefix('V').is_some_and(|numbers| {
        let parts: Vec<&str> = numbers.split('.').collect();
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
    })
}

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

#[test]
fn asvs_requirement_ids_are_told_from_other_text() {
    assert!(is_asvs_requirement("V14.5.3"));
    for other in [
        "14.5.3", "V14.5", "V14.5.x", "VV14.5.3", "V1.2.3.4", "v1.2.3",
    ] {
        assert!(!is_asvs_requirement(other), "{other}");
    }
}
