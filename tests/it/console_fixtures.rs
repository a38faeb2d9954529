//! Fixtures and helpers for the console tests: a fixed, realistic shop (30 instructions over
//! every queue, CJK / emoji / hostile names, an intake error, the standard robots), a fixed
//! clock, key helpers and a screen dump for snapshots.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use serde_json::json;
use shukka::domain::*;
use shukka::engine::{CheckItem, DryRunChange, FixTarget};
use shukka::futureshop::Amounts;
use shukka::robots::converter::{Converter, GUIDE_NAME};
use shukka::robots::linkage::{
    EASY_FETCH, EASY_STATUS, EASY_TRACKING, LinkAction, LinkageRobot, RELEASE_ROBOT, RobotRole,
    Trigger,
};
use shukka::robots::processing::{BuiltinRule, ProcessingRobot};
use shukka::service::{InstructionDetail, IntakeErrorDetail, LinkageRow, Reply, RobotsView};
use shukka::store::{Change, Counts, StoreEvent};
use shukka::tui::app::{App, AppEvent, Effect, Tag};
use shukka::tui::model::{QUEUES, Queue};
use shukka::tui::text::{Lang, text};
use shukka::tui::theme::Theme;

/// The hostile part of a customer name: an OSC title change, BEL, and "clear screen".
pub const HOSTILE: &str = "\u{1b}]0;x\u{7}\u{1b}[2J";

pub fn jst() -> FixedOffset {
    shukka::time::jst()
}

pub fn naive(m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, m, d)
        .and_then(|x| x.and_hms_opt(h, min, 0))
        .expect("valid fixture date")
}

pub fn at(m: u32, d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
    naive(m, d, h, min)
        .and_local_timezone(jst())
        .single()
        .expect("JST is unambiguous")
}

/// The fixed "now" of every console test: 2026-11-29 15:00 JST.
pub fn now() -> DateTime<FixedOffset> {
    at(11, 29, 15, 0)
}

pub fn order_no(id: u64) -> String {
    format!("1000{id:08}")
}

struct Row {
    customer: &'static str,
    pref: &'static str,
    items: i64,
    skus: &'static [&'static str],
    amount: i64,
    payment_type: &'static str,
    payment: PaymentFlag,
    status: Status,
    holds: &'static [&'static str],
    upstream_error: bool,
    cancelled_after_shipment: bool,
}

#[allow(clippy::too_many_arguments)] // one fixture row, the columns of the table below
const fn row(
    customer: &'static str,
    pref: &'static str,
    items: i64,
    skus: &'static [&'static str],
    amount: i64,
    payment_type: &'static str,
    payment: PaymentFlag,
    status: Status,
) -> Row {
    Row {
        customer,
        pref,
        items,
        skus,
        amount,
        payment_type,
        payment,
        status,
        holds: &[],
        upstream_error: false,
        cancelled_after_shipment: false,
    }
}

/// The customer of instruction 4 (in 出荷待ち): a name with terminal escape sequences.
pub fn hostile_name() -> String {
    format!("攻撃者{HOSTILE}テスト")
}

use PaymentFlag::{NotRequired, Paid, Unpaid};
use Status::{AwaitingPayment, Cancelled, Held, InProgress, Ready, Shipped};

