//! Shared test fixtures: a temporary sandbox to run `nestflux` in, and
//! helpers to compare directory trees byte for byte.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary directory to run `nestflux` in; removed when dropped.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `nestflux` with the sandbox as working directory, without a terminal
    /// and with colours off unless a test asks for them.
    pub fn nestflux(&self) -> Command {
        let mut cmd = Command::cargo_bin("nestflux").expect("the nestflux binary");
        cmd.current_dir(self.path())
            .env_remove("CLICOLOR_FORCE")
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Every file under the sandbox (relative path → bytes), for
    /// "nothing changed" assertions.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        tree(self.path())
    }
}

/// Every file and directory below `root`: files map to their bytes,
/// directories to an empty marker so that empty directories count too.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            walk(root, &path, out);
        } else {
            out.insert(rel, fs::read(&path).unwrap());
        }
    }
}

/// `nestflux add resource` arguments with every type and modifier
/// (`encrypted` needs the project's `encryption` feature).
pub const EVERY_TYPE: &[&str] = &[
    "customers",
    "name:string:min=1:max=200",
    "email:string:email:pii:unique",
    "site:string?:url",
    "bio:text?:max=2000",
    "iban:string?:encrypted:pii",
    "vip:bool",
    "visits:i32:min=0:max=1000",
    "points:i64?",
    "ratio:f64?:min=0:max=1",
    "balance:decimal",
    "token:uuid?:unique",
    "born:date?",
    "seen:datetime?",
    "extra:json?",
    "tier:enum(gold,silver,bronze)",
    "code:string?:max=12:pattern=^[A-Z]{3}-[0-9]{2}",
];
