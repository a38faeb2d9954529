//! The keymap registry: every binding is in the `?` help of its contexts (as data and on
//! screen), no key is bound twice where it can be pressed, and `--read-only` removes every
//! changing binding, its help line and any way to produce a changing request.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use shukka::tui::app::{App, Effect};
use shukka::tui::keymap::{Action, Binding, Context, Key, Keymap};
use shukka::tui::text::{Lang, action_desc};
use unicode_width::UnicodeWidthStr;

use crate::console_fixtures::*;

/// The binding groups reachable in a screen context, in lookup order.
fn reachable(ctx: Context) -> Vec<Context> {
    let mut g = vec![ctx];
    if ctx.has_nav() {
        g.push(Context::Nav);
    }
    g.push(Context::Global);
    g
}

fn bindings_in(km: &Keymap, ctx: Context) -> Vec<Binding> {
    let groups = reachable(ctx);
    km.bindings()
        .iter()
        .copied()
        .filter(|b| groups.contains(&b.context))
        .collect()
}

/// The key event a terminal sends for a binding's key.
fn event(k: Key) -> KeyEvent {
    let mut m = if k.ctrl {
        KeyModifiers::CONTROL
    } else {
        KeyModifiers::NONE
    };
    match k.code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => m |= KeyModifiers::SHIFT,
        KeyCode::BackTab => m |= KeyModifiers::SHIFT,
        _ => {}
    }
    KeyEvent::new(k.code, m)
}

/// An app showing screen context `ctx` (the help context: the help popup over the orders).
fn app_in(ctx: Context, read_only: bool) -> App {
    let mut a = app_with(Lang::Ja, true, read_only, 120, 40);
    match ctx {
        Context::Dashboard | Context::Global | Context::Nav => {}
        Context::Orders => {
            ch(&mut a, '2');
        }
        Context::Detail => {
            ch(&mut a, '2');
            key(&mut a, KeyCode::Enter);
            reply_detail(&mut a, 1);
        }
        Context::IntakeQueue => {
            ch(&mut a, '2');
            goto_queue(&mut a, shukka::tui::model::Queue::IntakeErrors);
        }
        Context::IntakeDetail => {
            ch(&mut a, '2');
            goto_queue(&mut a, shukka::tui::model::Queue::IntakeErrors);
            key(&mut a, KeyCode::Enter);
            reply_intake_detail(&mut a, 501);
        }
        Context::Robots => {
            ch(&mut a, '3');
        }
        Context::Setup => {
            ch(&mut a, '4');
        }
        Context::Log => {
            ch(&mut a, '5');
        }
        Context::Help => {
            ch(&mut a, '2');
            ch(&mut a, '?');
        }
    }
    assert_eq!(a.context(), ctx);
    a
}

/// The help line of one entry exactly as the popup draws it.
fn help_line(keys: &[Key], action: Action, lang: Lang) -> (String, &'static str) {
    let ks = keys
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(" / ");
    let pad = 18usize.saturating_sub(ks.width());
    (
        format!("  {ks}{}", " ".repeat(pad)),
        action_desc(lang, action),
    )
}

/// Every line the help popup shows, scrolling it to the end.
fn help_screen_lines(a: &mut App) -> Vec<String> {
    ch(a, '?');
    let mut seen = Vec::new();
    let mut last = String::new();
    for _ in 0..200 {
        let t = draw(a);
        let s = screen(&t);
        if s == last {
            break;
        }
        seen.extend(lines(&t));
        last = s;
        ch(a, 'j');
    }
    key(a, KeyCode::Esc);
    seen
}

