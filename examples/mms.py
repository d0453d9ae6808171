"""How many M&Ms in a bag? Gradient descent on one variable finds the mean, step by step.

    python examples/mms.py
"""
from glassnet.apps import mms

results = mms.run(out="glassnet-out", verbose=1)
print()
print(f"gradient descent: {results['final_estimate']:.6f}   mean: {results['true_mean']:.6f}"
      f"   exhaustive search (whole counts): {results['exhaustive_best']}")
