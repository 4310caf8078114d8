//! NF036: a Kubernetes container may gain privileges.

use serde_norway::Value as Yaml;

use super::kubernetes::{Container, Pod, operations, pods};
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::{bool_of, get, str_of};

pub static RULE: Rule = Rule {
    id: "NF036",
    name: "kubernetes-privilege-escalation",
    severity: Severity::High,
    title: "A Kubernetes container may gain privileges",
    asvs: &["V1.2.1"],
    docs: "A container should hold no more power than the service needs: a privileged container is root on the node; `allowPrivilegeEscalation` (true unless set to false) lets a setuid binary gain privileges; Linux capabilities beyond NET_BIND_SERVICE reach into the kernel; the node's network, process or IPC namespaces (`hostNetwork`, `hostPID`, `hostIPC`) expose the node; and without a seccomp profile every system call is open. CIS Kubernetes Benchmark 5.2.2 to 5.2.6, 5.2.8 to 5.2.10 and 5.7.2; the Pod Security Standards' `restricted` profile.\n\nThe check reads every Kubernetes workload. In a complete object each container must set `allowPrivilegeEscalation: false`, drop `ALL` capabilities and add none but NET_BIND_SERVICE, and have a `RuntimeDefault` or `Localhost` seccomp profile (its own or the pod's). Anywhere, overlay patches included, `privileged: true`, `allowPrivilegeEscalation: true`, an added capability, `hostNetwork`/`hostPID`/`hostIPC: true` and an `Unconfined` seccomp profile are reported, and so is a JSON 6902 patch that sets them or removes `allowPrivilegeEscalation`, `capabilities`, `seccompProfile` or a `securityContext`.",
    fix: "in each container's `securityContext` set `allowPrivilegeEscalation: false`, `privileged: false`, `capabilities: {drop: [ALL]}` and `seccompProfile: {type: RuntimeDefault}`; remove host namespaces and the patch that undoes these",
    check,
};

/// The only capability a web service may need (to bind a port below 1024).
const ALLOWED_CAPABILITY: &str = "NET_BIND_SERVICE";
const HOST_NAMESPACES: &[&str] = &["hostNetwork", "hostPID", "hostIPC"];

fn check(project: &Project, out: &mut Findings) {
    for pod in pods(project) {
        for key in HOST_NAMESPACES {
            if bool_of(pod.spec, &[key]) == Some(true) {
                out.add(
                    &pod.file.path,
                    pod.at(&[key]),
                    format!(
                        "{} shares the node's namespace (`{key}: true`)",
                        pod.describe()
                    ),
                );
            }
        }
        if str_of(pod.spec, &["securityContext", "seccompProfile", "type"]) == Some("Unconfined") {
            out.add(
                &pod.file.path,
                pod.at(&["securityContext", "seccompProfile"]),
                format!("{} turns seccomp off (`Unconfined`)", pod.describe()),
            );
        }
        for container in pod.containers() {
            check_container(&pod, &container, out);
        }
    }
    for op in operations(project) {
        let truthy = |v: &Yaml| v.as_bool() == Some(true);
        let capability = |v: &Yaml| match v {
            Yaml::String(cap) => cap != ALLOWED_CAPABILITY,
            Yaml::Sequence(caps) => caps.iter().any(|c| c.as_str() != Some(ALLOWED_CAPABILITY)),
            _ => false,
        };
        let unconfined = |v: &Yaml| {
            v.as_str() == Some("Unconfined") || str_of(v, &["type"]) == Some("Unconfined")
        };
        let path_has = |part: &str| op.op.path.split('/').any(|p| p == part);
        let added_capability = op.sets()
            && path_has("add")
            && path_has("capabilities")
            && op.op.value.as_ref().is_some_and(capability);
        if op.weakens("privileged", &[], truthy)
            || op.weakens("allowPrivilegeEscalation", &["securityContext"], truthy)
            || HOST_NAMESPACES
                .iter()
                .any(|key| op.weakens(key, &[], truthy))
            || op.weakens("capabilities", &["securityContext"], |_| false)
            || (op.removes() && op.key() == "drop" && path_has("capabilities"))
            || op.weakens("seccompProfile", &["securityContext"], unconfined)
            || op.weakens("type", &[], unconfined) && path_has("seccompProfile")
            || added_capability
        {
            out.add(
                &op.file.path,
                op.at,
                format!(
                    "the patch operation `{} {}` lets a container gain privileges",
                    op.op.op, op.op.path
                ),
            );
        }
    }
}

