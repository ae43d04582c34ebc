//! Changing a service, on both backends: a registered service takes its new hosts, upstreams and
//! warning in one audited step; a bad or conflicting change keeps what was stored; a service the
//! configuration file defines keeps the file's definition and changes only its warning.

use auth_core::Error;
use auth_core::services::{NewService, ServiceChanges};
use serde_json::json;

use crate::core_test;
use crate::harness::TestCore;

fn changes(hosts: &[&str], upstreams: &[&str]) -> ServiceChanges {
    ServiceChanges {
        name: "Reports".into(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        path_prefix: None,
        upstreams: upstreams.iter().map(|u| u.to_string()).collect(),
        warning_banner: None,
        warning_minutes: None,
    }
}

core_test!(
    a_registered_service_changes_in_one_step_or_not_at_all,
    |t| {
        let admin = t.admin().await;
        let services = t.core.services();
        let context = TestCore::context();
        let new: NewService = serde_json::from_value(json!({
            "name": "Reports", "slug": "reports",
            "hosts": ["reports.example.com"], "upstreams": ["127.0.0.1:7001"],
        }))
        .unwrap();
        services.register(&admin, new, &context).await.unwrap();

        let taken = services
            .update(
                &admin,
                "reports",
                changes(&["service-b.localhost"], &["127.0.0.1:7002"]),
                &context,
            )
            .await;
        assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
        let mut too_long = changes(&["reports.example.com"], &["127.0.0.1:7002"]);
        too_long.warning_minutes = Some(1441);
        let refused = services.update(&admin, "reports", too_long, &context).await;
        assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
        let stored = services.get("reports").await.unwrap();
        assert_eq!(stored.upstreams, ["127.0.0.1:7001"]);
        assert_eq!(stored.warning_minutes, None);

        let mut moved = changes(&["Reports2.Example.com"], &["127.0.0.1:7002"]);
        moved.warning_minutes = Some(30);
        moved.warning_banner = Some(false);
        let after = services
            .update(&admin, "reports", moved, &context)
            .await
            .unwrap();
        assert_eq!(after.hosts, ["reports2.example.com"]);
        assert_eq!(after.upstreams, ["127.0.0.1:7002"]);
        assert_eq!(after.warning_minutes, Some(30));
        assert_eq!(after.warning_banner, Some(false));
        assert_eq!(services.get("reports").await.unwrap(), after);
    }
);

core_test!(a_file_service_changes_only_its_warning, |t| {
    let admin = t.admin().await;
    let services = t.core.services();
    let context = TestCore::context();
    let before = services.get("service-b").await.unwrap();
    let mut same = ServiceChanges {
        name: before.name.clone(),
        hosts: before.hosts.clone(),
        path_prefix: before.path_prefix.clone(),
        upstreams: before.upstreams.clone(),
        warning_banner: Some(false),
        warning_minutes: Some(5),
    };
    let after = services
        .update(&admin, "service-b", same.clone(), &context)
        .await
        .unwrap();
    assert_eq!(after.warning_minutes, Some(5));
    assert_eq!(after.warning_banner, Some(false));

    same.upstreams = vec!["127.0.0.1:7003".into()];
    let redefined = services.update(&admin, "service-b", same, &context).await;
    assert!(
        matches!(redefined, Err(Error::Conflict(_))),
        "{redefined:?}"
    );
    assert_eq!(
        services.get("service-b").await.unwrap().upstreams,
        before.upstreams
    );
});
