//! `shukka robots …`.

use std::io::Write;

use color_eyre::eyre::{Result, eyre};
use serde::Deserialize;

use super::{fail, parse_datetime};
use crate::backend::Backend;
use crate::cli::{CreateLinkageArgs, Format, RobotsCommand};
use crate::domain::Status;
use crate::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use crate::robots::processing::RuleKind;
use crate::robots::rules::{Condition, Field, Op, RuleAction, UserRule};
use crate::sanitize::sanitize;
use crate::service::{Request, RobotsView};
use crate::textfmt::Table;

enum Kind {
    Converter,
    Processing,
    Linkage,
}

async fn kind_of(b: &Backend, id: u64) -> Result<Kind> {
    let v: RobotsView = b.get(Request::Robots).await.map_err(fail)?;
    if v.converters.iter().any(|c| c.id == id) {
        Ok(Kind::Converter)
    } else if v.processing.iter().any(|p| p.id == id) {
        Ok(Kind::Processing)
    } else if v.linkage.iter().any(|l| l.robot.id == id) {
        Ok(Kind::Linkage)
    } else {
        Err(eyre!(
            "ロボット ID:{id} はありません (`shukka robots list` で確認できます)"
        ))
    }
}

pub async fn run(b: &Backend, cmd: RobotsCommand) -> Result<()> {
    match cmd {
        RobotsCommand::List(f) => list(b, f.format).await,
        RobotsCommand::Enable(r) => set_enabled(b, r.id, true).await,
        RobotsCommand::Disable(r) => set_enabled(b, r.id, false).await,
        RobotsCommand::Apply(a) => {
            b.call(Request::ApplyProcessing {
                id: a.id,
                converter_id: a.converter_id,
                applied: true,
            })
            .await
            .map_err(fail)?;
            println!(
                "処理ロボット ID:{} を変換ロボット ID:{} に適用しました",
                a.id, a.converter_id
            );
            Ok(())
        }
        RobotsCommand::Unapply(a) => {
            b.call(Request::ApplyProcessing {
                id: a.id,
                converter_id: a.converter_id,
                applied: false,
            })
            .await
            .map_err(fail)?;
            println!(
                "処理ロボット ID:{} の変換ロボット ID:{} への適用を解除しました",
                a.id, a.converter_id
            );
            Ok(())
        }
        RobotsCommand::Duplicate(r) => {
            let c: crate::robots::Converter = b
                .get(Request::DuplicateConverter { id: r.id })
                .await
                .map_err(fail)?;
            println!("複製しました: ID:{} {}", c.id, sanitize(&c.name));
            Ok(())
        }
        RobotsCommand::Rename(r) => {
            let req = match kind_of(b, r.id).await? {
                Kind::Converter => Request::RenameConverter {
                    id: r.id,
                    name: r.name.clone(),
                },
                Kind::Processing => Request::RenameProcessing {
                    id: r.id,
                    name: r.name.clone(),
                },
                Kind::Linkage => Request::RenameLinkage {
                    id: r.id,
                    name: r.name.clone(),
                },
            };
            b.call(req).await.map_err(fail)?;
            println!(
                "ID:{} の名前を「{}」に変更しました",
                r.id,
                sanitize(&r.name)
            );
            Ok(())
        }
        RobotsCommand::Run(r) => {
            let range = match (&r.from, &r.to) {
                (None, None) => None,
                (from, to) => {
                    let to = match to {
                        Some(t) => parse_datetime(t, "--to")?,
                        None => crate::time::now_jst(),
                    };
                    let from = match from {
                        Some(f) => parse_datetime(f, "--from")?,
                        None => to - chrono::Duration::days(1),
                    };
                    Some((from, to))
                }
            };
            let line: crate::domain::RunLogEntry = b
                .get(Request::RunRobot { id: r.id, range })
                .await
                .map_err(fail)?;
            print_run(&line);
            if line.state != crate::domain::RunState::Done {
                return Err(eyre!(
                    "{} は {} で終わりました",
                    sanitize(&line.robot_name),
                    line.state.name()
                ));
            }
            Ok(())
        }
        RobotsCommand::Order(o) => {
            if !o.ids.is_empty() {
                b.call(Request::SetRuleOrder { order: o.ids })
                    .await
                    .map_err(fail)?;
            }
            let v: RobotsView = b.get(Request::Robots).await.map_err(fail)?;
            for (n, p) in v.processing.iter().enumerate() {
                println!("{:>2}. ID:{} {}", n + 1, p.id, sanitize(&p.name));
            }
            Ok(())
        }
        RobotsCommand::DryRun(r) => {
            let changes: Vec<crate::engine::DryRunChange> =
                b.get(Request::DryRun { id: r.id }).await.map_err(fail)?;
            let mut t = Table::new(&["受注コード", "現在", "変更後", "判断"]);
            for c in &changes {
                t.row(&[
                    c.order_no.clone(),
                    c.from.name().to_string(),
                    c.to.name().to_string(),
                    c.decision.clone(),
                ]);
            }
            print!("{}", t.render());
            println!(
                "{} 件が変わります (ドライラン: 何も変更していません)",
                changes.len()
            );
            Ok(())
        }
        RobotsCommand::Trigger(t) => {
            let trigger = Trigger::parse(&t.trigger).map_err(|e| eyre!(e))?;
            b.call(Request::SetTrigger { id: t.id, trigger })
                .await
                .map_err(fail)?;
            println!("ID:{} のトリガーを変更しました", t.id);
            Ok(())
        }
        RobotsCommand::SetConverter(a) => {
            b.call(Request::SetLinkageConverter {
                id: a.id,
                converter_id: a.converter_id,
            })
            .await
            .map_err(fail)?;
            println!(
                "ID:{} の変換ロボットを ID:{} にしました",
                a.id, a.converter_id
            );
            Ok(())
        }
        RobotsCommand::AddRule(a) => {
            let text = std::fs::read_to_string(&a.file)
                .map_err(|e| eyre!("cannot read {}: {e}", a.file.display()))?;
            let (name, description, rule) =
                parse_rule_file(&text).map_err(|e| eyre!("{}: {e}", a.file.display()))?;
            let r: crate::robots::ProcessingRobot = b
                .get(Request::AddUserRule {
                    name,
                    description,
                    rule,
                })
                .await
                .map_err(fail)?;
            println!(
                "処理ロボット ID:{} {} を作成しました (無効・未適用: `shukka robots enable {}` と `shukka robots apply {} 変換ロボットID`)",
                r.id,
                sanitize(&r.name),
                r.id,
                r.id
            );
            Ok(())
        }
        RobotsCommand::Create(c) => create(b, c).await,
    }
}