#[test]
fn console_keymap_help_lists_every_binding_of_each_context() {
    let km = Keymap::new(false);
    for ctx in Context::SCREENS {
        let help = km.help(ctx);
        for b in bindings_in(&km, ctx) {
            assert!(
                help.iter()
                    .any(|(g, keys, a)| *g == b.context && *a == b.action && keys.contains(&b.key)),
                "{ctx:?}: {} ({:?}) is missing from the help",
                b.key,
                b.action
            );
        }
        // And the help lists nothing that is not bound there.
        for (g, keys, a) in &help {
            for k in keys {
                assert!(
                    km.bindings()
                        .iter()
                        .any(|b| b.context == *g && b.key == *k && b.action == *a),
                    "{ctx:?}: stray help entry {k} {a:?}"
                );
            }
        }
    }
}

#[test]
fn console_keymap_help_popup_shows_every_key_and_description() {
    let km = Keymap::new(false);
    for ctx in Context::SCREENS {
        if ctx == Context::Help {
            continue; // the help of the help is the help itself
        }
        let mut a = app_in(ctx, false);
        let shown = help_screen_lines(&mut a);
        for (_, keys, action) in km.help(ctx) {
            let (ks, desc) = help_line(&keys, action, Lang::Ja);
            let want = format!("{ks}{desc}");
            assert!(
                shown.iter().any(|l| l.contains(&want)),
                "{ctx:?}: help popup does not show {want:?}"
            );
        }
        // The group headings.
        assert!(shown.iter().any(|l| l.contains("全体")), "{ctx:?}");
        if ctx.has_nav() {
            assert!(shown.iter().any(|l| l.contains("移動")), "{ctx:?}");
        }
    }
    // English descriptions too.
    let mut a = app_with(Lang::En, true, false, 120, 40);
    ch(&mut a, '2');
    let shown = help_screen_lines(&mut a);
    for (_, keys, action) in km.help(Context::Orders) {
        let (ks, desc) = help_line(&keys, action, Lang::En);
        assert!(
            shown.iter().any(|l| l.contains(&format!("{ks}{desc}"))),
            "en help misses {ks}{desc}"
        );
    }
}

#[test]
fn console_keymap_no_key_is_bound_twice_where_it_can_be_pressed() {
    let km = Keymap::new(false);
    for ctx in Context::SCREENS {
        let mut seen: HashMap<Key, Binding> = HashMap::new();
        for b in bindings_in(&km, ctx) {
            if let Some(prev) = seen.insert(b.key, b) {
                panic!(
                    "{ctx:?}: {} is bound to {:?} ({:?}) and {:?} ({:?})",
                    b.key, prev.action, prev.context, b.action, b.context
                );
            }
            // What the key does there is what its binding says.
            assert_eq!(km.lookup(ctx, b.key), Some(b.action), "{ctx:?}: {}", b.key);
        }
    }
    // A shifted letter and its plain letter are different keys (K moves a robot, k moves up).
    assert_eq!(
        km.lookup(
            Context::Robots,
            Key::from_event(&KeyEvent::new(KeyCode::Char('k'), KeyModifiers::SHIFT))
        ),
        Some(Action::MoveUp)
    );
    assert_eq!(km.lookup(Context::Robots, Key::ch('k')), Some(Action::Up));
    // Ctrl-f pages; plain f edits the ship-from on the setup screen.
    assert_eq!(
        km.lookup(Context::Setup, Key::ctrl('f')),
        Some(Action::PageDown)
    );
    assert_eq!(
        km.lookup(Context::Setup, Key::ch('f')),
        Some(Action::EditShipFrom)
    );
}

#[test]
fn console_keymap_hint_bar_comes_from_the_registry() {
    let km = Keymap::new(false);
    let hints = km.hints(Context::Orders, Lang::Ja);
    assert!(hints.iter().any(|(k, d)| k == "/" && *d == "絞り込み"));
    assert!(hints.iter().any(|(k, d)| k == "H" && *d == "保留"));
    assert!(hints.iter().any(|(k, d)| k == "q" && *d == "終了"));
    let ro = Keymap::new(true).hints(Context::Orders, Lang::Ja);
    assert!(
        !ro.iter().any(|(k, _)| k == "H" || k == "S" || k == "U"),
        "{ro:?}"
    );
}

