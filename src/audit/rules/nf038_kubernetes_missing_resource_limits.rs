//! NF038: a Kubernetes container has no resource requests or limits.

use super::kubernetes::{operations, pods};
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::get;

pub static RULE: Rule = Rule {
    id: "NF038",
    name: "kubernetes-missing-resource-limits",
    severity: Severity::Medium,
    title: "A Kubernetes container has no resource requests or limits",
    asvs: &["V11.1.4"],
    docs: "Without a memory limit one container can exhaust its node and take its neighbours down (a flood of requests, a leak, a large body); without a CPU limit it can starve them; without requests the scheduler places it blindly and the autoscaler has nothing to measure against. NSA/CISA Kubernetes Hardening Guidance (resource policies); checkov CKV_K8S_10 to CKV_K8S_13.\n\nThe check reads every complete Kubernetes workload: each container, init containers included, must set `resources.requests` and `resources.limits` for both `cpu` and `memory`. A JSON 6902 patch that removes `resources`, its `limits` or `requests`, or one of their values is reported too.",
    fix: "set `resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: \"1\", memory: 256Mi}}` (sized for the service) on every container",
    check,
};

const REQUIRED: &[(&str, &str)] = &[
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
];

fn check(project: &Project, out: &mut Findings) {
    for pod in pods(project).into_iter().filter(|p| p.complete) {
        for container in pod.containers() {
            let missing: Vec<String> = REQUIRED
                .iter()
                .filter(|(kind, what)| get(container.value, &["resources", kind, what]).is_none())
                .map(|(kind, what)| format!("{kind}.{what}"))
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.add(
                &pod.file.path,
                pod.container_at(&container, &["resources"]),
                format!(
                    "container `{}` of {} has no resources.{}",
                    container.name,
                    pod.describe(),
                    missing.join(", resources.")
                ),
            );
        }
    }
    for op in operations(project) {
        let segments: Vec<&str> = op.op.path.split('/').collect();
        if op.removes()
            && segments.contains(&"resources")
            && matches!(
                op.key(),
                "resources" | "limits" | "requests" | "cpu" | "memory"
            )
        {
            out.add(
                &op.file.path,
                op.at,
                format!(
                    "the patch operation `remove {}` takes away a container's resource bounds",
                    op.op.path
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const BOUNDED: &str = "          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {cpu: \"1\", memory: 256Mi}\n";

    fn deployment(second: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: migrate\n          image: api:1\n{BOUNDED}      containers:\n        - name: api\n          image: api:1\n{BOUNDED}        - name: proxy\n          image: proxy:1\n{second}"
        )
    }

    #[test]
    fn it_is_silent_when_every_container_is_bounded() {
        let found = TestProject::new()
            .file("k8s/app.yaml", &deployment(BOUNDED))
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_the_one_container_of_several_without_limits() {
        let requests_only =
            "          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n";
        let found = TestProject::new()
            .file("k8s/app.yaml", &deployment(requests_only))
            .file(
                "overlays/prod/unbounded.yaml",
                "- op: remove\n  path: /spec/template/spec/containers/0/resources/limits\n",
            )
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["k8s/app.yaml:22:11", "overlays/prod/unbounded.yaml:2:3"]
        );
        assert!(found[0].message.contains("`proxy`"), "{}", found[0].message);
        assert!(
            found[0]
                .message
                .ends_with("no resources.limits.cpu, resources.limits.memory"),
            "{}",
            found[0].message
        );
    }
}
