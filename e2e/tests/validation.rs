//! The apiserver itself turns away invalid Tenants and Stores, before any
//! operator sees them, and says which field is wrong. The manifests are raw
//! JSON sent as `DynamicObject`s, so they can hold what the typed structs cannot
//! even represent: unknown enum values, wrong types, missing required fields.
//! No operator runs here; every Tenant carries the shard label so that no
//! operator another test started touches it either.

mod support;

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use kube::{Api, Client};
use serde_json::{Value, json};
use shopfleet_operator::crd::{Store, Tenant};
use support::{SHARD_LABEL, WAIT, client, install_crds, namespace};

/// HTTP status of a request the apiserver found invalid.
const UNPROCESSABLE: u16 = 422;

/// One invalid manifest: `edit` breaks an otherwise valid object, and the
/// apiserver's answer must name `field` and explain itself with `says`.
struct Case {
    what: &'static str,
    edit: fn(&mut Value),
    field: &'static str,
    says: &'static str,
}

/// One invalid change: a merge `patch` of a valid object that was created first.
struct Change {
    what: &'static str,
    patch: Value,
    field: &'static str,
    says: &'static str,
}

fn tenant_name() -> String {
    format!("e2e-val-{}", shopfleet_e2e::random_token(6).to_lowercase())
}

fn valid_tenant(name: &str) -> Value {
    json!({
        "apiVersion": "shopfleet.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name, "labels": {SHARD_LABEL: "validation"}},
        "spec": {
            "plan": "growth",
            "owner": {"email": "owner@acme.test"},
            "database": {"server": "default", "deletionPolicy": "Retain"},
            "api": {"replicas": 2},
            "suspended": false
        }
    })
}

fn valid_store(name: &str) -> Value {
    json!({
        "apiVersion": "shopfleet.io/v1alpha1",
        "kind": "Store",
        "metadata": {"name": name},
        "spec": {
            "displayName": "Corner shop",
            "industry": "retail",
            "currency": "EUR",
            "timezone": "Europe/Paris"
        }
    })
}

fn object(manifest: Value) -> DynamicObject {
    serde_json::from_value(manifest).expect("a manifest is a DynamicObject")
}

fn remove(object: &mut Value, field: &str) {
    object
        .as_object_mut()
        .expect("an object")
        .remove(field)
        .unwrap_or_else(|| panic!("{field} is in the manifest"));
}

