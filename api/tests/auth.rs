//! Sign-up, sign-in, sessions and the attacks on them, against a real
//! tenant database.

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use shopfleet_operator::tenant::jwt::{KeySet, RotationPolicy};
use support::{As, TENANT, TestApp, access};

const PASSWORD: &str = "correct horse battery";

#[actix_web::test]
async fn customers_register_sign_in_and_see_themselves() {
    let app = TestApp::new().await;
    let session = app.customer("Ana@Example.com").await;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 600);
    assert_eq!(session["user"]["email"], "ana@example.com");
    assert_eq!(session["user"]["role"], "customer");
    assert!(session["refresh_token"].as_str().unwrap().starts_with("sf_rt_"));

    let me = app.get("/v1/me", As::Bearer(access(&session))).await.expect(200);
    assert_eq!(me["principal"], "user");
    assert_eq!(me["email"], "ana@example.com");

    let login = app
        .post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "ANA@example.com ", "password": PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(login["user"]["id"], session["user"]["id"]);
}

#[actix_web::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = TestApp::new().await;
    app.customer("hash@example.com").await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'hash@example.com'")
        .fetch_one(&mut app.tenant().owner().await)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[actix_web::test]
async fn registration_names_every_invalid_field_and_never_tells_a_taken_email() {
    let app = TestApp::new().await;
    let problem = app
        .post(
            "/v1/auth/register",
            As::Nobody,
            json!({"email": "not-an-email", "password": "short"}),
        )
        .await
        .expect_problem(422, "validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);

    // A taken email gets the answer a new one gets, and changes nothing:
    // only its owner's password signs in.
    app.customer("taken@example.com").await;
    let register = |email: &str| {
        app.post(
            "/v1/auth/register",
            As::Nobody,
            json!({"email": email, "password": "the intruder's"}),
        )
    };
    let taken = register("Taken@example.com").await.expect(202);
    let new = register("new@example.com").await.expect(202);
    assert_eq!(
        taken.as_object().unwrap().keys().collect::<Vec<_>>(),
        new.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(taken["email"], "taken@example.com");
    let login = |password: &str| {
        app.post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "taken@example.com", "password": password}),
        )
    };
    login("the intruder's").await.expect_problem(401, "unauthorized");
    login(PASSWORD).await.expect(200);
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::new().await;
    app.customer("known@example.com").await;
    let wrong = app
        .post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "known@example.com", "password": "wrong password"}),
        )
        .await
        .expect_problem(401, "unauthorized");
    let unknown = app
        .post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(wrong, unknown);
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_a_reused_one_signs_out_its_family() {
    let app = TestApp::new().await;
    let first = app.customer("rotate@example.com").await;
    let second = app
        .post(
            "/v1/auth/refresh",
            As::Nobody,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await
        .expect(200);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    app.get("/v1/me", As::Bearer(access(&second))).await.expect(200);

    // The first token again: stolen. It fails, and so does the live one from its family.
    let problem = app
        .post(
            "/v1/auth/refresh",
            As::Nobody,
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await
        .expect_problem(401, "unauthorized");
    assert!(
        problem["detail"].as_str().unwrap().contains("already used"),
        "{problem}"
    );
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": second["refresh_token"]}),
    )
    .await
    .expect_problem(401, "unauthorized");

    // Another session of the same user is untouched.
    let other = app
        .post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "rotate@example.com", "password": PASSWORD}),
        )
        .await
        .expect(200);
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": other["refresh_token"]}),
    )
    .await
    .expect(200);
}

/// Renewing keeps a session alive 30 days past its last use, but never
/// more than 90 days past its sign-in.
#[actix_web::test]
async fn a_session_renews_for_at_most_90_days_after_its_sign_in() {
    let app = TestApp::new().await;
    let first = app.customer("long@example.com").await;
    // As if the sign-in had been 91 days ago.
    sqlx::query("UPDATE refresh_tokens SET family_started_at = now() - interval '91 days'")
        .execute(&mut app.tenant().owner().await)
        .await
        .unwrap();
    let refresh = |session: &Value| json!({"refresh_token": session["refresh_token"]});
    // The token in hand was issued before: it is spent once more...
    let second = app
        .post("/v1/auth/refresh", As::Nobody, refresh(&first))
        .await
        .expect(200);
    // ...but the one it gives expired with its family.
    app.post("/v1/auth/refresh", As::Nobody, refresh(&second))
        .await
        .expect_problem(401, "unauthorized");
}

