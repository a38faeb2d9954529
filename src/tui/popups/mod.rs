//! Modal popups, each owning its state: help (generated from the keymap), confirm (Cancel
//! focused), text input, the converter picker, the setup forms and dry-run results. The
//! terminal cursor sits on the focused input so Japanese input methods draw their pre-edit
//! text in the right place.

pub mod bundle;
pub mod confirm;
pub mod dry_run;
pub mod form;
pub mod help;
pub mod input;
pub mod labels;
pub mod late_cancel;
pub mod picker;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

pub use bundle::BundlePopup;
pub use confirm::ConfirmPopup;
pub use dry_run::DryRunPopup;
pub use form::{FormKind, FormPopup};
pub use help::HelpPopup;
pub use input::InputPopup;
pub use labels::{CarrierPopup, ReportPopup};
pub use late_cancel::LateCancelPopup;
pub use picker::PickerPopup;

use super::context::{Ctx, Out};
use super::event::{Tag, done_calls};
use crate::engine::ShipRequest;
use crate::robots::linkage::Trigger;
use crate::service::Request;

pub enum Popup {
    Help(HelpPopup),
    Confirm(ConfirmPopup),
    Input(InputPopup),
    Picker(PickerPopup),
    Form(FormPopup),
    DryRun(DryRunPopup),
    Carrier(CarrierPopup),
    Report(ReportPopup),
    LateCancel(LateCancelPopup),
    Bundle(BundlePopup),
}

macro_rules! into_popup {
    ($($t:ident => $v:ident),*) => {
        $(impl From<$t> for Popup {
            fn from(p: $t) -> Popup {
                Popup::$v(p)
            }
        })*
    };
}
into_popup!(HelpPopup => Help, ConfirmPopup => Confirm, InputPopup => Input,
    PickerPopup => Picker, FormPopup => Form, DryRunPopup => DryRun, CarrierPopup => Carrier,
    ReportPopup => Report, LateCancelPopup => LateCancel, BundlePopup => Bundle);

/// After a key: does the popup stay open?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Open,
    Close,
}

impl Popup {
    /// A key for the popup (help gets actions from the keymap instead: see the app).
    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        match self {
            Popup::Help(_) => Keep::Open,
            Popup::Confirm(p) => p.on_key(k, cx, out),
            Popup::Input(p) => p.on_key(k, cx, out),
            Popup::Picker(p) => p.on_key(k, cx, out),
            Popup::Form(p) => p.on_key(k, cx, out),
            Popup::DryRun(p) => p.on_key(k, cx),
            Popup::Carrier(p) => p.on_key(k, cx, out),
            Popup::Report(p) => p.on_key(k, out),
            Popup::LateCancel(p) => p.on_key(k, cx, out),
            Popup::Bundle(p) => p.on_key(k, cx, out),
        }
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        match self {
            Popup::Help(p) => p.render(f, body, cx),
            Popup::Confirm(p) => p.render(f, body, cx),
            Popup::Input(p) => p.render(f, body, cx),
            Popup::Picker(p) => p.render(f, body, cx),
            Popup::Form(p) => p.render(f, body, cx),
            Popup::DryRun(p) => p.render(f, body, cx),
            Popup::Carrier(p) => p.render(f, body, cx),
            Popup::Report(p) => p.render(f, body, cx),
            Popup::LateCancel(p) => p.render(f, body, cx),
            Popup::Bundle(p) => p.render(f, body, cx),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RobotKind {
    Converter,
    Processing,
    Linkage,
}

/// What a confirmed dialog or a submitted input does.
#[derive(Clone, Debug, PartialEq)]
pub enum Then {
    /// Send these; report the message when they succeed.
    Requests(Vec<Request>, String),
    /// A setup-guide step.
    Guide(u8),
    Hold(Vec<(u64, u64)>),
    Ship(u64, u64),
    Rename {
        kind: RobotKind,
        id: u64,
    },
    Trigger(u64),
    /// Read this carrier file (a trial import first).
    ImportFile,
}

/// `~/x` as the home directory's `x`.
pub fn expand_home(p: &str) -> std::path::PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(p),
    }
}