#[rustfmt::skip] // a table: one instruction per line
fn rows() -> Vec<Row> {
    vec![
        // 出荷待ち (ids 1–10)
        row("山田 太郎", "TOKYO", 2, &["TSHIRT-RED-M", "MUG-001"], 5_480, "COD", NotRequired, Ready),
        row("佐藤 花子", "OSAKA", 1, &["BAG-L"], 12_800, "FREGI_CREDIT_CARD", Paid, Ready),
        row("🎁 ギフト 山本様", "KYOTO", 3, &["TEA-GREEN-100"], 3_240, "FREGI_CREDIT_CARD", Paid, Ready),
        row("", "HOKKAIDO", 1, &["MUG-001"], 1_980, "BANK_TRANSFER", Paid, Ready), // hostile name, set below
        row("John Smith", "KANAGAWA", 4, &["TSHIRT-BLU-L"], 9_900, "AMAZON_PAY", Paid, Ready),
        row("鈴木 一郎", "FUKUOKA", 1, &["BAG-S"], 7_700, "COD", NotRequired, Ready),
        row("高橋 美咲", "AICHI", 2, &["TEA-BLACK-50"], 2_160, "FREGI_CONVENI", Paid, Ready),
        row("長谷川 あいうえおかきくけこ", "OKINAWA", 12, &["MUG-002"], 123_456, "COD", NotRequired, Ready),
        row("田中 健太", "TOKYO", 1, &["TSHIRT-RED-S"], 3_300, "FREGI_CREDIT_CARD", Paid, Ready),
        row("中村 愛", "OSAKA", 2, &["BAG-L", "TEA-GREEN-100"], 16_040, "BANK_TRANSFER", Paid, Ready),
        // 入金確認 (11–14)
        row("小林 優子", "SAITAMA", 1, &["MUG-001"], 1_980, "BANK_TRANSFER", Unpaid, AwaitingPayment),
        row("加藤 大輔", "CHIBA", 2, &["BAG-S"], 15_400, "FREGI_CONVENI", Unpaid, AwaitingPayment),
        row("吉田 美穂", "HYOGO", 1, &["TEA-BLACK-50"], 1_080, "POSTAL_TRANSFER", Unpaid, AwaitingPayment),
        row("山口 恵", "HIROSHIMA", 3, &["TSHIRT-RED-M"], 8_910, "BANK_TRANSFER", Unpaid, AwaitingPayment),
        // 保留 (15–18)
        Row { holds: &["住所不備"], ..row("松本 潤", "MIYAGI", 1, &["BAG-L"], 12_800, "COD", NotRequired, Held) },
        Row { holds: &["商品マスタ未登録: MUG-999"], ..row("井上 真央", "NIIGATA", 1, &["MUG-999"], 2_200, "FREGI_CREDIT_CARD", Paid, Held) },
        Row { holds: &["同一受注コードの出荷指示があります", "住所不備"], ..row("木村 拓哉", "SHIZUOKA", 2, &["TEA-GREEN-100"], 4_320, "COD", NotRequired, Held) },
        Row { holds: &["お客様の依頼で保留"], ..row("林 檎", "NAGANO", 1, &["BAG-S"], 7_700, "FREGI_CREDIT_CARD", Paid, Held) },
        // 出荷作業中 (19–22)
        row("清水 翔太", "TOKYO", 1, &["TSHIRT-BLU-L"], 3_300, "FREGI_CREDIT_CARD", Paid, InProgress),
        row("山崎 さくら", "OSAKA", 2, &["MUG-002"], 4_400, "COD", NotRequired, InProgress),
        row("森 七菜", "KYOTO", 1, &["BAG-L"], 12_800, "FREGI_CREDIT_CARD", Paid, InProgress),
        row("池田 エリサ", "FUKUOKA", 5, &["TEA-BLACK-50"], 5_400, "BANK_TRANSFER", Paid, InProgress),
        // 出荷済み (23–27), 25 refused by futureshop
        row("橋本 環奈", "TOKYO", 1, &["MUG-001"], 1_980, "COD", NotRequired, Shipped),
        row("阿部 寛", "KANAGAWA", 2, &["BAG-S"], 15_400, "FREGI_CREDIT_CARD", Paid, Shipped),
        Row { upstream_error: true, ..row("石川 さゆり", "ISHIKAWA", 1, &["TEA-GREEN-100"], 1_620, "COD", NotRequired, Shipped) },
        row("前田 敦子", "OSAKA", 3, &["TSHIRT-RED-M"], 8_910, "FREGI_CREDIT_CARD", Paid, Shipped),
        row("藤田 ニコル", "AICHI", 1, &["BAG-L"], 12_800, "BANK_TRANSFER", Paid, Shipped),
        // キャンセル (28–30), 29 cancelled after shipment
        row("岡田 准一", "TOKYO", 1, &["MUG-002"], 2_200, "BANK_TRANSFER", Unpaid, Cancelled),
        Row { cancelled_after_shipment: true, ..row("後藤 真希", "HOKKAIDO", 2, &["BAG-S"], 15_400, "COD", NotRequired, Cancelled) },
        row("長澤 まさみ", "KAGOSHIMA", 1, &["TEA-BLACK-50"], 1_080, "FREGI_CREDIT_CARD", Paid, Cancelled),
    ]
}

/// The order date of instruction `id`: every 40 minutes from 11/28 16:00 (all within the
/// 24 hours before [`now`]).
pub fn order_date(id: u64) -> NaiveDateTime {
    naive(11, 28, 16, 0) + chrono::Duration::minutes(40 * id as i64)
}

/// The 30 instructions of the fixture shop, ids 1–30.
pub fn summaries() -> Vec<InstructionSummary> {
    rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id = i as u64 + 1;
            InstructionSummary {
                id,
                version: 3,
                auth_id: 1,
                order_no: order_no(id),
                order_date: Some(order_date(id)),
                buyer: if id == 4 {
                    hostile_name()
                } else {
                    r.customer.to_string()
                },
                recipient: if id == 4 {
                    hostile_name()
                } else {
                    r.customer.to_string()
                },
                prefecture: r.pref.to_string(),
                items: r.items,
                skus: r.skus.iter().map(|s| s.to_string()).collect(),
                amount: r.amount,
                payment_type: r.payment_type.to_string(),
                payment: r.payment,
                status: r.status,
                hold_reasons: r.holds.iter().map(|s| s.to_string()).collect(),
                upstream_error: r.upstream_error,
                cancelled_after_shipment: r.cancelled_after_shipment,
                late_cancel_open: false,
                shipped_outside: false,
                bundle: None,
                updated_at: now() - chrono::Duration::minutes(90),
            }
        })
        .collect()
}

pub fn summary(id: u64) -> InstructionSummary {
    summaries()
        .into_iter()
        .find(|s| s.id == id)
        .expect("fixture id")
}

/// `n` instructions, all 出荷待ち, one a minute, ids 1..=n.
pub fn many(n: u64) -> Vec<InstructionSummary> {
    let base = naive(1, 1, 0, 0);
    (1..=n)
        .map(|id| InstructionSummary {
            id,
            version: 1,
            auth_id: 1,
            order_no: order_no(id),
            order_date: Some(base + chrono::Duration::minutes(id as i64)),
            buyer: String::new(),
            recipient: if id % 3 == 0 {
                format!("顧客 {id}")
            } else {
                format!("Customer {id}")
            },
            prefecture: "TOKYO".into(),
            items: 1,
            skus: vec!["MUG-001".into()],
            amount: 1_000,
            payment_type: "COD".into(),
            payment: NotRequired,
            status: Ready,
            hold_reasons: Vec::new(),
            upstream_error: false,
            cancelled_after_shipment: false,
            late_cancel_open: false,
            shipped_outside: false,
            bundle: None,
            updated_at: now(),
        })
        .collect()
}