#[actix_web::test]
async fn expired_refresh_tokens_are_purged_and_live_ones_kept() {
    use shopfleet_api::auth::accounts::purge_expired_refresh_tokens;

    let app = TestApp::new().await;
    app.customer("old@example.com").await;
    app.customer("new@example.com").await;
    let mut owner = app.tenant().owner().await;
    sqlx::query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' \
         WHERE user_id = (SELECT id FROM users WHERE email = 'old@example.com')",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let mut conn = app.state.db.tenant_wide_conn().await.unwrap();
    assert_eq!(purge_expired_refresh_tokens(&mut conn).await.unwrap(), 1);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT u.email FROM refresh_tokens t JOIN users u ON u.id = t.user_id")
            .fetch_all(&mut owner)
            .await
            .unwrap();
    assert_eq!(left, ["new@example.com"]);
}

#[actix_web::test]
async fn logout_revokes_the_session() {
    let app = TestApp::new().await;
    let session = app.customer("bye@example.com").await;
    let reply = app
        .post(
            "/v1/auth/logout",
            As::Nobody,
            json!({"refresh_token": session["refresh_token"]}),
        )
        .await;
    assert_eq!(reply.status, 204);
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await
    .expect_problem(401, "unauthorized");
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": "sf_rt_made_up"}),
    )
    .await
    .expect_problem(401, "unauthorized");
}

