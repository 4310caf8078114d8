//! Every rule, one per file. Ids are stable: a rule that goes away leaves
//! its id unused, and a new rule takes the next free one (or one reserved
//! for it: ids may have gaps).

use super::{Findings, Project, Rule};
use crate::answers::Feature;
use crate::project::PROJECT_FILE;

mod jwt;
mod kubernetes;
pub mod nf001_headers_off;
pub mod nf002_rate_limit_off;
pub mod nf003_cors_off;
pub mod nf004_audit_log_off;
pub mod nf005_encryption_off;
pub mod nf006_cors_wildcard_origin;
pub mod nf007_cors_wildcard_with_credentials;
pub mod nf008_committed_env_file;
pub mod nf009_env_not_ignored;
pub mod nf010_committed_private_key;
pub mod nf011_committed_secret_value;
pub mod nf012_issuer_without_tls;
pub mod nf013_database_without_tls;
pub mod nf014_jwt_audience_unchecked;
pub mod nf015_jwt_expiry_unchecked;
pub mod nf016_jwt_weak_algorithm;
pub mod nf017_jwt_long_leeway;
pub mod nf018_weak_encryption_key;
pub mod nf019_rate_limit_above_ceiling;
pub mod nf020_container_runs_as_root;
pub mod nf021_rbac_empty_role;
pub mod nf022_rbac_wildcard_outside_admin;
pub mod nf023_rbac_inheritance_cycle;
pub mod nf024_rbac_missing_parent;
pub mod nf025_rbac_permission_granted_to_no_role;
pub mod nf026_rbac_idp_role_drift;
pub mod nf027_unguarded_route;
pub mod nf028_suppression_without_reason;
pub mod nf029_suppression_expired;
pub mod nf030_insecure_session_cookie;
pub mod nf031_issuer_on_loopback;
pub mod nf032_api_description_public;
pub mod nf033_conflict_markers;
pub mod nf034_missing_security_fix;
pub mod nf035_kubernetes_container_runs_as_root;
pub mod nf036_kubernetes_privilege_escalation;
pub mod nf037_kubernetes_writable_root_filesystem;
pub mod nf038_kubernetes_missing_resource_limits;
pub mod nf039_kubernetes_secret_in_manifest;
pub mod nf040_kubernetes_missing_network_policy;
pub mod nf041_kubernetes_production_app_env;

/// Every rule, in id order.
pub static ALL: &[&Rule] = &[
    &nf001_headers_off::RULE,
    &nf002_rate_limit_off::RULE,
    &nf003_cors_off::RULE,
    &nf004_audit_log_off::RULE,
    &nf005_encryption_off::RULE,
    &nf006_cors_wildcard_origin::RULE,
    &nf007_cors_wildcard_with_credentials::RULE,
    &nf008_committed_env_file::RULE,
    &nf009_env_not_ignored::RULE,
    &nf010_committed_private_key::RULE,
    &nf011_committed_secret_value::RULE,
    &nf012_issuer_without_tls::RULE,
    &nf013_database_without_tls::RULE,
    &nf014_jwt_audience_unchecked::RULE,
    &nf015_jwt_expiry_unchecked::RULE,
    &nf016_jwt_weak_algorithm::RULE,
    &nf017_jwt_long_leeway::RULE,
    &nf018_weak_encryption_key::RULE,
    &nf019_rate_limit_above_ceiling::RULE,
    &nf020_container_runs_as_root::RULE,
    &nf021_rbac_empty_role::RULE,
    &nf022_rbac_wildcard_outside_admin::RULE,
    &nf023_rbac_inheritance_cycle::RULE,
    &nf024_rbac_missing_parent::RULE,
    &nf025_rbac_permission_granted_to_no_role::RULE,
    &nf026_rbac_idp_role_drift::RULE,
    &nf027_unguarded_route::RULE,
    &nf028_suppression_without_reason::RULE,
    &nf029_suppression_expired::RULE,
    &nf030_insecure_session_cookie::RULE,
    &nf031_issuer_on_loopback::RULE,
    &nf032_api_description_public::RULE,
    &nf033_conflict_markers::RULE,
    &nf034_missing_security_fix::RULE,
    &nf035_kubernetes_container_runs_as_root::RULE,
    &nf036_kubernetes_privilege_escalation::RULE,
    &nf037_kubernetes_writable_root_filesystem::RULE,
    &nf038_kubernetes_missing_resource_limits::RULE,
    &nf039_kubernetes_secret_in_manifest::RULE,
    &nf040_kubernetes_missing_network_policy::RULE,
    &nf041_kubernetes_production_app_env::RULE,
];