pub fn counts(all: &[InstructionSummary]) -> Counts {
    let mut c = Counts::default();
    for s in all {
        *c.by_status.entry(s.status).or_insert(0) += 1;
        if s.upstream_error {
            c.upstream_errors += 1;
        }
    }
    c.intake_errors = intake_errors().len() as u64;
    c
}

pub fn intake_error_records() -> Vec<IntakeError> {
    vec![
        IntakeError {
            id: 501,
            auth_id: 1,
            order_no: "100000000099".into(),
            converter_id: 18026,
            reason: "変換エラー: 配送先(shipmentList)がありません".into(),
            robot_id: None,
            order_date: Some(naive(11, 29, 9, 12)),
            first_seen: at(11, 29, 9, 20),
            last_seen: at(11, 29, 14, 50),
            attempts: 3,
            raw: RawJson::from_value(&json!({"orderNo": "100000000099", "shipmentList": []})),
        },
        IntakeError {
            id: 502,
            auth_id: 1,
            order_no: "100000000098".into(),
            converter_id: 18026,
            reason: "品番(skuNo)のない商品があります: 福袋2026".into(),
            robot_id: Some(1),
            order_date: Some(naive(11, 29, 10, 5)),
            first_seen: at(11, 29, 10, 10),
            last_seen: at(11, 29, 10, 10),
            attempts: 1,
            raw: RawJson::from_value(&json!({"orderNo": "100000000098"})),
        },
    ]
}

/// The intake errors as the list shows them (without their raw orders).
pub fn intake_errors() -> Vec<IntakeErrorSummary> {
    intake_error_records()
        .iter()
        .map(IntakeError::summary)
        .collect()
}

pub const STANDARD: u64 = 18025;
pub const COPY: u64 = 18026;
pub const DISABLED_COPY: u64 = 18027;

pub fn converters() -> Vec<Converter> {
    let std = Converter::standard();
    let mut copy = std.duplicate(COPY);
    copy.name = GUIDE_NAME.into();
    copy.enabled = true;
    let disabled = std.duplicate(DISABLED_COPY);
    vec![std, copy, disabled]
}

/// Built-in 1–6: 1–4 on and applied to the copy, 5 on but applied nowhere (the half-set),
/// 6 off.
pub fn processing() -> Vec<ProcessingRobot> {
    BuiltinRule::ALL
        .iter()
        .map(|r| {
            let mut p = ProcessingRobot::builtin(*r);
            match r.number() {
                1..=4 => {
                    p.enabled = true;
                    p.applied_to.insert(COPY);
                }
                5 => p.enabled = true,
                _ => {}
            }
            p
        })
        .collect()
}

pub const FETCH: u64 = 101;
pub const STATUS_SYNC: u64 = 102;
pub const TRACKING: u64 = 103;
pub const RELEASE: u64 = 104;
pub const PRODUCTS: u64 = 105;

fn linkage_robot(
    id: u64,
    name: &str,
    action: LinkAction,
    trigger: Trigger,
    enabled: bool,
) -> LinkageRobot {
    let role = match id {
        FETCH => Some(RobotRole::EasyFetch),
        STATUS_SYNC => Some(RobotRole::EasyStatus),
        TRACKING => Some(RobotRole::EasyTracking),
        RELEASE => Some(RobotRole::Release),
        PRODUCTS => Some(RobotRole::ProductMaster),
        _ => None,
    };
    LinkageRobot {
        id,
        name: name.into(),
        action,
        auth_id: action.needs_auth().then_some(1),
        converter_id: action.is_fetch().then_some(COPY),
        processing_robot_id: (action == LinkAction::ApplyProcessingRobot).then_some(5),
        target_status: (action == LinkAction::ApplyProcessingRobot).then_some(AwaitingPayment),
        range: None,
        trigger,
        enabled,
        role,
    }
}

