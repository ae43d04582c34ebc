//! The lists admins work from: the approval queue oldest first, page by page, and the user list
//! searched by name, email or username, with wildcard characters taken literally.

use serde_json::{Value, json};

use crate::flows::{admin_token, new_person_names, pending_person, registration};
use crate::harness::{Storage, System, json};

fn user_ids(body: &Value) -> Vec<String> {
    body["data"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {body}"))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_is_oldest_first_by_pages_and_search_takes_text_literally() {
    queue_and_search(Storage::Embedded).await;
}

/// On PostgreSQL the search is served by a trigram index of the same expression.
#[tokio::test(flavor = "multi_thread")]
async fn the_queue_and_search_work_alike_on_postgres() {
    queue_and_search(Storage::shared_servers()).await;
}

async fn queue_and_search(storage: Storage<'_>) {
    let system = System::start_with_mail(storage, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let mut waiting = Vec::new();
    for _ in 0..3 {
        waiting.push(pending_person(&system).await.user_id);
    }

    let (_, all) = system.get_as("/api/admin/pending", &admin).await;
    assert_eq!(user_ids(&all), waiting);
    assert_eq!(all["data"]["total"], 3);
    let (_, second) = system
        .get_as("/api/admin/pending?page=2&per_page=1", &admin)
        .await;
    assert_eq!(user_ids(&second), [waiting[1].clone()]);
    assert_eq!(second["data"]["total"], 3);

    // Someone with a distinctive name, found by any part of it, in any case.
    let (username, email) = new_person_names();
    let mut body = registration(&username, &email);
    body["full_name"] = json!("Ursula K. Percentage");
    let (status, registered) = system.post("/api/register", None, body).await;
    assert_eq!(status, 201, "{registered}");
    let ursula = registered["data"]["user_id"].as_str().unwrap().to_string();
    let search = |q: &str| {
        let request = system
            .client()
            .get(system.url("/api/admin/users"))
            .query(&[("q", q)])
            .bearer_auth(&admin);
        async move { json(request.send().await.unwrap()).await }
    };
    for q in ["ursula", "PERCENT", &username.to_uppercase(), &email] {
        let (status, found) = search(q).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(user_ids(&found), std::slice::from_ref(&ursula), "q={q}");
    }
    // Filters by when they registered and last logged in (Ursula never did).
    let filtered = |extra: &'static str| {
        let request = system
            .client()
            .get(system.url(&format!("/api/admin/users?q=ursula&{extra}")))
            .bearer_auth(&admin);
        async move { json(request.send().await.unwrap()).await }
    };
    for (extra, found) in [
        ("registered_from=2000-01-01T00:00:00Z", true),
        ("registered_before=2000-01-01T00:00:00Z", false),
        ("logged_in_since=2000-01-01T00:00:00Z", false),
    ] {
        let (status, body) = filtered(extra).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(user_ids(&body).contains(&ursula), found, "{extra}: {body}");
    }
    let (status, _) = filtered("registered_from=yesterday").await;
    assert_eq!(status, 422);

    // `%` and `_` are characters to find, not wildcards; nothing matches across two fields.
    for q in ["%", "_", "ursula%", &format!("percentage{email}")] {
        let (_, found) = search(q).await;
        assert_eq!(user_ids(&found), Vec::<String>::new(), "q={q}");
    }
}