fn tenant_cases() -> Vec<Case> {
    vec![
        Case {
            what: "plan platinum",
            edit: |t| t["spec"]["plan"] = json!("platinum"),
            field: "spec.plan",
            says: "Unsupported value: \"platinum\"",
        },
        Case {
            what: "plan in capitals",
            edit: |t| t["spec"]["plan"] = json!("Growth"),
            field: "spec.plan",
            says: "Unsupported value: \"Growth\"",
        },
        Case {
            what: "missing owner",
            edit: |t| remove(&mut t["spec"], "owner"),
            field: "spec.owner",
            says: "Required value",
        },
        Case {
            what: "owner without email",
            edit: |t| remove(&mut t["spec"]["owner"], "email"),
            field: "spec.owner.email",
            says: "Required value",
        },
        Case {
            what: "owner email without @",
            edit: |t| t["spec"]["owner"]["email"] = json!("owner.acme.test"),
            field: "spec.owner.email",
            says: "must be an e-mail address",
        },
        Case {
            what: "owner email without a domain",
            edit: |t| t["spec"]["owner"]["email"] = json!("owner@acme"),
            field: "spec.owner.email",
            says: "must be an e-mail address",
        },
        Case {
            what: "empty owner email",
            edit: |t| t["spec"]["owner"]["email"] = json!(""),
            field: "spec.owner.email",
            says: "must be an e-mail address",
        },
        Case {
            what: "api.replicas 21",
            edit: |t| t["spec"]["api"]["replicas"] = json!(21),
            field: "spec.api.replicas",
            says: "less than or equal to 20",
        },
        Case {
            what: "api.replicas -1",
            edit: |t| t["spec"]["api"]["replicas"] = json!(-1),
            field: "spec.api.replicas",
            says: "greater than or equal to 0",
        },
        Case {
            what: "api.replicas as a string",
            edit: |t| t["spec"]["api"]["replicas"] = json!("3"),
            field: "spec.api.replicas",
            says: "must be of type integer",
        },
        Case {
            what: "empty api.image",
            edit: |t| t["spec"]["api"]["image"] = json!(""),
            field: "spec.api.image",
            says: "at least 1 chars long",
        },
        Case {
            what: "database.deletionPolicy Shred",
            edit: |t| t["spec"]["database"]["deletionPolicy"] = json!("Shred"),
            field: "spec.database.deletionPolicy",
            says: "Unsupported value: \"Shred\"",
        },
        Case {
            what: "empty database.server",
            edit: |t| t["spec"]["database"]["server"] = json!(""),
            field: "spec.database.server",
            says: "at least 1 chars long",
        },
        Case {
            what: "suspended as a string",
            edit: |t| t["spec"]["suspended"] = json!("yes"),
            field: "spec.suspended",
            says: "must be of type boolean",
        },
        Case {
            what: "missing spec",
            edit: |t| remove(t, "spec"),
            field: "spec",
            says: "Required value",
        },
        Case {
            // A valid object name (a DNS subdomain) that is one character too
            // long for the namespace tenant-<name> to be a DNS label.
            what: "name of 57 characters",
            edit: |t| {
                let name = t["metadata"]["name"].as_str().unwrap().to_owned();
                t["metadata"]["name"] = json!(format!("{name}-{}", "x".repeat(56 - name.len())));
            },
            field: "metadata.name",
            says: "at most 56 characters",
        },
        Case {
            // Also a valid object name, but no DNS label.
            what: "name with a dot",
            edit: |t| {
                let name = t["metadata"]["name"].as_str().unwrap().to_owned();
                t["metadata"]["name"] = json!(format!("{name}.shop"));
            },
            field: "metadata.name",
            says: "must be a DNS label",
        },
    ]
}

fn store_cases() -> Vec<Case> {
    vec![
        Case {
            what: "currency eu",
            edit: |s| s["spec"]["currency"] = json!("eu"),
            field: "spec.currency",
            says: "ISO 4217 code",
        },
        Case {
            what: "currency EURO",
            edit: |s| s["spec"]["currency"] = json!("EURO"),
            field: "spec.currency",
            says: "ISO 4217 code",
        },
        Case {
            what: "currency eur",
            edit: |s| s["spec"]["currency"] = json!("eur"),
            field: "spec.currency",
            says: "ISO 4217 code",
        },
        Case {
            what: "currency as a number",
            edit: |s| s["spec"]["currency"] = json!(978),
            field: "spec.currency",
            says: "must be of type string",
        },
        Case {
            what: "missing currency",
            edit: |s| remove(&mut s["spec"], "currency"),
            field: "spec.currency",
            says: "Required value",
        },
        Case {
            what: "industry mining",
            edit: |s| s["spec"]["industry"] = json!("mining"),
            field: "spec.industry",
            says: "Unsupported value: \"mining\"",
        },
        Case {
            what: "missing industry",
            edit: |s| remove(&mut s["spec"], "industry"),
            field: "spec.industry",
            says: "Required value",
        },
        Case {
            what: "displayName of 101 characters",
            edit: |s| s["spec"]["displayName"] = json!("a".repeat(101)),
            field: "spec.displayName",
            says: "Too long",
        },
        Case {
            what: "empty displayName",
            edit: |s| s["spec"]["displayName"] = json!(""),
            field: "spec.displayName",
            says: "at least 1 chars long",
        },
        Case {
            what: "missing displayName",
            edit: |s| remove(&mut s["spec"], "displayName"),
            field: "spec.displayName",
            says: "Required value",
        },
        Case {
            what: "empty timezone",
            edit: |s| s["spec"]["timezone"] = json!(""),
            field: "spec.timezone",
            says: "at least 1 chars long",
        },
        Case {
            what: "timezone of 65 characters",
            edit: |s| s["spec"]["timezone"] = json!("a".repeat(65)),
            field: "spec.timezone",
            says: "Too long",
        },
    ]
}

