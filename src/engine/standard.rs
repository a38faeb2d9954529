//! The standard robots and the setup guide's steps, each built by one recipe here — the setup
//! file, かんたん設定, the console's guided first run and the checklist all use these, and find
//! the robots by their role (operators may rename them).

use chrono::Duration;

use super::{Engine, EngineError, Result, no_such};
use crate::domain::*;
use crate::msg;
use crate::robots::converter::{self, Converter, STANDARD_ID};
use crate::robots::linkage::{LinkageRobot, RobotRole, Trigger, find_role};
use crate::robots::processing::{BuiltinRule, ProcessingRobot};
use crate::store::{CFG_NO_PREPAYMENT, CFG_RULE_ORDER};

/// How often the 【自動連携】 robots run unless told otherwise.
pub const DEFAULT_INTERVAL_SECS: u64 = 600;

/// A converter duplicated (directly or through copies) from the standard one.
pub fn derives_from_standard(c: &Converter, all: &[Converter]) -> bool {
    let mut cur = c.copied_from;
    let mut hops = 0;
    while let Some(id) = cur {
        if id == STANDARD_ID {
            return true;
        }
        cur = all.iter().find(|x| x.id == id).and_then(|x| x.copied_from);
        hops += 1;
        if hops > all.len() {
            break;
        }
    }
    false
}

/// The copy the guide's step 2 asks for: derived from ID:18025, renamed, enabled.
pub fn guide_converter(all: &[Converter]) -> Option<&Converter> {
    all.iter().find(|c| {
        !c.standard
            && derives_from_standard(c, all)
            && !c.name.ends_with(converter::COPY_SUFFIX)
            && c.enabled
    })
}

impl Engine {
    /// A new store gets the standard converter, the built-in processing robots in catalogue
    /// order and COD as the payment type that needs no prepayment; robots of older builds get
    /// their roles. Idempotent: run at every start.
    pub(crate) fn ensure_catalogue(&self) -> Result<()> {
        let store = self.store();
        let fresh = store.converter(STANDARD_ID)?.is_none();
        let legacy: Vec<LinkageRobot> = store
            .linkage_robots()?
            .into_iter()
            .filter(|r| r.role.is_none())
            .filter_map(|r| {
                RobotRole::of_legacy(&r).map(|role| LinkageRobot {
                    role: Some(role),
                    ..r
                })
            })
            .collect();
        // Built-ins added by a later build (7 同梱候補を保留): off, at the end of the order.
        let mut added = Vec::new();
        if !fresh {
            for r in BuiltinRule::ALL {
                if store.processing_robot(r.number())?.is_none() {
                    added.push(r);
                }
            }
        }
        if !fresh && legacy.is_empty() && added.is_empty() {
            return Ok(());
        }
        store.write(|t| {
            if !added.is_empty() {
                let mut order: Vec<u64> = t.config(CFG_RULE_ORDER)?.unwrap_or_default();
                for r in &added {
                    t.put_processing(&ProcessingRobot::builtin(*r))?;
                    if !order.contains(&r.number()) {
                        order.push(r.number());
                    }
                }
                t.put_config(CFG_RULE_ORDER, &order)?;
            }
            if fresh {
                t.put_converter(&Converter::standard())?;
                let mut order = Vec::new();
                for r in BuiltinRule::ALL {
                    let robot = ProcessingRobot::builtin(r);
                    order.push(robot.id);
                    t.put_processing(&robot)?;
                }
                t.put_config(CFG_RULE_ORDER, &order)?;
                t.put_config(CFG_NO_PREPAYMENT, &vec!["COD".to_string()])?;
            }
            // One robot per role: the first of each name wins.
            let mut taken: Vec<RobotRole> = Vec::new();
            for r in legacy {
                if let Some(role) = r.role
                    && !taken.contains(&role)
                {
                    taken.push(role);
                    t.put_linkage(&r)?;
                }
            }
            Ok::<(), crate::store::StoreError>(())
        })?;
        Ok(())
    }

    /// The robot of `role`, created by its recipe when there is none. `auth_id`: the API認証
    /// 設定 for the roles that talk to futureshop (default: the first one).
    pub fn standard_robot(
        &self,
        role: RobotRole,
        auth_id: Option<u64>,
        actor: &Actor,
    ) -> Result<LinkageRobot> {
        let store = self.store();
        let robots = store.linkage_robots()?;
        if let Some(r) = find_role(&robots, role) {
            return Ok(r.clone());
        }
        let wanted = self.recipe(role, auth_id, DEFAULT_INTERVAL_SECS)?;
        self.create_linkage(wanted, actor)
    }

