//! NF037: a Kubernetes container's root file system is writable.

use super::kubernetes::{operations, pods};
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::bool_of;

pub static RULE: Rule = Rule {
    id: "NF037",
    name: "kubernetes-writable-root-filesystem",
    severity: Severity::Medium,
    title: "A Kubernetes container's root file system is writable",
    asvs: &["V1.2.1"],
    docs: "With a writable root file system, an attacker who gets code execution can drop tools, change the service's binary or configuration and persist until the pod is replaced. A read-only root file system with an `emptyDir` (or a volume) for the few paths the service writes leaves them nothing to change. CIS Kubernetes Benchmark 5.7.3 (apply a security context to pods and containers); NSA/CISA Kubernetes Hardening Guidance (immutable container file systems).\n\nThe check reads every Kubernetes workload: in a complete object each container (init containers too) must set `readOnlyRootFilesystem: true`; anywhere, overlay patches included, `readOnlyRootFilesystem: false` is reported, and so is a JSON 6902 patch that sets it to false or removes it or its `securityContext`.",
    fix: "set `readOnlyRootFilesystem: true` in the container's `securityContext` and mount an `emptyDir` where it must write (e.g. /tmp)",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for pod in pods(project) {
        for container in pod.containers() {
            let setting = bool_of(
                container.value,
                &["securityContext", "readOnlyRootFilesystem"],
            );
            let subject = format!("container `{}` of {}", container.name, pod.describe());
            match setting {
                Some(true) => {}
                Some(false) => out.add(
                    &pod.file.path,
                    pod.container_at(&container, &["securityContext", "readOnlyRootFilesystem"]),
                    format!("{subject} sets `readOnlyRootFilesystem: false`"),
                ),
                None if pod.complete => out.add(
                    &pod.file.path,
                    pod.container_at(&container, &[]),
                    format!("{subject} has a writable root file system (no `readOnlyRootFilesystem: true`)"),
                ),
                None => {}
            }
        }
    }
    for op in operations(project) {
        if op.weakens("readOnlyRootFilesystem", &["securityContext"], |v| {
            v.as_bool() == Some(false)
        }) {
            out.add(
                &op.file.path,
                op.at,
                format!(
                    "the patch operation `{} {}` makes a root file system writable",
                    op.op.op, op.op.path
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const BASE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1\n          securityContext:\n            readOnlyRootFilesystem: true\n";

    #[test]
    fn it_is_silent_for_read_only_containers() {
        let found = TestProject::new().file("base/app.yaml", BASE).check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_a_container_without_it_and_on_an_overlay_that_undoes_it() {
        let two = BASE.replace(
            "            readOnlyRootFilesystem: true\n",
            "            readOnlyRootFilesystem: true\n        - name: worker\n          image: w:1\n",
        );
        let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          securityContext:\n            readOnlyRootFilesystem: false\n";
        let json = "- op: remove\n  path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem\n";
        let found = TestProject::new()
            .file("base/app.yaml", &two)
            .file("overlays/prod/writable.yaml", patch)
            .file("overlays/prod/json.yaml", json)
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                "base/app.yaml:13:11",
                "overlays/prod/json.yaml:2:3",
                "overlays/prod/writable.yaml:11:13"
            ]
        );
    }
}
