//! The live stream across replicas: two API processes on one tenant
//! database, each client sees every event in commit order exactly once,
//! resumes without a gap, survives its replica losing the database's
//! notifications, and a client that stops reading is dropped, having cost
//! no memory beyond its store's backlog. Every message is checked against the
//! OpenAPI document's schema (`support::replica::Stream::next`).

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::replica::{Credentials, Replica, Stream};
use support::{As, Shop, access, product};

/// A shop selling a mug with plenty in stock; the mug's variant.
async fn shop() -> (Shop, String) {
    let shop = Shop::new().await;
    let mug = shop.variant(product("Mug", "MUG", 900)).await;
    shop.receive(&mug, 100_000).await;
    (shop, mug)
}

/// Places an order of one `variant` through `replica`, as the owner; its id.
fn place(replica: &Replica, shop: &Shop, variant: &str) -> String {
    let body = json!({"lines": [{"variant_id": variant, "quantity": 1}]});
    let (status, order) = replica.call(
        "POST",
        &format!("{}/orders", shop.base),
        shop.staff(),
        Some(&body),
    );
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

fn pay(replica: &Replica, shop: &Shop, order: &str) {
    let (status, paid) = replica.call(
        "POST",
        &format!("{}/orders/{order}/pay", shop.base),
        shop.staff(),
        Some(&json!({})),
    );
    assert_eq!(status, 200, "{paid}");
}

/// The tenant database as the platform's superuser (who bypasses row-level
/// security): for what no API route does, a burst of events in one commit.
async fn tenant_as_superuser(shop: &Shop) -> sqlx::PgConnection {
    use sqlx::Connection;
    let options: sqlx::postgres::PgConnectOptions = support::admin_url().parse().unwrap();
    sqlx::PgConnection::connect_with(&options.database(&shop.app.tenant().names.database))
        .await
        .unwrap()
}

fn ids(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|event| event["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn orders_of<'e>(events: &'e [Value], kind: &str) -> Vec<&'e str> {
    events
        .iter()
        .filter(|event| event["type"] == kind)
        .map(|event| event["order"]["id"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn every_replica_streams_every_order_in_commit_order_exactly_once() {
    let (shop, mug) = shop().await;
    let a = Replica::start(&shop.app, &[]);
    let b = Replica::start(&shop.app, &[]);
    let token = access(&shop.owner);
    let (mut on_a, missed, _) = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    assert!(missed.is_empty(), "a new client starts from now: {missed:?}");
    let (mut on_b, _, _) = Stream::open(b.port, &shop.base, Credentials::Bearer(token), None).await;

    // Four buyers at once, through both replicas: commits interleave.
    let placed: Vec<String> = std::thread::scope(|scope| {
        let buyers: Vec<_> = (0..4)
            .map(|buyer| {
                let (shop, mug, replica) = (&shop, &mug, if buyer % 2 == 0 { &a } else { &b });
                scope.spawn(move || {
                    (0..10)
                        .map(|n| {
                            let order = place(replica, shop, mug);
                            if n % 2 == 0 {
                                pay(replica, shop, &order);
                            }
                            order
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        buyers
            .into_iter()
            .flat_map(|buyer| buyer.join().unwrap())
            .collect()
    });

    let from_a = on_a.events(60).await;
    let from_b = on_b.events(60).await;
    let sequence = ids(&from_a);
    assert!(
        sequence.windows(2).all(|pair| pair[0] < pair[1]),
        "ids increase: {sequence:?}"
    );
    assert_eq!(
        ids(&from_b),
        sequence,
        "both replicas send the same events in the same order"
    );
    let placed_set: BTreeSet<&str> = placed.iter().map(String::as_str).collect();
    let announced = orders_of(&from_a, "order.placed");
    assert_eq!(announced.len(), 40, "each order announced once");
    assert_eq!(announced.iter().copied().collect::<BTreeSet<_>>(), placed_set);
    let paid = orders_of(&from_a, "order.paid");
    assert_eq!(paid.len(), 20);
    for order in paid {
        let placed_at = from_a
            .iter()
            .position(|e| e["type"] == "order.placed" && e["order"]["id"] == order);
        let paid_at = from_a
            .iter()
            .position(|e| e["type"] == "order.paid" && e["order"]["id"] == order);
        assert!(placed_at < paid_at, "an order is placed before it is paid");
    }
    let first = &from_a[0];
    assert_eq!(first["order"]["currency"], "EUR");
    assert_eq!(first["order"]["total_minor"], 900);

    // Nothing more: exactly once.
    place(&b, &shop, &mug);
    let next = on_a.events(1).await;
    assert_eq!(next[0]["type"], "order.placed");
    assert!(ids(&next)[0] > *sequence.last().unwrap());
}

#[actix_web::test]
async fn a_client_that_reconnects_with_its_last_id_gets_exactly_what_it_missed() {
    let (shop, mug) = shop().await;
    let a = Replica::start(&shop.app, &[]);
    let b = Replica::start(&shop.app, &[]);
    let token = access(&shop.owner);
    let (mut stream, _, _) = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    for _ in 0..3 {
        place(&a, &shop, &mug);
    }
    let seen = stream.events(3).await;
    let last = seen[2]["id"].as_str().unwrap().to_owned();
    stream.close().await;

    let missed: Vec<String> = (0..4).map(|_| place(&b, &shop, &mug)).collect();
    // Back on the other replica, as a reconnect behind a Service may be.
    let (mut stream, caught_up, ready) =
        Stream::open(b.port, &shop.base, Credentials::Bearer(token), Some(&last)).await;
    assert_eq!(
        orders_of(&caught_up, "order.placed"),
        missed,
        "what it missed, in order"
    );
    assert_eq!(caught_up.len(), 4, "and nothing else: {caught_up:?}");
    assert_eq!(ready, caught_up[3]["id"]);
    let live = place(&a, &shop, &mug);
    assert_eq!(
        orders_of(&stream.events(1).await, "order.placed"),
        [live.as_str()]
    );

    // An id the log does not hold: told to reload, then live.
    let (mut stream, before, _) =
        Stream::open(a.port, &shop.base, Credentials::Bearer(token), Some("999999999")).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["type"], "reload");
    let live = place(&b, &shop, &mug);
    assert_eq!(
        orders_of(&stream.events(1).await, "order.placed"),
        [live.as_str()]
    );
}

#[actix_web::test]
async fn a_replica_whose_listener_is_killed_delivers_what_happened_meanwhile() {
    let (shop, mug) = shop().await;
    let a = Replica::start(&shop.app, &[]);
    let b = Replica::start(&shop.app, &[]);
    let token = access(&shop.owner);
    let (mut on_a, _, _) = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    let (mut on_b, _, _) = Stream::open(b.port, &shop.base, Credentials::Bearer(token), None).await;
    let order = place(&a, &shop, &mug);
    on_a.events(1).await;
    on_b.events(1).await;

    // A is stopped, the database ends the listening connections, and the
    // order moves: B numbers and announces it while A cannot listen, so
    // A's notification is lost for good. The sequencer's lock is held
    // meanwhile, so that A is not stopped in the middle of a batch (which
    // would hold the lock, and B would wait for it).
    let mut superuser = tenant_as_superuser(&shop).await;
    sqlx::query("SELECT pg_advisory_lock(5172346917)")
        .execute(&mut superuser)
        .await
        .unwrap();
    a.signal("STOP");
    let admin = support::admin().await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
         WHERE datname = $1 AND query LIKE 'LISTEN%'",
    )
    .bind(&shop.app.tenant().names.database)
    .fetch_all(&admin.pool)
    .await
    .unwrap();
    assert_eq!(killed, [true, true], "each replica's one listening connection");
    let store: uuid::Uuid = shop.base.rsplit('/').next().unwrap().parse().unwrap();
    for kind in ["paid", "fulfilled"] {
        sqlx::query(
            "INSERT INTO order_events (id, store_id, order_id, kind, to_status, actor) \
             VALUES (gen_random_uuid(), $1, $2::uuid, $3, $3, 'system')",
        )
        .bind(store)
        .bind(&order)
        .bind(kind)
        .execute(&mut superuser)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(5172346917)")
        .execute(&mut superuser)
        .await
        .unwrap();
    let kinds =
        |events: Vec<Value>| -> Vec<Value> { events.into_iter().map(|e| e["type"].clone()).collect() };
    let moved = [json!("order.paid"), json!("order.fulfilled")];
    assert_eq!(
        kinds(on_b.events(2).await),
        moved,
        "B listened again and delivered"
    );
    a.signal("CONT");

    // A finds its connection gone, listens again, and reads what it missed.
    assert_eq!(kinds(on_a.events(2).await), moved);
    a.wait_until("the listener's reconnect to be counted", |a| {
        a.metric("shopfleet_api_stream_listener_reconnects_total") >= Some(1.0)
    })
    .await;
    let later = place(&a, &shop, &mug);
    assert_eq!(orders_of(&on_a.events(1).await, "order.placed"), [later.as_str()]);
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_dropped_and_holds_no_more_memory_than_the_backlog() {
    let (shop, mug) = shop().await;
    let a = Replica::start(&shop.app, &[]);
    let token = access(&shop.owner);
    let order = place(&a, &shop, &mug);
    let (mut reader, _, _) = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    // A client that opens the stream, with a small receive window, and
    // then never reads again.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let connection = socket.connect(([127, 0, 0, 1], a.port).into()).await.unwrap();
    let request = Stream::request(a.port, &shop.base, Credentials::Bearer(token), None);
    let (stalled, _) = tokio_tungstenite::client_async(request, connection)
        .await
        .unwrap();
    a.wait_until("both streams to be open", |a| {
        a.metric("shopfleet_api_stream_clients") == Some(2.0)
    })
    .await;
    let before = a.resident_kib();

    // A burst of events far larger than the channel's backlog and than
    // what the stalled client's connection can hold.
    const BURST: i64 = 40_000;
    let mut superuser = tenant_as_superuser(&shop).await;
    let store: uuid::Uuid = shop.base.rsplit('/').next().unwrap().parse().unwrap();
    sqlx::query(
        "INSERT INTO order_events (id, store_id, order_id, kind, to_status, actor) \
         SELECT gen_random_uuid(), $1, $2::uuid, 'fulfilled', 'fulfilled', 'system' \
         FROM generate_series(1, $3)",
    )
    .bind(store)
    .bind(&order)
    .bind(BURST)
    .execute(&mut superuser)
    .await
    .unwrap();

    // The reader gets every one of them, in order, though it fell behind
    // the channel on the way (it catches up from the log).
    let burst = reader.events(BURST as usize).await;
    let sequence = ids(&burst);
    assert!(
        sequence.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "every event, in order, once"
    );
    let after = a.resident_kib();
    // 40,000 messages of about 250 bytes held for the stalled client would
    // be 10 MB; what the process holds is bounded by the backlog.
    assert!(
        after < before + 4 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );
    // And the server ends the stalled stream: a message waited 5 s for it,
    // or it answered no ping for 30 s (pings every 10 s). The stalled client
    // never leaves by itself, so no stream open means the server ended it.
    // The reader leaves (if it was not dropped already: the pings sent
    // during the burst reached it behind the burst, perhaps after 30 s).
    reader.close().await;
    let started = std::time::Instant::now();
    a.wait_up_to(
        std::time::Duration::from_secs(60),
        "the stalled client to be dropped",
        |a| a.metric("shopfleet_api_stream_clients") == Some(0.0),
    )
    .await;
    let slow = a.metric("shopfleet_api_stream_clients_dropped_total{reason=\"slow\"}");
    let silent = a.metric("shopfleet_api_stream_clients_dropped_total{reason=\"silent\"}");
    eprintln!(
        "dropped after {:?}: slow {slow:?}, silent {silent:?}",
        started.elapsed()
    );
    assert!(
        slow.unwrap_or(0.0) + silent.unwrap_or(0.0) >= 1.0,
        "the stalled client was counted as dropped, slow or silent"
    );
    drop(stalled);
}

#[actix_web::test]
async fn streams_past_the_limits_are_refused_with_a_reason() {
    let (shop, _) = shop().await;
    let second = shop.another_store("second").await;
    let third = shop.another_store("third").await;
    let a = Replica::start(
        &shop.app,
        &[
            ("SHOPFLEET_STREAMS_PER_STORE", "2"),
            ("SHOPFLEET_STREAMS_PER_REPLICA", "3"),
        ],
    );
    let token = access(&shop.owner);
    let _one = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    let _two = Stream::open(a.port, &shop.base, Credentials::Bearer(token), None).await;
    let mut refused = Stream::try_open(a.port, &shop.base, Credentials::Bearer(token), None)
        .await
        .unwrap();
    let close = refused.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1013);
    assert!(
        close.reason.contains("this store has 2 live streams open"),
        "{}",
        close.reason
    );

    let _three = Stream::open(a.port, &second.base, Credentials::Bearer(token), None).await;
    let mut refused = Stream::try_open(a.port, &third.base, Credentials::Bearer(token), None)
        .await
        .unwrap();
    let close = refused.closed().await.expect("a close frame");
    assert!(
        close.reason.contains("this server has 3 live streams open"),
        "{}",
        close.reason
    );
    assert_eq!(
        a.metric(r#"shopfleet_api_stream_clients_dropped_total{reason="refused"}"#),
        Some(2.0)
    );
}

#[actix_web::test]
async fn a_ticket_opens_one_stream_once_and_only_for_staff() {
    let (shop, _) = shop().await;
    let a = Replica::start(&shop.app, &[]);
    let issue = |who: As<'_>| a.call("POST", &format!("{}/stream/tickets", shop.base), who, None);
    let (status, ticket) = issue(shop.staff());
    assert_eq!(status, 201, "{ticket}");
    let expected_protocols = json!([
        "shopfleet.live.v1",
        format!("shopfleet.ticket.{}", ticket["ticket"].as_str().unwrap())
    ]);
    assert_eq!(ticket["protocols"], expected_protocols);
    let ticket = ticket["ticket"].as_str().unwrap();
    let (stream, _, _) = Stream::open(a.port, &shop.base, Credentials::Ticket(ticket), None).await;
    stream.close().await;

    let again = Stream::try_open(a.port, &shop.base, Credentials::Ticket(ticket), None).await;
    match again.map(|_| ()).unwrap_err().as_ref() {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("a used ticket opened the stream, or failed otherwise: {other}"),
    }

    let customer = shop.app.customer("c@example.com").await;
    let (status, problem) = issue(As::Bearer(access(&customer)));
    assert_eq!(status, 403, "{problem}");
    let (status, problem) = issue(As::Key(&shop.secret));
    assert_eq!(status, 422, "a key opens the stream with its header: {problem}");
}