/// A token with these claims, signed with `key` (a private PEM) under `kid` and `alg`.
fn forge(claims: &Value, key: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[actix_web::test]
async fn forged_expired_and_foreign_access_tokens_are_refused() {
    let app = TestApp::new().await;
    let session = app.customer("target@example.com").await;
    let token = access(&session);
    let keys: KeySet = serde_json::from_slice(&std::fs::read(&app.keys_path).unwrap()).unwrap();
    let ours = &keys.keys[0];
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut claims = json!({
            "iss": format!("shopfleet:{TENANT}"), "aud": format!("shopfleet-api:{TENANT}"),
            "sub": session["user"]["id"], "iat": now, "exp": now + 600, "role": "owner",
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(overrides.as_object().unwrap().clone());
        claims
    };

    // The genuine article works, and so does a token we sign the same way.
    app.get("/v1/me", As::Bearer(token)).await.expect(200);
    app.get(
        "/v1/me",
        As::Bearer(&forge(&claims(json!({})), &ours.private_pem, &ours.kid)),
    )
    .await
    .expect(200);

    let other_tenant = KeySet::new(jiff::Timestamp::now());
    let theirs = &other_tenant.keys[0];
    let (header, payload, signature) = {
        let mut parts = token.split('.');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let mut tampered: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    tampered["role"] = json!("owner");
    let attacks = [
        (
            "expired",
            forge(
                &claims(json!({"iat": now - 4000, "exp": now - 3600})),
                &ours.private_pem,
                &ours.kid,
            ),
        ),
        (
            "wrong audience",
            forge(
                &claims(json!({"aud": "shopfleet-api:other"})),
                &ours.private_pem,
                &ours.kid,
            ),
        ),
        (
            "wrong issuer",
            forge(
                &claims(json!({"iss": "shopfleet:other"})),
                &ours.private_pem,
                &ours.kid,
            ),
        ),
        ("no expiry", {
            let mut c = claims(json!({}));
            c.as_object_mut().unwrap().remove("exp");
            forge(&c, &ours.private_pem, &ours.kid)
        }),
        (
            "another tenant's key under its kid",
            forge(&claims(json!({})), &theirs.private_pem, &theirs.kid),
        ),
        (
            "another tenant's key under our kid",
            forge(&claims(json!({})), &theirs.private_pem, &ours.kid),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims(json!({})).to_string().as_bytes())
            ),
        ),
        (
            "alg HS256 keyed with the public key",
            jsonwebtoken::encode(
                &Header {
                    kid: Some(ours.kid.clone()),
                    ..Header::new(Algorithm::HS256)
                },
                &claims(json!({})),
                &EncodingKey::from_secret(ours.public_pem.as_bytes()),
            )
            .unwrap(),
        ),
        (
            "tampered payload",
            format!("{header}.{}.{signature}", b64(tampered.to_string().as_bytes())),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (attack, forged) in attacks {
        let reply = app.get("/v1/me", As::Bearer(&forged)).await;
        assert_eq!(reply.status, 401, "{attack}: {:#}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{attack}");
    }
}

#[actix_web::test]
async fn a_key_rotation_signs_out_nobody() {
    let app = TestApp::new().await;
    let before = app.customer("stays@example.com").await;
    let keys: KeySet = serde_json::from_slice(&std::fs::read(&app.keys_path).unwrap()).unwrap();
    let policy = RotationPolicy {
        period: jiff::SignedDuration::from_hours(24),
        token_lifetime: jiff::SignedDuration::from_mins(15),
    };
    let rotated = keys
        .clone()
        .reconciled(jiff::Timestamp::now(), policy, Some("rotate-now"));
    install_keys(&app, &rotated);

    app.get("/v1/me", As::Bearer(access(&before))).await.expect(200);
    let after = app
        .post(
            "/v1/auth/login",
            As::Nobody,
            json!({"email": "stays@example.com", "password": PASSWORD}),
        )
        .await
        .expect(200);
    let header = jsonwebtoken::decode_header(access(&after)).unwrap();
    assert_eq!(header.kid.as_deref(), Some(rotated.current.as_str()));
    assert_ne!(rotated.current, keys.current);
    assert_eq!(header.alg, Algorithm::EdDSA);
}

#[actix_web::test]
async fn the_first_owner_joins_by_the_operators_invitation_once() {
    let app = TestApp::new().await;
    let token = app.tenant().invite_owner("Owner@Acme.test").await;
    let body = json!({"token": token, "password": "owner password 1", "name": "Olga"});
    let session = app
        .post("/v1/auth/accept-invitation", As::Nobody, body.clone())
        .await
        .expect(201);
    assert_eq!(session["user"]["role"], "owner");
    assert_eq!(session["user"]["email"], "owner@acme.test");
    app.post("/v1/auth/accept-invitation", As::Nobody, body)
        .await
        .expect_problem(401, "unauthorized");
    app.post(
        "/v1/auth/login",
        As::Nobody,
        json!({"email": "owner@acme.test", "password": "owner password 1"}),
    )
    .await
    .expect(200);
}

#[actix_web::test]
async fn only_owners_invite_and_staff_can_be_limited_to_stores() {
    let app = TestApp::new().await;
    let (store, _) = app.tenant().add_store("main", "EUR").await;
    let owner = app.owner().await;
    let staff = app.staff(access(&owner), "clerk@acme.test", Some(&[store])).await;
    assert_eq!(staff["user"]["role"], "staff");
    assert_eq!(staff["user"]["store_ids"], json!([store]));

    let customer = app.customer("shopper@example.com").await;
    let invite = json!({"email": "new@acme.test", "role": "staff"});
    for who in [access(&staff), access(&customer)] {
        app.post("/v1/invitations", As::Bearer(who), invite.clone())
            .await
            .expect_problem(403, "forbidden");
    }
    app.post("/v1/invitations", As::Nobody, invite)
        .await
        .expect_problem(401, "unauthorized");

    let problem = app
        .post(
            "/v1/invitations",
            As::Bearer(access(&owner)),
            json!({"email": "x@acme.test", "role": "customer", "store_ids": [uuid::Uuid::new_v4()]}),
        )
        .await
        .expect_problem(422, "validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["role", "store_ids"]);
    let problem = app
        .post(
            "/v1/invitations",
            As::Bearer(access(&owner)),
            json!({"email": "x@acme.test", "role": "staff", "store_ids": [uuid::Uuid::new_v4()]}),
        )
        .await
        .expect_problem(422, "validation");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
}

#[actix_web::test]
async fn api_keys_identify_their_store() {
    let app = TestApp::new().await;
    let (store, keys) = app.tenant().add_store("main", "EUR").await;
    let me = app.get("/v1/me", As::Key(&keys.secret)).await.expect(200);
    assert_eq!(
        me,
        json!({"principal": "store_key", "store_id": store, "key_kind": "secret"})
    );
    let me = app.get("/v1/me", As::Key(&keys.publishable)).await.expect(200);
    assert_eq!(me["key_kind"], "publishable");
    app.get("/v1/me", As::Key("sf_sk_unknown"))
        .await
        .expect_problem(401, "unauthorized");
}

#[actix_web::test]
async fn no_credentials_get_a_401_with_a_challenge() {
    let app = TestApp::new().await;
    let reply = app.send(actix_web::test::TestRequest::get().uri("/v1/me")).await;
    assert_eq!(reply.status, 401);
    let reply = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/v1/me")
                .insert_header(("Authorization", "Basic abc")),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert!(reply.body["detail"].as_str().unwrap().contains("Bearer"));
}

#[actix_web::test]
async fn unreadable_requests_get_problems_not_500s() {
    use actix_web::test::TestRequest;
    let app = TestApp::new().await;
    let json = |body: &str| {
        TestRequest::post()
            .uri("/v1/auth/register")
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_owned())
    };
    for (body, status, kind) in [
        ("{not json", 400, "malformed-request"),
        (
            r#"{"email": 5, "password": "correct horse"}"#,
            400,
            "malformed-request",
        ),
        (
            r#"{"email": "a@b.co", "password": "correct horse", "admin": true}"#,
            400,
            "malformed-request",
        ),
        (r#"{"email": "a@b.co"}"#, 400, "malformed-request"),
        ("[]", 400, "malformed-request"),
    ] {
        let problem = app.send(json(body)).await.expect_problem(status, kind);
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{body}");
    }
    let huge = format!(
        r#"{{"email": "a@b.co", "password": "{}"}}"#,
        "x".repeat(300 * 1024)
    );
    app.send(json(&huge))
        .await
        .expect_problem(413, "payload-too-large");
    let plain = TestRequest::post().uri("/v1/auth/login").set_payload("email=a");
    app.send(plain).await.expect_problem(400, "malformed-request");
}

#[actix_web::test]
async fn an_invitation_to_an_email_with_an_account_takes_that_account_over() {
    let app = TestApp::new().await;
    // Someone registered the owner's email first, as a customer.
    let squatter = app.customer("owner@acme.test").await;
    let owner = app.owner().await;
    assert_eq!(owner["user"]["id"], squatter["user"]["id"]);
    assert_eq!(owner["user"]["role"], "owner");
    assert_eq!(owner["user"]["name"], "Olga Owner");
    // The earlier password and sessions no longer get in.
    app.post(
        "/v1/auth/login",
        As::Nobody,
        json!({"email": "owner@acme.test", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "unauthorized");
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": squatter["refresh_token"]}),
    )
    .await
    .expect_problem(401, "unauthorized");
    app.post(
        "/v1/auth/login",
        As::Nobody,
        json!({"email": "owner@acme.test", "password": "owner password 1"}),
    )
    .await
    .expect(200);
}

#[actix_web::test]
async fn a_key_revocation_signs_out_everybody_at_once() {
    let app = TestApp::new().await;
    let before = app.customer("leaked@example.com").await;
    let keys: KeySet = serde_json::from_slice(&std::fs::read(&app.keys_path).unwrap()).unwrap();
    let revoked = keys.clone().revoked(jiff::Timestamp::now(), Some("leak"));
    install_keys(&app, &revoked);
    app.get("/v1/me", As::Bearer(access(&before)))
        .await
        .expect_problem(401, "unauthorized");
    let after = app.customer_session("leaked@example.com", PASSWORD).await;
    app.get("/v1/me", As::Bearer(access(&after))).await.expect(200);
}

/// Writes `keys` where the operator's Secret is mounted, as a kubelet
/// would, and has the API read it now.
fn install_keys(app: &TestApp, keys: &KeySet) {
    std::fs::write(&app.keys_path, serde_json::to_vec(keys).unwrap()).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&app.keys_path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    app.keys.reload_if_changed();
}
