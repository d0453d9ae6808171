"""The GAN app: a custom train_step on glassnet's autodiff, sample grids, and sample quality."""
import json
import struct
import sys
import zlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.apps import gan


def _read_png(path):
    """Decode the PNGs write_png makes (8-bit grey or RGB, filter 0): an independent reader."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,), tag = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8
    channels = {0: 1, 2: 3}[color]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + width * channels)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape((height, width) if channels == 1 else (height, width, 3))


@pytest.mark.parametrize("shape", [(3, 5), (7, 2, 3), (1, 1)])
def test_write_png_round_trip(tmp_path, shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    gan.write_png(tmp_path / "x.png", image)
    np.testing.assert_array_equal(_read_png(tmp_path / "x.png"), image)


def test_write_png_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"\(h, w\) or \(h, w, 3\)"):
        gan.write_png(tmp_path / "x.png", np.zeros((2, 2, 4), np.uint8))


def test_image_grid_layout():
    images = np.zeros((3, 8, 8, 1), np.float32)
    images[1] = 1.0
    grid = gan.image_grid(images, rows=2, cols=2, scale=2, gap=1)
    assert grid.shape == (2 * 17 + 1, 2 * 17 + 1)
    assert (grid[1:17, 1:17] == 0).all() and (grid[1:17, 18:34] == 255).all()  # tile 0 black, tile 1 white
    assert (grid[0] == 96).all() and (grid[18:34, 18:34] == 96).all()  # gaps and the unused tile stay grey


def test_judge_figures():
    confident_all_classes = np.eye(10)[np.arange(1000) % 10]
    f = gan.judge_figures(confident_all_classes)
    assert f["digit_score"] == pytest.approx(10, rel=1e-6) and f["classes"] == 10 and f["confidence"] == pytest.approx(1)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert gan.judge_figures(one_class)["digit_score"] == pytest.approx(1) and gan.judge_figures(one_class)["classes"] == 1
    assert gan.judge_figures(np.full((50, 10), 0.1))["digit_score"] == pytest.approx(1)


def test_custom_train_step_trains_both_nets():
    gn.utils.set_random_seed(0)
    (x, _), _ = gan.load_data()
    model = gan.GAN(gan.build_discriminator(), gan.build_generator(), gan.LATENT_DIM)
    model.compile(gn.optimizers.Adam(1e-3, beta_1=0.5), gn.optimizers.Adam(1e-3, beta_1=0.5),
                  gn.losses.BinaryCrossentropy(from_logits=True))
    g0, d0 = model.generator.get_weights(), model.discriminator.get_weights()
    history = model.fit(x[:256], epochs=2, batch_size=64, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.history["d_loss"]) == 2
    assert all(np.isfinite(v) for vs in history.history.values() for v in vs)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, model.generator.get_weights()))
    assert all(not np.array_equal(a, b) for a, b in zip(d0, model.discriminator.get_weights()))
    assert model.d_optimizer.iterations.numpy() == 8 and model.g_optimizer.iterations.numpy() == 8
    s = model.sample(5, seed=1)
    assert s.shape == (5, 8, 8, 1) and 0 <= s.min() and s.max() <= 1


def test_metrics_are_per_epoch_means():
    gn.utils.set_random_seed(0)
    (x, _), _ = gan.load_data()
    model = gan.GAN(gan.build_discriminator(), gan.build_generator(), gan.LATENT_DIM)
    model.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), gn.losses.BinaryCrossentropy(from_logits=True))
    model.fit(x[:128], epochs=2, batch_size=64, verbose=0)
    assert model.d_loss_tracker.count == 2  # 2 batches of the last epoch only


def test_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(gan, "JUDGE_EPOCHS", 3)
    r = gan.run(epochs=2, out=tmp_path, verbose=0)
    for key in ("d_loss", "g_loss", "digit_score_generated", "digit_score_real", "digit_score_noise",
                "pixel_mean_generated", "pixel_std_generated", "classes_generated"):
        assert np.isfinite(r[key]), key
    assert 1 <= r["digit_score_generated"] <= 10
    png = tmp_path / "gan" / "samples.png"
    assert r["samples"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "gan" / "results.json").read_text())["epochs"] == 2


def test_samples_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails
    images = np.random.default_rng(0).random((100, 8, 8, 1))
    gan.save_samples(tmp_path / "s.png", images, images)
    decoded = _read_png(tmp_path / "s.png")
    assert decoded.shape == (10 * 33 + 1, 2 * (10 * 33 + 1) + 12)


def test_cli_runs_gan(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gan, "JUDGE_EPOCHS", 1)
    assert cli.main(["run", "gan", "--epochs", "1", "--out", str(tmp_path), "--verbose", "0"]) == 0
    assert "digit_score_generated" in capsys.readouterr().out


@pytest.mark.slow
def test_gan_full_quality(tmp_path):
    r = gan.run(out=tmp_path, verbose=0)  # 150 epochs, seed 0
    # measured: digit score 7.1-7.2 (real test digits 8.7, noise 2.2), all 10 classes, pixel mean 0.302 vs 0.305
    assert r["digit_score_generated"] >= 5.5
    assert r["digit_score_generated"] > r["digit_score_noise"] + 3
    assert r["classes_generated"] == 10
    assert abs(r["pixel_mean_generated"] - r["pixel_mean_real"]) < 0.03
    assert abs(r["pixel_std_generated"] - r["pixel_std_real"]) < 0.04
