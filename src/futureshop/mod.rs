//! The futureshop admin API (APIv2): client and models.

pub mod client;
pub mod config;
pub mod enums;
pub mod error;
pub mod lenient;
pub mod models;
pub mod prefecture;

pub use client::{
    Client, OrderQuery, Page, Pager, PaymentFilter, ShippingFilter, TokenInfo, Unreadable,
};
pub use config::{ClientOptions, Credentials, FsConfig};
pub use enums::{OrderStatus, OrderType, PaymentStatus, PaymentType};
pub use error::FsError;
pub use models::{
    Amounts, InventoryUpdate, ItemResult, LineItem, Order, Person, Product, Shipment,
    ShippingUpdate, StockCount,
};
