"""The benchmark harness runs end to end (benchmarks/bench.py --quick, in a subprocess).

It proves the harness works, not how fast anything is: every workload appears in the table
(measured, or "unavailable" with the reason) and the final line lists every ratio.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ["tiny", "mlp", "cnn", "lstm", "predict_mlp", "predict_cnn", "import"]


@pytest.mark.slow
def test_bench_quick_runs_every_workload():
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    table = {line.split()[0] for line in lines if line.strip()}
    for name in WORKLOADS:
        assert name in table, f"no table row for {name}:\n{out.stdout}"
    ratio_lines = [line for line in lines if line.startswith("RATIOS ")]
    assert len(ratio_lines) == 1 and ratio_lines[0] == lines[-1], out.stdout
    entries = dict(item.split("=", 1) for item in ratio_lines[0].split()[1:])
    assert sorted(entries) == sorted(WORKLOADS), ratio_lines[0]
    for name, value in entries.items():
        assert value == "unavailable" or float(value) > 0, f"{name}={value}"
    assert "GFLOP/s" in out.stdout  # the GEMM floor was measured
