//! `Answers`: every choice a project is generated from, and its validation.
//!
//! The choices themselves (identity provider, database, features) are in
//! [`choices`], project names in [`name`]; the file that records the answers
//! inside a project, `nestflux.toml`, is [`crate::project::file`].

mod choices;
mod name;

pub use choices::{Database, DeploySet, DeployTarget, Feature, FeatureSet, Idp};
pub use name::{NameError, ProjectName};

use crate::NESTFLUX_VERSION;
use crate::error::UserError;

/// Every answer a project is generated from. Nothing downstream re-asks or
/// re-derives a choice: it reads it from here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    pub name: ProjectName,
    pub idp: Idp,
    pub database: Database,
    pub features: FeatureSet,
    /// Deployment targets rendered beside the service (none by default).
    pub deploy: DeploySet,
}

impl Answers {
    /// Whether more than one replica of the service may run at once. Not
    /// with SQLite (one file, one writer: one replica with a volume); with
    /// PostgreSQL only if rate limits hold across replicas, which needs
    /// `redis` when `rate-limit` is on (each replica would otherwise count
    /// on its own, multiplying the limit by the number of replicas).
    pub fn scales_out(&self) -> bool {
        self.database == Database::Postgres
            && (!self.features.contains(Feature::RateLimit)
                || self.features.contains(Feature::Redis))
    }

    /// Checks the combination of answers against what this release can
    /// generate. Individual values are already valid by construction.
    pub fn validate(&self) -> Result<(), UserError> {
        if !self.database.is_available() {
            return Err(UserError::usage(format!(
                "the {} template is not available in nestflux {NESTFLUX_VERSION}",
                self.database.label()
            ))
            .with_help(format!(
                "use `--db {}` (the default)",
                Database::DEFAULT.key()
            )));
        }
        for feature in self.features.iter() {
            if let Some(needed) = feature.requires()
                && !self.features.contains(needed)
            {
                return Err(UserError::usage(format!(
                    "the feature `{}` requires `{}`, which is not in the feature list",
                    feature.key(),
                    needed.key()
                ))
                .with_help(format!(
                    "add `{}` to the features, or leave out `{}`",
                    needed.key(),
                    feature.key()
                )));
            }
        }
        Ok(())
    }
}

/// Answers that may still have gaps: what flags and a preset gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialAnswers {
    pub name: Option<ProjectName>,
    pub idp: Option<Idp>,
    pub database: Option<Database>,
    pub features: Option<FeatureSet>,
    /// Off by default: never among the flags [`Self::missing_flags`] asks
    /// for, but asked on a terminal like any other answer.
    pub deploy: Option<DeploySet>,
}

impl PartialAnswers {
    /// Fills gaps in `self` from `fallback`; values already set win.
    pub fn or(self, fallback: PartialAnswers) -> PartialAnswers {
        PartialAnswers {
            name: self.name.or(fallback.name),
            idp: self.idp.or(fallback.idp),
            database: self.database.or(fallback.database),
            features: self.features.or(fallback.features),
            deploy: self.deploy.or(fallback.deploy),
        }
    }

    /// The flags that would fill the remaining gaps (the name always has
    /// one), each with the values it takes.
    pub fn missing_flags(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.idp.is_none() {
            missing.push(format!("--idp {}", Idp::ALL.map(Idp::key).join("|")));
        }
        if self.database.is_none() {
            missing.push(format!(
                "--db {}",
                Database::AVAILABLE.map(Database::key).join("|")
            ));
        }
        if self.features.is_none() {
            missing.push("--features LIST (or none)".to_owned());
        }
        missing
    }

    /// Completes the answers with the defaults.
    pub fn with_defaults(self, name: ProjectName) -> Answers {
        Answers {
            name: self.name.unwrap_or(name),
            idp: self.idp.unwrap_or(Idp::DEFAULT),
            database: self.database.unwrap_or(Database::DEFAULT),
            features: self.features.unwrap_or_else(FeatureSet::defaults),
            deploy: self.deploy.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(list: &str) -> Answers {
        Answers {
            name: ProjectName::parse("x").unwrap(),
            idp: Idp::Keycloak,
            database: Database::Sqlite,
            features: FeatureSet::parse_list(list).unwrap(),
            deploy: DeploySet::none(),
        }
    }

    #[test]
    fn a_feature_without_the_one_it_needs_is_refused_naming_both_keys() {
        for feature in Feature::ALL {
            let Some(needed) = feature.requires() else {
                continue;
            };
            let err = answers(feature.key()).validate().unwrap_err();
            assert!(
                err.message
                    .contains(&format!("`{}` requires `{}`", feature.key(), needed.key())),
                "{}",
                err.message
            );
            let both = format!("{},{}", needed.key(), feature.key());
            assert!(answers(&both).validate().is_ok(), "{both}");
        }
        assert!(answers("tls").validate().is_ok());
    }

    #[test]
    fn only_postgres_with_limits_shared_through_redis_scales_out() {
        let with = |database, list| Answers {
            database,
            ..answers(list)
        };
        assert!(!with(Database::Sqlite, "none").scales_out());
        assert!(!with(Database::Sqlite, "rate-limit,redis").scales_out());
        assert!(with(Database::Postgres, "none").scales_out());
        assert!(!with(Database::Postgres, "rate-limit").scales_out());
        assert!(with(Database::Postgres, "rate-limit,redis").scales_out());
    }

    #[test]
    fn missing_flags_name_every_value_they_take() {
        let missing = PartialAnswers::default().missing_flags();
        assert_eq!(
            missing,
            [
                "--idp keycloak|authentik|oidc",
                "--db sqlite|postgres",
                "--features LIST (or none)"
            ]
        );
        for idp in Idp::ALL {
            assert!(missing[0].contains(idp.key()));
        }
        for database in Database::AVAILABLE {
            assert!(missing[1].contains(database.key()));
        }
    }
}
