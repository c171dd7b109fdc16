//! Paging a transcript back from its newest message: the console opens a long chat with
//! its last page and fetches older ones as the agent scrolls up.

use bellhop_protocol::api::TranscriptPage;
use bellhop_tests::{Backend, Client, both_backends, is_ack_of, send_pipelined, spawn_app};

both_backends!(paging_back_over_a_thousand_messages_returns_each_page_in_order);

async fn page(app: &Client, path: &str, token: &str) -> TranscriptPage {
    app.get_json(path, token).await
}

fn seqs(page: &TranscriptPage) -> Vec<u64> {
    page.messages.iter().map(|m| m.seq).collect()
}

/// A chat of 1000 messages: its newest page is seqs 901 to 1000 with `prev_before` 901; the
/// pages before it follow back to seq 1, each in seq order, together every message once, the
/// last without `prev_before`. `limit` and `after` bound a page; the visitor pages the same.
async fn paging_back_over_a_thousand_messages_returns_each_page_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    // Seq 1 the visitor's first message, seq 2 the automatic reply, then 998 more.
    let (visitor, mut ws, chat) = app.open_chat(&app.demo_site, None, "message 1").await;
    send_pipelined(&mut ws, "m", 998, Some(chat)).await;
    ws.expect("the last ack", is_ack_of("m-997")).await;
    let base = format!("/api/v1/conversations/{chat}/messages");

    let newest = page(
        &app,
        &format!("{base}?before={}", u64::MAX),
        &app.admin_token,
    )
    .await;
    assert_eq!(seqs(&newest), (901..=1000).collect::<Vec<_>>());
    assert_eq!(newest.prev_before, Some(901));
    assert_eq!(newest.next_after, None);
    assert_eq!(newest.messages[99].body, "m 997");

    let mut all = Vec::new();
    let mut before = newest.prev_before;
    all.splice(0..0, seqs(&newest));
    let mut pages = 1;
    while let Some(b) = before {
        let older = page(
            &app,
            &format!("{base}?before={b}&limit=250"),
            &app.admin_token,
        )
        .await;
        let got = seqs(&older);
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
        assert_eq!(got.last(), Some(&(b - 1)));
        // More follow after every older page.
        assert_eq!(older.next_after, got.last().copied());
        all.splice(0..0, got);
        before = older.prev_before;
        pages += 1;
    }
    assert_eq!(pages, 5, "100 and then 250 a page");
    assert_eq!(all, (1..=1000).collect::<Vec<_>>());

    // `after` bounds a page from below; the first page has no `prev_before`.
    let middle = page(
        &app,
        &format!("{base}?before=500&after=480"),
        &app.admin_token,
    )
    .await;
    assert_eq!(seqs(&middle), (481..=499).collect::<Vec<_>>());
    assert_eq!(middle.prev_before, None);
    let first = page(&app, &format!("{base}?before=4"), &visitor.token).await;
    assert_eq!(seqs(&first), vec![1, 2, 3]);
    assert_eq!(first.prev_before, None);
    let nothing = page(&app, &format!("{base}?before=1"), &visitor.token).await;
    assert!(nothing.messages.is_empty());
    assert_eq!((nothing.prev_before, nothing.next_after), (None, None));

    // Paging forwards is as before.
    let forwards = page(&app, &format!("{base}?after=998"), &visitor.token).await;
    assert_eq!(seqs(&forwards), vec![999, 1000]);
    assert_eq!((forwards.prev_before, forwards.next_after), (None, None));
}
