//! `wasmfn generate-event`: realistic sample events for every event source
//! the SDK types, as `sam local generate-event` prints them.
//!
//! Each event has the shape the source really sends (checked by a test that
//! deserializes every one into its `aws_lambda_events` type inside a wasm
//! guest), fresh ids and the current time, and takes the common knobs
//! (`--body`, `--path`, `--method`, `--bucket`, `--key`, `--region`).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::aws::DEFAULT_REGION;

/// The sources and their kinds; the first kind is the default.
pub const SOURCES: &[(&str, &[&str])] = &[
    ("apigateway", &["aws-proxy", "http-api-proxy"]),
    ("function-url", &["request"]),
    ("alb", &["request"]),
    ("s3", &["put", "delete"]),
    ("sqs", &["receive-message"]),
    ("sns", &["notification"]),
    ("dynamodb", &["update"]),
    ("kinesis", &["get-records"]),
    ("eventbridge", &["scheduled-event", "event"]),
];

/// Names accepted for a source besides its own.
const ALIASES: &[(&str, &str)] = &[
    ("apigw", "apigateway"),
    ("api-gateway", "apigateway"),
    ("url", "function-url"),
    ("cloudwatch", "eventbridge"),
    ("schedule", "eventbridge"),
];

/// What can be wrong with a request for a sample.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// No such source.
    #[error("unknown event source `{0}`. Known sources: {known}", known = known_sources())]
    UnknownSource(String),
    /// No such kind for the source.
    #[error("`{source_name}` has no event kind `{kind}`. Its kinds: {known}")]
    UnknownKind {
        /// The source.
        source_name: String,
        /// The kind asked for.
        kind: String,
        /// The kinds it has.
        known: String,
    },
}

