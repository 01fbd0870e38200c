//! The DynamoDB key-value backend, for when the host runs on Lambda (or
//! anywhere a table is at hand):
//!
//! ```yaml
//! stores:
//!   users:
//!     backend: dynamodb
//!     table: wasmfn-users        # default: the store's name
//!     endpoint: http://127.0.0.1:5000   # default: the region's endpoint
//! ```
//!
//! One item per key: the key in the string partition key `pk`, the value in
//! the binary attribute `v`. A counter (`atomics.increment`) lives in the
//! number attribute `n` instead, so that DynamoDB's own `ADD` keeps it
//! atomic across every host sharing the table; reading it gives the same
//! 8 little-endian bytes as the embedded backend.
//!
//! Requests go over the host's pooled HTTPS client, signed (SigV4) with the
//! credentials Lambda puts in the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); the region is
//! `AWS_REGION`'s unless the store names one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{json, Value};

use super::backend::{Backend, KvError, PAGE};
use crate::capability::http::client::HttpClient;

/// DynamoDB's JSON protocol version, in every target header.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// A response larger than this is not DynamoDB's (items are ≤ 400 KB; a
/// page of keys is ≤ 1 MB).
const MAX_RESPONSE: usize = 4 << 20;

/// Time allowed for one request, connect to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a DynamoDB store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The table.
    pub table: String,
    /// The endpoint URL; the region's public endpoint if `None`.
    pub endpoint: Option<String>,
    /// The region; the environment's (`AWS_REGION`) if `None`.
    pub region: Option<String>,
}

/// An error DynamoDB answered with, or a failure to reach it.
struct CallError {
    /// DynamoDB's error type (`ConditionalCheckFailedException`), or a
    /// transport description.
    code: String,
    message: String,
}

/// A store kept in one DynamoDB table.
pub struct DynamoDb {
    name: String,
    table: String,
    endpoint: http::Uri,
    region: String,
    credentials: Credentials,
    client: HttpClient<Full<Bytes>>,
    /// `list-keys` cursors: the u64 the guest holds, and the key the next
    /// page starts after.
    cursors: Mutex<HashMap<u64, String>>,
    next_cursor: AtomicU64,
}

impl DynamoDb {
    /// A store `name` kept in `spec`'s table, with the credentials of the
    /// environment.
    pub fn new(name: &str, spec: &TableSpec) -> Result<Self, KvError> {
        let fail = |message: String| KvError::new(name, message);
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        let region = spec
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| crate::aws::DEFAULT_REGION.to_string());
        let endpoint = spec
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        let endpoint: http::Uri = endpoint.parse().map_err(|e| {
            fail(format!(
                "endpoint `{endpoint}` is not a URL ({e}); write it as `https://host[:port]`"
            ))
        })?;
        if endpoint.host().is_none() {
            return Err(fail(format!(
                "endpoint `{endpoint}` has no host; write it as `https://host[:port]`"
            )));
        }
        let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(fail(format!(
                "DynamoDB table `{}` needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them)",
                spec.table
            )));
        };
        Ok(DynamoDb {
            name: name.to_string(),
            table: spec.table.clone(),
            endpoint,
            region,
            credentials: Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "env"),
            client: crate::capability::http::client::client(),
            cursors: Mutex::new(HashMap::new()),
            next_cursor: AtomicU64::new(1),
        })
    }

    fn fail(&self, e: CallError) -> KvError {
        let hint = if e.code == "ResourceNotFoundException" {
            format!(
                ". Create the table with a string partition key `pk`: aws dynamodb create-table --table-name {} --attribute-definitions AttributeName=pk,AttributeType=S --key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST",
                self.table
            )
        } else {
            String::new()
        };
        KvError::new(
            &self.name,
            format!(
                "DynamoDB table `{}` at {}: {}: {}{hint}",
                self.table, self.endpoint, e.code, e.message
            ),
        )
    }

    /// One signed request of the JSON protocol.
    async fn call(&self, operation: &str, body: Value) -> Result<Value, CallError> {
        let transport = |message: String| CallError {
            code: "RequestFailed".to_string(),
            message,
        };
        let body = Bytes::from(serde_json::to_vec(&body).expect("JSON values serialize"));
        // SigV4 signs the `host` it derives from the URI, as the client
        // sends it.
        let mut request = http::Request::post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", format!("{TARGET_PREFIX}{operation}"))
            .body(Full::new(body.clone()))
            .map_err(|e| transport(e.to_string()))?;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| transport(e.to_string()))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.to_string(),
            headers,
            SignableBody::Bytes(&body),
        )
        .map_err(|e| transport(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| transport(e.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);

        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport(format!("{e:?}")))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| transport(e.to_string()))?
                .to_bytes();
            Ok::<_, CallError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| transport(format!("no answer in {REQUEST_TIMEOUT:?}")))??;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        // `__type` is `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`.
        let code = value["__type"]
            .as_str()
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| format!("HTTP {status}"));
        let message = value["message"]
            .as_str()
            .or(value["Message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        Err(CallError { code, message })
    }

    fn key(&self, key: &str) -> Value {
        json!({ "pk": { "S": key } })
    }
}

