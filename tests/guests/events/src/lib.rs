//! Round-trips an event through a typed `aws_lambda_events` struct inside
//! the guest: `{"type": "SqsEvent", "event": {...}}` → deserialize into the
//! named type → serialize → the result. A test compares it with the input.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmfn_guest::events::*;
use wasmfn_guest::{Context, Error};

/// What to round-trip.
#[derive(Deserialize)]
pub struct Request {
    /// The type's name, as in `aws_lambda_events`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The event.
    pub event: Value,
}

fn round_trip<T: DeserializeOwned + Serialize>(event: Value) -> Result<Value, Error> {
    let typed: T = serde_json::from_value(event).map_err(|e| {
        Error::new(
            "DeserializeError",
            format!("into {}: {e}", std::any::type_name::<T>()),
        )
    })?;
    Ok(serde_json::to_value(&typed)?)
}

/// Round-trips one event.
#[wasmfn_guest::handler]
pub fn handler(request: Request, _ctx: Context) -> Result<Value, Error> {
    let event = request.event;
    match request.type_name.as_str() {
        "ApiGatewayProxyRequest" => round_trip::<apigw::ApiGatewayProxyRequest>(event),
        "ApiGatewayProxyResponse" => round_trip::<apigw::ApiGatewayProxyResponse>(event),
        "ApiGatewayV2httpRequest" => round_trip::<apigw::ApiGatewayV2httpRequest>(event),
        "ApiGatewayV2httpResponse" => round_trip::<apigw::ApiGatewayV2httpResponse>(event),
        "ApiGatewayWebsocketProxyRequest" => {
            round_trip::<apigw::ApiGatewayWebsocketProxyRequest>(event)
        }
        "ApiGatewayCustomAuthorizerRequest" => {
            round_trip::<apigw::ApiGatewayCustomAuthorizerRequest>(event)
        }
        "ApiGatewayCustomAuthorizerRequestTypeRequest" => {
            round_trip::<apigw::ApiGatewayCustomAuthorizerRequestTypeRequest>(event)
        }
        "ApiGatewayCustomAuthorizerResponse" => {
            round_trip::<apigw::ApiGatewayCustomAuthorizerResponse>(event)
        }
        "ApiGatewayV2CustomAuthorizerV1Request" => {
            round_trip::<apigw::ApiGatewayV2CustomAuthorizerV1Request>(event)
        }
        "ApiGatewayV2CustomAuthorizerV2Request" => {
            round_trip::<apigw::ApiGatewayV2CustomAuthorizerV2Request>(event)
        }
        "AlbTargetGroupRequest" => round_trip::<alb::AlbTargetGroupRequest>(event),
        "AlbTargetGroupResponse" => round_trip::<alb::AlbTargetGroupResponse>(event),
        "LambdaFunctionUrlRequest" => {
            round_trip::<lambda_function_urls::LambdaFunctionUrlRequest>(event)
        }
        "LambdaFunctionUrlResponse" => {
            round_trip::<lambda_function_urls::LambdaFunctionUrlResponse>(event)
        }
        "S3Event" => round_trip::<s3::S3Event>(event),
        "S3ObjectLambdaEvent" => round_trip::<s3::object_lambda::S3ObjectLambdaEvent>(event),
        "SqsEvent" => round_trip::<sqs::SqsEvent>(event),
        "SqsEventObj" => round_trip::<sqs::SqsEventObj<Value>>(event),
        "SqsApiEventObj" => round_trip::<sqs::SqsApiEventObj<Value>>(event),
        "SqsBatchResponse" => round_trip::<sqs::SqsBatchResponse>(event),
        "SnsEvent" => round_trip::<sns::SnsEvent>(event),
        "SnsEventObj" => round_trip::<sns::SnsEventObj<Value>>(event),
        "SnsSubscriptionMessage" => round_trip::<sns::SnsSubscriptionMessage>(event),
        "DynamoDbEvent" => round_trip::<dynamodb::Event>(event),
        "DynamoDbEventRecord" => round_trip::<dynamodb::EventRecord>(event),
        "DynamoDbEventResponse" => round_trip::<streams::DynamoDbEventResponse>(event),
        "KinesisEvent" => round_trip::<kinesis::KinesisEvent>(event),
        "KinesisEventResponse" => round_trip::<streams::KinesisEventResponse>(event),
        "EventBridgeEvent" => round_trip::<eventbridge::EventBridgeEvent>(event),
        "CloudWatchEvent" => round_trip::<cloudwatch_events::CloudWatchEvent>(event),
        "AWSAPICall" => round_trip::<cloudwatch_events::cloudtrail::AWSAPICall>(event),
        other => Err(Error::new(
            "UnknownType",
            format!("no event type named `{other}`"),
        )),
    }
}
