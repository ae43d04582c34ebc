//! Joining the staff by invitation, on both backends: the invited admin has no usable password
//! and does not count as an admin who can act until it uses the mailed link, which works once
//! (of two uses at once, exactly one), and not after 72 hours.

use auth_core::Error;
use auth_core::admins::{NewInvite, Role};
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::TestCore;

const CHOSEN: &str = "copper harbour willow 77";

async fn invite(t: &TestCore, name: &str, role: Role) -> auth_core::admins::Admin {
    let by = t.admin().await;
    t.core
        .admins()
        .invite(
            NewInvite {
                username: name.into(),
                email: format!("{name}@staff.example.com"),
                role,
            },
            &by,
            &TestCore::context(),
        )
        .await
        .unwrap()
}

core_test!(an_invitation_works_once_even_when_used_twice_at_once, |t| {
    let invited = invite(&t, "nora", Role::Support).await;
    let reader = t.reader().await;
    let listed = t.core.admins().list(&reader).await.unwrap();
    let row = listed.iter().find(|m| m.admin.id == invited.id).unwrap();
    assert!(row.invited_until.is_some(), "{row:?}");
    assert!(!row.enrolled);

    let token = t
        .mailed_token("nora@staff.example.com", "/admin/welcome?token=")
        .await;
    let weak = t
        .core
        .admins()
        .accept_invite(&token, "short", &TestCore::context())
        .await;
    assert!(matches!(weak, Err(Error::Validation(_))), "{weak:?}");

    let admins = t.core.admins();
    let context = TestCore::context();
    let (a, b) = tokio::join!(
        admins.accept_invite(&token, CHOSEN, &context),
        admins.accept_invite(&token, CHOSEN, &context),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let listed = t.core.admins().list(&reader).await.unwrap();
    let row = listed.iter().find(|m| m.admin.id == invited.id).unwrap();
    assert_eq!(row.invited_until, None);
    assert!(matches!(
        t.core.admins().invited_by(&token).await,
        Err(Error::InvalidToken)
    ));
});

core_test!(
    an_admin_not_yet_joined_is_not_one_who_can_act_and_its_link_expires,
    |t| {
        let only = t.admin().await;
        let reader = only.read();
        let me = t
            .core
            .admins()
            .list(&reader)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.admin.role == Role::Admin)
            .unwrap()
            .admin
            .id;
        let invited = t
            .core
            .admins()
            .invite(
                NewInvite {
                    username: "omar".into(),
                    email: "omar@staff.example.com".into(),
                    role: Role::Admin,
                },
                &only,
                &TestCore::context(),
            )
            .await
            .unwrap();
        let step_down = t
            .core
            .admins()
            .change_standing(me, Role::Support, false, &only, &TestCore::context())
            .await;
        assert!(
            matches!(step_down, Err(Error::Conflict(_))),
            "{step_down:?}"
        );

        let token = t
            .mailed_token("omar@staff.example.com", "/admin/welcome?token=")
            .await;
        t.clock.advance(SignedDuration::from_hours(72));
        assert!(matches!(
            t.core.admins().invited_by(&token).await,
            Err(Error::ExpiredToken)
        ));
        let late = t
            .core
            .admins()
            .accept_invite(&token, CHOSEN, &TestCore::context())
            .await;
        assert!(matches!(late, Err(Error::ExpiredToken)), "{late:?}");
        // Sent again, the new link works and the person joins.
        t.core
            .admins()
            .invite_again(invited.id, &only, &TestCore::context())
            .await
            .unwrap();
        let fresh = t
            .mailed_token("omar@staff.example.com", "/admin/welcome?token=")
            .await;
        assert_ne!(fresh, token);
        t.core
            .admins()
            .accept_invite(&fresh, CHOSEN, &TestCore::context())
            .await
            .unwrap();
        t.core
            .admins()
            .change_standing(me, Role::Support, false, &only, &TestCore::context())
            .await
            .unwrap();
    }
);
