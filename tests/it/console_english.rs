//! `--lang en`: every screen, popup and status message of the console is English. Japanese may
//! appear only where it is data (names, reasons and raw fields from futureshop or the engine) or a
//! domain name the spec keeps in Japanese (statuses, queues, 入金フラグ, robot actions). And the
//! console's own text lives in `tui/text.rs` alone: no other file of the console has a Japanese
//! string literal.

use std::path::Path;

use crossterm::event::KeyCode;
use serde_json::Value;
use shukka::domain::{PaymentFlag, RunState, Status};
use shukka::engine::setup::PRODUCT_MASTER_ROBOT;
use shukka::futureshop::PaymentType;
use shukka::futureshop::prefecture::PREFECTURES;
use shukka::robots::linkage::{
    EASY_FETCH, EASY_INVENTORY, EASY_STATUS, EASY_TRACKING, LinkAction, RELEASE_ROBOT, TEST_FETCH,
};
use shukka::service::{ErrorKind, ServiceError};
use shukka::tui::app::{App, AppEvent, Effect};
use shukka::tui::model::{QUEUES, Queue};
use shukka::tui::text::Lang;

use crate::console_fixtures::*;

fn is_japanese(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // hiragana, katakana (incl. ー and ・)
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{ff66}'..='\u{ff9f}' // half-width katakana
        | '【' | '】' | '「' | '」' | '、' | '。')
}