async fn set_enabled(b: &Backend, id: u64, enabled: bool) -> Result<()> {
    let req = match kind_of(b, id).await? {
        Kind::Converter => Request::SetConverterEnabled { id, enabled },
        Kind::Processing => Request::SetProcessingEnabled { id, enabled },
        Kind::Linkage => Request::SetLinkageEnabled { id, enabled },
    };
    b.call(req).await.map_err(fail)?;
    println!(
        "ID:{id} を{}にしました",
        if enabled { "有効" } else { "無効" }
    );
    Ok(())
}

pub fn print_run(l: &crate::domain::RunLogEntry) {
    let window = l
        .window
        .map(|(a, b)| {
            format!(
                "  範囲 {} 〜 {}",
                a.format("%m/%d %H:%M"),
                b.format("%m/%d %H:%M")
            )
        })
        .unwrap_or_default();
    println!(
        "{}  {}  {}  {}  重複 {}{}",
        l.started.format("%Y-%m-%d %H:%M:%S"),
        sanitize(&l.robot_name),
        l.state.name(),
        l.counts(),
        l.skipped,
        window
    );
    for e in &l.errors {
        println!("  {}", sanitize(e));
    }
}

async fn list(b: &Backend, format: Format) -> Result<()> {
    let v: RobotsView = b.get(Request::Robots).await.map_err(fail)?;
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        writeln!(out, "{}", crate::output::json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let conv_name = |id: u64| {
        v.converters
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("ID:{id}"))
    };
    writeln!(out, "変換ロボット")?;
    let mut t = Table::new(&["ID", "名前", "有効", "備考"]);
    for c in &v.converters {
        t.row(&[
            c.id.to_string(),
            c.name.clone(),
            if c.enabled { "有効" } else { "無効" }.to_string(),
            if c.standard {
                "標準 (読み取り専用)".to_string()
            } else {
                c.copied_from
                    .map(|f| format!("ID:{f} の複製"))
                    .unwrap_or_default()
            },
        ]);
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "\n処理ロボット (この順に実行)")?;
    let mut t = Table::new(&["順", "ID", "名前", "有効", "適用先", "注意"]);
    for (n, p) in v.processing.iter().enumerate() {
        let applied: Vec<String> = p
            .applied_to
            .iter()
            .map(|id| format!("{id}:{}", conv_name(*id)))
            .collect();
        let warn = if p.half_set() {
            "有効だが適用先なし (何もしません)".to_string()
        } else if !p.enabled && !p.applied_to.is_empty() {
            "適用済みだが無効".to_string()
        } else if p
            .applied_to
            .iter()
            .any(|id| v.converters.iter().any(|c| c.id == *id && !c.enabled))
        {
            "無効な変換ロボットに適用".to_string()
        } else {
            String::new()
        };
        t.row(&[
            (n + 1).to_string(),
            p.id.to_string(),
            match &p.kind {
                RuleKind::Builtin(_) => p.name.clone(),
                RuleKind::User(_) => format!("{} (ユーザー定義)", p.name),
            },
            if p.enabled { "有効" } else { "無効" }.to_string(),
            if applied.is_empty() {
                "-".into()
            } else {
                applied.join(", ")
            },
            warn,
        ]);
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "入金不要の支払方法: {}", v.no_prepayment.join(", "))?;
    writeln!(out, "\n連携ロボット")?;
    let mut t = Table::new(&[
        "ID",
        "名前",
        "アクション",
        "トリガー",
        "有効",
        "前回",
        "次回",
    ]);
    for l in &v.linkage {
        let r = &l.robot;
        t.row(&[
            r.id.to_string(),
            r.name.clone(),
            r.action.name().to_string(),
            l.trigger.clone(),
            if r.enabled { "有効" } else { "無効" }.to_string(),
            l.last_run
                .as_ref()
                .map(|x| {
                    format!(
                        "{} {} {}",
                        x.started.format("%m/%d %H:%M"),
                        x.state.name(),
                        x.counts()
                    )
                })
                .unwrap_or_else(|| {
                    if l.running {
                        "実行中".into()
                    } else {
                        "-".into()
                    }
                }),
            l.next_run
                .map(|t| t.format("%m/%d %H:%M").to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    write!(out, "{}", t.render())?;
    Ok(())
}

async fn create(b: &Backend, c: CreateLinkageArgs) -> Result<()> {
    let action = LinkAction::from_name(&c.action).ok_or_else(|| {
        eyre!(
            "unknown action {:?}: one of {}",
            c.action,
            LinkAction::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let range = match (&c.from, &c.to) {
        (Some(f), Some(t)) => Some((parse_datetime(f, "--from")?, parse_datetime(t, "--to")?)),
        (None, None) => None,
        _ => return Err(eyre!("--from and --to go together")),
    };
    let target_status = match &c.status {
        Some(s) => Some(Status::parse(s).ok_or_else(|| eyre!("unknown status {s:?}"))?),
        None => None,
    };
    let robot = LinkageRobot {
        id: 0,
        name: c.name,
        action,
        auth_id: c.auth,
        converter_id: c.converter,
        processing_robot_id: c.processing,
        target_status,
        range,
        trigger: Trigger::parse(&c.trigger).map_err(|e| eyre!(e))?,
        enabled: !c.disabled,
        role: None,
    };
    let r: LinkageRobot = b
        .get(Request::CreateLinkage { robot })
        .await
        .map_err(fail)?;
    println!(
        "連携ロボット ID:{} {} を作成しました",
        r.id,
        sanitize(&r.name)
    );
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    #[serde(default)]
    description: String,
    /// "all" (全ての条件) or "any" (いずれかの条件)
    #[serde(default, rename = "match")]
    match_: Option<String>,
    #[serde(default)]
    condition: Vec<CondFile>,
    action: Vec<ActionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CondFile {
    field: String,
    op: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    #[serde(rename = "type")]
    kind: String,
    field: Option<String>,
    value: Option<String>,
    ship_from: Option<u64>,
}

/// Parses a user rule written in TOML (see docs/setup.md).
pub fn parse_rule_file(text: &str) -> std::result::Result<(String, String, UserRule), String> {
    let f: RuleFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let fields = || {
        Field::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ops = || {
        Op::ALL
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut conditions = Vec::new();
    for c in f.condition {
        conditions.push(Condition {
            field: Field::from_name(&c.field)
                .ok_or_else(|| format!("unknown field {:?}: one of {}", c.field, fields()))?,
            op: Op::from_name(&c.op)
                .ok_or_else(|| format!("unknown op {:?}: one of {}", c.op, ops()))?,
            value: c.value,
        });
    }
    let mut actions = Vec::new();
    for a in f.action {
        let value = || {
            a.value
                .clone()
                .ok_or_else(|| format!("action {:?} needs value", a.kind))
        };
        actions.push(match a.kind.as_str() {
            "項目を設定" => RuleAction::SetField {
                field: a
                    .field
                    .as_deref()
                    .and_then(Field::from_name)
                    .ok_or_else(|| format!("項目を設定 needs field (one of {})", fields()))?,
                value: value()?,
            },
            "発送元を設定" => RuleAction::SetShipFrom {
                ship_from_id: a.ship_from.ok_or("発送元を設定 needs ship_from = ID")?,
            },
            "配送方法を設定" => RuleAction::SetDeliveryMethod { method: value()? },
            "保留理由を追加" => RuleAction::AddHoldReason { reason: value()? },
            "取込拒否" => RuleAction::RefuseIntake { reason: value()? },
            other => {
                return Err(format!(
                    "unknown action type {other:?}: one of 項目を設定, 発送元を設定, 配送方法を設定, 保留理由を追加, 取込拒否"
                ));
            }
        });
    }
    let match_all = match f.match_.as_deref() {
        None | Some("all") | Some("全て") => true,
        Some("any") | Some("いずれか") => false,
        Some(other) => return Err(format!("match must be \"all\" or \"any\", not {other:?}")),
    };
    let rule = UserRule {
        conditions,
        match_all,
        actions,
    };
    rule.validate().map_err(|m| m.ja)?;
    Ok((f.name, f.description, rule))
}
