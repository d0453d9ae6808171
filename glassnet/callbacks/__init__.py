"""Callbacks: hooks into fit/evaluate/predict (``keras.callbacks``)."""
from glassnet.callbacks.base import Callback, CallbackList
from glassnet.callbacks.history import History
from glassnet.callbacks.progbar_logger import ProgbarLogger
