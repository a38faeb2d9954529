//! Robot and setup configuration: every change validated, audited, and refused with a message
//! that says why (standard converter is read-only, rules 5 and 6 together, …).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Result, audit_entry, no_such, now};
use crate::domain::*;
use crate::msg;
use crate::msg::Msg;
use crate::robots::converter::Converter;
use crate::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use crate::robots::processing::{self, BuiltinRule, Env, Phase, ProcessingRobot, RuleKind};
use crate::robots::rules::UserRule;
use crate::secret::Secret;
use crate::store::{CFG_NO_PREPAYMENT, CFG_RULE_ORDER, SEQ_ROBOT, Txn};

/// What a processing robot would do to one stored instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunChange {
    pub id: u64,
    pub order_no: String,
    pub from: Status,
    pub to: Status,
    pub decision: String,
}

fn robot_target(kind: &str, id: u64, name: &str) -> Target {
    Target::Robot {
        kind: kind.to_string(),
        id,
        name: name.to_string(),
    }
}

fn refused(m: Msg) -> EngineError {
    EngineError::Refused(m)
}

fn standard_is_read_only(c: &Converter) -> Msg {
    let c = c.label();
    msg!(
        "{c} は標準の変換ロボットのため変更できません: 複製して使ってください",
        "{c} is the standard converter robot and cannot be changed: duplicate it (d) and change the copy"
    )
}

