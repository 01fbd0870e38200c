//! A handler of the 0.1 ABI: `handle` answers with the context it was given
//! (the 0.1 record, without `tenant-id`) and the event, as a JSON object
//! written by hand.

wit_bindgen::generate!({
    path: "wit",
    world: "wasmfn:handler/handler@0.1.0",
});

use wasmfn::handler::runtime;

struct Abi01;

impl Guest for Abi01 {
    fn init() -> Result<(), FunctionError> {
        Ok(())
    }

    fn handle(event: Vec<u8>, ctx: Context) -> Result<Vec<u8>, FunctionError> {
        let event = String::from_utf8(event).map_err(|e| FunctionError {
            error_type: "InvalidEvent".into(),
            error_message: e.to_string(),
            stack_trace: Vec::new(),
        })?;
        if event.contains("\"fail\"") {
            return Err(FunctionError {
                error_type: "Abi01Error".into(),
                error_message: "asked to fail".into(),
                stack_trace: Vec::new(),
            });
        }
        let remaining = runtime::remaining_time_ms();
        Ok(format!(
            r#"{{"abi":"0.1","requestId":"{}","functionName":"{}","memoryLimitInMB":{},"remainingPositive":{},"event":{}}}"#,
            ctx.request_id,
            ctx.function_name,
            ctx.memory_limit_in_mb,
            remaining > 0,
            event
        )
        .into_bytes())
    }
}

export!(Abi01);