/// `None` when `result` is the rejection expected, or else what went wrong.
/// The rejection must be a 422 whose message names `field` and says `says`,
/// and one of its causes must be about `field`: at that path, or, for a rule
/// on the whole object (which the apiserver reports at `<nil>`), naming it.
fn rejection_problem(result: &Result<DynamicObject, kube::Error>, field: &str, says: &str) -> Option<String> {
    match result {
        Ok(_) => Some(format!("was accepted; it must be rejected naming {field}")),
        Err(kube::Error::Api(status))
            if status.code == UNPROCESSABLE
                && status.message.contains(field)
                && status.message.contains(says)
                && status.details.as_ref().is_some_and(|details| {
                    details
                        .causes
                        .iter()
                        .any(|cause| cause.field == field || cause.message.contains(field))
                }) =>
        {
            None
        }
        Err(error) => Some(format!(
            "must be rejected with HTTP {UNPROCESSABLE} naming {field} and saying {says:?}, got: {error}"
        )),
    }
}

async fn create(api: &Api<DynamicObject>, manifest: Value) -> Result<DynamicObject, kube::Error> {
    api.create(&PostParams::default(), &object(manifest)).await
}

/// Sends every case, collecting what went wrong rather than stopping at the
/// first, and returns the names of objects the apiserver wrongly accepted.
async fn create_cases(
    api: &Api<DynamicObject>,
    kind: &str,
    cases: &[Case],
    mut valid: impl FnMut() -> Value,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let mut accepted = Vec::new();
    for case in cases {
        let mut manifest = valid();
        (case.edit)(&mut manifest);
        let result = create(api, manifest).await;
        if let Some(problem) = rejection_problem(&result, case.field, case.says) {
            problems.push(format!("{kind} with {}: {problem}", case.what));
        }
        if let Ok(created) = result {
            accepted.extend(created.metadata.name);
        }
    }
    accepted
}

async fn change_cases(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    changes: &[Change],
    problems: &mut Vec<String>,
) {
    for change in changes {
        let result = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&change.patch))
            .await;
        if let Some(problem) = rejection_problem(&result, change.field, change.says) {
            problems.push(format!("{kind} {name}, {}: {problem}", change.what));
        }
    }
}

