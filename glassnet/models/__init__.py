"""Models: Model (functional and subclassed), Sequential; saving and loading."""
from glassnet.models.model import Model
from glassnet.models.functional import Functional
from glassnet.models.sequential import Sequential
from glassnet.models.saving import load_model, save_model
