//! Failing to sign in or registering a taken email must not tell, by how
//! long it takes, whether an email has an account. In a test binary of their
//! own, one test at a time: other tests hashing passwords at the same time
//! queue for the same hashing threads, and the wait decided the ratio.

mod support;

use serde_json::{Value, json};
use support::TestApp;

const PASSWORD: &str = "correct horse battery";

/// One timing test at a time.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_email_take_the_same_time() {
    let _alone = ALONE.lock().await;
    let app = TestApp::new().await;
    app.customer("known@example.com").await;
    let ratio = median_time_ratio(
        &app,
        "/v1/auth/login",
        |_| json!({"email": "known@example.com", "password": "wrong password"}),
        |_| json!({"email": "nobody@example.com", "password": PASSWORD}),
        401,
    )
    .await;
    assert!(
        (1.0 / 1.2..=1.2).contains(&ratio),
        "an unknown email takes {ratio:.2}× the time of a wrong password: \
         the time tells which emails have accounts"
    );
}

#[actix_web::test]
async fn registering_a_taken_email_looks_and_takes_the_same_as_a_new_one() {
    let _alone = ALONE.lock().await;
    let app = TestApp::new().await;
    app.customer("taken@example.com").await;
    let ratio = median_time_ratio(
        &app,
        "/v1/auth/register",
        |n| json!({"email": format!("new{n}@example.com"), "password": PASSWORD}),
        |_| json!({"email": "taken@example.com", "password": "another passphrase"}),
        202,
    )
    .await;
    assert!(
        (1.0 / 1.2..=1.2).contains(&ratio),
        "registering a taken email takes {ratio:.2}× the time of a new one: \
         the time tells which emails have accounts"
    );
}

/// The median, over pairs of requests to `path`, of how long the second
/// kind of body takes over the first; each must answer `status`.
///
/// In pairs, back to back and in alternating order, so that load on the
/// machine slows both of a pair alike; the median of the pairs' ratios, so
/// a few stalls do not decide. Two medians of separate series failed on a
/// busy machine.
async fn median_time_ratio(
    app: &TestApp,
    path: &str,
    first: impl Fn(usize) -> Value,
    second: impl Fn(usize) -> Value,
    status: u16,
) -> f64 {
    const PAIRS: usize = 21;
    // Once each first: the pool's connections open and the code pages in.
    timed(app, path, &first(PAIRS), status).await;
    timed(app, path, &second(PAIRS), status).await;
    let mut ratios = Vec::new();
    for pair in 0..PAIRS {
        let (a, b) = if pair % 2 == 0 {
            let a = timed(app, path, &first(pair), status).await;
            (a, timed(app, path, &second(pair), status).await)
        } else {
            let b = timed(app, path, &second(pair), status).await;
            (timed(app, path, &first(pair), status).await, b)
        };
        ratios.push(b.as_secs_f64() / a.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[PAIRS / 2];
    eprintln!("{path}: the second kind takes {ratio:.2}× the time of the first (median of {PAIRS} pairs)");
    ratio
}

/// How long a POST of `body` to `path` takes to answer `status`. Each comes
/// from a client of its own, so the sign-in throttling (`limits::login`)
/// never answers in its place.
async fn timed(app: &TestApp, path: &str, body: &Value, status: u16) -> std::time::Duration {
    static CLIENT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let [high, low] = CLIENT
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_be_bytes();
    let request = actix_web::test::TestRequest::post()
        .uri(path)
        .peer_addr(std::net::SocketAddr::from(([198, 18, high, low], 40000)))
        .set_json(body);
    let started = std::time::Instant::now();
    let reply = app.send(request).await;
    let elapsed = started.elapsed();
    reply.expect(status);
    elapsed
}
