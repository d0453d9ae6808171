"""The four-pixel camera: the slides' hand-designed network of +1 / -1 / 0 weights, then the
same architecture trained from random weights.

    python examples/camera.py
"""
from glassnet.apps import camera

results = camera.run(seed=0, out="glassnet-out", verbose=1)
print()
print(f"hand-designed: {results['handset_clean_accuracy']:.4f} on the clean images,"
      f" {results['handset_heldout_accuracy']:.4f} held out")
print(f"trained (seed {results['seed_used']}): {results['trained_heldout_accuracy']:.4f} held out"
      f" ({results['heldout_samples']} images)")