#[tokio::test]
async fn the_apiserver_rejects_invalid_manifests_naming_the_field() {
    let client: Client = client().await;
    install_crds(&client).await;
    let mut problems = Vec::new();

    // Tenants.
    let tenants = Api::<DynamicObject>::all_with(client.clone(), &ApiResource::erase::<Tenant>(&()));
    let valid = tenant_name();
    let created = create(&tenants, valid_tenant(&valid))
        .await
        .unwrap_or_else(|e| panic!("a valid Tenant is accepted: {e}"));
    assert_eq!(created.data["spec"]["plan"], "growth");
    assert_eq!(created.data["spec"]["api"]["replicas"], 2);
    let mut created_tenants = vec![valid.clone()];

    // Defaults fill in what a minimal Tenant leaves out.
    let minimal = tenant_name();
    let mut manifest = valid_tenant(&minimal);
    manifest["spec"] = json!({"owner": {"email": "owner@minimal.test"}});
    let created = create(&tenants, manifest)
        .await
        .unwrap_or_else(|e| panic!("a minimal Tenant is accepted: {e}"));
    created_tenants.push(minimal);
    assert_eq!(created.data["spec"]["plan"], "starter");
    assert_eq!(
        created.data["spec"]["database"],
        json!({"server": "default", "deletionPolicy": "Retain"})
    );

    let accepted = create_cases(
        &tenants,
        "Tenant",
        &tenant_cases(),
        || valid_tenant(&tenant_name()),
        &mut problems,
    )
    .await;
    created_tenants.extend(accepted);

    let tenant_changes = [
        Change {
            what: "changing database.server",
            patch: json!({"spec": {"database": {"server": "other"}}}),
            field: "spec.database.server",
            says: "spec.database.server is immutable",
        },
        Change {
            what: "removing database.server, which defaults to another server",
            patch: json!({"spec": {"database": {"server": null}}}),
            field: "spec.database.server",
            says: "spec.database.server is immutable",
        },
        Change {
            what: "setting plan platinum",
            patch: json!({"spec": {"plan": "platinum"}}),
            field: "spec.plan",
            says: "Unsupported value: \"platinum\"",
        },
        Change {
            what: "setting api.replicas 21",
            patch: json!({"spec": {"api": {"replicas": 21}}}),
            field: "spec.api.replicas",
            says: "less than or equal to 20",
        },
    ];
    // The valid Tenant lives on another server, so that dropping the field
    // (which defaults it to "default") is a change too.
    let on_other_server = tenant_name();
    let mut manifest = valid_tenant(&on_other_server);
    manifest["spec"]["database"]["server"] = json!("secondary");
    create(&tenants, manifest)
        .await
        .unwrap_or_else(|e| panic!("a Tenant on another server is accepted: {e}"));
    created_tenants.push(on_other_server.clone());
    change_cases(
        &tenants,
        "Tenant",
        &on_other_server,
        &tenant_changes,
        &mut problems,
    )
    .await;
    // Changing what may change still works.
    let allowed = json!({"spec": {"plan": "enterprise", "suspended": true, "api": {"replicas": 0}}});
    let patched = tenants
        .patch(&on_other_server, &PatchParams::default(), &Patch::Merge(&allowed))
        .await
        .unwrap_or_else(|e| panic!("a valid change of a Tenant is accepted: {e}"));
    assert_eq!(patched.data["spec"]["database"]["server"], "secondary");
    assert_eq!(patched.data["spec"]["plan"], "enterprise");

    // Stores.
    let ns = namespace(&client, "val").await;
    let stores =
        Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &ApiResource::erase::<Store>(&()));
    let created = create(&stores, valid_store("corner"))
        .await
        .unwrap_or_else(|e| panic!("a valid Store is accepted: {e}"));
    assert_eq!(created.data["spec"]["currency"], "EUR");
    let mut manifest = valid_store("minimal");
    remove(&mut manifest["spec"], "timezone");
    let created = create(&stores, manifest)
        .await
        .unwrap_or_else(|e| panic!("a Store without a timezone is accepted: {e}"));
    assert_eq!(created.data["spec"]["timezone"], "UTC");

    let mut count = 0;
    let _ = create_cases(
        &stores,
        "Store",
        &store_cases(),
        || {
            count += 1;
            valid_store(&format!("invalid-{count}"))
        },
        &mut problems,
    )
    .await;

    let store_changes = [
        Change {
            what: "changing currency",
            patch: json!({"spec": {"currency": "USD"}}),
            field: "spec.currency",
            says: "spec.currency is immutable",
        },
        Change {
            what: "setting industry mining",
            patch: json!({"spec": {"industry": "mining"}}),
            field: "spec.industry",
            says: "Unsupported value: \"mining\"",
        },
        Change {
            what: "emptying timezone",
            patch: json!({"spec": {"timezone": ""}}),
            field: "spec.timezone",
            says: "at least 1 chars long",
        },
    ];
    change_cases(&stores, "Store", "corner", &store_changes, &mut problems).await;
    let allowed = json!({"spec": {"displayName": "Corner shop, Paris", "timezone": "Europe/Berlin"}});
    let patched = stores
        .patch("corner", &PatchParams::default(), &Patch::Merge(&allowed))
        .await
        .unwrap_or_else(|e| panic!("a valid change of a Store is accepted: {e}"));
    assert_eq!(patched.data["spec"]["currency"], "EUR");

    for name in &created_tenants {
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("deleting Tenant {name}: {e}"));
    }
    assert!(
        problems.is_empty(),
        "the apiserver did not reject as it should:\n{}",
        problems.join("\n")
    );
}

