import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Module scope runs once per instance, at init, with the real environment.
STAGE = os.environ.get("STAGE", "unknown")
invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    logger.info("hello from %s", context.function_name)
    name = (event.get("queryStringParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({
            "message": f"Hello, {name}!",
            "requestId": context.aws_request_id,
            "stage": STAGE,
            "region": os.environ.get("AWS_REGION"),
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis() > 0,
            "invocations": invocations,
        }),
    }
