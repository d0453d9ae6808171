"""glassnet run mms: least squares by gradient descent through glassnet's autodiff."""
import numpy as np

from glassnet import cli
from glassnet.apps import mms


def test_converges_to_the_mean_and_prints_each_step(tmp_path, capsys):
    r = mms.run(out=tmp_path, verbose=1)
    assert abs(r["final_estimate"] - r["true_mean"]) < 1e-3
    assert r["true_mean"] == mms.BAG_COUNTS.mean()
    np.testing.assert_allclose(r["final_loss"], r["min_loss"], rtol=1e-9)
    out = capsys.readouterr().out
    steps = [line.split() for line in out.splitlines() if len(line.split()) == 5 and line.split()[0].isdigit()]
    assert [int(s[0]) for s in steps] == list(range(mms.DEFAULT_EPOCHS + 1))
    assert float(steps[0][1]) == mms.START
    assert "step" in out and "estimate" in out and "<- lowest" in out
    assert (tmp_path / "mms" / "steps.txt").exists()


def test_autodiff_slope_is_the_formula_and_the_loss_falls():
    rows = mms.gradient_descent(steps=30)
    for step, est, loss, slope, formula in rows:
        np.testing.assert_allclose(slope, formula, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(loss, ((mms.BAG_COUNTS - est) ** 2).sum(), rtol=1e-12)
    losses = [r[2] for r in rows]
    assert all(a > b for a, b in zip(losses, losses[1:]) if a - b > 1e-9)
    # each step shrinks the error by 1 - 2 m lr
    err = [r[1] - mms.BAG_COUNTS.mean() for r in rows]
    np.testing.assert_allclose(err[1] / err[0], 1 - 2 * len(mms.BAG_COUNTS) * mms.LEARNING_RATE, rtol=1e-9)


def test_too_large_a_step_diverges():
    rows = mms.gradient_descent(learning_rate=0.1, steps=10)     # 1 - 2 * 12 * 0.1 = -1.4
    assert abs(rows[-1][1] - mms.BAG_COUNTS.mean()) > abs(rows[0][1] - mms.BAG_COUNTS.mean())


def test_exhaustive_search_finds_the_whole_count_nearest_the_mean():
    cands, losses = mms.exhaustive()
    assert cands[np.argmin(losses)] == round(mms.BAG_COUNTS.mean())
    assert mms.cost_table()["10^(|d|-1)"] == [1, 10, 1000, 10_000_000]


def test_cli(tmp_path):
    assert cli.main(["run", "mms", "--epochs", "5", "--out", str(tmp_path), "--verbose", "0"]) == 0
