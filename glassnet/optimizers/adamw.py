"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).

    w <- w * (1 - lr * weight_decay), then the Adam step (see adam.py).
Defaults: learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
amsgrad=False. Same slots as Adam.
"""
from glassnet.optimizers.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay (keras.optimizers.AdamW); weight_decay must be a float."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        if self.weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: weight_decay=None")
