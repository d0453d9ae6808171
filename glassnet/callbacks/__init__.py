"""Callbacks: hooks into fit/evaluate/predict (``keras.callbacks``)."""
from glassnet.callbacks.base import Callback, CallbackList
from glassnet.callbacks.history import History
from glassnet.callbacks.progbar_logger import ProgbarLogger
from glassnet.callbacks.backup_and_restore import BackupAndRestore
from glassnet.callbacks.csv_logger import CSVLogger
from glassnet.callbacks.early_stopping import EarlyStopping
from glassnet.callbacks.misc import LambdaCallback, TerminateOnNaN
from glassnet.callbacks.model_checkpoint import ModelCheckpoint
from glassnet.callbacks.reduce_lr import LearningRateScheduler, ReduceLROnPlateau
from glassnet.callbacks.tensorboard import TensorBoard
from glassnet.callbacks.report import Report