pub fn runs() -> Vec<RunLogEntry> {
    let run = |seq: u64,
               robot: u64,
               name: &str,
               action: LinkAction,
               start: DateTime<FixedOffset>,
               state: RunState| RunLogEntry {
        seq,
        robot_id: robot,
        robot_name: name.into(),
        action,
        started: start,
        ended: Some(start + chrono::Duration::seconds(12)),
        window: action.is_fetch().then(|| {
            (
                start.naive_local() - chrono::Duration::minutes(15),
                start.naive_local(),
            )
        }),
        success: 0,
        failure: 0,
        skipped: 0,
        pages: 1,
        details: 0,
        state,
        errors: Vec::new(),
        trigger: "間隔".into(),
    };
    // Newest first, as the service returns them.
    vec![
        RunLogEntry {
            success: 3,
            skipped: 2,
            ..run(
                12,
                FETCH,
                EASY_FETCH,
                LinkAction::FetchDiff,
                at(11, 29, 14, 50),
                RunState::Done,
            )
        },
        RunLogEntry {
            success: 1,
            ..run(
                11,
                RELEASE,
                RELEASE_ROBOT,
                LinkAction::ApplyProcessingRobot,
                at(11, 29, 14, 45),
                RunState::Done,
            )
        },
        RunLogEntry {
            success: 40,
            ..run(
                10,
                STATUS_SYNC,
                EASY_STATUS,
                LinkAction::StatusSync,
                at(11, 29, 14, 44),
                RunState::Done,
            )
        },
        RunLogEntry {
            success: 4,
            skipped: 1,
            ..run(
                9,
                FETCH,
                EASY_FETCH,
                LinkAction::FetchDiff,
                at(11, 29, 14, 40),
                RunState::Done,
            )
        },
        RunLogEntry {
            success: 4,
            failure: 1,
            errors: vec![
                "100000000025: CannotUpdateStorePickup 店舗受取の受注は更新できません".into(),
            ],
            ..run(
                8,
                TRACKING,
                EASY_TRACKING,
                LinkAction::TrackingUpload,
                at(11, 29, 9, 0),
                RunState::Done,
            )
        },
        RunLogEntry {
            errors: vec!["接続できません: timed out".into()],
            ..run(
                7,
                FETCH,
                EASY_FETCH,
                LinkAction::FetchDiff,
                at(11, 29, 8, 30),
                RunState::Failed,
            )
        },
        RunLogEntry {
            success: 2,
            ..run(
                6,
                FETCH,
                EASY_FETCH,
                LinkAction::FetchDiff,
                at(11, 29, 8, 20),
                RunState::Done,
            )
        },
        RunLogEntry {
            success: 12,
            ..run(
                5,
                PRODUCTS,
                "商品マスタ取得",
                LinkAction::ProductMasterFetch,
                at(11, 28, 18, 0),
                RunState::Done,
            )
        },
    ]
}

pub fn linkage() -> Vec<LinkageRow> {
    let r = runs();
    let last = |id: u64| r.iter().find(|x| x.robot_id == id).cloned();
    let name = |id: u64| match id {
        STATUS_SYNC => EASY_STATUS.to_string(),
        other => format!("ID:{other}"),
    };
    let row = |robot: LinkageRobot, next: Option<DateTime<FixedOffset>>| LinkageRow {
        trigger: robot.trigger.describe(name),
        cursor: None,
        last_run: last(robot.id),
        next_run: next,
        running: false,
        robot,
    };
    vec![
        row(
            linkage_robot(
                FETCH,
                EASY_FETCH,
                LinkAction::FetchDiff,
                Trigger::Every { secs: 600 },
                true,
            ),
            Some(at(11, 29, 15, 0)),
        ),
        row(
            linkage_robot(
                STATUS_SYNC,
                EASY_STATUS,
                LinkAction::StatusSync,
                Trigger::Every { secs: 1800 },
                true,
            ),
            Some(at(11, 29, 15, 14)),
        ),
        row(
            linkage_robot(
                TRACKING,
                EASY_TRACKING,
                LinkAction::TrackingUpload,
                Trigger::Daily {
                    times: vec![
                        NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
                        NaiveTime::from_hms_opt(16, 0, 0).expect("time"),
                    ],
                },
                true,
            ),
            Some(at(11, 29, 16, 0)),
        ),
        row(
            linkage_robot(
                RELEASE,
                RELEASE_ROBOT,
                LinkAction::ApplyProcessingRobot,
                Trigger::After {
                    robot_id: STATUS_SYNC,
                },
                true,
            ),
            None,
        ),
        row(
            linkage_robot(
                PRODUCTS,
                "商品マスタ取得",
                LinkAction::ProductMasterFetch,
                Trigger::Manual,
                false,
            ),
            None,
        ),
    ]
}

pub fn robots_view() -> RobotsView {
    RobotsView {
        converters: converters(),
        processing: processing(),
        linkage: linkage(),
        no_prepayment: vec!["COD".into()],
    }
}

