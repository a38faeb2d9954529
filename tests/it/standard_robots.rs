//! Standard robots are found by their role, never by their name: an operator may rename any of
//! them, and `setup apply`, the checklist, the console's guide steps and the demo still find
//! them. And a store that cannot be read is an error, never "nothing is due".

use shukka::domain::Actor;
use shukka::engine::SetupFile;
use shukka::robots::linkage::{RobotRole, find_role};
use shukka::secret::Secret;
use shukka::service::{Caller, Reply, Request, execute};

use crate::common::*;

#[tokio::test]
async fn renamed_standard_robots_are_still_found_and_never_duplicated() {
    let sim = start_sim(20, 50).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let before = engine.store().linkage_robots().expect("robots");
    assert!(find_role(&before, RobotRole::EasyFetch).is_some());
    assert!(find_role(&before, RobotRole::Release).is_some());
    let checklist_before = engine.checklist().expect("checklist");
    // The shop renames every linkage robot (and the guide's converter copy).
    for r in &before {
        engine
            .rename_linkage(r.id, &format!("店の連携 {}", r.id), &operator())
            .expect("rename");
    }
    // The same setup file again, and every guide step the console offers.
    let file = SetupFile::parse(&setup_toml(&sim, "UNUSED")).expect("setup file");
    engine
        .apply_setup(&file, Secret::new("demo-secret"), &operator())
        .await
        .expect("setup applies again");
    let caller = Caller::owner(Actor::Operator("tester".into()));
    for step in [2, 4, 5, 6] {
        let r = execute(
            &engine,
            &caller,
            Request::GuideStep { step },
            Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("guide step {step}: {e:?}"));
        assert!(matches!(r, Reply::Done), "{r:?}");
    }
    for role in [
        RobotRole::EasyFetch,
        RobotRole::EasyStatus,
        RobotRole::EasyTracking,
        RobotRole::Release,
    ] {
        let r = execute(
            &engine,
            &caller,
            Request::StandardRobot {
                role,
                auth_id: None,
            },
            Default::default(),
        )
        .await
        .expect("standard robot");
        let Reply::Linkage(r) = r else {
            panic!("not a robot: {r:?}")
        };
        assert!(
            r.name.starts_with("店の連携"),
            "{role:?} came back as {}",
            r.name
        );
    }
    let after = engine.store().linkage_robots().expect("robots");
    assert_eq!(
        after.len(),
        before.len(),
        "no duplicates: {:?}",
        after.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    assert!(after.iter().all(|r| r.name.starts_with("店の連携")));
    // The checklist still finds them: what was ✓ stays ✓.
    let checklist = engine.checklist().expect("checklist");
    for (a, b) in checklist_before.iter().zip(&checklist) {
        assert!(
            !a.ok || b.ok,
            "item {} went ✗ after the rename: {}",
            b.number,
            b.reason
        );
    }
    for n in [4, 6] {
        assert!(
            checklist.iter().any(|i| i.number == n && i.ok),
            "item {n}: {checklist:?}"
        );
    }
}

/// A linkage robot's cursor that cannot be read: the scheduler says so instead of treating
/// the robot as not due (which stopped syncing without a word).
#[tokio::test]
async fn an_unreadable_store_is_an_error_for_the_scheduler() {
    let sim = start_sim(5, 50).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    let fetch = find_role(
        &engine.store().linkage_robots().expect("robots"),
        RobotRole::EasyFetch,
    )
    .expect("fetch robot")
    .id;
    assert!(engine.due_robots().is_ok());
    drop(engine);
    {
        let db = raw_sled(&dir.path().join("store"));
        let data = db.open_tree("data").expect("tree");
        let mut key = vec![b'k'];
        key.extend_from_slice(&fetch.to_be_bytes());
        data.insert(key, b"\xff\xfe not a record".to_vec())
            .expect("insert");
        db.flush().expect("flush");
    }
    let engine = engine_in(dir.path());
    let err = engine.due_robots().expect_err("a store error surfaces");
    assert!(err.to_string().contains("unreadable"), "{err}");
    let err = engine
        .run_due_once()
        .await
        .expect_err("sync --once fails too");
    assert!(err.to_string().contains("unreadable"), "{err}");
}
