//! NF040: a Kubernetes workload is not covered by a NetworkPolicy.

use serde_norway::Value as Yaml;

use super::kubernetes::pods;
use crate::audit::{Findings, Project, Rule, Severity};
use crate::kubernetes::{get, pod_spec_keys};

pub static RULE: Rule = Rule {
    id: "NF040",
    name: "kubernetes-missing-network-policy",
    severity: Severity::Medium,
    title: "A Kubernetes workload is not covered by a NetworkPolicy",
    asvs: &["V1.2.2"],
    docs: "Without a NetworkPolicy every pod of the cluster can reach the service's pods, and they can reach anything: a compromised neighbour talks to the service directly, around the ingress, and a compromised service reaches every database and metadata endpoint in the network. A default-deny policy plus one that allows the service exactly its callers and its dependencies keeps a breach where it started. CIS Kubernetes Benchmark 5.3.2 (ensure that all namespaces have NetworkPolicies defined).\n\nThe check reads every complete Kubernetes workload and the project's NetworkPolicies: some policy's `podSelector` must select the pod template's labels (an empty selector selects every pod; a selector with `matchExpressions` is taken to match). Namespaces are not compared: kustomize usually sets them per overlay.",
    fix: "add a NetworkPolicy selecting the pods (a default-deny `podSelector: {}` for the namespace, and one allowing the ingress controller in and DNS, the database and the identity provider out); a generated project's deploy/kubernetes/base/networkpolicy.yaml shows both",
    check,
};

fn selects(policy: &Yaml, labels: Option<&Yaml>) -> bool {
    let Some(selector) = get(policy, &["spec", "podSelector"]) else {
        return false;
    };
    if selector.get("matchExpressions").is_some() {
        return true;
    }
    let Some(wanted) = selector.get("matchLabels").and_then(Yaml::as_mapping) else {
        return true; // `{}`: every pod
    };
    wanted
        .iter()
        .all(|(key, value)| labels.and_then(|l| l.get(key)) == Some(value))
}

fn check(project: &Project, out: &mut Findings) {
    let policies: Vec<&Yaml> = project
        .kubernetes
        .iter()
        .flat_map(|f| &f.documents)
        .filter(|d| d.kind() == Some("NetworkPolicy"))
        .map(|d| &d.value)
        .collect();
    for pod in pods(project).into_iter().filter(|p| p.complete) {
        let kind = pod.document.kind().unwrap_or_default();
        // The labels sit in the metadata beside the pod spec.
        let spec_path = pod_spec_keys(kind);
        let metadata_path: Vec<&str> = spec_path[..spec_path.len() - 1]
            .iter()
            .copied()
            .chain(["metadata", "labels"])
            .collect();
        let labels = get(&pod.document.value, &metadata_path);
        if policies.iter().any(|p| selects(p, labels)) {
            continue;
        }
        out.add(
            &pod.file.path,
            pod.file.at(pod.document, &["kind"]),
            format!(
                "no NetworkPolicy selects the pods of {}: they accept connections from any pod and reach anywhere",
                pod.describe()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{TestProject, places};

    const APP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: api\n    spec:\n      containers:\n        - name: api\n          image: api:1\n";

    fn policy(selector: &str) -> String {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n  podSelector: {selector}\n  policyTypes: [Ingress, Egress]\n"
        )
    }

    #[test]
    fn it_is_silent_when_a_policy_selects_the_pods() {
        for selector in ["{}", "{matchLabels: {app.kubernetes.io/name: api}}"] {
            let found = TestProject::new()
                .file("base/app.yaml", APP)
                .file("base/netpol.yaml", &policy(selector))
                .check(&RULE);
            assert!(found.is_empty(), "{selector}: {:?}", places(&found));
        }
    }

    #[test]
    fn it_fires_without_a_policy_or_with_one_selecting_other_pods() {
        let found = TestProject::new().file("base/app.yaml", APP).check(&RULE);
        assert_eq!(places(&found), ["base/app.yaml:2:1"]);
        let found = TestProject::new()
            .file("base/app.yaml", APP)
            .file(
                "base/netpol.yaml",
                &policy("{matchLabels: {app.kubernetes.io/name: web}}"),
            )
            .check(&RULE);
        assert_eq!(places(&found), ["base/app.yaml:2:1"]);
    }
}