/// The 7 setup items: 1–4 and 7 done, 5 (the half-set) and 6 not.
pub fn checklist() -> Vec<CheckItem> {
    let item =
        |number: u8, title: [&str; 2], ok: bool, reason: [&str; 2], fix: FixTarget| CheckItem {
            number,
            title: title[0].into(),
            ok,
            reason: reason[0].into(),
            fix,
            title_en: title[1].into(),
            reason_en: reason[1].into(),
        };
    vec![
        item(
            1,
            ["発送元を登録する", "Register the ship-from (発送元)"],
            true,
            ["発送元「本店倉庫」(ID:1)", "Ship-from \"本店倉庫\" (ID:1)"],
            FixTarget::ShipFrom,
        ),
        item(
            2,
            [
                "ID:18025 を複製し、名前を変えて有効にする",
                "Duplicate ID:18025, rename the copy and enable it",
            ],
            true,
            [
                "ID:18026 出荷指示登録(futureshop API用)- 独自 が有効",
                "ID:18026 出荷指示登録(futureshop API用)- 独自 is enabled",
            ],
            FixTarget::Converters,
        ),
        item(
            3,
            [
                "API認証設定を登録し、接続テストに成功する",
                "Add API credentials (API認証設定) and pass the connection test",
            ],
            true,
            [
                "「本店」: 接続テスト成功 (11/29 09:00)",
                "\"本店\": connection test passed (11/29 09:00)",
            ],
            FixTarget::Auth,
        ),
        item(
            4,
            [
                "かんたん設定で連携ロボットを作り、差分取得に複製した変換ロボットを使う",
                "かんたん設定: create the linkage robots; the diff fetch uses the copied converter",
            ],
            true,
            [
                "【自動連携】futureshop 出荷指示取得(差分) は ID:18026 出荷指示登録(futureshop API用)- 独自 を使用",
                "【自動連携】futureshop 出荷指示取得(差分) uses ID:18026 出荷指示登録(futureshop API用)- 独自",
            ],
            FixTarget::Linkage,
        ),
        item(
            5,
            [
                "処理ロボット 1〜5 を有効にして適用する (6 は無効)",
                "Enable processing robots 1–5 and apply them (6 stays off)",
            ],
            false,
            ["5 が未適用", "5 is not applied"],
            FixTarget::Processing,
        ),
        item(
            6,
            [
                "ステータス同期の後に処理ロボット5を入金確認へ適用する連携ロボットを作る",
                "Create the linkage robot applying robot 5 to 入金確認 after ステータス同期",
            ],
            false,
            [
                "ID:104 futureshopの出荷指示を対象に入金済みかつ、エラーが無くなったら出荷待ちへ移動: 無効",
                "ID:104 futureshopの出荷指示を対象に入金済みかつ、エラーが無くなったら出荷待ちへ移動: it is off",
            ],
            FixTarget::Linkage,
        ),
        item(
            7,
            [
                "取得テスト (範囲指定の手動実行) で出荷指示を登録する",
                "Test fetch (範囲指定, run by hand) registers instructions",
            ],
            true,
            [
                "11/29 14:50 【自動連携】futureshop 出荷指示取得(差分) (成功:3 失敗:0)",
                "11/29 14:50 【自動連携】futureshop 出荷指示取得(差分) (成功:3 失敗:0)",
            ],
            FixTarget::Fetch,
        ),
    ]
}

pub fn audit() -> Vec<AuditEntry> {
    let e = |seq: u64,
             t: DateTime<FixedOffset>,
             actor: Actor,
             target: Target,
             action: &str,
             from: Option<Status>,
             to: Option<Status>,
             reason: &str| AuditEntry {
        seq,
        at: t,
        actor,
        target,
        action: action.into(),
        from,
        to,
        reason: reason.into(),
    };
    let ins = |id: u64| Target::Instruction {
        id,
        order_no: order_no(id),
    };
    vec![
        e(
            9,
            at(11, 29, 14, 58),
            Actor::Operator("yamada".into()),
            ins(15),
            "保留",
            Some(Ready),
            Some(Held),
            "住所不備",
        ),
        e(
            8,
            at(11, 29, 14, 45),
            Actor::Robot {
                id: 5,
                name: "futureshop 入金確認解除".into(),
            },
            ins(9),
            "保留解除",
            Some(AwaitingPayment),
            Some(Ready),
            "入金済",
        ),
        e(
            7,
            at(11, 29, 14, 30),
            Actor::Operator("sato".into()),
            ins(23),
            "出荷",
            Some(InProgress),
            Some(Shipped),
            "送り状 1234-5678-9012",
        ),
        e(
            6,
            at(11, 29, 12, 0),
            Actor::Operator("sato".into()),
            Target::Robot {
                kind: "処理ロボット".into(),
                id: 5,
                name: "futureshop 入金確認解除".into(),
            },
            "有効にする",
            None,
            None,
            "",
        ),
        e(
            5,
            at(11, 29, 11, 0),
            Actor::System,
            Target::Setup {
                what: "API認証設定 本店".into(),
            },
            "接続テスト",
            None,
            None,
            "成功",
        ),
        e(
            4,
            at(11, 29, 10, 10),
            Actor::Robot {
                id: 101,
                name: EASY_FETCH.into(),
            },
            Target::IntakeError {
                id: 502,
                order_no: "100000000098".into(),
            },
            "取込エラー",
            None,
            None,
            "品番(skuNo)のない商品があります",
        ),
    ]
}

pub fn ship_froms() -> Vec<ShipFrom> {
    vec![ShipFrom {
        id: 1,
        name: "本店倉庫".into(),
        postal_code: "150-0001".into(),
        prefecture: "東京都".into(),
        address: "渋谷区神宮前1-2-3".into(),
        phone: "03-1234-5678".into(),
    }]
}

pub fn auths() -> Vec<ApiAuth> {
    vec![ApiAuth {
        id: 1,
        name: "本店".into(),
        api: "futureshop".into(),
        ship_from_id: Some(1),
        shop_key: "demo-shop".into(),
        client_id: "demo-client".into(),
        endpoint: "api.example.futureshop.jp".into(),
        pacing_ms: 1000,
        fetch_details: true,
        has_secret: true,
        last_test: Some(ConnectionTest {
            at: at(11, 29, 9, 0),
            ok: true,
            message: "接続できました (トークン有効期限 3600 秒)".into(),
            message_en: "OK: futureshop issued a token (valid for 3600 s)".into(),
        }),
    }]
}

pub fn products() -> Vec<ProductMaster> {
    ["MUG-001", "BAG-L", "TEA-GREEN-100"]
        .iter()
        .map(|s| ProductMaster {
            sku_no: s.to_string(),
            name: format!("商品 {s}"),
            stock: 10,
            source: "futureshop".into(),
            ..Default::default()
        })
        .collect()
}