    /// What the robot of `role` looks like when the engine builds it.
    pub(crate) fn recipe(
        &self,
        role: RobotRole,
        auth_id: Option<u64>,
        interval_secs: u64,
    ) -> Result<LinkageRobot> {
        let store = self.store();
        let action = role.action();
        let auth_id = if action.needs_auth() {
            match auth_id {
                Some(id) => Some(id),
                None => Some(store.auths()?.first().map(|a| a.id).ok_or_else(|| {
                    EngineError::Setup(msg!(
                        "API認証設定がありません: 先に登録してください",
                        "There is no API認証設定 yet: add one first"
                    ))
                })?),
            }
        } else {
            None
        };
        let converters = store.converters()?;
        let converter_id = action.is_fetch().then(|| {
            guide_converter(&converters)
                .or_else(|| converters.iter().find(|c| c.enabled && !c.standard))
                .map(|c| c.id)
                .unwrap_or(STANDARD_ID)
        });
        let (trigger, processing_robot_id, target_status, range) = match role {
            RobotRole::EasyFetch
            | RobotRole::EasyStatus
            | RobotRole::EasyTracking
            | RobotRole::EasyInventory => (
                Trigger::Every {
                    secs: interval_secs.max(1),
                },
                None,
                None,
                None,
            ),
            RobotRole::Release => {
                let robots = store.linkage_robots()?;
                let status = find_role(&robots, RobotRole::EasyStatus).ok_or_else(|| {
                    EngineError::Setup(msg!(
                        "ステータス同期のロボットがありません: 先にかんたん設定をしてください",
                        "There is no ステータス同期 robot: run かんたん設定 first"
                    ))
                })?;
                (
                    Trigger::After {
                        robot_id: status.id,
                    },
                    Some(BuiltinRule::FutureshopRelease.number()),
                    Some(Status::AwaitingPayment),
                    None,
                )
            }
            RobotRole::ProductMaster => (
                Trigger::Daily {
                    times: vec![chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default()],
                },
                None,
                None,
                None,
            ),
            RobotRole::TestFetch => {
                let end = crate::time::now_jst();
                (
                    Trigger::Manual,
                    None,
                    None,
                    Some((end - Duration::days(7), end)),
                )
            }
        };
        Ok(LinkageRobot {
            id: 0,
            name: role.default_name().to_string(),
            action,
            auth_id,
            converter_id,
            processing_robot_id,
            target_status,
            range,
            trigger,
            enabled: true,
            role: Some(role),
        })
    }

    /// Step 2: a renamed, enabled copy of ID:18025 (duplicated, renamed and enabled as far
    /// as needed). Returns it and what was done.
    pub(crate) fn guide_step_converter(&self, actor: &Actor) -> Result<(Converter, &'static str)> {
        let converters = self.store().converters()?;
        if let Some(c) = guide_converter(&converters) {
            return Ok((c.clone(), super::setup::UNCHANGED));
        }
        let copy = converters
            .iter()
            .find(|c| !c.standard && derives_from_standard(c, &converters))
            .cloned();
        let (mut c, mut done) = match copy {
            Some(c) => (c, "有効化"),
            None => (
                self.duplicate_converter(STANDARD_ID, actor)?,
                "複製・名前変更・有効化",
            ),
        };
        if c.name.ends_with(converter::COPY_SUFFIX) {
            c = self.rename_converter(c.id, converter::GUIDE_NAME, actor)?;
            if done == "有効化" {
                done = "名前変更・有効化";
            }
        }
        if !c.enabled {
            c = self.set_converter_enabled(c.id, true, actor)?;
        }
        Ok((c, done))
    }

    /// Step 5: robots 1–5 enabled and applied to `conv`, 6 off (first, so 5 can be enabled).
    /// Returns what changed.
    pub(crate) fn guide_step_rules(&self, conv: u64, actor: &Actor) -> Result<Vec<String>> {
        let store = self.store();
        let mut changed = Vec::new();
        if store.processing_robot(6)?.is_some_and(|r| r.enabled) {
            self.set_processing_enabled(6, false, actor)?;
            changed.push("6 無効化".to_string());
        }
        for r in &BuiltinRule::ALL[..5] {
            let id = r.number();
            let p = store.processing_robot(id)?.ok_or_else(|| {
                EngineError::Setup(no_such("処理ロボット", "processing robot", id))
            })?;
            if !p.enabled {
                self.set_processing_enabled(id, true, actor)?;
                changed.push(format!("{id} 有効化"));
            }
            if !p.applied_to.contains(&conv) {
                self.apply_processing(id, conv, true, actor)?;
                changed.push(format!("{id} 適用"));
            }
        }
        Ok(changed)
    }