#[test]
fn console_keymap_read_only_removes_every_changing_binding() {
    let full = Keymap::new(false);
    let ro = Keymap::new(true);
    assert!(ro.read_only);
    assert!(
        full.bindings().iter().any(|b| b.action.mutating()),
        "the full keymap has changing actions"
    );
    for b in ro.bindings() {
        assert!(
            !b.action.mutating(),
            "read-only keeps {} {:?}",
            b.key,
            b.action
        );
    }
    for b in full.bindings().iter().filter(|b| !b.action.mutating()) {
        assert!(
            ro.bindings().contains(b),
            "read-only lost {} {:?}",
            b.key,
            b.action
        );
    }
    for ctx in Context::SCREENS {
        assert!(
            ro.help(ctx).iter().all(|(_, _, a)| !a.mutating()),
            "{ctx:?}"
        );
        assert!(ro.hints(ctx, Lang::Ja).iter().all(|(_, d)| {
            !full
                .bindings()
                .iter()
                .any(|b| b.action.mutating() && action_desc(Lang::Ja, b.action) == *d)
        }));
    }
    // On screen: no help line of a changing action, every other one present.
    for ctx in Context::SCREENS {
        if ctx == Context::Help {
            continue;
        }
        let mut a = app_in(ctx, true);
        let shown = help_screen_lines(&mut a);
        for (_, keys, action) in full.help(ctx) {
            let (ks, desc) = help_line(&keys, action, Lang::Ja);
            let present = shown.iter().any(|l| l.contains(&format!("{ks}{desc}")));
            assert_eq!(present, !action.mutating(), "{ctx:?}: {ks}{desc}");
        }
    }
}

/// Every key of the full keymap, and then whatever confirms a popup, on every screen of a
/// read-only console: nothing may come out that changes stored state.
#[test]
fn console_keymap_read_only_keys_never_produce_a_change() {
    let all: Vec<Key> = Keymap::new(false)
        .bindings()
        .iter()
        .map(|b| b.key)
        .collect();
    let confirm = [
        Key::ch('y'),
        Key::code(KeyCode::Enter),
        Key::code(KeyCode::Tab),
        Key::code(KeyCode::Enter),
        Key::ch(' '),
    ];
    let check = |a: &mut App, what: &str| {
        for k in &all {
            let mut fx: Vec<Effect> = press_event(a, event(*k));
            for c in confirm {
                fx.extend(press_event(a, event(c)));
            }
            for r in requests(&fx) {
                assert!(
                    !r.mutates(),
                    "{what}: {k} produced {r:?} in a read-only console"
                );
            }
            key(a, KeyCode::Esc);
        }
    };
    for ctx in Context::SCREENS {
        let mut a = app_in(ctx, true);
        check(&mut a, &format!("{ctx:?}"));
    }
    // Enter on every setup item (each goes "to the place that fixes it"), with a store where
    // the fixes would create robots.
    for pos in 0..7 {
        for broken in [false, true] {
            let mut a = app_in(Context::Setup, true);
            if broken {
                let mut view = robots_view();
                view.linkage.retain(|l| l.robot.id == PRODUCTS);
                let mut items = checklist();
                for i in &mut items {
                    i.ok = false;
                }
                a.update(shukka::tui::app::AppEvent::Reply(
                    shukka::tui::app::Tag::Robots,
                    Ok(shukka::service::Reply::Robots(view)),
                ));
                a.update(shukka::tui::app::AppEvent::Reply(
                    shukka::tui::app::Tag::Checklist,
                    Ok(shukka::service::Reply::Checklist(items)),
                ));
            }
            ch(&mut a, '4');
            for _ in 0..pos {
                ch(&mut a, 'j');
            }
            let mut fx = key(&mut a, KeyCode::Enter);
            for c in confirm {
                fx.extend(press_event(&mut a, event(c)));
            }
            for r in requests(&fx) {
                assert!(
                    !r.mutates(),
                    "setup item {} (broken: {broken}): Enter produced {r:?} in a read-only console",
                    pos + 1
                );
            }
        }
    }
}
