//! Who the operator is to the apiserver. It binds the ClusterRole that
//! handles Secrets to this subject in each tenant namespace (see
//! `tenant::access`), so it learns its own name at start rather than being
//! told: whether it runs under the chart's ServiceAccount or as a person.

use anyhow::Context as _;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::rbac::v1::Subject;
use kube::api::PostParams;
use kube::{Api, Client};

const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// The subject the apiserver authenticates this client as (a
/// SelfSubjectReview, which every authenticated client may ask for).
pub async fn current_subject(client: &Client) -> anyhow::Result<Subject> {
    let review = Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .context("asking the apiserver who the operator is (a SelfSubjectReview)")?;
    let username = review
        .status
        .and_then(|status| status.user_info)
        .and_then(|user| user.username)
        .context("the SelfSubjectReview names no user")?;
    Ok(subject_of(&username))
}

/// The RBAC subject of a username: `system:serviceaccount:<ns>:<name>` is
/// that ServiceAccount; anything else a User.
pub fn subject_of(username: &str) -> Subject {
    match username
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) => Subject {
            kind: "ServiceAccount".to_owned(),
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
            api_group: None,
        },
        None => Subject {
            kind: "User".to_owned(),
            name: username.to_owned(),
            namespace: None,
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_is_named_by_namespace_and_name() {
        let subject = subject_of("system:serviceaccount:shopfleet-system:shopfleet-operator");
        assert_eq!(subject.kind, "ServiceAccount");
        assert_eq!(subject.name, "shopfleet-operator");
        assert_eq!(subject.namespace.as_deref(), Some("shopfleet-system"));
        assert_eq!(subject.api_group, None);
    }

    #[test]
    fn anyone_else_is_a_user() {
        for username in [
            "kubernetes-admin",
            "system:admin",
            "system:serviceaccount:malformed",
        ] {
            let subject = subject_of(username);
            assert_eq!(subject.kind, "User", "{username}");
            assert_eq!(subject.name, username);
            assert_eq!(subject.namespace, None);
            assert_eq!(subject.api_group.as_deref(), Some("rbac.authorization.k8s.io"));
        }
    }
}