impl Engine {
    fn config_write<T>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<T>) -> Result<T> {
        let out = self.store().write(f)?;
        self.store().flush()?;
        Ok(out)
    }

    // ---------------------------------------------------------------------------------
    // 変換ロボット

    pub fn duplicate_converter(&self, id: u64, actor: &Actor) -> Result<Converter> {
        self.config_write(|t| {
            let src = t
                .converter(id)?
                .ok_or_else(|| refused(no_such("変換ロボット", "converter robot", id)))?;
            let copy = src.duplicate(t.next_id(SEQ_ROBOT));
            t.put_converter(&copy)?;
            t.audit(audit_entry(
                actor,
                robot_target("変換ロボット", copy.id, &copy.name),
                "複製",
                None,
                None,
                format!("{} から複製", src.label()),
            ))?;
            Ok(copy)
        })
    }

    pub fn rename_converter(&self, id: u64, name: &str, actor: &Actor) -> Result<Converter> {
        let name = clean_name(name)?;
        self.config_write(|t| {
            let mut c = t
                .converter(id)?
                .ok_or_else(|| refused(no_such("変換ロボット", "converter robot", id)))?;
            if c.standard {
                return Err(refused(standard_is_read_only(&c)));
            }
            let old = std::mem::replace(&mut c.name, name);
            t.put_converter(&c)?;
            t.audit(audit_entry(
                actor,
                robot_target("変換ロボット", c.id, &c.name),
                "名前変更",
                None,
                None,
                format!("「{old}」から"),
            ))?;
            Ok(c)
        })
    }

    pub fn set_converter_enabled(
        &self,
        id: u64,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Converter> {
        self.config_write(|t| {
            let mut c = t
                .converter(id)?
                .ok_or_else(|| refused(no_such("変換ロボット", "converter robot", id)))?;
            if c.standard {
                return Err(refused(standard_is_read_only(&c)));
            }
            c.enabled = enabled;
            t.put_converter(&c)?;
            t.audit(audit_entry(
                actor,
                robot_target("変換ロボット", c.id, &c.name),
                if enabled { "有効化" } else { "無効化" },
                None,
                None,
                "",
            ))?;
            Ok(c)
        })
    }

    // ---------------------------------------------------------------------------------
    // 処理ロボット

    pub fn set_processing_enabled(
        &self,
        id: u64,
        enabled: bool,
        actor: &Actor,
    ) -> Result<ProcessingRobot> {
        self.config_write(|t| {
            let mut r = t
                .processing_robot(id)?
                .ok_or_else(|| refused(no_such("処理ロボット", "processing robot", id)))?;
            r.enabled = enabled;
            // Checked inside the write, so two operators cannot enable 5 and 6 at once.
            let mut pair = Vec::new();
            for rule in [BuiltinRule::FutureshopRelease, BuiltinRule::GenericRelease] {
                let n = rule.number();
                if n == id {
                    pair.push(r.clone());
                } else if let Some(other) = t.processing_robot(n)? {
                    pair.push(other);
                }
            }
            processing::check_conflicts(&pair).map_err(refused)?;
            t.put_processing(&r)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", r.id, &r.name),
                if enabled { "有効化" } else { "無効化" },
                None,
                None,
                "",
            ))?;
            Ok(r)
        })
    }

    /// 適用 / 適用解除. Only enabled converters can be chosen.
    pub fn apply_processing(
        &self,
        id: u64,
        converter_id: u64,
        applied: bool,
        actor: &Actor,
    ) -> Result<ProcessingRobot> {
        self.config_write(|t| {
            let mut r = t
                .processing_robot(id)?
                .ok_or_else(|| refused(no_such("処理ロボット", "processing robot", id)))?;
            let c = t
                .converter(converter_id)?
                .ok_or_else(|| refused(no_such("変換ロボット", "converter robot", converter_id)))?;
            if applied && !c.enabled {
                let c = c.label();
                return Err(refused(msg!(
                    "{c} は有効ではありません: 適用先に選べるのは有効な変換ロボットだけです",
                    "{c} is not enabled: only an enabled converter robot can be chosen"
                )));
            }
            if applied {
                r.applied_to.insert(converter_id);
            } else {
                r.applied_to.remove(&converter_id);
            }
            t.put_processing(&r)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", r.id, &r.name),
                if applied { "適用" } else { "適用解除" },
                None,
                None,
                c.label(),
            ))?;
            Ok(r)
        })
    }

    /// Moves a processing robot `delta` places in the order (negative = earlier).
    pub fn move_processing(&self, id: u64, delta: i64, actor: &Actor) -> Result<Vec<u64>> {
        let robots = self.store().processing_robots()?;
        let mut order: Vec<u64> = robots.iter().map(|r| r.id).collect();
        let pos = order.iter().position(|x| *x == id).ok_or_else(|| {
            EngineError::NotFound(no_such("処理ロボット", "processing robot", id))
        })?;
        let new = (pos as i64 + delta).clamp(0, order.len() as i64 - 1) as usize;
        let moved = order.remove(pos);
        order.insert(new, moved);
        let name = robots
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        self.config_write(|t| {
            t.put_config(CFG_RULE_ORDER, &order)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", id, &name),
                "順序変更",
                None,
                None,
                format!("{} 番目から {} 番目へ", pos + 1, new + 1),
            ))?;
            Ok(order.clone())
        })
    }

    /// Sets the whole order at once (setup files, restore of a layout).
    pub fn set_rule_order(&self, order: &[u64], actor: &Actor) -> Result<()> {
        let known: BTreeSet<u64> = self
            .store()
            .processing_robots()?
            .iter()
            .map(|r| r.id)
            .collect();
        if let Some(x) = order.iter().find(|x| !known.contains(x)) {
            return Err(EngineError::Refused(no_such(
                "処理ロボット",
                "processing robot",
                *x,
            )));
        }
        // What is stored is exactly what was given: every robot once.
        let mut seen = BTreeSet::new();
        if let Some(x) = order.iter().find(|x| !seen.insert(**x)) {
            return Err(EngineError::Refused(msg!(
                "処理ロボット ID:{x} が順序に2回以上あります: 各ロボットを1回ずつ並べてください",
                "processing robot ID:{x} appears more than once: list every robot once"
            )));
        }
        let missing: Vec<String> = known
            .iter()
            .filter(|id| !seen.contains(id))
            .map(|id| format!("ID:{id}"))
            .collect();
        if !missing.is_empty() {
            let m = missing.join(", ");
            return Err(EngineError::Refused(msg!(
                "順序にすべての処理ロボットを並べてください (足りないもの: {m})",
                "list every processing robot in the order (missing: {m})"
            )));
        }
        let full: Vec<u64> = order.to_vec();
        self.config_write(|t| {
            t.put_config(CFG_RULE_ORDER, &full)?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "処理ロボットの順序".into(),
                },
                "順序変更",
                None,
                None,
                format!("{full:?}"),
            ))?;
            Ok(())
        })
    }

    pub fn add_user_rule(
        &self,
        name: &str,
        description: &str,
        rule: UserRule,
        actor: &Actor,
    ) -> Result<ProcessingRobot> {
        let name = clean_name(name)?;
        super::check_text(["説明", "description"], description)?;
        let rule_text = serde_json::to_string(&rule).unwrap_or_default();
        super::check_text(["ルール", "rule"], &rule_text)?;
        rule.validate().map_err(EngineError::Refused)?;
        self.config_write(|t| {
            let r = ProcessingRobot {
                id: t.next_id(SEQ_ROBOT),
                name,
                description: description.to_string(),
                kind: RuleKind::User(rule),
                enabled: false,
                applied_to: BTreeSet::new(),
            };
            t.put_processing(&r)?;
            let mut order: Vec<u64> = t.config(CFG_RULE_ORDER)?.unwrap_or_default();
            order.push(r.id);
            t.put_config(CFG_RULE_ORDER, &order)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", r.id, &r.name),
                "作成",
                None,
                None,
                "",
            ))?;
            Ok(r)
        })
    }

    pub fn rename_processing(&self, id: u64, name: &str, actor: &Actor) -> Result<ProcessingRobot> {
        let name = clean_name(name)?;
        self.config_write(|t| {
            let mut r = t
                .processing_robot(id)?
                .ok_or_else(|| refused(no_such("処理ロボット", "processing robot", id)))?;
            if r.builtin_rule().is_some() {
                let r = r.label();
                return Err(refused(msg!(
                    "{r} は組み込みの処理ロボットのため名前を変更できません",
                    "{r} is a built-in processing robot and cannot be renamed"
                )));
            }
            let old = std::mem::replace(&mut r.name, name);
            t.put_processing(&r)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", r.id, &r.name),
                "名前変更",
                None,
                None,
                format!("「{old}」から"),
            ))?;
            Ok(r)
        })
    }

    pub fn delete_user_rule(&self, id: u64, actor: &Actor) -> Result<()> {
        self.config_write(|t| {
            let r = t
                .processing_robot(id)?
                .ok_or_else(|| refused(no_such("処理ロボット", "processing robot", id)))?;
            if r.builtin_rule().is_some() {
                let r = r.label();
                return Err(refused(msg!(
                    "{r} は組み込みの処理ロボットのため削除できません (無効にできます)",
                    "{r} is a built-in processing robot and cannot be deleted (it can be disabled)"
                )));
            }
            t.delete_processing(id);
            let mut order: Vec<u64> = t.config(CFG_RULE_ORDER)?.unwrap_or_default();
            order.retain(|x| *x != id);
            t.put_config(CFG_RULE_ORDER, &order)?;
            t.audit(audit_entry(
                actor,
                robot_target("処理ロボット", r.id, &r.name),
                "削除",
                None,
                None,
                "",
            ))?;
            Ok(())
        })
    }

    /// What a processing robot would change on the stored open instructions, as if it were
    /// enabled (and, when applied nowhere, applied to every enabled converter). Changes nothing.
    pub fn dry_run(&self, id: u64) -> Result<Vec<DryRunChange>> {
        let store = self.store();
        let r = store.processing_robot(id)?.ok_or_else(|| {
            EngineError::NotFound(no_such("処理ロボット", "processing robot", id))
        })?;
        let converters: BTreeSet<u64> = if r.applied_to.is_empty() {
            store
                .converters()?
                .into_iter()
                .filter(|c| c.enabled)
                .map(|c| c.id)
                .collect()
        } else {
            r.applied_to.clone()
        };
        let no_prepayment = store.no_prepayment()?;
        let mut out = Vec::new();
        for status in [Status::AwaitingPayment, Status::Held, Status::Ready] {
            for i in store.instructions_in(status)? {
                if !converters.contains(&i.converter_id) {
                    continue;
                }
                let before = i.clone();
                let mut w = processing::Working::new(i);
                let known = |sku: &str| store.has_product(sku).unwrap_or(false);
                let ship_from = |sid: u64| store.ship_from(sid).ok().flatten().is_some();
                let env = Env {
                    phase: Phase::Apply,
                    now: now(),
                    known_sku: &known,
                    ship_from_exists: &ship_from,
                    already_exists: true,
                    upstream_paid: w.instr.payment == PaymentFlag::Paid,
                    no_prepayment: &no_prepayment,
                };
                let Some(decision) = processing::run_one(&r, &mut w, &env) else {
                    continue;
                };
                let mut after = w.instr;
                processing::settle(&mut after);
                let changed = before.status != after.status
                    || before.payment != after.payment
                    || before.hold_reasons != after.hold_reasons
                    || before.destinations != after.destinations
                    || before.notes != after.notes
                    || before.ship_from_id != after.ship_from_id;
                if changed {
                    out.push(DryRunChange {
                        id: before.id,
                        order_no: before.order_no.clone(),
                        from: before.status,
                        to: after.status,
                        decision,
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn set_no_prepayment(&self, types: &[String], actor: &Actor) -> Result<()> {
        let mut list: Vec<String> = types
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        list.sort();
        list.dedup();
        self.config_write(|t| {
            t.put_config(CFG_NO_PREPAYMENT, &list)?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "入金不要の支払方法".into(),
                },
                "設定",
                None,
                None,
                list.join(", "),
            ))?;
            Ok(())
        })
    }

    // ---------------------------------------------------------------------------------
    // 連携ロボット

    pub fn create_linkage(&self, mut robot: LinkageRobot, actor: &Actor) -> Result<LinkageRobot> {
        robot.name = clean_name(&robot.name)?;
        self.config_write(|t| {
            validate_linkage(t, &robot, None)?;
            robot.id = t.next_id(SEQ_ROBOT);
            t.put_linkage(&robot)?;
            t.audit(audit_entry(
                actor,
                robot_target("連携ロボット", robot.id, &robot.name),
                "作成",
                None,
                None,
                robot.action.name(),
            ))?;
            Ok(robot.clone())
        })
    }

    /// Replaces a linkage robot's settings (same id).
    pub fn update_linkage(
        &self,
        robot: LinkageRobot,
        what: &str,
        actor: &Actor,
    ) -> Result<LinkageRobot> {
        self.config_write(|t| {
            if t.linkage_robot(robot.id)?.is_none() {
                return Err(refused(no_such("連携ロボット", "linkage robot", robot.id)));
            }
            validate_linkage(t, &robot, Some(robot.id))?;
            t.put_linkage(&robot)?;
            t.audit(audit_entry(
                actor,
                robot_target("連携ロボット", robot.id, &robot.name),
                what,
                None,
                None,
                "",
            ))?;
            Ok(robot.clone())
        })
    }

    pub fn linkage(&self, id: u64) -> Result<LinkageRobot> {
        self.store()
            .linkage_robot(id)?
            .ok_or_else(|| EngineError::NotFound(no_such("連携ロボット", "linkage robot", id)))
    }

    pub fn set_linkage_enabled(
        &self,
        id: u64,
        enabled: bool,
        actor: &Actor,
    ) -> Result<LinkageRobot> {
        let mut r = self.linkage(id)?;
        r.enabled = enabled;
        self.update_linkage(r, if enabled { "有効化" } else { "無効化" }, actor)
    }

    pub fn rename_linkage(&self, id: u64, name: &str, actor: &Actor) -> Result<LinkageRobot> {
        let mut r = self.linkage(id)?;
        r.name = clean_name(name)?;
        self.update_linkage(r, "名前変更", actor)
    }

    pub fn set_linkage_trigger(
        &self,
        id: u64,
        trigger: Trigger,
        actor: &Actor,
    ) -> Result<LinkageRobot> {
        let mut r = self.linkage(id)?;
        r.trigger = trigger;
        self.update_linkage(r, "トリガー変更", actor)
    }

    pub fn set_linkage_converter(
        &self,
        id: u64,
        converter_id: u64,
        actor: &Actor,
    ) -> Result<LinkageRobot> {
        let mut r = self.linkage(id)?;
        r.converter_id = Some(converter_id);
        self.update_linkage(r, "変換ロボット変更", actor)
    }

    pub fn delete_linkage(&self, id: u64, actor: &Actor) -> Result<()> {
        let r = self.linkage(id)?;
        self.config_write(|t| {
            t.delete_linkage(id);
            t.audit(audit_entry(
                actor,
                robot_target("連携ロボット", r.id, &r.name),
                "削除",
                None,
                None,
                "",
            ))?;
            Ok(())
        })
    }

    // ---------------------------------------------------------------------------------
    // 発送元, API認証設定

    pub fn save_ship_from(&self, s: ShipFrom, actor: &Actor) -> Result<ShipFrom> {
        if s.name.trim().is_empty() {
            return Err(EngineError::Refused(Msg::new(
                "発送元の名称を入力してください",
                "Enter the ship-from's name",
            )));
        }
        for (v, what) in [
            (&s.name, ["名称", "name"]),
            (&s.postal_code, ["郵便番号", "postal code"]),
            (&s.prefecture, ["都道府県", "prefecture"]),
            (&s.address, ["住所", "address"]),
            (&s.phone, ["電話番号", "phone"]),
        ] {
            super::check_text(what, v)?;
        }
        self.config_write(|t| {
            let saved = t.put_ship_from(s.clone())?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: format!("発送元 ID:{} {}", saved.id, saved.name),
                },
                "保存",
                None,
                None,
                "",
            ))?;
            Ok(saved)
        })
    }

    /// Saves an API認証設定. `secret`: `Some` replaces it, `None` keeps the stored one.
    pub fn save_auth(
        &self,
        mut a: ApiAuth,
        secret: Option<Secret>,
        actor: &Actor,
    ) -> Result<ApiAuth> {
        if a.name.trim().is_empty() {
            return Err(EngineError::Refused(Msg::new(
                "API認証設定の名前を入力してください",
                "Enter a name for the API認証設定",
            )));
        }
        if a.endpoint.trim().is_empty() {
            return Err(EngineError::Refused(Msg::new(
                "API ドメインを入力してください",
                "Enter the API domain",
            )));
        }
        if a.api.is_empty() {
            a.api = "futureshop".into();
        }
        for (v, what) in [
            (&a.name, ["名前", "name"]),
            (&a.endpoint, ["API ドメイン", "API domain"]),
            (&a.shop_key, ["店舗キー", "shop key"]),
            (&a.client_id, ["クライアントID", "client ID"]),
        ] {
            super::check_text(what, v)?;
        }
        if let Some(s) = &secret {
            super::check_text(["シークレット", "secret"], s.expose())?;
        }
        let store = self.store();
        let old = if a.id == 0 { None } else { store.auth(a.id)? };
        let secret_changed = secret.is_some();
        // Where the secret would be sent. A stored secret never follows a new endpoint, shop
        // key or client ID: it must be entered again with them.
        let destination_changed = old.as_ref().is_some_and(|o| {
            o.shop_key != a.shop_key || o.client_id != a.client_id || o.endpoint != a.endpoint
        });
        let drop_secret = destination_changed && !secret_changed;
        let credentials_changed = old.is_none() || destination_changed || secret_changed;
        let mut notes: Vec<String> = Vec::new();
        if let Some(o) = &old {
            if o.endpoint != a.endpoint {
                notes.push(format!("エンドポイント {} → {}", o.endpoint, a.endpoint));
            }
            if o.shop_key != a.shop_key {
                notes.push(format!("店舗キー {} → {}", o.shop_key, a.shop_key));
            }
            if o.client_id != a.client_id {
                notes.push(format!("クライアントID {} → {}", o.client_id, a.client_id));
            }
        } else {
            notes.push(format!("エンドポイント {}", a.endpoint));
        }
        if secret_changed {
            notes.push("シークレットを更新".into());
        } else if drop_secret && old.as_ref().is_some_and(|o| o.has_secret) {
            notes.push("送信先が変わったため保存済みのシークレットを削除 (再入力が必要)".into());
        }
        self.config_write(|t| {
            if let Some(sid) = a.ship_from_id
                && !t.ship_from_exists(sid)?
            {
                return Err(refused(no_such("発送元", "ship-from (発送元)", sid)));
            }
            if let Some(s) = &secret {
                a.has_secret = !s.is_empty();
            } else if drop_secret {
                a.has_secret = false;
            } else if let Some(o) = &old {
                a.has_secret = o.has_secret;
            }
            // A connection test only vouches for the credentials it was made with.
            a.last_test = if credentials_changed {
                None
            } else {
                old.as_ref().and_then(|o| o.last_test.clone())
            };
            let saved = t.put_auth(a.clone())?;
            if let Some(s) = secret.clone() {
                t.put_secret(saved.id, s);
            } else if drop_secret {
                t.delete_secret(saved.id);
            }
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: format!("API認証設定 ID:{} {}", saved.id, saved.name),
                },
                "保存",
                None,
                None,
                notes.join("; "),
            ))?;
            Ok(saved)
        })
    }

    /// Requests a token with the stored credentials and records the result.
    pub async fn test_connection(&self, auth_id: u64, actor: &Actor) -> Result<ConnectionTest> {
        let result = match self.client(auth_id) {
            Ok(c) => c.test_connection().await.map_err(EngineError::from),
            Err(e) => Err(e),
        };
        let test = ConnectionTest {
            at: now(),
            ok: result.is_ok(),
            message: match &result {
                Ok(info) => format!(
                    "OK: トークンを取得しました (有効期間 {} 秒)",
                    info.expires_in.as_secs()
                ),
                Err(e) => e.to_string(),
            },
            message_en: match &result {
                Ok(info) => format!(
                    "OK: futureshop issued a token (valid for {} s)",
                    info.expires_in.as_secs()
                ),
                Err(e) => e.message_en().map_or_else(|| e.to_string(), str::to_string),
            },
        };
        self.config_write(|t| {
            let mut a = t
                .auth(auth_id)?
                .ok_or_else(|| refused(no_such("API認証設定", "API認証設定", auth_id)))?;
            a.last_test = Some(test.clone());
            t.put_auth(a.clone())?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: format!("API認証設定 ID:{} {}", a.id, a.name),
                },
                "接続テスト",
                None,
                None,
                test.message.clone(),
            ))?;
            Ok(())
        })?;
        Ok(test)
    }

    /// Adds or updates products by hand or from a CSV file.
    pub fn put_products(&self, products: &[ProductMaster], actor: &Actor) -> Result<usize> {
        self.config_write(|t| {
            for p in products {
                t.put_product(p)?;
            }
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "商品マスタ".into(),
                },
                "登録",
                None,
                None,
                format!("{} 件", products.len()),
            ))?;
            Ok(products.len())
        })
    }
}

