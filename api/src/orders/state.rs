//! The order state machine, as a pure function: which changes are legal
//! from which state. Every other change is a 409, never a silent no-op.
//!
//! ```text
//! pending ──pay──▶ paid ──fulfil──▶ fulfilled
//!    │              │  ╲               │
//!  cancel         cancel ╲refund     refund
//!    ▼              ▼      ▼           ▼
//! cancelled     cancelled  paid or refunded (refunded once every unit is)
//! ```
//!
//! A partial refund keeps the order `paid` or `fulfilled` (what is left can
//! still ship); the refund that covers the last unit makes it `refunded`.
//! Cancelling a paid order refunds what is left of its payment.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[schema(as = OrderStatus)]
pub enum Status {
    /// Placed: stock is reserved, nothing is paid.
    Pending,
    Paid,
    /// Shipped, or handed over: its stock has left.
    Fulfilled,
    Cancelled,
    /// Every unit refunded.
    Refunded,
}

/// A change someone asks of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Pay,
    Fulfil,
    Cancel,
    /// A refund; `covers_the_rest` when after it no unit is left unrefunded.
    Refund {
        covers_the_rest: bool,
    },
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Fulfil => "fulfil",
            Self::Cancel => "cancel",
            Self::Refund { .. } => "refund",
        }
    }
}

/// The status `change` leads to from `from`, or why it cannot happen.
pub fn next(from: Status, change: Change) -> Result<Status, String> {
    use Status::*;
    match (from, change) {
        (Pending, Change::Pay) => Ok(Paid),
        (Paid, Change::Fulfil) => Ok(Fulfilled),
        (Pending | Paid, Change::Cancel) => Ok(Cancelled),
        (
            Paid | Fulfilled,
            Change::Refund {
                covers_the_rest: true,
            },
        ) => Ok(Refunded),
        (
            Paid | Fulfilled,
            Change::Refund {
                covers_the_rest: false,
            },
        ) => Ok(from),
        (Pending, Change::Refund { .. }) => {
            Err("a pending order has no payment to refund; cancel it".to_owned())
        }
        (Fulfilled, Change::Cancel) => Err("a fulfilled order cannot be cancelled; refund it".to_owned()),
        (from, change) => Err(format!(
            "cannot {} an order that is {}",
            change.name(),
            from.name()
        )),
    }
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    const ALL: [Status; 5] = [Pending, Paid, Fulfilled, Cancelled, Refunded];
    const CHANGES: [Change; 5] = [
        Change::Pay,
        Change::Fulfil,
        Change::Cancel,
        Change::Refund {
            covers_the_rest: false,
        },
        Change::Refund {
            covers_the_rest: true,
        },
    ];

    #[test]
    fn exactly_the_drawn_changes_are_legal() {
        let legal = [
            (Pending, Change::Pay, Paid),
            (Paid, Change::Fulfil, Fulfilled),
            (Pending, Change::Cancel, Cancelled),
            (Paid, Change::Cancel, Cancelled),
            (
                Paid,
                Change::Refund {
                    covers_the_rest: false,
                },
                Paid,
            ),
            (
                Paid,
                Change::Refund {
                    covers_the_rest: true,
                },
                Refunded,
            ),
            (
                Fulfilled,
                Change::Refund {
                    covers_the_rest: false,
                },
                Fulfilled,
            ),
            (
                Fulfilled,
                Change::Refund {
                    covers_the_rest: true,
                },
                Refunded,
            ),
        ];
        for from in ALL {
            for change in CHANGES {
                let expected = legal
                    .iter()
                    .find(|(f, c, _)| *f == from && *c == change)
                    .map(|(_, _, to)| *to);
                match (next(from, change), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} {change:?}"),
                    (Err(why), None) => assert!(!why.is_empty()),
                    (got, want) => panic!("{from:?} {change:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn ended_orders_accept_nothing() {
        for from in [Cancelled, Refunded] {
            for change in CHANGES {
                assert!(next(from, change).is_err(), "{from:?} {change:?}");
            }
        }
    }
}
