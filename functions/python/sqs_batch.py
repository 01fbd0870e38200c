"""SQS with partial batch failures: each body is {"type": ..., "data": {...}};
a message that fails is reported in batchItemFailures, so SQS redelivers
only it (the mapping needs ReportBatchItemFailures)."""
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class InvalidMessage(Exception):
    pass


def user_registration(data):
    if "@" not in data.get("email", ""):
        raise InvalidMessage(f"`{data.get('email')}` is not an email address")
    logger.info("user registered: %s", data["email"])


def order_processing(data):
    amount = data.get("amount", 0)
    if not data.get("orderId") or amount <= 0:
        raise InvalidMessage(f"order {data.get('orderId')}: amount must be positive, not {amount}")
    logger.info("order processed: %s", data["orderId"])


def email_notification(data):
    if not data.get("to") or not data.get("subject"):
        raise InvalidMessage("an email needs `to` and `subject`")
    logger.info("email queued to %s", data["to"])


PROCESSORS = {
    "user-registration": user_registration,
    "order-processing": order_processing,
    "email-notification": email_notification,
}


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            body = json.loads(record["body"])
            process = PROCESSORS.get(body.get("type"))
            if process is None:
                raise InvalidMessage(f"unknown message type {body.get('type')!r}")
            process(body.get("data") or {})
        except Exception as e:
            logger.warning("message %s failed: %s: %s", message_id, type(e).__name__, e)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