/// The full instruction behind summary `id`, with a rule trace and history.
pub fn detail(id: u64) -> InstructionDetail {
    let s = summary(id);
    let address = Address {
        name: s.recipient.clone(),
        name_kana: "ヤマダ タロウ".into(),
        postal_code: "100-0001".into(),
        prefecture: s.prefecture.clone(),
        address: "千代田区千代田1-1 サンプルビル 3F".into(),
        phone: "090-1234-5678".into(),
    };
    let instruction = Instruction {
        id,
        version: s.version,
        auth_id: 1,
        order_no: s.order_no.clone(),
        converter_id: COPY,
        ship_from_id: Some(1),
        order_date: s.order_date,
        order_type: Some("NORMAL".into()),
        buyer: address.clone(),
        buyer_mail: "taro@example.jp".into(),
        destinations: vec![Destination {
            shipment_no: 1,
            address,
            delivery_method: "ヤマト運輸 宅急便".into(),
            store_pickup: false,
            cool: false,
            requested_date: NaiveDate::from_ymd_opt(2026, 12, 1),
            requested_time: Some("14時～16時".into()),
            items: vec![
                Item {
                    sku_no: "TSHIRT-RED-M".into(),
                    name: "Tシャツ 赤 M".into(),
                    count: 1,
                    price: 2_980,
                    jan_code: "4901234567894".into(),
                    tax_class: "STANDARD".into(),
                    options: vec![ItemOption {
                        name: "名入れ".into(),
                        value: "TARO".into(),
                        price: Some(330),
                    }],
                },
                Item {
                    sku_no: "MUG-001".into(),
                    name: "マグカップ 白".into(),
                    count: 1,
                    price: 1_500,
                    ..Item::default()
                },
            ],
            tracking_no: None,
            upstream_accepted: false,
            instructions: Some("不在時は宅配ボックスへ".into()),
            gift_label: Some("御歳暮 (外のし)".into()),
            gift_charge: 220,
            shipped_in_futureshop: None,
            delivery: None,
            label: None,
        }],
        payment_type: Some(s.payment_type.clone()),
        amounts: Amounts {
            grand_total: s.amount,
            product_total: 4_480,
            postage: 800,
            payment_charge_total: 330,
            used_point_price: 130,
            ..Default::default()
        },
        payment: s.payment,
        status: s.status,
        hold_reasons: s.hold_reasons.iter().cloned().collect(),
        notes: Some("置き配希望".into()),
        shop_memo: None,
        detail: DetailState::Fetched,
        tracking: None,
        upstream: Upstream::Idle,
        cancelled_after_shipment: false,
        late_cancel_ack: None,
        bundle: None,
        bundle_never: Default::default(),
        upstream_status: Some("AWAITING_SHIPMENT".into()),
        trace: vec![
            TraceEntry {
                at: at(11, 28, 16, 41),
                robot_id: 1,
                robot_name: "商品マスタ登録チェック".into(),
                decision: "全品番が商品マスタにあります".into(),
            },
            TraceEntry {
                at: at(11, 28, 16, 41),
                robot_id: 3,
                robot_name: "入金状況チェック".into(),
                decision: "代金引換: 入金不要".into(),
            },
        ],
        created_at: at(11, 28, 16, 41),
        updated_at: s.updated_at,
        updated_by: "robot:101".into(),
        intake: None,
        raw: RawJson::from_value(&json!({
            "orderNo": s.order_no,
            "orderDate": "2026-11-28T16:40:00",
            "paymentType": s.payment_type,
            "buyer": {"lastName": "山田", "firstName": "太郎", "prefecture": s.prefecture},
            "shipmentList": [{"shipmentNo": 1, "productList": [{"skuNo": "TSHIRT-RED-M", "count": 1}, {"skuNo": "MUG-001", "count": 1}]}]
        })),
    };
    let history = vec![
        AuditEntry {
            seq: 1,
            at: at(11, 28, 16, 41),
            actor: Actor::Robot {
                id: FETCH,
                name: EASY_FETCH.into(),
            },
            target: Target::Instruction {
                id,
                order_no: s.order_no.clone(),
            },
            action: "登録".into(),
            from: None,
            to: Some(AwaitingPayment),
            reason: String::new(),
        },
        AuditEntry {
            seq: 2,
            at: at(11, 28, 16, 42),
            actor: Actor::Robot {
                id: 3,
                name: "入金状況チェック".into(),
            },
            target: Target::Instruction {
                id,
                order_no: s.order_no.clone(),
            },
            action: "保留解除".into(),
            from: Some(AwaitingPayment),
            to: Some(Ready),
            reason: "入金不要".into(),
        },
    ];
    InstructionDetail {
        instruction,
        history,
        archived: None,
    }
}

pub fn dry_run_changes() -> Vec<DryRunChange> {
    vec![
        DryRunChange {
            id: 11,
            order_no: order_no(11),
            from: AwaitingPayment,
            to: Ready,
            decision: "入金済: 出荷待ちへ".into(),
        },
        DryRunChange {
            id: 12,
            order_no: order_no(12),
            from: AwaitingPayment,
            to: Ready,
            decision: "入金済: 出荷待ちへ".into(),
        },
    ]
}

// ------------------------------------------------------------------------------------------
// Building and driving the app

