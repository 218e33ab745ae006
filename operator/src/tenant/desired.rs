//! What a Tenant should have: every child object and the SQL, as a pure
//! function of the Tenant, what exists (its Secrets), the configuration and
//! the time. No I/O here: the apply step writes it, in order.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{RoleBinding, Subject};
use kube::ResourceExt;
use shopfleet_contract::cidr::Cidr;

use super::jwt::{self, KeySet, RotationPolicy};
use super::{access, build, database, secrets};
use crate::children::ChildRef;
use crate::context::sql_fingerprint;
use crate::crd::Tenant;
use crate::names::DatabaseNames;
use crate::plan::PlanDefaults;
use crate::postgres::Endpoint;
use crate::secret_data;
use crate::sql_plan::Statement;

pub const ROTATE_JWT_ANNOTATION: &str = "shopfleet.io/rotate-jwt";
/// The emergency: every signing key is dropped at once (see `KeySet::revoked`).
pub const REVOKE_JWT_ANNOTATION: &str = "shopfleet.io/revoke-jwt";

/// Signing keys rotate monthly; access tokens live 15 minutes (the API's
/// setting), which is how long a retired key keeps verifying.
pub const JWT_POLICY: RotationPolicy = RotationPolicy {
    period: SignedDuration::from_hours(24 * 30),
    token_lifetime: SignedDuration::from_mins(15),
};

/// The Tenant's Secrets as they exist (`None`: there is none).
#[derive(Clone, Debug, Default)]
pub struct ExistingSecrets {
    pub db: Option<Secret>,
    pub jwt: Option<Secret>,
    pub owner_invite: Option<Secret>,
}

/// What the desired state depends on besides the Tenant and its Secrets.
pub struct Inputs<'a> {
    pub api_image: &'a str,
    pub trusted_proxies: &'a [Cidr],
    pub api_client_namespaces: &'a [String],
    pub metrics_namespaces: &'a [String],
    /// The ClusterRole that handles Secrets, and who the operator is: it
    /// binds one to the other in the tenant's namespace.
    pub tenant_role: &'a str,
    pub operator: &'a Subject,
    /// Where and how the tenant's API reaches its database server; `None`
    /// while the server's admin credentials cannot be read.
    pub database: Option<Endpoint>,
    pub now: Timestamp,
    /// Used only where no usable password or token exists yet.
    pub fresh_password: String,
    pub fresh_invite_token: String,
}

/// The generated values the Secrets hold.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretValues {
    pub password: String,
    pub keys: KeySet,
    pub invite_token: String,
}

impl SecretValues {
    /// The values `existing` holds that are still usable; `None` for the others.
    fn usable(
        tenant: &Tenant,
        existing: &ExistingSecrets,
    ) -> (Option<String>, Option<KeySet>, Option<String>) {
        let password = existing
            .db
            .as_ref()
            .and_then(|secret| secret_data::read(secret, "password"))
            .filter(|password| database::is_valid_password(password));
        let keys = existing
            .jwt
            .as_ref()
            .and_then(|secret| secret_data::read(secret, jwt::KEYS_FILE))
            .and_then(|json| serde_json::from_str::<KeySet>(&json).ok());
        let token = existing
            .owner_invite
            .as_ref()
            .and_then(|secret| secrets::owner_invite_token(tenant, secret));
        (password, keys, token)
    }
}

/// The SQL for the tenant's database, and the fingerprint of its inputs: the
/// same fingerprint means the same SQL, which need not run again soon.
#[derive(Clone, Debug)]
pub struct Sql {
    pub server: String,
    pub names: DatabaseNames,
    pub grants: Vec<Statement>,
    pub owner_email: String,
    pub inputs: u64,
}

pub struct Desired {
    pub namespace: Namespace,
    pub role_binding: RoleBinding,
    pub resource_quota: ResourceQuota,
    pub limit_range: LimitRange,
    pub network_policy: NetworkPolicy,
    /// `None` while the database server's address is unknown.
    pub db_secret: Option<Secret>,
    pub jwt_secret: Secret,
    pub owner_invite_secret: Secret,
    pub deployment: Deployment,
    pub service: Service,
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    pub replicas: i32,
    pub values: SecretValues,
    /// Whether `values` differ from what the existing Secrets hold: new
    /// material is generated, or keys rotated.
    pub changes_secret_values: bool,
    pub sql: Sql,
}

impl Desired {
    /// The desired children of the kinds that may stop being desired (see
    /// `apply::prune`).
    pub fn prunable(&self) -> Vec<ChildRef> {
        self.pod_disruption_budget.iter().map(ChildRef::of).collect()
    }
}