/// The chart's ValidatingAdmissionPolicy (charts/shopfleet/files/), bound
/// here to this test's Tenants alone: an API image from outside the allowed
/// registry is refused at admission, naming the field; one under it, or
/// pinned by digest, is admitted.
#[tokio::test]
async fn the_apiserver_admits_api_images_only_from_the_allowed_registry_or_by_digest() {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    use k8s_openapi::api::core::v1::ConfigMap;

    let client: Client = client().await;
    install_crds(&client).await;
    let params_namespace = namespace(&client, "images").await;
    let apply = PatchParams::apply("shopfleet-e2e").force();
    let params: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "image-policy"},
        "data": {"allowedImagePrefix": "registry.acme.test/shopfleet/"},
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &params_namespace)
        .create(&PostParams::default(), &params)
        .await
        .unwrap();
    let path = support::repo_root().join("charts/shopfleet/files/tenant-image-policy.yaml");
    let policy: ValidatingAdmissionPolicy =
        serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let policy_name = policy.metadata.name.clone().unwrap();
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .patch(&policy_name, &apply, &Patch::Apply(&policy))
        .await
        .unwrap();
    let binding_name = format!("e2e-{params_namespace}");
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": binding_name},
        "spec": {
            "policyName": policy_name,
            "validationActions": ["Deny"],
            "paramRef": {"name": "image-policy", "namespace": params_namespace, "parameterNotFoundAction": "Deny"},
            "matchResources": {"objectSelector": {"matchLabels": {SHARD_LABEL: params_namespace}}},
        },
    }))
    .unwrap();
    let bindings = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone());
    bindings
        .patch(&binding_name, &apply, &Patch::Apply(&binding))
        .await
        .unwrap();

    let tenants = Api::<DynamicObject>::all_with(client.clone(), &ApiResource::erase::<Tenant>(&()));
    let with_image = |image: &str| {
        let mut manifest = valid_tenant(&tenant_name());
        manifest["metadata"]["labels"][SHARD_LABEL] = json!(params_namespace);
        manifest["spec"]["api"]["image"] = json!(image);
        manifest
    };
    let mut created = Vec::new();
    // The policy takes effect once the apiserver has compiled it and seen
    // its binding and parameter: until then a Tenant may get through.
    let refusal = support::eventually("the policy refuses an image from elsewhere", WAIT, || async {
        let manifest = with_image("docker.io/miner:latest");
        match create(&tenants, manifest.clone()).await {
            Err(kube::Error::Api(status)) => Some(status),
            Ok(_) => {
                let name = manifest["metadata"]["name"].as_str().unwrap();
                tenants.delete(name, &DeleteParams::default()).await.unwrap();
                None
            }
            Err(other) => panic!("{other}"),
        }
    })
    .await;
    assert_eq!(refusal.code, UNPROCESSABLE, "{refusal:?}");
    assert!(
        refusal
            .message
            .contains("spec.api.image: docker.io/miner:latest is neither under the allowed registry"),
        "{}",
        refusal.message
    );

    let digest = "0123456789abcdef".repeat(4);
    for image in [
        "registry.acme.test/shopfleet/api:1.2".to_owned(),
        format!("elsewhere.test/api@sha256:{digest}"),
    ] {
        let manifest = with_image(&image);
        create(&tenants, manifest.clone())
            .await
            .unwrap_or_else(|e| panic!("{image} is admitted: {e}"));
        created.push(manifest["metadata"]["name"].as_str().unwrap().to_owned());
    }
    // A change to an admitted Tenant is checked too.
    let patch = json!({"spec": {"api": {"image": "registry.acme.test/other/api:1"}}});
    let refused = tenants
        .patch(&created[0], &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("an update to an image from elsewhere is refused");
    assert!(refused.to_string().contains("spec.api.image"), "{refused}");

    for name in created {
        tenants.delete(&name, &DeleteParams::default()).await.unwrap();
    }
    bindings
        .delete(&binding_name, &DeleteParams::default())
        .await
        .unwrap();
}
