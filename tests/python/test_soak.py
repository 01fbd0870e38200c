"""The short soak (tests/load/soak.py): 20 s of mixed load on `wasmfn
serve`. Only the intended statuses (200 from the good route, API Gateway's
502 from the failing and timing-out ones), no connection errors, and no RSS
growth trend."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "load"))

import soak  # noqa: E402


def test_short_soak(tmp_path):
    report = soak.run(20, log=tmp_path / "serve.log")
    soak.print_report(report)
    assert soak.problems(report) == [], report
    # Each route really carried load.
    assert report["targets"]["/ok"]["statuses"][200] > 1000
    assert report["targets"]["/spin"]["statuses"][502] >= 10
