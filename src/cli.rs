//! Command-line interface: every subcommand, with a one-line description for `--help`.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "shukka",
    version,
    about = "出荷 — a terminal console for a futureshop shop's order-to-shipping workflow",
    long_about = None
)]
pub struct Cli {
    /// Data directory (default: $SHUKKA_DATA_DIR, else the platform data directory)
    #[arg(long, global = true, env = "SHUKKA_DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Console language: ja (default) or en
    #[arg(long, global = true, default_value = "ja", value_parser = ["ja", "en"])]
    pub lang: String,
    /// Console without any action that changes data
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Where label files (送り状) are written by default: the console's `P` and `labels export`
    /// (default: DATA/labels/; never elsewhere inside the data directory)
    #[arg(long, global = true, env = "SHUKKA_LABELS_DIR")]
    pub labels_dir: Option<std::path::PathBuf>,
    /// Without a subcommand: open the console on the data directory
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The console, the demo, the server and the simulator run until stopped and must not be
    /// ended by a write to a closed pipe; one-shot commands may.
    pub fn is_long_running(&self) -> bool {
        matches!(
            self.command,
            None | Some(Command::Demo(_)) | Some(Command::Serve(_)) | Some(Command::Sim(_))
        )
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Everything in one process: simulator, setup, fast sync and the console (temporary data)
    Demo(DemoArgs),
    /// Own the data directory: run the robots and serve consoles and commands on a Unix socket
    Serve(ServeArgs),
    /// Setup guide: apply a setup file, or show the checklist
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Run the linkage robots on their triggers (until Ctrl-C), or once with --once
    Sync(SyncArgs),
    /// List shipping instructions (出荷指示)
    Orders(OrdersArgs),
    /// Show one instruction: destinations, items, rule trace, history
    Order(OrderArgs),
    /// Hold an instruction (保留) with a reason
    Hold(HoldArgs),
    /// Release a held instruction (保留解除)
    Release(OrderRef),
    /// Mark an instruction as picked up by the warehouse (出荷作業中)
    Start(OrderRef),
    /// Mark an instruction shipped (出荷済み) with a tracking number
    Ship(ShipArgs),
    /// Cancel an instruction (キャンセル)
    Cancel(CancelArgs),
    /// Acknowledge a 出荷後キャンセル: what was done (stopped, return, shipped)
    AckCancel(AckCancelArgs),
    /// List 取込エラー and 実績連携エラー
    Errors(ErrorsArgs),
    /// Re-run an intake error (取込エラー) through intake after fixing its cause
    Retry(RetryArgs),
    /// Converter, processing and linkage robots
    #[command(subcommand)]
    Robots(RobotsCommand),
    /// Run log (APIログ) and audit log (履歴)
    Log(LogArgs),
    /// Product master (商品マスタ)
    #[command(subcommand)]
    Products(ProductsCommand),
    /// 送り状: carrier label files out, tracking numbers back in
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Alerts: the notification targets, and a test message to one
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// 同梱: orders of one customer proposed to travel in one parcel, and the decisions
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// The archive: finished instructions older than [archive] after_days (180), one file per month
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Export everything (robot configuration, audit log, tracking numbers) to a file
    Backup(BackupArgs),
    /// Rewrite the store into a fresh file set, giving back the space of rewritten records
    /// (done by itself when `shukka serve` stops, once the store has grown 1.5×; needs the store closed)
    Compact,
    /// Replace the store's content with a backup file
    Restore(RestoreArgs),
    /// Run the local futureshop API simulator (seeded shop data, faults, /__sim/ control API)
    Sim(SimArgs),
    /// Talk to futureshop directly with the API client (connection test, orders, inventory)
    #[command(subcommand)]
    Fs(FsCommand),
}

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free port; the first line of output tells it)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Seed of the generated shop data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of orders present at start
    #[arg(long, default_value_t = 300)]
    pub orders: usize,
    /// Spread the initial orders over this many days before now
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Orders per page of the search APIs
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Lifetime of issued access tokens, in seconds
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: u64,
    /// New orders arriving per minute while the simulator runs
    #[arg(long, default_value_t = 0.0)]
    pub new_orders_per_min: f64,
    /// Typical delay, in seconds, before a prepaid (bank transfer, convenience store) order is paid
    #[arg(long, default_value_t = 6 * 3600)]
    pub payment_delay_secs: u64,
    /// Share of orders containing an SKU missing from the catalogue
    #[arg(long, default_value_t = 0.003)]
    pub unknown_sku_rate: f64,
    /// Shop key accepted by the simulator
    #[arg(long, default_value = "demo-shop")]
    pub shop_key: String,
    /// Client ID accepted by the simulator
    #[arg(long, default_value = "demo-client")]
    pub client_id: String,
    /// Client secret accepted by the simulator
    #[arg(long, default_value = "demo-secret")]
    pub client_secret: String,
    /// Allowed requests per second per shop key; more get 429 with Retry-After
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Start in maintenance mode (503 on every endpoint)
    #[arg(long)]
    pub maintenance: bool,
    /// Probability of a random 5xx answer
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Latency added to every answer, in milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Reference time for the generated data (default: now), e.g. 2026-11-01T12:00:00
    #[arg(long)]
    pub now: Option<String>,
    /// Serve HTTPS (a self-signed certificate for 127.0.0.1 and localhost), as futureshop does
    #[arg(long, requires = "tls_cert")]
    pub tls: bool,
    /// Where to write the certificate (PEM) clients must trust, e.g. SSL_CERT_FILE=FILE
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The URL clients reach the simulator by (behind a proxy); nextUrl starts with it
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum FsCommand {
    /// Connection test: request an access token and print its lifetime (never the token)
    Token,
    /// Search orders by order date (受注検索API), following every page
    Orders(FsOrdersArgs),
    /// Show one order in the detail shape (受注取得API)
    Order(FsOrderArgs),
    /// List products and SKU stock (在庫検索API)
    Inventory(FsInventoryArgs),
}

