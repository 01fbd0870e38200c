//! Emits CloudWatch metrics (Embedded Metric Format) and structured logs.
//!
//! For an order event `{"orderId": "o-1", "amount": 42.5, "items": 3}` it
//! logs one JSON line and adds three metrics in namespace `Shop` with
//! dimension `Service=orders`: `OrderValue` (None), `ItemsSold` (Count) and
//! `OrdersPlaced` (Count). The EMF line is written when the invocation
//! ends, by the SDK. An order without items is logged as a warning and
//! counted as `EmptyOrders` instead.

use serde::Deserialize;
use serde_json::{json, Value};
use wasmfn_guest::metrics::{self, Unit};
use wasmfn_guest::{Context, Error};

/// An order.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id.
    pub order_id: String,
    /// Its total.
    pub amount: f64,
    /// How many items it has.
    pub items: u32,
}

/// Records one order.
#[wasmfn_guest::handler]
pub fn handler(order: Order, _ctx: Context) -> Result<Value, Error> {
    metrics::set_namespace("Shop");
    metrics::add_dimension("Service", "orders");
    metrics::add_property("orderId", order.order_id.as_str());
    if order.items == 0 {
        log::warn!(orderId = order.order_id.as_str(); "empty order");
        metrics::add("EmptyOrders", 1.0, Unit::Count);
        return Ok(json!({"recorded": false}));
    }
    log::info!(orderId = order.order_id.as_str(), amount = order.amount, items = order.items; "order placed");
    metrics::add("OrderValue", order.amount, Unit::None);
    metrics::add("ItemsSold", f64::from(order.items), Unit::Count);
    metrics::add("OrdersPlaced", 1.0, Unit::Count);
    Ok(json!({"recorded": true}))
}
