"""The Python probe: a handler whose module scope does what SnapStart must
keep or make anew (a table built at init, the environment and the clock
read at init, the runtime hooks, output at init), and whose actions report
on it."""

import logging
import os
import random
import sys
import time
import uuid

from snapshot_restore_py import register_after_restore, register_before_snapshot

from helpers.tables import build_table

logger = logging.getLogger()
logger.setLevel(logging.INFO)

print("py probe init")
TABLE = build_table(int(os.environ.get("PROBE_INIT_MAP", "0")))
INIT_TIME = time.time()
INIT_ENV = os.environ.get("PROBE_MARK")
INITS = 1
if os.environ.get("PROBE_INIT_OPEN"):
    LEFT_OPEN = open("/tmp/left-open", "w")

hooks = {"beforeSnapshot": 0, "afterRestore": 0}
invocations = 0


@register_before_snapshot
def before_snapshot():
    hooks["beforeSnapshot"] += 1


def after_restore(greeting):
    hooks["afterRestore"] += 1
    print(greeting)


register_after_restore(after_restore, "after restore")


def handler(event, context):
    global invocations
    invocations += 1
    action = event.get("action")
    if action == "snapstart":
        with open("data.txt") as f:  # relative to /var/task, the working directory
            data = f.read().strip()
        return {
            "invocations": invocations,
            "inits": INITS,
            "table": len(TABLE),
            "hooks": hooks,
            "initializationType": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
            "initEnv": INIT_ENV,
            "initTime": INIT_TIME,
            "now": time.time(),
            "data": data,
        }
    if action == "random":
        return {"random": random.random(), "uuid": str(uuid.uuid4())}
    if action == "tenant":
        return {"tenantId": context.tenant_id, "invocations": invocations}
    if action == "log":
        logger.warning("warn")
        print("to stderr", file=sys.stderr)
        return {}
    if action == "import":
        from helpers import late
        return {"late": late.VALUE}
    raise ValueError(f"unknown action {action!r}")
