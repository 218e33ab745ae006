//! Access is taken away at once: a changed password, signing out
//! everywhere, and an owner disabling someone or changing their role or
//! stores end their sessions on the next request, refresh tokens included.
//! Real tenant database.

mod support;

use serde_json::{Value, json};
use support::{As, TestApp, access};

const PASSWORD: &str = "correct horse battery";

async fn me(app: &TestApp, session: &Value) -> u16 {
    app.get("/v1/me", As::Bearer(access(session)))
        .await
        .status
        .as_u16()
}

async fn refresh(app: &TestApp, session: &Value) -> u16 {
    app.post(
        "/v1/auth/refresh",
        As::Nobody,
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await
    .status
    .as_u16()
}

async fn login(app: &TestApp, email: &str, password: &str) -> u16 {
    app.post(
        "/v1/auth/login",
        As::Nobody,
        json!({"email": email, "password": password}),
    )
    .await
    .status
    .as_u16()
}

#[actix_web::test]
async fn a_changed_password_ends_every_other_session_at_once() {
    let app = TestApp::new().await;
    let laptop = app.customer("ana@example.com").await;
    let phone = app.customer_session("ana@example.com", PASSWORD).await;
    assert_eq!(me(&app, &phone).await, 200);

    let wrong = app
        .post(
            "/v1/auth/password",
            As::Bearer(access(&laptop)),
            json!({"current_password": "not it", "new_password": "a new passphrase"}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    let changed = app
        .post(
            "/v1/auth/password",
            As::Bearer(access(&laptop)),
            json!({"current_password": PASSWORD, "new_password": "a new passphrase"}),
        )
        .await
        .expect(200);

    for old in [&laptop, &phone] {
        assert_eq!(me(&app, old).await, 401, "an access token from before");
        assert_eq!(refresh(&app, old).await, 401, "a refresh token from before");
    }
    assert_eq!(
        me(&app, &changed).await,
        200,
        "the session the change answered with"
    );
    assert_eq!(login(&app, "ana@example.com", PASSWORD).await, 401);
    assert_eq!(login(&app, "ana@example.com", "a new passphrase").await, 200);
}

#[actix_web::test]
async fn signing_out_everywhere_ends_every_session() {
    let app = TestApp::new().await;
    let one = app.customer("ben@example.com").await;
    let two = app.customer_session("ben@example.com", PASSWORD).await;
    app.post(
        "/v1/auth/logout-everywhere",
        As::Bearer(access(&one)),
        Value::Null,
    )
    .await
    .expect(204);
    for session in [&one, &two] {
        assert_eq!(me(&app, session).await, 401);
        assert_eq!(refresh(&app, session).await, 401);
    }
    assert_eq!(
        login(&app, "ben@example.com", PASSWORD).await,
        200,
        "signing in again works"
    );
}

#[actix_web::test]
async fn an_owner_disables_or_reassigns_someone_and_it_takes_effect_at_once() {
    let app = TestApp::new().await;
    let (a, _) = app.tenant().add_store("a", "EUR").await;
    let (b, _) = app.tenant().add_store("b", "EUR").await;
    let owner = app.owner().await;
    let owner_token = access(&owner);
    let staff = app.staff(owner_token, "sam@acme.test", Some(&[a])).await;
    let sam = staff["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &staff).await, 200);

    // Moved to store b: the token that says store a stops working.
    let moved = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/v1/users/{sam}"),
            As::Bearer(owner_token),
            json!({"store_ids": [b]}),
        )
        .await
        .expect(200);
    assert_eq!(moved["store_ids"], json!([b]));
    assert_eq!(me(&app, &staff).await, 401);
    let again = app.customer_session("sam@acme.test", "staff password 1").await;
    assert_eq!(again["user"]["store_ids"], json!([b]));

    // Disabled: out at once, and cannot sign in.
    let sam_uri = format!("/v1/users/{sam}");
    let disable = |disabled: bool| {
        app.call(
            actix_web::http::Method::PATCH,
            &sam_uri,
            As::Bearer(owner_token),
            json!({"disabled": disabled}),
        )
    };
    assert_eq!(disable(true).await.expect(200)["disabled"], true);
    assert_eq!(me(&app, &again).await, 401);
    assert_eq!(refresh(&app, &again).await, 401);
    assert_eq!(login(&app, "sam@acme.test", "staff password 1").await, 401);
    disable(false).await.expect(200);
    assert_eq!(login(&app, "sam@acme.test", "staff password 1").await, 200);

    // Only owners manage people; the list shows everyone.
    let people = app.get("/v1/users", As::Bearer(owner_token)).await.expect(200);
    assert_eq!(people["items"].as_array().unwrap().len(), 2);
    let staff_now = app.customer_session("sam@acme.test", "staff password 1").await;
    app.get("/v1/users", As::Bearer(access(&staff_now)))
        .await
        .expect_problem(403, "forbidden");
}

#[actix_web::test]
async fn the_last_enabled_owner_stays_one() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let id = owner["user"]["id"].as_str().unwrap().to_owned();
    for change in [json!({"role": "staff"}), json!({"disabled": true})] {
        let problem = app
            .call(
                actix_web::http::Method::PATCH,
                &format!("/v1/users/{id}"),
                As::Bearer(access(&owner)),
                change,
            )
            .await
            .expect_problem(409, "conflict");
        assert_eq!(problem["errors"][0]["field"], "role");
    }
    assert_eq!(me(&app, &owner).await, 200, "nothing changed");
}

#[actix_web::test]
async fn a_withdrawn_invitation_cannot_be_accepted() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let invitation = app
        .post(
            "/v1/invitations",
            As::Bearer(access(&owner)),
            json!({"email": "late@acme.test", "role": "staff"}),
        )
        .await
        .expect(201);
    let uri = format!("/v1/invitations/{}", invitation["id"].as_str().unwrap());
    app.call(
        actix_web::http::Method::DELETE,
        &uri,
        As::Bearer(access(&owner)),
        Value::Null,
    )
    .await
    .expect(204);
    app.call(
        actix_web::http::Method::DELETE,
        &uri,
        As::Bearer(access(&owner)),
        Value::Null,
    )
    .await
    .expect_problem(404, "not-found");
    app.post(
        "/v1/auth/accept-invitation",
        As::Nobody,
        json!({"token": invitation["token"], "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "unauthorized");
}

/// The reset message the outbox holds for `email`: its token.
async fn mailed_token(app: &TestApp, email: &str) -> Option<String> {
    let mut owner = app.tenant().owner().await;
    sqlx::query_scalar(
        "SELECT body->>'token' FROM outbox WHERE recipient = $1 AND kind = 'password_reset' \
         ORDER BY created_at DESC, id LIMIT 1",
    )
    .bind(email)
    .fetch_optional(&mut owner)
    .await
    .unwrap()
}

#[actix_web::test]
async fn a_password_reset_is_mailed_spent_once_and_ends_every_session() {
    let app = TestApp::new().await;
    let old = app.customer("cleo@example.com").await;
    let ask = |email: &'static str| app.post("/v1/auth/password-reset", As::Nobody, json!({"email": email}));
    let known = ask("cleo@example.com").await.expect(202);
    let unknown = ask("nobody@example.com").await.expect(202);
    assert_eq!(known, unknown, "the answer tells nothing");
    assert_eq!(mailed_token(&app, "nobody@example.com").await, None);
    let first = mailed_token(&app, "cleo@example.com").await.unwrap();
    // Asking again replaces the first token.
    ask("cleo@example.com").await.expect(202);
    let token = mailed_token(&app, "cleo@example.com").await.unwrap();
    assert_ne!(token, first);

    let confirm = |token: String| {
        app.post(
            "/v1/auth/password-reset/confirm",
            As::Nobody,
            json!({"token": token, "new_password": "a fresh passphrase"}),
        )
    };
    confirm(first).await.expect_problem(401, "unauthorized");
    confirm(token.clone()).await.expect(204);
    confirm(token).await.expect_problem(401, "unauthorized");
    assert_eq!(me(&app, &old).await, 401, "every session ended");
    assert_eq!(refresh(&app, &old).await, 401);
    assert_eq!(login(&app, "cleo@example.com", PASSWORD).await, 401);
    assert_eq!(login(&app, "cleo@example.com", "a fresh passphrase").await, 200);

    // An expired token is refused.
    ask("cleo@example.com").await.expect(202);
    let late = mailed_token(&app, "cleo@example.com").await.unwrap();
    let mut owner = app.tenant().owner().await;
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&mut owner)
        .await
        .unwrap();
    confirm(late).await.expect_problem(401, "unauthorized");
}