/// The value of an item: its bytes, or its counter as 8 little-endian bytes.
fn item_value(item: &Value) -> Option<Vec<u8>> {
    if let Some(b64) = item["v"]["B"].as_str() {
        return base64::engine::general_purpose::STANDARD.decode(b64).ok();
    }
    let n: u64 = item["n"]["N"].as_str()?.parse().ok()?;
    Some(n.to_le_bytes().to_vec())
}

#[async_trait::async_trait]
impl Backend for DynamoDb {
    fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let out = self
            .call(
                "GetItem",
                json!({ "TableName": self.table, "Key": self.key(key), "ConsistentRead": true }),
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(out.get("Item").and_then(item_value))
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        self.call(
            "PutItem",
            json!({ "TableName": self.table, "Item": { "pk": { "S": key }, "v": { "B": b64 } } }),
        )
        .await
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.call(
            "DeleteItem",
            json!({ "TableName": self.table, "Key": self.key(key) }),
        )
        .await
        .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        let out = self
            .call(
                "GetItem",
                json!({
                    "TableName": self.table,
                    "Key": self.key(key),
                    "ConsistentRead": true,
                    "ProjectionExpression": "pk",
                }),
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(out.get("Item").is_some())
    }

    async fn list_keys(&self, cursor: u64) -> Result<(Vec<String>, Option<u64>), KvError> {
        let mut request = json!({
            "TableName": self.table,
            "ProjectionExpression": "pk",
            "Limit": PAGE,
            "ConsistentRead": true,
        });
        if cursor != 0 {
            let cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
            let Some(after) = cursors.get(&cursor) else {
                return Err(KvError::new(
                    &self.name,
                    format!(
                        "list-keys cursor {cursor} is unknown or expired; start again without one"
                    ),
                ));
            };
            request["ExclusiveStartKey"] = self.key(after);
        }
        let out = self.call("Scan", request).await.map_err(|e| self.fail(e))?;
        let keys = out["Items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["pk"]["S"].as_str().map(str::to_string))
            .collect();
        let next = match out["LastEvaluatedKey"]["pk"]["S"].as_str() {
            None => None,
            Some(after) => {
                let id = self.next_cursor.fetch_add(1, Ordering::Relaxed);
                let mut cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
                // Cursors of abandoned listings are not kept forever.
                if cursors.len() >= 1024 {
                    cursors.clear();
                }
                cursors.insert(id, after.to_string());
                Some(id)
            }
        };
        Ok((keys, next))
    }

    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        let out = self
            .call(
                "UpdateItem",
                json!({
                    "TableName": self.table,
                    "Key": self.key(key),
                    "UpdateExpression": "ADD n :d",
                    // A key set with bytes is not a counter.
                    "ConditionExpression": "attribute_not_exists(v)",
                    "ExpressionAttributeValues": { ":d": { "N": delta.to_string() } },
                    "ReturnValues": "UPDATED_NEW",
                }),
            )
            .await
            .map_err(|e| {
                if e.code == "ConditionalCheckFailedException" {
                    KvError::new(
                        &self.name,
                        format!("`{key}` does not hold a counter (8 bytes, little-endian)"),
                    )
                } else {
                    self.fail(e)
                }
            })?;
        out["Attributes"]["n"]["N"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                KvError::new(
                    &self.name,
                    format!("counter `{key}` is not a u64 in DynamoDB: {out}"),
                )
            })
    }
}
