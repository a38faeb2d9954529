//! futureshop enumerations. Each keeps values it does not know (`Other`), so a new payment type
//! or status added by futureshop round-trips unchanged instead of failing or being dropped.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $variant:ident = $lit:literal => $ja:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $variant, )*
            /// A value futureshop sent that this version does not know; kept verbatim.
            Other(String),
        }

        impl $name {
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),* ];

            pub fn parse(s: &str) -> Self {
                match s {
                    $( $lit => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }

            /// The wire token, exactly as futureshop writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $lit, )*
                    $name::Other(s) => s.as_str(),
                }
            }

            /// The label of a known token, without building a value.
            pub fn known_label(s: &str) -> Option<&'static str> {
                match s {
                    $( $lit => Some($ja), )*
                    _ => None,
                }
            }

            /// The label futureshop's admin screens use; unknown values show their token.
            pub fn label_ja(&self) -> &str {
                match self {
                    $( $name::$variant => $ja, )*
                    $name::Other(s) => s.as_str(),
                }
            }

            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

open_enum! {
    /// `paymentType`. Only the tokens confirmed by public sources are named; everything else
    /// (Amazon Pay, PayPay, …) arrives as `Other`.
    PaymentType {
        BankTransfer = "BANK_TRANSFER" => "銀行振込",
        Cod = "COD" => "代金引換",
        PostalTransfer = "POSTAL_TRANSFER" => "郵便振込",
        FregiConveni = "FREGI_CONVENI" => "コンビニ支払",
        FregiCreditCard = "FREGI_CREDIT_CARD" => "クレジットカード",
    }
}

open_enum! {
    /// `status` (処理状況区分) of an order.
    OrderStatus {
        AwaitingPayment = "AWAITING_PAYMENT" => "通常処理",
        Completed = "COMPLETED" => "処理済",
        Cancelled = "CANCELLED" => "注文取消",
        Refunded = "REFUNDED" => "返品",
        AwaitingShipment = "AWAITING_SHIPMENT" => "未回収",
        OnHold = "ON_HOLD" => "保留",
        Preorder = "PREORDER" => "予約",
    }
}

open_enum! {
    /// `paymentStatus` of an order (detail shape; not always present in the list shape).
    PaymentStatus {
        NotReceived = "NOTRECEIVED" => "未入金",
        Received = "RECEIVED" => "入金済",
    }
}

open_enum! {
    /// `type` of an order.
    OrderType {
        Regular = "REGULAR" => "通常受注",
        Subscription = "SUBSCRIPTION" => "定期受注",
        Hanpukai = "HANPUKAI" => "頒布会受注",
        Preorder = "PREORDER" => "予約受注",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() {
        let v: PaymentType = serde_json::from_str(r#""AMAZON_PAY""#).expect("parse");
        assert_eq!(v, PaymentType::Other("AMAZON_PAY".into()));
        assert_eq!(serde_json::to_string(&v).expect("ser"), r#""AMAZON_PAY""#);
        assert!(!v.is_known());
        assert_eq!(v.label_ja(), "AMAZON_PAY");
    }

    #[test]
    fn known_values_have_labels() {
        let v: PaymentType = serde_json::from_str(r#""COD""#).expect("parse");
        assert_eq!(v, PaymentType::Cod);
        assert_eq!(v.label_ja(), "代金引換");
        assert_eq!(OrderStatus::parse("CANCELLED"), OrderStatus::Cancelled);
    }
}