/// A fixture as JSON (to search its text).
pub fn value<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).expect("fixture serializes")
}

/// The answer a server gives when the request behind `tag` succeeds, typed as it would be.
pub fn success(tag: &Tag) -> Reply {
    match tag {
        Tag::Counts => Reply::Counts(counts(&summaries())),
        Tag::FirstScreen => Reply::Summaries(shukka::service::SummaryList::Rows(
            summaries().into_iter().take(20).collect(),
        )),
        Tag::Intake => Reply::IntakeErrors(intake_errors()),
        Tag::Robots => Reply::Robots(robots_view()),
        Tag::Checklist => Reply::Checklist(checklist()),
        Tag::Runs => Reply::Runs(runs()),
        Tag::Audit => Reply::Audit(audit()),
        Tag::ShipFroms => Reply::ShipFroms(ship_froms()),
        Tag::Auths => Reply::Auths(auths()),
        Tag::Products => Reply::ProductCount(products().len()),
        Tag::Detail(id) => Reply::Detail(detail(*id)),
        Tag::IntakeError(id) => Reply::IntakeError(IntakeErrorDetail {
            error: intake_error_records()
                .into_iter()
                .find(|e| e.id == *id)
                .unwrap_or_else(|| intake_error_records().remove(0)),
            preview: None,
        }),
        Tag::Done(_) | Tag::Guide(_) => Reply::Done,
        Tag::DryRun(_) => Reply::DryRun(dry_run_changes()),
        Tag::SavedAuth => Reply::Auth(auths().remove(0)),
        Tag::Bundle(_) => Reply::Bundle(bundle_view()),
        Tag::Profiles(_) => Reply::LabelProfiles(
            ["b2", "ehiden3", "yupri", "clickpost"]
                .iter()
                .map(|id| shukka::service::ProfileInfo {
                    id: id.to_string(),
                    name: id.to_uppercase(),
                    custom: false,
                })
                .collect(),
        ),
        Tag::Test => Reply::ConnectionTest(ConnectionTest {
            at: now(),
            ok: true,
            message: "接続できました".into(),
            message_en: "OK: futureshop issued a token".into(),
        }),
    }
}

/// An app of `w`×`h` with the fixed clock and nothing loaded.
pub fn empty_app(lang: Lang, color: bool, read_only: bool, w: u16, h: u16) -> App {
    let mut app = App::new(text(lang), Theme { color }, read_only);
    app.size = (w, h);
    app.clock = Some(now());
    app
}

/// Feeds every reply the console asks for at start.
pub fn load(app: &mut App, all: Vec<InstructionSummary>) {
    let c = counts(&all);
    app.update(AppEvent::Summaries(Ok(all)));
    app.update(AppEvent::Reply(Tag::Counts, Ok(Reply::Counts(c))));
    app.update(AppEvent::Reply(
        Tag::Intake,
        Ok(Reply::IntakeErrors(intake_errors())),
    ));
    app.update(AppEvent::Reply(
        Tag::Robots,
        Ok(Reply::Robots(robots_view())),
    ));
    app.update(AppEvent::Reply(
        Tag::Checklist,
        Ok(Reply::Checklist(checklist())),
    ));
    app.update(AppEvent::Reply(Tag::Runs, Ok(Reply::Runs(runs()))));
    app.update(AppEvent::Reply(Tag::Audit, Ok(Reply::Audit(audit()))));
    app.update(AppEvent::Reply(
        Tag::ShipFroms,
        Ok(Reply::ShipFroms(ship_froms())),
    ));
    app.update(AppEvent::Reply(Tag::Auths, Ok(Reply::Auths(auths()))));
    app.update(AppEvent::Reply(
        Tag::Products,
        Ok(Reply::ProductCount(products().len())),
    ));
}

/// The fixture shop, Japanese, in colour, 80×24.
pub fn app() -> App {
    app_with(Lang::Ja, true, false, 80, 24)
}

pub fn app_with(lang: Lang, color: bool, read_only: bool, w: u16, h: u16) -> App {
    let mut a = empty_app(lang, color, read_only, w, h);
    load(&mut a, summaries());
    a
}

/// Moves the 出荷指示 tab to queue `q`.
pub fn goto_queue(app: &mut App, q: Queue) {
    let pos = QUEUES.iter().position(|x| *x == q).expect("queue");
    while app.orders.queue != pos {
        ch(app, 'l');
    }
}

/// Answers the detail request of `id`.
pub fn reply_detail(app: &mut App, id: u64) {
    app.update(AppEvent::Reply(
        Tag::Detail(id),
        Ok(Reply::Detail(detail(id))),
    ));
}

/// Answers the detail request of intake error `id`.
pub fn reply_intake_detail(app: &mut App, id: u64) {
    let error = intake_error_records()
        .into_iter()
        .find(|e| e.id == id)
        .expect("fixture intake error");
    app.update(AppEvent::Reply(
        Tag::IntakeError(id),
        Ok(Reply::IntakeError(IntakeErrorDetail {
            error,
            preview: None,
        })),
    ));
}

pub fn reply_dry_run(app: &mut App, name: &str) {
    app.update(AppEvent::Reply(
        Tag::DryRun(name.into()),
        Ok(Reply::DryRun(dry_run_changes())),
    ));
}

pub fn store_event(changes: Vec<Change>) -> AppEvent {
    AppEvent::Store(Arc::new(StoreEvent {
        changes,
        counts: None,
    }))
}

