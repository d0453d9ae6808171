"""X or O: the slides' hand-set convnet, then one trained from scratch on shifted, rotated,
thickened and noisy variants and tested on variants it never saw.

    python examples/xo.py
"""
from glassnet.apps import xo

results = xo.run(epochs=10, seed=0, out="glassnet-out", verbose=2)
print()
print(f"hand-set network, held-out accuracy: {results['handset_heldout_accuracy']:.4f}")
print(f"trained network,  held-out accuracy: {results['trained_heldout_accuracy']:.4f}"
      f" ({results['heldout_samples']} images, trained on {results['train_samples']})")
print(f"written to {results['out']}")