#[derive(Args, Debug)]
pub struct FsOrdersArgs {
    /// Order date from (JST), e.g. 2026-11-01 or 2026-11-01T09:00:00; default 7 days before --to
    #[arg(long)]
    pub from: Option<String>,
    /// Order date to (JST); default now
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct FsOrderArgs {
    /// futureshop order number (受注コード)
    pub order_no: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct FsInventoryArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum SetupCommand {
    /// Perform setup steps 1–6 from a TOML file (idempotent; see docs/setup.md)
    Apply(SetupApplyArgs),
    /// Show the setup checklist; exit 0 only when every item is ✓
    Status(FormatArg),
}

#[derive(Args, Debug)]
pub struct SetupApplyArgs {
    pub file: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub struct FormatArg {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Run every enabled robot whose trigger is due (and those chained after it) once, then exit
    #[arg(long)]
    pub once: bool,
}

#[derive(Args, Debug)]
pub struct OrdersArgs {
    /// Only this status (入金確認, 保留, 出荷待ち, 出荷作業中, 出荷済み, キャンセル)
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long, value_enum, default_value_t = DataFormat::Table)]
    pub format: DataFormat,
    /// CSV cells exactly as stored: without it, a cell that a spreadsheet would run as a formula
    /// (starting with = + - @, tab or CR) gets a leading '
    #[arg(long)]
    pub raw_csv: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct OrderArgs {
    /// futureshop order number (受注コード)
    pub order_no: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct OrderRef {
    /// futureshop order number (受注コード)
    pub order_no: String,
}

#[derive(Args, Debug)]
pub struct HoldArgs {
    pub order_no: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct AckCancelArgs {
    pub order_no: String,
    /// stopped (倉庫で止めた), return (運送会社に返送依頼) or shipped (出荷済みのまま)
    #[arg(long)]
    pub action: String,
    /// What else to record (who was called, a return number, …)
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Args, Debug)]
pub struct ShipArgs {
    pub order_no: String,
    /// Tracking number; several (comma-separated) for one per destination
    #[arg(long)]
    pub tracking: String,
    #[arg(long)]
    pub carrier: Option<String>,
    /// Ship date (yyyy-mm-dd), default today
    #[arg(long)]
    pub date: Option<String>,
    /// Expected arrival (yyyy-mm-dd)
    #[arg(long)]
    pub arrival: Option<String>,
}

#[derive(Args, Debug)]
pub struct CancelArgs {
    pub order_no: String,
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct ErrorsArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct RetryArgs {
    /// The intake error's ID (see `shukka errors`)
    pub error_id: u64,
}

#[derive(Subcommand, Debug)]
pub enum RobotsCommand {
    /// List every robot: converters, processing robots (in order), linkage robots
    List(FormatArg),
    /// Enable a robot (有効)
    Enable(RobotId),
    /// Disable a robot
    Disable(RobotId),
    /// Apply a processing robot to a converter (適用)
    Apply(ApplyArgs),
    /// Stop applying a processing robot to a converter
    Unapply(ApplyArgs),
    /// Duplicate a converter (the copy gets a new ID and the name …- コピー)
    Duplicate(RobotId),
    /// Rename a robot
    Rename(RenameArgs),
    /// Run a linkage robot now (範囲指定 fetches take --from/--to)
    Run(RunArgs),
    /// Show the processing-robot order, or set it (IDs in the new order)
    Order(OrderIds),
    /// Show what a processing robot would change on stored instructions, changing nothing
    DryRun(RobotId),
    /// Set a linkage robot's trigger: 手動, 10m, 09:00,15:00, after:ID
    Trigger(TriggerArgs),
    /// Set the converter a fetch robot uses
    SetConverter(ApplyArgs),
    /// Add a user-defined processing robot from a TOML file (see docs/setup.md)
    AddRule(AddRuleArgs),
    /// Create a linkage robot
    Create(CreateLinkageArgs),
}

#[derive(Args, Debug)]
pub struct RobotId {
    pub id: u64,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    pub id: u64,
    /// Converter ID
    pub converter_id: u64,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub id: u64,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    pub id: u64,
    /// Window start for 範囲指定 (JST)
    #[arg(long)]
    pub from: Option<String>,
    /// Window end for 範囲指定 (JST), default now
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Args, Debug)]
pub struct OrderIds {
    pub ids: Vec<u64>,
}

#[derive(Args, Debug)]
pub struct TriggerArgs {
    pub id: u64,
    pub trigger: String,
}

#[derive(Args, Debug)]
pub struct AddRuleArgs {
    pub file: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub struct CreateLinkageArgs {
    /// Name
    #[arg(long)]
    pub name: String,
    /// Action: 出荷指示取得(差分), 出荷指示取得(範囲指定), ステータス同期, 出荷実績連携, 在庫連携, 商品マスタ取得, 出荷指示 処理ロボット適用
    #[arg(long)]
    pub action: String,
    /// API認証設定 ID (actions that talk to futureshop)
    #[arg(long)]
    pub auth: Option<u64>,
    /// Converter ID (fetches)
    #[arg(long)]
    pub converter: Option<u64>,
    /// Processing robot ID (処理ロボット適用)
    #[arg(long)]
    pub processing: Option<u64>,
    /// Target status (処理ロボット適用)
    #[arg(long)]
    pub status: Option<String>,
    /// Window for 範囲指定
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    /// 手動, 10m, 09:00,15:00, after:ID
    #[arg(long, default_value = "手動")]
    pub trigger: String,
    /// Create it disabled
    #[arg(long)]
    pub disabled: bool,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// Keep printing new lines as they happen
    #[arg(long)]
    pub follow: bool,
    /// Show the audit log (履歴) instead of the run log
    #[arg(long)]
    pub audit: bool,
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum ProductsCommand {
    /// Import SKUs from a CSV file (columns 品番/sku_no, 商品名/name, 在庫/stock)
    Import(ImportArgs),
    /// List the product master
    List(FormatArg),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub file: std::path::PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// The open groups (同梱候補 and 同梱する) side by side; --all for the decided ones too
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One group, its members side by side
    Show { id: u64 },
    /// 同梱する: one label for the group (the first order's row lists every order's items)
    Merge { id: u64 },
    /// 同梱しない: release the orders; this combination is never proposed again
    Split { id: u64 },
    /// Back to 同梱候補 (until the group's label is exported)
    Undo { id: u64 },
}

#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// Move 出荷済み and キャンセル instructions older than the age to the archive now
    /// (the server does it by itself once a day)
    Run {
        /// Age in days (default: the setup file's [archive] after_days, 180)
        #[arg(long)]
        older_than: Option<u32>,
        /// Instructions per archive frame (one commit each)
        #[arg(long)]
        batch: Option<usize>,
        /// Only count what would move
        #[arg(long)]
        dry_run: bool,
    },
    /// Find archived instructions by order number, name, kana, e-mail, phone, postal code,
    /// address or tracking number
    Search {
        text: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The archive's month files (instructions, frames, size); with a month, what it holds
    List {
        /// A month as the list names it (2026-05, or undated)
        month: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// The targets of the setup file's [[notify]], with what each has been sent and its errors
    List,
    /// Send a test message to one target now
    Test { name: String },
}

#[derive(Subcommand, Debug)]
pub enum LabelsCommand {
    /// Write the label file of the ready shipments for a carrier's software (marks them 送り状発行済, moves them to 出荷作業中)
    Export(LabelExportArgs),
    /// Register the tracking numbers of a carrier's issued-data file (出荷済み once every shipment has one)
    Import(LabelImportArgs),
    /// List the carrier profiles (built in and the setup file's own)
    Profiles,
}

#[derive(Args, Debug)]
pub struct LabelExportArgs {
    /// The carrier profile: b2, ehiden3, yupri, clickpost (or one of the setup file's own)
    #[arg(long)]
    pub carrier: String,
    /// The queue to export (default 出荷待ち; 出荷作業中 for a second round)
    #[arg(long)]
    pub status: Option<String>,
    /// Only these orders (by order number; repeatable)
    #[arg(long = "order")]
    pub orders: Vec<String>,
    /// Export shipments again that already have a label (a reprint)
    #[arg(long)]
    pub again: bool,
    /// 出荷予定日 (default today), e.g. 2026-12-01
    #[arg(long)]
    pub ship_date: Option<String>,
    /// The file to write, as your user (default: DATA/labels/CARRIER-DATE-TIME.csv)
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// Replace the output file if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct LabelImportArgs {
    /// The carrier's issued-data file (B2 発行済データ, e飛伝 出荷履歴, …), read as your user
    pub file: std::path::PathBuf,
    /// The carrier profile, or auto to tell it from the file
    #[arg(long, default_value = "auto")]
    pub carrier: String,
    /// Show what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The ship date of rows that carry none (default today)
    #[arg(long)]
    pub ship_date: Option<String>,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Written by this process as your user (outside the data directory)
    pub file: std::path::PathBuf,
    /// Include the client secrets (only the server's own user; the file is owner-only either way)
    #[arg(long)]
    pub include_secrets: bool,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    pub file: std::path::PathBuf,
    /// Replace a store that already holds instructions
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the demo's data in this directory (default: a temporary one, deleted on exit)
    #[arg(long)]
    pub keep: Option<std::path::PathBuf>,
    /// Seed of the simulated shop
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Orders present when the demo starts
    #[arg(long, default_value_t = 300)]
    pub orders: usize,
    /// New orders per minute while the demo runs
    #[arg(long, default_value_t = 12.0)]
    pub orders_per_min: f64,
    /// Start with nothing set up, to walk the setup guide in the console (the forms come
    /// prefilled with the simulator's shop)
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Let members of this Unix group connect and work the queues (socket 0660, data directory
    /// 0710); kept in DATA/serve.toml for servers started later
    #[arg(long)]
    pub group: Option<String>,
    /// Members of this Unix group (also members of --group) may change the setup too
    #[arg(long, requires = "group")]
    pub admin_group: Option<String>,
    /// Forget the group kept in DATA/serve.toml: only your own user may connect
    #[arg(long, conflicts_with_all = ["group", "admin_group"])]
    pub no_group: bool,
}
