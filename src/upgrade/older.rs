//! A nestflux older than this one, for the tests of `nestflux upgrade`: its
//! unit tests ([`super`]) and the build matrix, which upgrades a project of
//! it across a real template change and then builds it. No command uses it.
//!
//! The older nestflux is the embedded template tree with deliberate changes
//! ([`templates`]), rendered by the same engine; [`write_project`] writes
//! what its `new` would have written: the render, with [`VERSION`] recorded
//! in `nestflux.toml` and the baseline beside it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context as _;
use include_dir::{Dir, DirEntry, File};

use super::{baseline, data};
use crate::answers::Answers;
use crate::manifest;
use crate::project::PROJECT_FILE;
use crate::render::{FileSet, TEMPLATES, render_tree_as_new};
use crate::secrets::Secrets;

/// The version the older project records.
pub const VERSION: &str = "0.0.1";
/// What the older templates have at the end of some first lines.
pub const MARK: &str = " (nestflux 0.0.1)";

/// A copy of the template tree, to change on purpose and render.
struct Tree(BTreeMap<String, Vec<u8>>);

impl Tree {
    /// The embedded templates.
    fn current() -> Self {
        fn collect(dir: &Dir<'_>, out: &mut BTreeMap<String, Vec<u8>>) {
            for file in dir.files() {
                let path = file.path().to_string_lossy().replace('\\', "/");
                out.insert(path, file.contents().to_vec());
            }
            for sub in dir.dirs() {
                collect(sub, out);
            }
        }
        let mut files = BTreeMap::new();
        collect(&TEMPLATES, &mut files);
        Tree(files)
    }

    /// Changes the file at `path` with `change`, which must change it.
    fn edit(&mut self, path: &str, change: impl FnOnce(&str) -> String) {
        let text = std::str::from_utf8(&self.0[path]).unwrap();
        let new = change(text);
        assert_ne!(new, text, "the change to {path} changes nothing");
        self.0.insert(path.to_owned(), new.into_bytes());
    }

    /// The older first line ends with [`MARK`].
    fn mark_first_line(&mut self, path: &str) {
        self.edit(path, |text| {
            let (first, rest) = text.split_once('\n').unwrap();
            format!("{first}{MARK}\n{rest}")
        });
    }

    /// Removes the file at `path`, which must exist.
    fn remove(&mut self, path: &str) {
        assert!(self.0.remove(path).is_some(), "{path}");
    }

    /// Adds a file.
    fn add(&mut self, path: &str, text: &str) {
        self.0.insert(path.to_owned(), text.as_bytes().to_vec());
    }

    /// An include_dir tree for `render_tree`: leaked, it lives as long as
    /// the test binary, like the embedded one.
    fn leak(self) -> &'static Dir<'static> {
        let entries: Vec<DirEntry<'static>> = self
            .0
            .into_iter()
            .map(|(path, contents)| {
                let path: &'static str = Box::leak(path.into_boxed_str());
                let contents: &'static [u8] = Box::leak(contents.into_boxed_slice());
                DirEntry::File(File::new(path, contents))
            })
            .collect();
        Box::leak(Box::new(Dir::new(
            "",
            Box::leak(entries.into_boxed_slice()),
        )))
    }
}

/// The older nestflux's templates: every difference the tests of `upgrade`
/// rely on.
pub fn templates() -> &'static Dir<'static> {
    static TREE: OnceLock<&'static Dir<'static>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = Tree::current();
        for path in [
            "src/error.rs",
            "src/extract.rs",
            "README.md.jinja",
            "benches/verify.rs.jinja",
            "resource/migrations/sqlite.sql.jinja",
        ] {
            tree.mark_first_line(path);
        }
        // The realm's token lifetime changed: the realm is rendered again.
        tree.edit("deploy/keycloak/realm.json.jinja", |t| {
            t.replacen(
                "\"accessTokenLifespan\": 300",
                "\"accessTokenLifespan\": 600",
                1,
            )
        });
        // A permission the older policy did not declare.
        tree.edit("config/rbac.toml", |t| {
            t.replacen("    \"items:write-any\",\n", "", 1)
        });
        // A variable `.env.example` gained.
        tree.edit(".env.example.jinja", |t| t.replacen(&new_env_line(), "", 1));
        // Files that are new in the current templates...
        tree.remove(".dockerignore");
        tree.remove("migrations/sqlite/0003_create_sessions.sql");
        // ... and files the current templates no longer generate.
        tree.add("docs/notes.md", "Old notes.\n");
        tree.add("docs/notes-edited.md", "Old notes.\n");
        // The older README's layout described them (it describes every file).
        tree.edit("README/layout.md.jinja", |t| {
            t.replacen(
                "{% set about = {\n",
                "{% set about = {\n  \"docs/\": \"\",\n  \"docs/notes.md\": \"\",\n  \"docs/notes-edited.md\": \"\",\n",
                1,
            )
        });
        tree.leak()
    })
}

/// The first variable line of the current `.env.example` template: the
/// variable the older one lacks.
pub fn new_env_line() -> String {
    let text = TEMPLATES
        .get_file(".env.example.jinja")
        .and_then(|f| f.contents_utf8())
        .unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
        })
        .unwrap();
    format!("{line}\n")
}

/// The files the older nestflux's `new` writes for `answers` and
/// `secrets`: its render, its version in `nestflux.toml`, and the baseline.
pub fn render(answers: &Answers, secrets: &Secrets) -> anyhow::Result<FileSet> {
    let mut rendered = render_tree_as_new(templates(), answers, secrets, manifest::RULES)?;
    let toml = std::str::from_utf8(&rendered[PROJECT_FILE])?;
    let toml = data::set_version(toml, VERSION)
        .map_err(anyhow::Error::msg)?
        .context("nestflux.toml records no version")?;
    rendered.insert(PROJECT_FILE.to_owned(), toml.into_bytes());
    baseline::attach(rendered)
}

/// Writes the project the older nestflux's `new` makes for `answers` into
/// `dir` (created if need be).
pub fn write_project(dir: &Path, answers: &Answers, secrets: &Secrets) -> anyhow::Result<()> {
    for (rel, contents) in render(answers, secrets)? {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