/// Maximal runs of Japanese characters in `s`.
fn japanese_runs(s: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if is_japanese(c) {
            cur.push(c);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Everything Japanese an English console may legitimately show: the fixture shop's data as the
/// console receives it (minus the checklist's Japanese texts) and the
/// domain names the spec keeps in Japanese.
fn allowed_japanese() -> String {
    // The checklist's Japanese title and reason are left out: the English console shows the
    // English ones the server sends along.
    let mut checklist = checklist();
    for item in &mut checklist {
        item.title.clear();
        item.reason.clear();
    }
    let data: Vec<Value> = vec![
        value(summaries()),
        value(intake_errors()),
        value(robots_view()),
        value(checklist),
        value(runs()),
        value(audit()),
        value(ship_froms()),
        value(auths()),
        value(products()),
        value(detail(1)),
        value(dry_run_changes()),
    ];
    let mut out: Vec<String> = data.iter().map(|v| v.to_string()).collect();
    // The raw futureshop order as the detail pretty-prints it (escapes written out).
    out.push(
        serde_json::to_string_pretty(&detail(1).instruction.raw.to_value()).unwrap_or_default(),
    );
    out.extend(Status::ALL.iter().map(|s| s.name().to_string()));
    out.extend(QUEUES.iter().map(|q| q.name().to_string()));
    for f in [
        PaymentFlag::Unpaid,
        PaymentFlag::Paid,
        PaymentFlag::NotRequired,
    ] {
        out.push(f.name().into());
    }
    for r in [
        RunState::Running,
        RunState::Done,
        RunState::Failed,
        RunState::Interrupted,
    ] {
        out.push(r.name().into());
    }
    out.extend(LinkAction::ALL.iter().map(|a| a.name().to_string()));
    out.extend(PaymentType::KNOWN.iter().map(|p| p.label_ja().to_string()));
    out.extend(PREFECTURES.iter().map(|p| p.name_ja.to_string()));
    // Robot names the console and かんたん設定 create.
    for n in [
        EASY_FETCH,
        EASY_STATUS,
        EASY_TRACKING,
        EASY_INVENTORY,
        RELEASE_ROBOT,
        TEST_FETCH,
        PRODUCT_MASTER_ROBOT,
    ] {
        out.push(n.into());
    }
    // The spec's names of setup steps and robot kinds, kept beside the English as glosses.
    for n in [
        "かんたん設定",
        "発送元",
        "API認証設定",
        "範囲指定",
        "ステータス同期",
        "出荷実績連携",
    ] {
        out.push(n.into());
    }
    out.join("\n")
}

/// The Japanese runs on the app's screen that are not data or domain names: UI text that
/// escaped translation.
fn untranslated(app: &App, allowed: &str) -> Vec<String> {
    let t = draw(app);
    let mut bad: Vec<String> = lines(&t)
        .iter()
        .flat_map(|l| japanese_runs(l))
        .filter(|run| !allowed.contains(run.as_str()))
        .collect();
    bad.dedup();
    bad
}

/// Answers every call among `fx` with success, as the server would.
fn succeed(app: &mut App, fx: Vec<Effect>) {
    for e in fx {
        if let Effect::Call(tag, _) = e {
            let r = success(&tag);
            app.update(AppEvent::Reply(tag, Ok(r)));
        }
    }
}

/// The states worth looking at: every tab, sub-tab, popup and a status message after each kind
/// of action, refusal and result. Each is built in the given language.
fn states(lang: Lang) -> Vec<(String, App)> {
    // Key strings go through `typ` one key at a time (a space is the Mark key); `then` is the last
    // key, whose calls the server answers with success.
    fn then(a: &mut App, keys: &str, last: char) {
        typ(a, keys);
        let fx = ch(a, last);
        succeed(a, fx);
    }
    fn enter(a: &mut App, keys: &str) {
        typ(a, keys);
        let fx = key(a, KeyCode::Enter);
        succeed(a, fx);
    }
    type Drive = fn(&mut App);
    let drives: Vec<(&str, Drive)> = vec![
        ("dashboard", |_| {}),
        ("every queue", |a| {
            typ(a, "2");
        }),
        ("detail", |a| {
            typ(a, "2");
            key(a, KeyCode::Enter);
            reply_detail(a, 1);
        }),
        ("detail of a held instruction", |a| {
            typ(a, "2");
            goto_queue(a, Queue::Status(Status::Held));
            key(a, KeyCode::Enter);
            reply_detail(a, 1);
        }),
        ("hold input", |a| {
            typ(a, "2 j H");
        }),
        ("hold without a reason", |a| enter(a, "2H")),
        ("held", |a| enter(a, "2Haddress")),
        ("ship input", |a| {
            typ(a, "2S");
        }),
        ("ship without a number", |a| enter(a, "2S")),
        ("shipped", |a| enter(a, "2S1234-5678")),
        ("ship several", |a| {
            typ(a, "2 j S");
        }),
        ("release confirm", |a| {
            typ(a, "2 j U");
        }),
        ("released", |a| {
            typ(a, "2");
            goto_queue(a, Queue::Status(Status::Held));
            then(a, "", 'U');
        }),
        ("work confirm", |a| {
            typ(a, "2 j W");
        }),
        ("work started", |a| then(a, "2", 'W')),
        ("cancel confirm", |a| {
            typ(a, "2 j j j C");
        }),
        ("cancelled", |a| then(a, "2C", 'y')),
        ("retried in 実績連携エラー", |a| {
            typ(a, "2");
            goto_queue(a, Queue::UpstreamErrors);
            then(a, "", 'R');
        }),
        ("retry outside 実績連携エラー", |a| {
            typ(a, "2R");
        }),
        ("an action on an intake error", |a| {
            typ(a, "2");
            goto_queue(a, Queue::IntakeErrors);
            typ(a, "H");
        }),
        ("intake retried", |a| {
            typ(a, "2");
            goto_queue(a, Queue::IntakeErrors);
            then(a, "", 'R');
        }),
        ("filter", |a| {
            typ(a, "2/zz-nothing");
        }),
        ("help on every tab", |a| {
            typ(a, "2?");
        }),
        ("help on the robots tab", |a| {
            typ(a, "3?");
        }),
        ("help on the setup tab", |a| {
            typ(a, "4?");
        }),
        ("command mode", |a| {
            typ(a, ":");
        }),
        ("unknown command", |a| {
            typ(a, ":frobnicate");
            key(a, KeyCode::Enter);
        }),
        ("synced", |a| enter(a, ":sync")),
        ("converters", |a| {
            typ(a, "3");
        }),
        ("apply on a converter", |a| {
            typ(a, "3a");
        }),
        ("duplicated", |a| then(a, "3", 'd')),
        ("rename input", |a| {
            typ(a, "3r");
        }),
        ("renamed", |a| enter(a, "3r")),
        ("toggled", |a| then(a, "3j", 'e')),
        ("move on a converter", |a| {
            typ(a, "3J");
        }),
        ("run on a converter", |a| {
            typ(a, "3x");
        }),
        ("trigger on a converter", |a| {
            typ(a, "3t");
        }),
        ("dry run on a converter", |a| {
            typ(a, "3D");
        }),
        ("processing robots", |a| {
            typ(a, "3l");
        }),
        ("duplicate on a processing robot", |a| {
            typ(a, "3ld");
        }),
        ("picker", |a| {
            typ(a, "3la");
        }),
        ("applied", |a| then(a, "3la", ' ')),
        ("moved", |a| then(a, "3l", 'J')),
        ("dry run", |a| {
            typ(a, "3l");
            for e in ch(a, 'D') {
                if let Effect::Call(shukka::tui::app::Tag::DryRun(name), _) = e {
                    reply_dry_run(a, &name);
                }
            }
        }),
        ("linkage robots", |a| {
            typ(a, "3ll");
        }),
        ("trigger input", |a| {
            typ(a, "3llt");
        }),
        ("trigger changed", |a| enter(a, "3llt")),
        ("ran", |a| then(a, "3ll", 'x')),
        ("setup", |a| {
            typ(a, "4");
        }),
        ("ship-from form", |a| {
            typ(a, "4f");
        }),
        ("ship-from without a name", |a| {
            typ(a, "4f");
            for _ in 0..40 {
                key(a, KeyCode::Backspace);
            }
            key(a, KeyCode::Enter);
        }),
        ("ship-from saved", |a| enter(a, "4f")),
        ("credentials form", |a| {
            typ(a, "4A");
        }),
        ("credentials with a bad pacing", |a| {
            typ(a, "4A");
            for _ in 0..5 {
                key(a, KeyCode::Tab);
            }
            typ(a, "soon");
            key(a, KeyCode::Enter);
        }),
        ("connection test", |a| {
            typ(a, "4T");
        }),
        ("easy setup confirm", |a| {
            typ(a, "4E");
        }),
        ("easy setup done", |a| then(a, "4E", 'y')),
        ("products", |a| then(a, "4", 'p')),
        ("every checklist item opened", |a| {
            typ(a, "4G");
            key(a, KeyCode::Enter);
        }),
        ("run log", |a| {
            typ(a, "5");
        }),
        ("audit log", |a| {
            typ(a, "5l");
        }),
        ("reload", |a| {
            a.update(AppEvent::Lagged);
        }),
        ("a background task failed", |a| {
            a.update(AppEvent::TaskFailed(
                shukka::tui::app::Failure::TaskPanicked,
            ));
        }),
    ];
    let mut out = Vec::new();
    for (name, drive) in &drives {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app_with(lang, true, false, w, h);
            drive(&mut a);
            out.push((format!("{name} at {w}×{h}"), a));
        }
    }
    // Every checklist item's Enter: the place or popup it opens, then the result of accepting.
    for n in 0..7 {
        let open = |lang| {
            let mut a = app_with(lang, true, false, 120, 40);
            ch(&mut a, '4');
            for _ in 0..n {
                ch(&mut a, 'j');
            }
            let fx = key(&mut a, KeyCode::Enter);
            (a, fx)
        };
        let (a, _) = open(lang);
        out.push((format!("checklist item {} opened", n + 1), a));
        let (mut a, fx) = open(lang);
        let fx = if a.popup.is_some() {
            ch(&mut a, 'y')
        } else {
            fx
        };
        succeed(&mut a, fx);
        out.push((format!("checklist item {} done", n + 1), a));
    }
    out
}

#[test]
fn english_console_shows_no_japanese_but_data_and_domain_names() {
    let allowed = allowed_japanese();
    let mut failures = Vec::new();
    for (name, app) in states(Lang::En) {
        let bad = untranslated(&app, &allowed);
        if !bad.is_empty() {
            failures.push(format!("{name}: {bad:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "UI text left in Japanese in the English console:\n{}",
        failures.join("\n")
    );
}

/// The check above can fail: the same states in Japanese show plenty of UI text that is not
/// data, and every state of the English console looked at shows some English.
#[test]
fn the_english_check_sees_japanese_ui_text() {
    let allowed = allowed_japanese();
    let ja = states(Lang::Ja);
    let flagged = ja
        .iter()
        .filter(|(_, app)| !untranslated(app, &allowed).is_empty())
        .count();
    assert_eq!(
        flagged,
        ja.len(),
        "every Japanese state shows UI text the check recognises as not data"
    );
}

#[test]
fn english_status_messages_are_english() {
    // A sample of results and refusals, by what they say.
    let mut a = app_with(Lang::En, true, false, 120, 40);
    ch(&mut a, '3');
    ch(&mut a, 'a');
    let s = status(&a);
    assert_eq!(
        s,
        "Only processing robots are applied (← → moves between panes)"
    );

    let mut a = app_with(Lang::En, true, false, 120, 40);
    ch(&mut a, '2');
    ch(&mut a, ' ');
    ch(&mut a, 'j');
    ch(&mut a, ' ');
    ch(&mut a, 'H');
    typ(&mut a, "address");
    let fx = key(&mut a, KeyCode::Enter);
    succeed(&mut a, fx);
    let s = status(&a);
    assert_eq!(s, "Held 2");
}

fn status(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

#[test]
fn english_console_explains_server_answers_in_english() {
    // A refusal from a server that sent no English wording (an older build): the kind is
    // English, the message the server's own.
    let mut a = app_with(Lang::En, true, false, 120, 40);
    ch(&mut a, '3');
    let fx = ch(&mut a, 'e');
    let tag = match fx.into_iter().next() {
        Some(Effect::Call(tag, _)) => tag,
        other => panic!("e calls the server: {other:?}"),
    };
    a.update(AppEvent::Reply(
        tag,
        Err(ServiceError::new(
            ErrorKind::Refused,
            "標準の変換ロボットは変更できません",
        )),
    ));
    assert_eq!(status(&a), "Refused: 標準の変換ロボットは変更できません");

    // A trigger that does not parse.
    let mut a = app_with(Lang::En, true, false, 120, 40);
    ch(&mut a, '3');
    ch(&mut a, 'l');
    ch(&mut a, 'l');
    ch(&mut a, 't');
    for _ in 0..20 {
        key(&mut a, KeyCode::Backspace);
    }
    typ(&mut a, "soon");
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    // The refusal shows in the input, which stays open.
    let s = match &a.popup {
        Some(shukka::tui::app::Popup::Input(p)) => p.error.clone().unwrap_or_default(),
        _ => panic!("the trigger input stays open"),
    };
    assert!(s.starts_with("\"soon\" is not a trigger"), "{s}");
    assert!(japanese_runs(&s).is_empty(), "{s}");

    // A connection test, passed and failed.
    for (ok, message, message_en, want) in [
        (
            true,
            "OK: トークンを取得しました (有効期間 3600 秒)",
            "OK: futureshop issued a token (valid for 3600 s)",
            "Connection test: passed (futureshop issued a token)",
        ),
        // An API error is English on both sides; an older server sends no English.
        (
            false,
            "401 invalid_client",
            "",
            "Connection test: failed: 401 invalid_client",
        ),
        (
            false,
            "API認証設定「本店」にシークレットが登録されていません: セットアップで入力してください",
            "API認証設定 \"本店\" has no client secret: enter it in the setup",
            "Connection test: failed: API認証設定 \"本店\" has no client secret: enter it in the setup",
        ),
    ] {
        let mut a = app_with(Lang::En, true, false, 120, 40);
        a.update(AppEvent::Reply(
            shukka::tui::app::Tag::Test,
            Ok(shukka::service::Reply::ConnectionTest(
                shukka::domain::ConnectionTest {
                    at: now(),
                    ok,
                    message: message.into(),
                    message_en: message_en.into(),
                },
            )),
        ));
        assert_eq!(status(&a), want);
    }
}

/// Rust string literals in a source file with a Japanese character (doc comments and comments
/// are not tokens of that kind and are left out).
fn japanese_literals(src: &str) -> Vec<String> {
    use proc_macro2::{TokenStream, TokenTree};
    fn walk(ts: TokenStream, out: &mut Vec<String>) {
        for t in ts {
            match t {
                // Doc comments arrive as `#[doc = "..."]`: not UI text.
                TokenTree::Group(g) => {
                    let first = g.stream().into_iter().next();
                    if !matches!(first, Some(TokenTree::Ident(i)) if i == "doc") {
                        walk(g.stream(), out);
                    }
                }
                TokenTree::Literal(l) => {
                    let s = l.to_string();
                    if s.chars().any(is_japanese) {
                        out.push(s);
                    }
                }
                _ => {}
            }
        }
    }
    let ts: TokenStream = src.parse().expect("the console's source lexes");
    let mut out = Vec::new();
    walk(ts, &mut out);
    out
}

#[test]
fn the_console_has_no_japanese_text_outside_text_rs() {
    // Queue names are domain names (the spec's), defined where the queues are.
    const DOMAIN: [&str; 3] = [
        "\"取込エラー\"",
        "\"実績連携エラー\"",
        "\"出荷後キャンセル\"",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("src/tui is readable") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 10, "found the console's sources");
    let mut found = Vec::new();
    for f in &files {
        if f.file_name().is_some_and(|n| n == "text.rs") {
            let src = std::fs::read_to_string(f).expect("readable");
            assert!(
                !japanese_literals(&src).is_empty(),
                "the lexer sees the literals of text.rs"
            );
            continue;
        }
        let src = std::fs::read_to_string(f).expect("readable");
        for lit in japanese_literals(&src) {
            if !DOMAIN.contains(&lit.as_str()) {
                found.push(format!("{}: {lit}", f.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Japanese UI text outside src/tui/text.rs:\n{}",
        found.join("\n")
    );
}

/// The checklist as the real engine computes it comes with English titles and reasons, on an
/// empty store (every item ✗, each with its own reason) and after the setup file and a fetch.
#[tokio::test]
async fn the_engines_checklist_is_english_too() {
    use crate::common::*;
    let sim = start_sim(20, 100).await;

    let check = |engine: &shukka::engine::Engine| {
        let store = engine.store();
        let view = shukka::service::robots_view(engine).expect("robots view");
        let mut allowed = allowed_japanese();
        for n in view.converters.iter().map(|c| c.name.clone()) {
            allowed.push_str(&format!("\n{n}"));
        }
        for n in view.processing.iter().map(|p| p.name.clone()) {
            allowed.push_str(&format!("\n{n}"));
        }
        for n in view.linkage.iter().map(|l| l.robot.name.clone()) {
            allowed.push_str(&format!("\n{n}"));
        }
        for s in store.ship_froms().expect("ship-froms") {
            allowed.push_str(&format!("\n{}", s.name));
        }
        for a in store.auths().expect("auths") {
            allowed.push_str(&format!("\n{}", a.name));
        }
        let items = engine.checklist().expect("checklist");
        assert_eq!(items.len(), 7);
        for i in &items {
            assert!(!i.title_en.is_empty() && !i.reason_en.is_empty(), "{i:?}");
            let bad: Vec<String> = japanese_runs(&format!("{} {}", i.title_en, i.reason_en))
                .into_iter()
                .filter(|r| !allowed.contains(r.as_str()))
                .collect();
            assert!(bad.is_empty(), "item {}: {bad:?} in {i:?}", i.number);
        }
        items
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let empty = engine_in(dir.path());
    let items = check(&empty);
    assert!(items.iter().all(|i| !i.ok));
    assert_eq!(items[0].reason_en, "No ship-from registered yet");

    let (engine, _dir) = engine_with_setup(&sim).await;
    let items = check(&engine);
    assert!(items[..6].iter().all(|i| i.ok), "{items:?}");
    assert_eq!(items[6].reason_en, "No fetch has run yet");
    let range = range_robot(&engine);
    run(&engine, range).await;
    let items = check(&engine);
    assert!(items[6].ok, "{:?}", items[6]);
}

/// The engine words its refusals in English as well, and the console in English shows that
/// wording: a real engine, every kind of refusal an operator meets in the console, each checked
/// for Japanese that is neither data nor a domain name. Without the English wording each one
/// would show the Japanese message after its English kind.
#[tokio::test]
async fn the_engines_refusals_are_english_too() {
    use crate::common::*;
    use shukka::engine::{EngineError, ShipRequest};
    use shukka::robots::processing::BuiltinRule;
    use shukka::robots::rules::UserRule;

    let sim = start_sim(40, 100).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let range = range_robot(&engine);
    run(&engine, range).await;
    let op = operator();
    let store = engine.store().clone();

    let mut allowed = allowed_japanese();
    let view = shukka::service::robots_view(&engine).expect("robots view");
    let names = view
        .converters
        .iter()
        .map(|c| c.name.clone())
        .chain(view.processing.iter().map(|p| p.name.clone()))
        .chain(view.linkage.iter().map(|l| l.robot.name.clone()))
        .chain(store.auths().expect("auths").into_iter().map(|a| a.name));
    for n in names {
        allowed.push_str(&format!("\n{n}"));
    }

    let ready = store
        .summaries(Some(Status::Ready))
        .expect("summaries")
        .first()
        .map(|s| s.id)
        .expect("an instruction in 出荷待ち");
    let cancelled = store
        .summaries(Some(Status::Ready))
        .expect("summaries")
        .get(1)
        .map(|s| s.id)
        .expect("a second instruction in 出荷待ち");
    engine
        .cancel(cancelled, None, "", &op)
        .expect("cancel a ready instruction");
    let standard = view
        .converters
        .iter()
        .find(|c| c.standard)
        .map(|c| c.id)
        .expect("the standard converter");
    let disabled_converter = engine
        .duplicate_converter(standard, &op)
        .expect("duplicate")
        .id;
    let user_rule = engine
        .add_user_rule(
            "テスト",
            "",
            UserRule {
                conditions: vec![],
                match_all: true,
                actions: vec![],
            },
            &op,
        )
        .err();
    let fetch = view
        .linkage
        .iter()
        .find(|l| l.robot.name == EASY_FETCH)
        .map(|l| l.robot.clone())
        .expect("the fetch robot");
    let release_on = engine
        .set_processing_enabled(BuiltinRule::GenericRelease.number(), true, &op)
        .err();
    let stale_version = store
        .instruction(ready)
        .expect("read")
        .map(|i| i.version - 1)
        .expect("the instruction");

    let refusals: Vec<(&str, Option<EngineError>)> = vec![
        (
            "standard converter renamed",
            engine.rename_converter(standard, "x", &op).err(),
        ),
        (
            "standard converter disabled",
            engine.set_converter_enabled(standard, false, &op).err(),
        ),
        ("rules 5 and 6 together", release_on),
        (
            "built-in processing robot renamed",
            engine.rename_processing(1, "x", &op).err(),
        ),
        (
            "built-in processing robot deleted",
            engine.delete_user_rule(1, &op).err(),
        ),
        ("rule without actions", user_rule),
        (
            "applied to a disabled converter",
            engine
                .apply_processing(1, disabled_converter, true, &op)
                .err(),
        ),
        (
            "empty name",
            engine.rename_converter(disabled_converter, " ", &op).err(),
        ),
        (
            "control character in a name",
            engine
                .rename_converter(disabled_converter, "a\u{1b}b", &op)
                .err(),
        ),
        (
            "hold without reason",
            engine.hold(ready, None, " ", &op).err(),
        ),
        (
            "hold a cancelled one",
            engine.hold(cancelled, None, "理由", &op).err(),
        ),
        (
            "release a cancelled one",
            engine.release(cancelled, None, &op).err(),
        ),
        (
            "pick up a cancelled one",
            engine.start_work(cancelled, None, &op).err(),
        ),
        (
            "cancel twice",
            engine.cancel(cancelled, None, "", &op).err(),
        ),
        (
            "ship without tracking",
            engine.ship(ready, None, &ShipRequest::default(), &op).err(),
        ),
        (
            "ship a cancelled one",
            engine
                .ship(
                    cancelled,
                    None,
                    &ShipRequest {
                        tracking: vec!["1234".into()],
                        ..ShipRequest::default()
                    },
                    &op,
                )
                .err(),
        ),
        (
            "resend a ready one",
            engine.resend_tracking(ready, None, &op).err(),
        ),
        (
            "changed by someone else",
            engine.hold(ready, Some(stale_version), "理由", &op).err(),
        ),
        (
            "unknown instruction",
            engine.hold(999_999, None, "理由", &op).err(),
        ),
        (
            "unknown order number",
            engine.find_order("no-such-order").err(),
        ),
        (
            "unknown intake error",
            engine.retry_intake_error(999_999, &op).err(),
        ),
        (
            "unknown linkage robot",
            engine
                .run_robot(999_999, shukka::engine::RunOptions::default())
                .await
                .err(),
        ),
        (
            "a robot after itself",
            engine
                .update_linkage(
                    shukka::robots::linkage::LinkageRobot {
                        trigger: shukka::robots::linkage::Trigger::After { robot_id: fetch.id },
                        ..fetch.clone()
                    },
                    "trigger",
                    &op,
                )
                .err(),
        ),
        (
            "ship-from without a name",
            engine
                .save_ship_from(shukka::domain::ShipFrom::default(), &op)
                .err(),
        ),
        (
            "API認証設定 without a name",
            engine
                .save_auth(shukka::domain::ApiAuth::default(), None, &op)
                .err(),
        ),
    ];
    let mut failures = Vec::new();
    for (what, err) in refusals {
        let Some(err) = err else {
            failures.push(format!("{what}: was not refused"));
            continue;
        };
        let e = ServiceError::from(err);
        let Some(text) = (!e.message_en.is_empty()).then_some(e.message_en.clone()) else {
            failures.push(format!("{what}: no English wording for {:?}", e.message));
            continue;
        };
        let bad: Vec<String> = japanese_runs(&text)
            .into_iter()
            .filter(|r| !allowed.contains(r.as_str()))
            .collect();
        if !bad.is_empty() {
            failures.push(format!("{what}: {bad:?} in {text:?}"));
        }
        // What the English console shows.
        let mut a = app_with(Lang::En, true, false, 120, 40);
        ch(&mut a, '3');
        let fx = ch(&mut a, 'd');
        let Some(Effect::Call(tag, _)) = fx.into_iter().next() else {
            panic!("d calls the server");
        };
        a.update(AppEvent::Reply(tag, Err(e.clone())));
        let shown = status(&a);
        if !shown.ends_with(&text) || !japanese_runs(&shown[..shown.len() - text.len()]).is_empty()
        {
            failures.push(format!("{what}: the console shows {shown:?}"));
        }
        // The Japanese console keeps the engine's Japanese message.
        let mut a = app_with(Lang::Ja, true, false, 120, 40);
        ch(&mut a, '3');
        let fx = ch(&mut a, 'd');
        let Some(Effect::Call(tag, _)) = fx.into_iter().next() else {
            panic!("d calls the server");
        };
        a.update(AppEvent::Reply(tag, Err(e.clone())));
        if status(&a) != e.message {
            failures.push(format!(
                "{what}: the Japanese console shows {:?}",
                status(&a)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