pub fn press_event(app: &mut App, e: KeyEvent) -> Vec<Effect> {
    app.update(AppEvent::Key(e))
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    press_event(app, KeyEvent::new(code, KeyModifiers::NONE))
}

/// A character key as a terminal sends it: uppercase letters with SHIFT.
pub fn ch(app: &mut App, c: char) -> Vec<Effect> {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    press_event(app, KeyEvent::new(KeyCode::Char(c), m))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    press_event(app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Types text (into whatever has the focus), returning every effect.
pub fn typ(app: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| ch(app, c)).collect()
}

/// The requests of a list of effects.
pub fn requests(fx: &[Effect]) -> Vec<shukka::service::Request> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Call(_, r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Rendering

pub fn draw(app: &App) -> Terminal<TestBackend> {
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| app.render(f)).expect("draw");
    t
}

/// One screen row as text: wide characters once (the cells they cover are skipped).
pub fn line(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut skip = 0usize;
    for x in 0..buf.area.width {
        let c = &buf[(x, y)];
        if skip > 0 {
            skip -= 1;
            continue;
        }
        out.push_str(c.symbol());
        skip = unicode_width::UnicodeWidthStr::width(c.symbol()).saturating_sub(1);
    }
    out
}

/// The whole screen, one quoted line per row (for snapshots). Panics when a cell covered by a
/// wide character holds anything but a blank: that is a stale glyph the terminal would show.
pub fn screen(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0usize;
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            if skip > 0 {
                assert!(
                    sym == " " || sym.is_empty(),
                    "cell ({x},{y}) under a wide character holds {sym:?}"
                );
                skip -= 1;
                continue;
            }
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push('"');
        out.push_str(&line(buf, y));
        out.push_str("\"\n");
    }
    assert_boxes_closed(buf);
    out
}

/// Every box drawn on screen has its whole left border: a wide character drawn just left of a
/// popup must not swallow the popup's border cell (the terminal would show it across the border).
pub fn assert_boxes_closed(buf: &Buffer) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            if buf[(x, y)].symbol() != "┌" {
                continue;
            }
            let mut yy = y + 1;
            loop {
                assert!(yy < buf.area.height, "box at ({x},{y}) has no bottom");
                match buf[(x, yy)].symbol() {
                    "│" | "├" => yy += 1,
                    "└" => break,
                    other => panic!(
                        "box at ({x},{y}): left border broken at row {yy} ({other:?}):\n{}",
                        (0..buf.area.height)
                            .map(|r| line(buf, r))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                }
            }
        }
    }
}

/// Every row of the screen as text.
pub fn lines(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height).map(|y| line(buf, y)).collect()
}

/// The x (in cells) where `needle` starts on row `y`, if it is there.
pub fn find_x(buf: &Buffer, y: u16, needle: &str) -> Option<u16> {
    let first = needle.chars().next()?;
    for x in 0..buf.area.width {
        if buf[(x, y)].symbol().starts_with(first) {
            let mut s = String::new();
            let mut xx = x;
            while xx < buf.area.width && s.len() < needle.len() {
                let sym = buf[(xx, y)].symbol();
                s.push_str(sym);
                xx += unicode_width::UnicodeWidthStr::width(sym).max(1) as u16;
            }
            if s.starts_with(needle) {
                return Some(x);
            }
        }
    }
    None
}

/// The first row containing `needle`.
pub fn find_row(t: &Terminal<TestBackend>, needle: &str) -> Option<u16> {
    lines(t)
        .iter()
        .position(|l| l.contains(needle))
        .map(|y| y as u16)
}

/// A 同梱 group of the fixture's first two orders, not yet decided.
pub fn bundle_view() -> shukka::engine::bundle::BundleView {
    let members: Vec<shukka::engine::bundle::BundleMember> = [1u64, 2]
        .iter()
        .map(|id| {
            let s = summary(*id);
            shukka::engine::bundle::BundleMember {
                id: s.id,
                version: s.version,
                order_no: s.order_no.clone(),
                order_date: s.order_date,
                status: Held,
                payment: s.payment,
                payment_type: s.payment_type.clone(),
                buyer: s.buyer.clone(),
                buyer_mail: "taro@example.jp".into(),
                recipient: s.recipient.clone(),
                postal: "〒100-0001".into(),
                address: "TOKYO 千代田区千代田1-1".into(),
                phone: "090-1234-5678".into(),
                delivery: "宅配便".into(),
                wish: String::new(),
                gift: String::new(),
                items: s.skus.iter().map(|k| format!("{k} × 1")).collect(),
                amount: s.amount,
                notes: String::new(),
                hold_reasons: vec!["同梱候補".into()],
            }
        })
        .collect();
    shukka::engine::bundle::BundleView {
        bundle: Bundle {
            id: 1,
            auth_id: 1,
            members: members.iter().map(|m| m.id).collect(),
            order_nos: members.iter().map(|m| m.order_no.clone()).collect(),
            state: BundleState::Candidate,
            basis: "山田 太郎 → 山田 太郎 〒100-0001 / 宅配便 / BANK_TRANSFER".into(),
            created_at: now(),
            updated_at: now(),
            updated_by: "ロボット ID:7 同梱候補を保留".into(),
            note: String::new(),
        },
        members,
    }
}