    /// Step 6: the release robot exactly as the guide wants it (created or corrected).
    /// Returns what was done.
    pub(crate) fn guide_step_release(&self, actor: &Actor) -> Result<&'static str> {
        let wanted = self.recipe(RobotRole::Release, None, DEFAULT_INTERVAL_SECS)?;
        let robots = self.store().linkage_robots()?;
        match find_role(&robots, RobotRole::Release) {
            Some(r) => {
                // The operator's name stays; everything the guide checks is put right.
                let fixed = LinkageRobot {
                    id: r.id,
                    name: r.name.clone(),
                    ..wanted
                };
                if &fixed == r {
                    Ok(super::setup::UNCHANGED)
                } else {
                    self.update_linkage(fixed, "設定変更", actor)?;
                    Ok("更新")
                }
            }
            None => {
                self.create_linkage(wanted, actor)?;
                Ok("作成")
            }
        }
    }

    /// An empty product master is filled from futureshop once a connection test has passed
    /// (the product master robot is created for it when missing). Otherwise rule 1 would
    /// refuse every order of the first fetch.
    pub(crate) async fn ensure_product_master(&self, actor: &Actor) -> Result<()> {
        let store = self.store();
        if store.product_count()? > 0 {
            return Ok(());
        }
        let Some(auth) = store
            .auths()?
            .into_iter()
            .find(|a| a.last_test.as_ref().is_some_and(|t| t.ok))
        else {
            return Ok(());
        };
        let robot = self.standard_robot(RobotRole::ProductMaster, Some(auth.id), actor)?;
        let line = self
            .run_robot(
                robot.id,
                super::RunOptions {
                    trigger: format!("セットアップ ({actor})"),
                    ..Default::default()
                },
            )
            .await?;
        if line.state != RunState::Done {
            let why = line.errors.join(" / ");
            return Err(EngineError::Setup(msg!(
                "商品マスタを取得できませんでした: {why}",
                "The product master could not be fetched: {why}"
            )));
        }
        Ok(())
    }

    /// One step of the setup guide done the guide's way, for the console's guided first run.
    pub async fn guide_step(&self, step: u8, actor: &Actor) -> Result<()> {
        match step {
            2 => {
                self.guide_step_converter(actor)?;
            }
            4 => {
                let auth = self.store().auths()?.first().map(|a| a.id).ok_or_else(|| {
                    EngineError::Setup(msg!(
                        "API認証設定がありません: 先に登録してください",
                        "There is no API認証設定 yet: add one first"
                    ))
                })?;
                let (conv, _) = self.guide_step_converter(actor)?;
                self.easy_setup(auth, Some(conv.id), false, DEFAULT_INTERVAL_SECS, actor)?;
            }
            5 => {
                let (conv, _) = self.guide_step_converter(actor)?;
                self.guide_step_rules(conv.id, actor)?;
                // Rule 1 refuses every order whose SKU is not in the product master.
                self.ensure_product_master(actor).await?;
            }
            6 => {
                self.guide_step_release(actor)?;
            }
            7 => {
                self.ensure_product_master(actor).await?;
                let robot = self.standard_robot(RobotRole::TestFetch, None, actor)?;
                let end = crate::time::now_jst();
                let line = self
                    .run_robot(
                        robot.id,
                        super::RunOptions {
                            trigger: format!("セットアップ ({actor})"),
                            range: Some((end - Duration::days(7), end)),
                            chain: true,
                            ..Default::default()
                        },
                    )
                    .await?;
                if line.state != RunState::Done {
                    let why = line.errors.join(" / ");
                    return Err(EngineError::Setup(msg!(
                        "取得テストが完了しませんでした: {why}",
                        "The test fetch did not complete: {why}"
                    )));
                }
            }
            n => {
                return Err(EngineError::Refused(msg!(
                    "手順 {n} はこの画面からは実行できません (発送元と API認証設定はフォームで入力します)",
                    "Step {n} is not done from here (the ship-from and the API認証設定 are forms)"
                )));
            }
        }
        Ok(())
    }
}

/// A fetch robot's converter: the one the guide made, when it exists.
pub fn fetch_converter(robots: &[LinkageRobot], converters: &[Converter]) -> Option<u64> {
    find_role(robots, RobotRole::EasyFetch)
        .and_then(|r| r.converter_id)
        .or_else(|| guide_converter(converters).map(|c| c.id))
}