/// Completes a path's last part from the directory's entries (the longest common start;
/// a directory gets its `/`).
pub fn complete_path(typed: &str) -> Option<String> {
    let expanded = expand_home(typed);
    let (dir, part) = if typed.ends_with('/') || typed.is_empty() {
        (expanded.clone(), String::new())
    } else {
        (
            expanded
                .parent()
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        std::path::PathBuf::from(".")
                    } else {
                        p.to_path_buf()
                    }
                })
                .unwrap_or_else(|| std::path::PathBuf::from(".")),
            expanded
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let mut names: Vec<(String, bool)> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.file_type().is_ok_and(|t| t.is_dir()),
            )
        })
        .filter(|(n, _)| n.starts_with(&part) && !n.starts_with('.'))
        .collect();
    names.sort();
    let first = names.first()?.clone();
    let common = names.iter().fold(first.0.clone(), |acc, (n, _)| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    if common.len() <= part.len() && names.len() > 1 {
        return None;
    }
    let head = &typed[..typed.len() - part.len()];
    let mut done = format!("{head}{common}");
    if names.len() == 1 && first.1 {
        done.push('/');
    }
    (done != typed).then_some(done)
}

impl Then {
    /// Runs with the typed value (inputs) — or refuses it, saying why (the popup stays open).
    pub fn run(self, value: Option<String>, cx: &Ctx, out: &mut Out) -> Result<(), String> {
        let t = cx.text;
        let value = value.unwrap_or_default();
        match self {
            Then::Requests(reqs, msg) => {
                out.clear_marks = true;
                out.effects.extend(done_calls(reqs, &msg));
            }
            Then::Guide(step) => out.call(Tag::Guide(step), Request::GuideStep { step }),
            Then::Hold(targets) => {
                let reason = value.trim();
                if reason.is_empty() {
                    return Err(t.hold_reason_required.into());
                }
                out.clear_marks = true;
                let n = targets.len();
                for (id, v) in targets {
                    out.done(
                        (t.held_n)(n),
                        Request::Hold {
                            id,
                            version: Some(v),
                            reason: reason.into(),
                        },
                    );
                }
            }
            Then::Ship(id, v) => {
                let tracking: Vec<String> = value
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
                if tracking.is_empty() {
                    return Err(t.tracking_required.into());
                }
                out.done(
                    t.shipped_done,
                    Request::Ship {
                        id,
                        version: Some(v),
                        ship: ShipRequest {
                            tracking,
                            ..Default::default()
                        },
                    },
                );
            }
            Then::Rename { kind, id } => {
                let name = value.trim().to_string();
                if name.is_empty() {
                    return Err(t.name_required.into());
                }
                let req = match kind {
                    RobotKind::Converter => Request::RenameConverter { id, name },
                    RobotKind::Processing => Request::RenameProcessing { id, name },
                    RobotKind::Linkage => Request::RenameLinkage { id, name },
                };
                out.done(t.renamed, req);
            }
            Then::ImportFile => {
                let path = value.trim();
                if path.is_empty() {
                    return Err(t.labels_import_prompt.to_string());
                }
                let path = expand_home(path);
                if !path.is_file() {
                    return Err(format!("{}: {}", path.display(), t.labels_no_file));
                }
                out.effects.push(super::event::Effect::ImportTracking {
                    path,
                    dry_run: true,
                });
            }
            Then::Trigger(id) => match Trigger::parse(&value) {
                Ok(trigger) => out.done(t.trigger_changed, Request::SetTrigger { id, trigger }),
                Err(e) => return Err((t.bad_trigger)(value.trim(), &e)),
            },
        }
        Ok(())
    }
}