fn known_sources() -> String {
    SOURCES
        .iter()
        .map(|(s, kinds)| format!("{s} ({})", kinds.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The knobs of a sample; `None` picks a realistic default.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    /// The body (HTTP sources), message (SQS, SNS) or record data (Kinesis).
    pub body: Option<String>,
    /// The request path (HTTP sources).
    pub path: Option<String>,
    /// The HTTP method (HTTP sources).
    pub method: Option<String>,
    /// The bucket (S3).
    pub bucket: Option<String>,
    /// The object key (S3), given decoded; the event carries it URL-encoded.
    pub key: Option<String>,
    /// The region; `us-east-1` by default.
    pub region: Option<String>,
}

/// Resolves `source` (or an alias) and `kind` (or the default kind).
pub fn resolve(
    source: &str,
    kind: Option<&str>,
) -> Result<(&'static str, &'static str), GenerateError> {
    let wanted = ALIASES
        .iter()
        .find(|(alias, _)| *alias == source)
        .map_or(source, |(_, name)| name);
    let (name, kinds) = SOURCES
        .iter()
        .find(|(name, _)| *name == wanted)
        .ok_or_else(|| GenerateError::UnknownSource(source.to_string()))?;
    let kind =
        match kind {
            None => kinds[0],
            Some(k) => kinds.iter().find(|known| **known == k).ok_or_else(|| {
                GenerateError::UnknownKind {
                    source_name: name.to_string(),
                    kind: k.to_string(),
                    known: kinds.join(", "),
                }
            })?,
        };
    Ok((name, kind))
}

/// A sample event of `source` / `kind`.
pub fn generate(
    source: &str,
    kind: Option<&str>,
    options: &SampleOptions,
) -> Result<Value, GenerateError> {
    let (source, kind) = resolve(source, kind)?;
    let s = Sample::new(options);
    Ok(match (source, kind) {
        ("apigateway", "aws-proxy") => s.api_gateway_v1(),
        ("apigateway", _) => s.api_gateway_v2(),
        ("function-url", _) => s.function_url(),
        ("alb", _) => s.alb(),
        ("s3", kind) => s.s3(kind == "delete"),
        ("sqs", _) => s.sqs(),
        ("sns", _) => s.sns(),
        ("dynamodb", _) => s.dynamodb(),
        ("kinesis", _) => s.kinesis(),
        ("eventbridge", "scheduled-event") => s.scheduled(),
        _ => s.eventbridge(),
    })
}

/// The shared parts of every sample.
struct Sample<'a> {
    options: &'a SampleOptions,
    region: String,
    now: DateTime<Utc>,
}

const ACCOUNT: &str = "123456789012";

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl<'a> Sample<'a> {
    fn new(options: &'a SampleOptions) -> Self {
        Sample {
            options,
            region: options
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.into()),
            now: Utc::now(),
        }
    }

    fn epoch_ms(&self) -> i64 {
        self.now.timestamp_millis()
    }

    fn iso(&self) -> String {
        self.now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    fn body(&self, default: &str) -> String {
        self.options
            .body
            .clone()
            .unwrap_or_else(|| default.to_string())
    }

    fn path(&self) -> String {
        self.options.path.clone().unwrap_or_else(|| "/hello".into())
    }

    fn method(&self) -> String {
        self.options
            .method
            .clone()
            .unwrap_or_else(|| {
                if self.options.body.is_some() {
                    "POST"
                } else {
                    "GET"
                }
                .into()
            })
            .to_uppercase()
    }

    fn api_gateway_v1(&self) -> Value {
        let mut event = crate::tooling::sample::api_gateway_v1("");
        let (path, method) = (self.path(), self.method());
        event["resource"] = json!(path);
        event["path"] = json!(path);
        event["httpMethod"] = json!(method);
        event["body"] = self.options.body.as_ref().map_or(Value::Null, |b| json!(b));
        let ctx = &mut event["requestContext"];
        ctx["accountId"] = json!(ACCOUNT);
        ctx["httpMethod"] = json!(method);
        ctx["path"] = json!(format!("/dev{path}"));
        ctx["resourcePath"] = json!(path);
        ctx["requestId"] = json!(uuid());
        ctx["extendedRequestId"] = json!(format!("{}=", &uuid()[..15]));
        ctx["requestTime"] = json!(self.now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
        ctx["requestTimeEpoch"] = json!(self.epoch_ms());
        event
    }

    fn http_context(&self) -> Value {
        json!({
            "method": self.method(),
            "path": self.path(),
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "curl/8.5.0"
        })
    }

    fn api_gateway_v2(&self) -> Value {
        let path = self.path();
        json!({
            "version": "2.0",
            "routeKey": format!("{} {path}", self.method()),
            "rawPath": path,
            "rawQueryString": "name=wasmfn",
            "cookies": ["session=abc123"],
            "headers": {
                "accept": "application/json",
                "content-type": "application/json",
                "host": "abc123.execute-api.us-east-1.amazonaws.com",
                "user-agent": "curl/8.5.0",
                "x-amzn-trace-id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4b3c1",
                "x-forwarded-for": "203.0.113.7",
                "x-forwarded-port": "443",
                "x-forwarded-proto": "https"
            },
            "queryStringParameters": {"name": "wasmfn"},
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": self.http_context(),
                "requestId": format!("{}=", &uuid()[..15]),
                "routeKey": format!("{} {path}", self.method()),
                "stage": "$default",
                "time": self.now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": self.epoch_ms()
            },
            "body": self.options.body,
            "isBase64Encoded": false
        })
    }

    fn function_url(&self) -> Value {
        let mut event = self.api_gateway_v2();
        event["routeKey"] = json!("$default");
        let ctx = &mut event["requestContext"];
        ctx["routeKey"] = json!("$default");
        ctx["apiId"] = json!("abcdefghijklmnopqrstuvwxyz012345");
        ctx["domainName"] = json!("abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws");
        ctx["domainPrefix"] = json!("abcdefghijklmnopqrstuvwxyz012345");
        ctx["authorizer"] = json!({"iam": {
            "accessKey": "AKIAIOSFODNN7EXAMPLE", "accountId": ACCOUNT,
            "callerId": "AIDACKCEVSQ6C2EXAMPLE", "userArn": format!("arn:aws:iam::{ACCOUNT}:user/example"),
            "userId": "AIDACKCEVSQ6C2EXAMPLE", "cognitoIdentity": null, "principalOrgId": null
        }});
        event["headers"]["host"] =
            json!("abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws");
        event
    }

    fn alb(&self) -> Value {
        json!({
            "requestContext": {"elb": {"targetGroupArn": format!(
                "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:targetgroup/lambda-target/49e9d65c45c6791a", self.region)}},
            "httpMethod": self.method(),
            "path": self.path(),
            "queryStringParameters": {"name": "wasmfn"},
            "headers": {
                "accept": "application/json",
                "host": "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
                "user-agent": "curl/8.5.0",
                "x-amzn-trace-id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4b3c1",
                "x-forwarded-for": "203.0.113.7",
                "x-forwarded-port": "80",
                "x-forwarded-proto": "http"
            },
            "body": self.body(""),
            "isBase64Encoded": false
        })
    }

    fn s3(&self, delete: bool) -> Value {
        let bucket = self
            .options
            .bucket
            .clone()
            .unwrap_or_else(|| "example-bucket".into());
        let key = self
            .options
            .key
            .clone()
            .unwrap_or_else(|| "uploads/test key.json".into());
        // S3 notifications carry the key form-encoded: spaces as `+`.
        let encoded: String = url_encode_key(&key);
        let mut object = json!({"key": encoded, "sequencer": "0A1B2C3D4E5F678901"});
        if !delete {
            object["size"] = json!(1024);
            object["eTag"] = json!("0123456789abcdef0123456789abcdef");
        }
        json!({"Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": self.region,
            "eventTime": self.iso(),
            "eventName": if delete { "ObjectRemoved:Delete" } else { "ObjectCreated:Put" },
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {
                "x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "wasmfn-notification",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": object
            }
        }]})
    }

    fn sqs(&self) -> Value {
        let body = self.body(r#"{"type":"user-registration","data":{"email":"ada@example.com"}}"#);
        let ms = self.epoch_ms().to_string();
        json!({"Records": [{
            "messageId": uuid(),
            "receiptHandle": format!("AQEB{}", uuid().replace('-', "")),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": ms,
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": ms
            },
            "messageAttributes": {},
            "md5OfBody": md5_hex(&body),
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:{}:{ACCOUNT}:example-queue", self.region),
            "awsRegion": self.region
        }]})
    }

    fn sns(&self) -> Value {
        let topic = format!("arn:aws:sns:{}:{ACCOUNT}:example-topic", self.region);
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic}:{}", uuid()),
            "Sns": {
                "Type": "Notification",
                "MessageId": uuid(),
                "TopicArn": topic,
                "Subject": "example subject",
                "Message": self.body("example message"),
                "Timestamp": self.iso(),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                "UnsubscribeUrl": format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}"),
                "MessageAttributes": {}
            }
        }]})
    }

    fn dynamodb(&self) -> Value {
        let arn = format!(
            "arn:aws:dynamodb:{}:{ACCOUNT}:table/users/stream/2026-01-01T00:00:00.000",
            self.region
        );
        let seconds = self.now.timestamp();
        let record = |n: u32, name: &str, old: Option<Value>, new: Option<Value>| {
            let mut change = json!({
                "ApproximateCreationDateTime": seconds,
                "Keys": {"id": {"S": "u-1"}},
                "SequenceNumber": format!("{}00000000000000000000{n}", n),
                "SizeBytes": 59,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            });
            if let Some(old) = old {
                change["OldImage"] = old;
            }
            if let Some(new) = new {
                change["NewImage"] = new;
            }
            json!({
                "eventID": uuid().replace('-', ""),
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": self.region,
                "dynamodb": change,
                "eventSourceARN": arn
            })
        };
        let user = |status: &str| json!({"id": {"S": "u-1"}, "email": {"S": "ada@example.com"}, "status": {"S": status}});
        json!({"Records": [
            record(1, "INSERT", None, Some(user("pending"))),
            record(2, "MODIFY", Some(user("pending")), Some(user("active"))),
            record(3, "REMOVE", Some(user("active")), None),
        ]})
    }

    fn kinesis(&self) -> Value {
        let data =
            base64::engine::general_purpose::STANDARD.encode(self.body("Hello, this is a test."));
        json!({"Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                "data": data,
                "approximateArrivalTimestamp": self.epoch_ms() as f64 / 1000.0
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
            "awsRegion": self.region,
            "eventSourceARN": format!("arn:aws:kinesis:{}:{ACCOUNT}:stream/example-stream", self.region)
        }]})
    }

    fn scheduled(&self) -> Value {
        json!({
            "version": "0",
            "id": uuid(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": self.now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": self.region,
            "resources": [format!("arn:aws:events:{}:{ACCOUNT}:rule/example-schedule", self.region)],
            "detail": {}
        })
    }

    fn eventbridge(&self) -> Value {
        let detail: Value = self
            .options
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_else(|| json!({"orderId": "o-1", "amount": 42.5}));
        let mut event = self.scheduled();
        event["detail-type"] = json!("Order Placed");
        event["source"] = json!("com.example.orders");
        event["resources"] = json!([]);
        event["detail"] = detail;
        event
    }
}

/// A key as S3 notifications write it: URL-encoded, spaces as `+`.
fn url_encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The body's MD5, as SQS computes `md5OfBody`.
fn md5_hex(body: &str) -> String {
    use md5::Digest as _;
    format!("{:x}", md5::Md5::digest(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_default_kinds_resolve() {
        assert_eq!(
            resolve("schedule", None).unwrap(),
            ("eventbridge", "scheduled-event")
        );
        assert_eq!(
            resolve("apigw", Some("http-api-proxy")).unwrap().1,
            "http-api-proxy"
        );
        let err = resolve("s3", Some("copy")).unwrap_err().to_string();
        assert!(err.contains("put, delete"), "{err}");
        let err = resolve("ftp", None).unwrap_err().to_string();
        assert!(err.contains("sqs (receive-message)"), "{err}");
    }

    #[test]
    fn s3_keys_are_encoded_as_s3_sends_them() {
        let options = SampleOptions {
            key: Some("photos/my cat(1).jpg".into()),
            ..SampleOptions::default()
        };
        let event = generate("s3", None, &options).unwrap();
        assert_eq!(
            event["Records"][0]["s3"]["object"]["key"],
            "photos/my+cat%281%29.jpg"
        );
    }
}
