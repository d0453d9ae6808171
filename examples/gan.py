"""A GAN with a custom train_step (keras-io's "GAN overriding Model.train_step") on glassnet.

The GAN class lives in glassnet/apps/gan.py: a generator and a discriminator, compiled with
their own optimizers, trained by an overridden `train_step` that clears the gradients,
runs forward, calls `loss.backward()` and `optimizer.apply(grads, variables)`.

    python examples/gan.py [epochs]        writes gan_samples.png
"""
import sys

import glassnet as gn
from glassnet.apps.gan import GAN, ResetMetricsEachEpoch, build_discriminator, build_generator, load_data, save_samples

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
gn.utils.set_random_seed(0)
(x, _), _ = load_data()  # the real 8x8 digits, pixels in [0, 1], shape (n, 8, 8, 1)

gan = GAN(discriminator=build_discriminator(), generator=build_generator(), latent_dim=32)
gan.compile(
    d_optimizer=gn.optimizers.Adam(learning_rate=1e-3, beta_1=0.5),
    g_optimizer=gn.optimizers.Adam(learning_rate=1e-3, beta_1=0.5),
    loss_fn=gn.losses.BinaryCrossentropy(from_logits=True),
)
gan.fit(x, epochs=epochs, batch_size=64, verbose=2, callbacks=[ResetMetricsEachEpoch()])
print("saved", save_samples("gan_samples.png", gan.sample(100), x[:100], f"GAN on 8x8 digits, {epochs} epochs"))