fn clean_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(EngineError::Refused(Msg::new(
            "名前を入力してください",
            "Enter a name",
        )));
    }
    super::check_text(["名前", "name"], n)?;
    if n.chars().any(char::is_control) {
        return Err(EngineError::Refused(Msg::new(
            "名前に制御文字は使えません",
            "A name cannot contain control characters",
        )));
    }
    Ok(n.to_string())
}

fn validate_linkage(t: &Txn<'_>, r: &LinkageRobot, self_id: Option<u64>) -> Result<()> {
    if r.action.needs_auth() {
        let Some(a) = r.auth_id else {
            let a = r.action;
            return Err(refused(msg!(
                "{a} には API認証設定が必要です",
                "{a} needs an API認証設定"
            )));
        };
        if t.auth(a)?.is_none() {
            return Err(refused(no_such("API認証設定", "API認証設定", a)));
        }
    }
    if r.action.is_fetch() {
        let Some(cid) = r.converter_id else {
            return Err(refused(Msg::new(
                "取得には変換ロボットが必要です",
                "A fetch needs a converter robot",
            )));
        };
        let c = t
            .converter(cid)?
            .ok_or_else(|| refused(no_such("変換ロボット", "converter robot", cid)))?;
        if !c.enabled && !c.standard {
            let c = c.label();
            return Err(refused(msg!(
                "{c} は有効ではありません: 取得に選べるのは有効な変換ロボットだけです",
                "{c} is not enabled: a fetch can only use an enabled converter robot"
            )));
        }
    }
    if r.action == LinkAction::FetchRange
        && let Some((a, b)) = r.range
        && a > b
    {
        return Err(refused(Msg::new(
            "取得範囲の開始が終了より後です",
            "The range starts after it ends",
        )));
    }
    if r.action == LinkAction::ApplyProcessingRobot {
        let Some(pid) = r.processing_robot_id else {
            return Err(refused(Msg::new(
                "処理ロボット適用には処理ロボットが必要です",
                "出荷指示 処理ロボット適用 needs a processing robot",
            )));
        };
        if t.processing_robot(pid)?.is_none() {
            return Err(refused(no_such("処理ロボット", "processing robot", pid)));
        }
        if r.target_status.is_none() {
            return Err(refused(Msg::new(
                "処理ロボット適用には対象ステータスが必要です",
                "出荷指示 処理ロボット適用 needs a target status",
            )));
        }
    }
    if let Trigger::After { robot_id } = r.trigger {
        if Some(robot_id) == self_id {
            return Err(refused(Msg::new(
                "自分自身の後には実行できません",
                "A robot cannot run after itself",
            )));
        }
        if t.linkage_robot(robot_id)?.is_none() {
            return Err(refused(msg!(
                "トリガーの連携ロボット ID:{robot_id} はありません",
                "The trigger's linkage robot ID:{robot_id} does not exist"
            )));
        }
        // No cycles: follow the chain upwards.
        let mut cur = robot_id;
        let mut seen = BTreeSet::new();
        while let Some(up) = t.linkage_robot(cur)? {
            if !seen.insert(cur) {
                break;
            }
            match up.trigger {
                Trigger::After { robot_id: next } => {
                    if Some(next) == self_id {
                        return Err(refused(Msg::new(
                            "トリガーが循環しています",
                            "The triggers form a loop",
                        )));
                    }
                    cur = next;
                }
                _ => break,
            }
        }
    }
    Ok(())
}
