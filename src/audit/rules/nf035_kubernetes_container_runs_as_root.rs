//! NF035: a Kubernetes container may run as root.

use super::kubernetes::{operations, pods};
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF035",
    name: "kubernetes-container-runs-as-root",
    severity: Severity::High,
    title: "A Kubernetes container may run as root",
    asvs: &["V1.2.1"],
    docs: "A container whose user is root (uid 0) turns any code-execution bug into root inside the container, one kernel or runtime flaw away from the node. Kubernetes only refuses root when told to: `runAsNonRoot: true` makes the kubelet refuse to start a container whose user is uid 0, and `runAsUser` fixes the uid whatever the image says. CIS Kubernetes Benchmark 5.2.7 (minimize the admission of root containers); the Pod Security Standards' `restricted` profile.\n\nThe check reads every Kubernetes manifest of the project (workloads: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). In a complete object, each container (init containers too) must have `runAsNonRoot: true` or a non-zero `runAsUser`, in its own `securityContext` or the pod's. Anywhere, overlay patches included, `runAsUser: 0` and `runAsNonRoot: false` are reported, and so is a JSON 6902 patch that sets them or removes `runAsNonRoot`, `runAsUser` or a `securityContext`.",
    fix: "set `runAsNonRoot: true` and the image's unprivileged `runAsUser` (10001 for a generated service) in the pod's `securityContext`, and drop the patch that undoes them",
    check,
};

fn check(project: &Project, out: &mut Findings) {
    for pod in pods(project) {
        for container in pod.containers() {
            let user = pod
                .effective(&container, "runAsUser")
                .and_then(|v| v.as_i64());
            let non_root = pod
                .effective(&container, "runAsNonRoot")
                .and_then(|v| v.as_bool());
            let subject = format!("container `{}` of {}", container.name, pod.describe());
            if user == Some(0) {
                let at = pod.container_at(&container, &["securityContext", "runAsUser"]);
                out.add(
                    &pod.file.path,
                    at,
                    format!("{subject} runs as uid 0 (root)"),
                );
            } else if non_root == Some(false) {
                let at = pod.container_at(&container, &["securityContext", "runAsNonRoot"]);
                out.add(
                    &pod.file.path,
                    at,
                    format!("{subject} sets `runAsNonRoot: false`: nothing stops it from running as root"),
                );
            } else if pod.complete && non_root.is_none() && user.is_none() {
                let at = pod.container_at(&container, &[]);
                out.add(
                    &pod.file.path,
                    at,
                    format!("{subject} may run as root: neither `runAsNonRoot: true` nor a `runAsUser` is set, so the image's USER decides"),
                );
            }
        }
        // A pod-level setting in a patch without containers.
        if pod.containers().is_empty() {
            if pod
                .spec
                .get("securityContext")
                .and_then(|s| s.get("runAsUser"))
                .and_then(|v| v.as_i64())
                == Some(0)
            {
                out.add(
                    &pod.file.path,
                    pod.at(&["securityContext", "runAsUser"]),
                    format!("{} runs its containers as uid 0 (root)", pod.describe()),
                );
            }
            if pod
                .spec
                .get("securityContext")
                .and_then(|s| s.get("runAsNonRoot"))
                .and_then(|v| v.as_bool())
                == Some(false)
            {
                out.add(
                    &pod.file.path,
                    pod.at(&["securityContext", "runAsNonRoot"]),
                    format!("{} sets `runAsNonRoot: false`", pod.describe()),
                );
            }
        }
    }
    for op in operations(project) {
        let root = |v: &serde_norway::Value| v.as_i64() == Some(0);
        let off = |v: &serde_norway::Value| v.as_bool() == Some(false);
        if op.weakens("runAsUser", &["securityContext"], root)
            || op.weakens("runAsNonRoot", &["securityContext"], off)
        {
            out.add(
                &op.file.path,
                op.at,
                format!(
                    "the patch operation `{} {}` lets a container run as root",
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

    const SAFE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n      containers:\n        - name: api\n          image: api@sha256:1\n        - name: sidecar\n          image: proxy:1\n          securityContext:\n            runAsUser: 2000\n";

    #[test]
    fn it_is_silent_when_the_pod_or_container_forbids_root() {
        let found = TestProject::new()
            .file("k8s/deployment.yaml", SAFE)
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_root_an_unset_user_and_a_container_that_turns_the_check_off() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    runAsNonRoot: true\n  containers:\n    - name: a\n      image: a:1\n      securityContext:\n        runAsUser: 0\n    - name: b\n      image: b:1\n      securityContext:\n        runAsNonRoot: false\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  template:\n    spec:\n      containers:\n        - name: migrate\n          image: m:1\n";
        let found = TestProject::new().file("k8s/pod.yaml", text).check(&RULE);
        assert_eq!(
            places(&found),
            [
                "k8s/pod.yaml:12:9",
                "k8s/pod.yaml:16:9",
                "k8s/pod.yaml:26:11"
            ]
        );
        assert!(found[2].message.contains("the image's USER decides"));
    }

    #[test]
    fn an_overlay_patch_that_undoes_the_base_is_found_where_it_is_written() {
        let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          securityContext:\n            runAsNonRoot: false\n";
        let kustomization = "resources: [../../base]\npatches:\n  - path: debug.yaml\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: remove\n        path: /spec/template/spec/securityContext\n";
        let found = TestProject::new()
            .file("base/deployment.yaml", SAFE)
            .file("overlays/prod/debug.yaml", patch)
            .file("overlays/prod/kustomization.yaml", kustomization)
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                "overlays/prod/debug.yaml:11:13",
                "overlays/prod/kustomization.yaml:8:9"
            ]
        );
        // A patch that sets nothing about the user is not reported.
        let harmless = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          resources:\n            limits:\n              memory: 1Gi\n";
        let found = TestProject::new()
            .file("base/deployment.yaml", SAFE)
            .file("overlays/prod/memory.yaml", harmless)
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }
}
