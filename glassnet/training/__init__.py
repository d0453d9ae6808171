"""The training loop, plugged into glassnet.models.Model at import (models never import it)."""
from glassnet.models.model import register_trainer
from glassnet.training import trainer
from glassnet.training.progbar import Progbar

register_trainer(trainer)