fn check_container(pod: &Pod<'_>, container: &Container<'_>, out: &mut Findings) {
    let subject = format!("container `{}` of {}", container.name, pod.describe());
    let context = container.value.get("securityContext");
    let setting = |key: &str| context.and_then(|c| c.get(key));
    let at = |keys: &[&str]| {
        let mut path = vec!["securityContext"];
        path.extend_from_slice(keys);
        pod.container_at(container, &path)
    };
    let path = &pod.file.path;
    if setting("privileged").and_then(Yaml::as_bool) == Some(true) {
        out.add(
            path,
            at(&["privileged"]),
            format!("{subject} is privileged: root on the node"),
        );
    }
    match setting("allowPrivilegeEscalation").and_then(Yaml::as_bool) {
        Some(true) => out.add(
            path,
            at(&["allowPrivilegeEscalation"]),
            format!("{subject} allows privilege escalation"),
        ),
        None if pod.complete => out.add(
            path,
            at(&[]),
            format!(
                "{subject} does not set `allowPrivilegeEscalation: false` (it defaults to true)"
            ),
        ),
        _ => {}
    }
    let added: Vec<&str> = get(container.value, &["securityContext", "capabilities", "add"])
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .filter(|cap| *cap != ALLOWED_CAPABILITY)
        .collect();
    if !added.is_empty() {
        out.add(
            path,
            at(&["capabilities", "add"]),
            format!("{subject} adds the capabilities {}", added.join(", ")),
        );
    }
    let drops_all = get(
        container.value,
        &["securityContext", "capabilities", "drop"],
    )
    .and_then(Yaml::as_sequence)
    .is_some_and(|drop| drop.iter().any(|c| c.as_str() == Some("ALL")));
    if pod.complete && !drops_all {
        out.add(
            path,
            at(&["capabilities"]),
            format!(
                "{subject} does not drop ALL capabilities (the runtime's defaults include NET_RAW)"
            ),
        );
    }
    let own = str_of(
        container.value,
        &["securityContext", "seccompProfile", "type"],
    );
    let seccomp = own.or_else(|| str_of(pod.spec, &["securityContext", "seccompProfile", "type"]));
    match seccomp {
        Some("RuntimeDefault" | "Localhost") => {}
        // The pod's own `Unconfined` is reported once, at the pod.
        Some("Unconfined") if own.is_some() => out.add(
            path,
            at(&["seccompProfile"]),
            format!("{subject} turns seccomp off (`Unconfined`)"),
        ),
        Some("Unconfined") => {}
        _ if pod.complete => out.add(
            path,
            at(&[]),
            format!("{subject} has no seccomp profile (set `RuntimeDefault` on the pod or the container)"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const SAFE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      securityContext:\n        seccompProfile:\n          type: RuntimeDefault\n      containers:\n        - name: api\n          image: api:1\n          securityContext:\n            allowPrivilegeEscalation: false\n            privileged: false\n            capabilities:\n              drop: [\"ALL\"]\n              add: [\"NET_BIND_SERVICE\"]\n";

    #[test]
    fn it_is_silent_for_a_locked_down_container() {
        let found = TestProject::new().file("k8s/app.yaml", SAFE).check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
    }

    #[test]
    fn it_fires_on_privileged_escalation_capabilities_host_namespaces_and_no_seccomp() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: true\n  containers:\n    - name: a\n      image: a:1\n      securityContext:\n        privileged: true\n        allowPrivilegeEscalation: false\n        capabilities:\n          drop: [ALL]\n          add: [SYS_ADMIN]\n        seccompProfile:\n          type: RuntimeDefault\n    - name: b\n      image: b:1\n";
        let found = TestProject::new().file("pod.yaml", text).check(&RULE);
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            places(&found),
            [
                "pod.yaml:6:3",
                "pod.yaml:11:9",
                "pod.yaml:15:11",
                "pod.yaml:18:7",
                "pod.yaml:18:7",
                "pod.yaml:18:7"
            ],
            "{messages:#?}"
        );
        assert!(messages[2].contains("SYS_ADMIN"));
        assert!(messages[3..].iter().any(|m| m.contains("defaults to true")));
        assert!(messages[3..].iter().any(|m| m.contains("ALL capabilities")));
        assert!(
            messages[3..]
                .iter()
                .any(|m| m.contains("no seccomp profile"))
        );
    }

    #[test]
    fn an_overlay_patch_turning_on_privileged_or_escalation_is_found() {
        let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          securityContext:\n            privileged: true\n";
        let kustomization = "resources: [../../base]\npatches:\n  - path: debug.yaml\n  - target:\n      kind: Deployment\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation\n        value: true\n      - op: add\n        path: /spec/template/spec/containers/0/securityContext/capabilities/add/-\n        value: NET_ADMIN\n      - op: replace\n        path: /spec/template/spec/containers/0/resources/limits/memory\n        value: 1Gi\n";
        let found = TestProject::new()
            .file("base/app.yaml", SAFE)
            .file("overlays/prod/debug.yaml", patch)
            .file("overlays/prod/kustomization.yaml", kustomization)
            .check(&RULE);
        assert_eq!(
            places(&found),
            [
                "overlays/prod/debug.yaml:11:13",
                "overlays/prod/kustomization.yaml:8:9",
                "overlays/prod/kustomization.yaml:11:9"
            ]
        );
    }
}