/// Everything Tenant `tenant` should have, given its `existing` Secrets.
pub fn desired(tenant: &Tenant, existing: &ExistingSecrets, inputs: &Inputs) -> Desired {
    let uid = tenant.uid().expect("a tenant from the apiserver has a uid");
    let plan = PlanDefaults::of(tenant.spec.plan);

    let (password, keys, token) = SecretValues::usable(tenant, existing);
    let annotation = |name: &str| tenant.annotations().get(name).map(String::as_str);
    let values = SecretValues {
        password: password.clone().unwrap_or_else(|| inputs.fresh_password.clone()),
        keys: keys
            .clone()
            .unwrap_or_else(|| KeySet::new(inputs.now))
            .reconciled(inputs.now, JWT_POLICY, annotation(ROTATE_JWT_ANNOTATION))
            .revoked(inputs.now, annotation(REVOKE_JWT_ANNOTATION)),
        invite_token: token.clone().unwrap_or_else(|| inputs.fresh_invite_token.clone()),
    };
    let changes_secret_values = password.as_ref() != Some(&values.password)
        || keys.as_ref() != Some(&values.keys)
        || token.as_ref() != Some(&values.invite_token);

    let names = DatabaseNames::for_tenant_uid(&uid);
    let server = tenant.spec.database.server.clone();
    let latest_schema = crate::postgres::MIGRATOR.iter().map(|m| m.version).max();
    let sql_inputs = sql_fingerprint((
        tenant.metadata.generation,
        &tenant.metadata.annotations,
        &server,
        &values.password,
        &tenant.spec.owner.email,
        &values.invite_token,
        latest_schema,
    ));
    let sql = Sql {
        grants: database::grants_plan(&names),
        owner_email: tenant.spec.owner.email.clone(),
        inputs: sql_inputs,
        server,
        names,
    };

    let db_secret = inputs.database.as_ref().map(|endpoint| {
        secrets::db_secret(
            tenant,
            &secrets::DbCredentials::at(&sql.names, &values.password, endpoint),
        )
    });
    let database_address = inputs
        .database
        .as_ref()
        .map(|endpoint| (endpoint.host.clone(), endpoint.port));
    let image = tenant.spec.api.image.as_deref().unwrap_or(inputs.api_image);
    let replicas = build::api_replicas(tenant, &plan);
    Desired {
        namespace: build::namespace(tenant),
        role_binding: access::operator_role_binding(tenant, inputs.tenant_role, inputs.operator),
        resource_quota: build::resource_quota(tenant, &plan),
        limit_range: build::limit_range(tenant, &plan),
        network_policy: build::network_policy(
            tenant,
            &build::NetworkPeers {
                api_clients: inputs.api_client_namespaces,
                scrapers: inputs.metrics_namespaces,
                database: database_address.as_ref(),
            },
        ),
        db_secret,
        jwt_secret: secrets::jwt_secret(tenant, &values.keys),
        owner_invite_secret: secrets::owner_invite_secret(tenant, &values.invite_token),
        deployment: build::api_deployment(
            tenant,
            &plan,
            &build::ApiPod {
                image,
                trusted_proxies: inputs.trusted_proxies,
                database_ca: inputs
                    .database
                    .as_ref()
                    .is_some_and(|endpoint| endpoint.tls.ca_pem.is_some()),
            },
            &secrets::db_secret_version(&values.password),
        ),
        service: build::api_service(tenant),
        pod_disruption_budget: build::api_pod_disruption_budget(tenant, replicas),
        replicas,
        values,
        changes_secret_values,
        sql,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::build::tests::tenant;
    use crate::tenant::invite;

    const PASSWORD: &str = "abcdefghijklmnopqrstuvwxyz012345";

    static OPERATOR: std::sync::LazyLock<Subject> = std::sync::LazyLock::new(|| {
        crate::identity::subject_of("system:serviceaccount:shopfleet-system:shopfleet-operator")
    });

    fn inputs() -> Inputs<'static> {
        Inputs {
            api_image: "shopfleet/shopfleet-api:test",
            trusted_proxies: &[],
            api_client_namespaces: &[],
            metrics_namespaces: &[],
            tenant_role: "shopfleet-operator-tenant",
            operator: &OPERATOR,
            database: Some(Endpoint {
                host: "db.example".to_owned(),
                port: 5432,
                tls: crate::postgres::DatabaseTls::default(),
            }),
            now: "2026-11-01T00:00:00Z".parse().unwrap(),
            fresh_password: PASSWORD.to_owned(),
            fresh_invite_token: invite::generate_token(),
        }
    }

    /// What a first reconcile writes, read back as the existing Secrets.
    fn written(desired: &Desired) -> ExistingSecrets {
        ExistingSecrets {
            db: desired.db_secret.clone(),
            jwt: Some(desired.jwt_secret.clone()),
            owner_invite: Some(desired.owner_invite_secret.clone()),
        }
    }

    #[test]
    fn a_new_tenant_gets_fresh_values_and_every_child() {
        let inputs = inputs();
        let desired = desired(&tenant(), &ExistingSecrets::default(), &inputs);
        assert!(desired.changes_secret_values);
        assert_eq!(desired.values.password, PASSWORD);
        assert_eq!(desired.values.invite_token, inputs.fresh_invite_token);
        let url = secret_data::read(desired.db_secret.as_ref().unwrap(), "DATABASE_URL").unwrap();
        assert!(
            url.contains(PASSWORD) && url.contains("@db.example:5432/sf_"),
            "{url}"
        );
        // The growth plan runs 2 replicas, so the API has a disruption budget.
        assert_eq!(desired.replicas, 2);
        assert_eq!(
            desired.prunable(),
            [ChildRef {
                kind: "PodDisruptionBudget",
                namespace: Some("tenant-acme".to_owned()),
                name: "acme-api".to_owned(),
            }]
        );
    }

    #[test]
    fn existing_values_are_kept_and_so_is_the_sql() {
        let first = desired(&tenant(), &ExistingSecrets::default(), &inputs());
        let mut later = inputs();
        later.fresh_password = "zyxwvutsrqponmlkjihgfedcba987654".to_owned();
        later.now = "2026-11-02T00:00:00Z".parse().unwrap();
        let again = desired(&tenant(), &written(&first), &later);
        assert!(!again.changes_secret_values);
        assert_eq!(again.values, first.values);
        assert_eq!(again.sql.inputs, first.sql.inputs);
        assert_eq!(again.deployment, first.deployment);
    }

    #[test]
    fn values_we_could_not_have_made_are_replaced_and_the_sql_runs_again() {
        let first = desired(&tenant(), &ExistingSecrets::default(), &inputs());
        let mut existing = written(&first);
        let tampered = secret_data::entries([("password", "hunter2")]);
        existing.db.as_mut().unwrap().data = Some(tampered);
        let mut next = inputs();
        next.fresh_password = "zyxwvutsrqponmlkjihgfedcba987654".to_owned();
        let repaired = desired(&tenant(), &existing, &next);
        assert!(repaired.changes_secret_values);
        assert_eq!(repaired.values.password, next.fresh_password);
        assert_ne!(repaired.sql.inputs, first.sql.inputs);
        assert_ne!(
            repaired.deployment.spec.template, first.deployment.spec.template,
            "new credentials roll the API's pods"
        );
    }

    #[test]
    fn a_rotation_request_rotates_once() {
        let first = desired(&tenant(), &ExistingSecrets::default(), &inputs());
        let mut asked = tenant();
        asked
            .annotations_mut()
            .insert(ROTATE_JWT_ANNOTATION.to_owned(), "1".to_owned());
        let rotated = desired(&asked, &written(&first), &inputs());
        assert!(rotated.changes_secret_values);
        assert_eq!(rotated.values.keys.keys.len(), 2);
        assert_ne!(rotated.values.keys.current, first.values.keys.current);
        let settled = desired(&asked, &written(&rotated), &inputs());
        assert!(!settled.changes_secret_values);
        assert_eq!(settled.values.keys, rotated.values.keys);
    }

    #[test]
    fn a_revocation_request_replaces_every_key_once() {
        let first = desired(&tenant(), &ExistingSecrets::default(), &inputs());
        let mut asked = tenant();
        asked
            .annotations_mut()
            .insert(REVOKE_JWT_ANNOTATION.to_owned(), "leak".to_owned());
        let revoked = desired(&asked, &written(&first), &inputs());
        assert!(revoked.changes_secret_values);
        assert_eq!(revoked.values.keys.keys.len(), 1);
        assert_ne!(revoked.values.keys.current, first.values.keys.current);
        let settled = desired(&asked, &written(&revoked), &inputs());
        assert!(!settled.changes_secret_values);
    }

    #[test]
    fn a_spec_change_makes_the_sql_run_again() {
        let first = desired(&tenant(), &ExistingSecrets::default(), &inputs());
        let mut changed = tenant();
        changed.metadata.generation = Some(2);
        changed.spec.owner.email = "new@acme.example".to_owned();
        let after = desired(&changed, &written(&first), &inputs());
        assert_ne!(after.sql.inputs, first.sql.inputs);
        assert_eq!(after.sql.owner_email, "new@acme.example");
        assert!(after.changes_secret_values, "a new owner gets a new invitation");
    }

    #[test]
    fn one_replica_has_no_disruption_budget_and_no_known_server_no_db_secret() {
        let mut single = tenant();
        single.spec.api.replicas = Some(1);
        let mut unknown = inputs();
        unknown.database = None;
        let desired = desired(&single, &ExistingSecrets::default(), &unknown);
        assert!(desired.pod_disruption_budget.is_none());
        assert!(desired.prunable().is_empty());
        assert!(desired.db_secret.is_none());
    }
}
