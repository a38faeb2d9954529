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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
