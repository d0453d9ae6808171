"""Looking inside models and training runs: activations, gradients, pictures (``gn.viz``).

Numbers need only NumPy: ``activations``, ``gradient_norms``, ``saliency``,
``confusion_matrix``, ``graph_svg`` (SVG text written by hand). Pictures need matplotlib,
the optional extra ``pip install glassnet[viz]``; it is imported only when a picture is
asked for. Every plotting function returns a matplotlib Figure (no window is opened):

    import glassnet as gn
    from glassnet import viz
    viz.learning_curves(history).savefig("curves.png")
    viz.feature_maps(model, x_test[0]).savefig("maps.png")
    viz.plot_confusion_matrix(y_test, model.predict(x_test)).savefig("confusion.png")
"""
from glassnet.viz.inside import activations, gradient_norms, saliency
from glassnet.viz.graph import graph_svg
from glassnet.viz.evaluation import confusion_matrix, plot_confusion_matrix, prediction_vs_truth
from glassnet.viz.images import feature_maps, filters, plot_saliency
from glassnet.viz.training_plots import learning_curves, plot_gradient_norms, plot_learning_rate
from glassnet.viz._mpl import to_png

__all__ = [
    "activations", "gradient_norms", "saliency", "graph_svg", "confusion_matrix", "plot_confusion_matrix",
    "prediction_vs_truth", "feature_maps", "filters", "plot_saliency", "learning_curves",
    "plot_gradient_norms", "plot_learning_rate", "to_png",
]
