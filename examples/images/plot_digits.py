"""
=====================================================
Distil a convolutional network on images, data-free
=====================================================

Section 3.5 of the paper distils a CNN that reads a handwritten digit and predicts
its value (a regression, ``3.0`` for a three) into a CNN with half the filters,
without any image. Here on scikit-learn's 8x8 digits, we compare the synthetic
images of the three methods (the paper's Figure 9) and what the teacher says about
them (Figure 10): random draws, an adversarial generator, and direct optimisation
of the paper's eq. 8, which pulls each image towards a random digit value.

Training is kept short so the script runs in a minute or two; the benchmark
``python -m skdistill.bench digits`` runs the full comparison over several seeds.
"""

# %%
# The teacher
# -----------
# The paper's CNN (Table 2) with ``f=10`` filters, trained on 1000 digits with pixel
# values in [0, 1]. Its last unit is a softplus: digit values are non-negative.
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.objectives import eq8_objective, logcosh
from skdistill.samplers import DirectSampler, GeneratorSampler
from skdistill.students_cnn import PaperCNN

torch.set_num_threads(1)  # tiny convolutions: one thread is about as fast
X, y = load_digits(return_X_y=True)
images = (X / 16.0).reshape(-1, 1, 8, 8)  # (n, C, H, W), pixels in [0, 1]
perm = np.random.default_rng(0).permutation(len(images))
train, test = perm[:1000], perm[1000:]

torch.manual_seed(0)
teacher = PaperCNN((1, 8, 8), filters=10, out_activation="softplus")
opt = torch.optim.Adam(teacher.parameters(), lr=3e-3)
X_train = torch.as_tensor(images[train], dtype=torch.float32)
y_train = torch.as_tensor(y[train], dtype=torch.float32)
for epoch in range(25):
    for idx in torch.randperm(len(train)).split(50):
        opt.zero_grad()
        logcosh(teacher(X_train[idx])[:, 0] - y_train[idx]).mean().backward()
        opt.step()
teacher.eval()
with torch.no_grad():
    t_test = teacher(torch.as_tensor(images[test], dtype=torch.float32))[:, 0]
print(f"teacher test MAE: {np.abs(t_test.numpy() - y[test]).mean():.2f}")

# %%
# What the student may know of the inputs
# ---------------------------------------
# As in the paper, each pixel is drawn from a Gaussian with that pixel's mean and
# standard deviation over the training images, clipped to [0, 1]. The spec keeps
# the image shape: the CNNs receive (n, 1, 8, 8) batches.
spec = InputSpec.from_data(images[train], value_range=(0.0, 1.0))
print(spec)


# %%
# Three ways to make synthetic images
# -----------------------------------
# Samplers are pluggable: a small subclass keeps the last generated batch of each
# method, to look at it after training. The student is the paper's CNN with ``f=5``
# (``student="cnn:5"`` builds it) without its dropout layers, which slow the start
# of such short runs; it is trained with the log-cosh loss like the paper's, on
# batches of half generated, half random images (``alpha=0.5``). The student kept
# is the one closest to the true digits of 200 training images, as in the paper.
class KeepLastBatch:
    def generate(self, x0):
        out = super().generate(x0)
        self.last_batch_ = out.detach().clone()
        return out


class KeptDirect(KeepLastBatch, DirectSampler):
    pass


class KeptGenerator(KeepLastBatch, GeneratorSampler):
    pass


common = dict(
    student=PaperCNN((1, 8, 8), filters=5, dropout=False),
    loss="logcosh",
    alpha=0.5,
    max_epochs=20,
    random_state=0,
)
samplers = {
    "random": "random",
    "generator": KeptGenerator(generator_steps=2),
    "direct": KeptDirect,  # a class: built with the estimator's settings below
}
direct = dict(
    # eq. 8: -eps log cosh(T - S) + beta |x| + gamma (T - y_rand)^2, y_rand in 0..9
    # (digit values in the teacher's units; the estimator standardizes them)
    objective=eq8_objective(epsilon=1e-6, beta=1e-6, gamma=1.0, values=range(10)),
    direct_lr=0.03,
    direct_steps=2,
)
fitted = {}
for name, sampler in samplers.items():
    extra = direct if name == "direct" else {}
    est = DataFreeDistillRegressor(teacher, sampler=sampler, **common, **extra)
    fitted[name] = est.fit(
        input_spec=spec, validation_data=(images[train[:200]], y[train[:200]])
    )
    mae = np.abs(est.predict(images[test]) - y[test]).mean()
    print(f"{name:>9}: student test MAE {mae:.2f} after {common['max_epochs']} epochs")


# %%
# The synthetic images (Figure 9)
# -------------------------------
# Random draws are per-pixel noise around the average digit. Direct optimisation
# moves each draw two steps towards a randomly chosen digit value: on 8x8 pixels the
# images stay noisy to our eyes, but not to the teacher (next figure). The
# generator, trained against the student, tends to produce images that look alike,
# the mode collapse the paper describes.
def batch_images(name, n=50):
    """``n`` synthetic images of method ``name`` as flat rows of pixels."""
    loc, scale = spec.standardization()
    if name == "random":
        flat = spec.draw(n, random_state=0)
    else:  # samplers work in standardized units: back to pixels
        flat = loc + scale * fitted[name].sampler_.last_batch_[:n].numpy()
    return flat


fig, axes = plt.subplots(3, 10, figsize=(10, 3.4))
for row, name in enumerate(samplers):
    flat = batch_images(name)
    for col in range(10):
        ax = axes[row, col]
        ax.imshow(spec.to_images(flat)[col, 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
fig.suptitle("Synthetic images of the last training epoch")
fig.tight_layout()

# %%
# What the teacher sees in them (Figure 10)
# -----------------------------------------
# The teacher's predictions on a batch of 50 synthetic images: random draws all
# look like the same blurred digit to it, the generator's images mostly like one
# or two digits, while direct optimisation spreads the batch over the digit values,
# as real data would be. This is what the student learns from, and why it ends
# closer to the teacher on real digits.
fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
bins = np.arange(-0.5, 11)
for ax, name in zip(axes, samplers):
    pred = fitted[name].teacher_.predict(batch_images(name))
    ax.hist(pred, bins=bins, color="C0", edgecolor="white")
    ax.set_title(name)
    ax.set_xlabel("teacher prediction")
axes[0].set_ylabel("images (of 50)")
fig.tight_layout()
plt.show()