/// The rule with `id` (case-insensitive: `nf006` works too).
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// `NF001…NF041`, for messages.
pub fn id_range() -> String {
    format!(
        "{}…{}",
        ALL.first().map_or("", |r| r.id),
        ALL.last().map_or("", |r| r.id)
    )
}

/// The rule that reports `feature` turned off, if its absence is a finding.
/// `redis` and `tls` are deployment choices (one replica needs no shared
/// limiter; TLS usually ends at a proxy), so leaving them off is not.
pub fn feature_off(feature: Feature) -> Option<&'static Rule> {
    match feature {
        Feature::Headers => Some(&nf001_headers_off::RULE),
        Feature::RateLimit => Some(&nf002_rate_limit_off::RULE),
        Feature::Cors => Some(&nf003_cors_off::RULE),
        Feature::AuditLog => Some(&nf004_audit_log_off::RULE),
        Feature::Encryption => Some(&nf005_encryption_off::RULE),
        Feature::Redis | Feature::Tls | Feature::Session => None,
    }
}

/// The rule that flags secret-looking values in committed files.
pub fn secret_value_rule() -> &'static Rule {
    &nf011_committed_secret_value::RULE
}

/// The check shared by NF023 and NF024: the policy problems of `kind`
/// (found by [`crate::rbac::Policy::problems`], as `add` finds them), each
/// where the policy says it.
fn report_policy_problems(project: &Project, out: &mut Findings, kind: crate::rbac::ErrorKind) {
    let Some(file) = &project.rbac else { return };
    for problem in file
        .policy
        .problems()
        .into_iter()
        .filter(|p| p.kind == kind)
    {
        out.add(&file.path, file.at(problem.span.as_ref()), problem.message);
    }
}

/// The check shared by NF001–NF005: `feature` is missing from `features`
/// in `nestflux.toml`.
fn check_feature_on(project: &Project, out: &mut Findings, feature: Feature) {
    if project.config.features().contains(feature) {
        return;
    }
    let at = project.config.features_at.unwrap_or((1, 1));
    out.add(
        PROJECT_FILE,
        at,
        format!(
            "`{}` is not in `features`: the project has no {}",
            feature.key(),
            feature.label()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Severity;

    #[test]
    fn ids_are_unique_increasing_and_well_formed() {
        let mut previous = 0;
        for rule in ALL {
            let number: u32 = rule
                .id
                .strip_prefix("NF")
                .filter(|n| n.len() == 3)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("`{}` is not NF and three digits", rule.id));
            assert!(number > previous, "{} is out of order", rule.id);
            previous = number;
        }
    }

    #[test]
    fn every_rule_is_documented_with_asvs_ids_and_a_fix() {
        for rule in ALL {
            assert!(
                !rule.title.is_empty() && !rule.title.ends_with('.'),
                "{}",
                rule.id
            );
            assert!(rule.docs.len() > 80, "{} needs documentation", rule.id);
            assert!(!rule.fix.is_empty(), "{}", rule.id);
            assert!(
                rule.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.id
            );
            assert!(!rule.asvs.is_empty(), "{}", rule.id);
            for asvs in rule.asvs {
                assert!(
                    crate::audit::testing::is_asvs_requirement(asvs),
                    "{}: `{asvs}` is not an ASVS 4.0.3 requirement id",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn feature_rules_cover_every_feature() {
        for feature in Feature::ALL {
            let Some(rule) = feature_off(feature) else {
                assert!(!feature.on_by_default(), "{feature:?} is on by default");
                continue;
            };
            assert!(rule.docs.contains(feature.key()), "{}", rule.id);
            assert!(rule.severity <= Severity::Medium);
        }
    }

    #[test]
    fn ids_are_found_case_insensitively() {
        assert_eq!(by_id("nf006").unwrap().id, "NF006");
        assert!(by_id("NF999").is_none());
    }
}
