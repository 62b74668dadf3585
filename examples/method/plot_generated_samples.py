"""
=========================================
What the samplers generate (Figures 5-8)
=========================================

The paper compares its samplers by the inputs they generate: how much the student
gets them wrong (Figure 5), where they lie against real inputs (Figure 6), and how
the student learns from them (Figures 7 and 8). This example redraws the four
figures for a small teacher, with random sampling, the direct sampler and the
generator.
"""

# %%
# The teacher
# -----------
# An MLP trained on part of scikit-learn's diabetes data; the other rows serve as
# the reference sample of real inputs (their targets are never used).
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_diabetes(return_X_y=True, scaled=False)
X_private, X_public, y_private, _ = train_test_split(
    X, y, test_size=0.4, random_state=0
)
mlp = MLPRegressor(
    hidden_layer_sizes=(200,),
    activation="tanh",
    alpha=1.0,
    early_stopping=True,
    max_iter=500,
    random_state=0,
)
teacher = TransformedTargetRegressor(
    make_pipeline(StandardScaler(), mlp), transformer=StandardScaler()
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    teacher.fit(X_private, y_private)

# %%
# Recording what a sampler generates
# ----------------------------------
# The estimator does not keep its generated samples, but samplers are pluggable:
# a small mixin over :class:`~skdistill.samplers.DirectSampler` and
# :class:`~skdistill.samplers.GeneratorSampler` keeps those of a few epochs, with
# the random start points they came from and the student loss (eq. 1) on both at
# that moment. ``self.problem`` is the fit's
# :class:`~skdistill.samplers.DistillProblem`: everything in it is in
# standardized units, and ``space.to_raw`` maps inputs back to the teacher's.
# With the default ``regenerate="epoch"``, ``generate`` is called once per epoch.
import torch

from skdistill.samplers import DirectSampler, GeneratorSampler

EPOCHS = 150
RECORD = (0, 15, EPOCHS - 1)


class Recording:
    """Keep the generated samples of the epochs in ``RECORD``."""

    def setup(self, problem):
        self.calls_, self.records_ = 0, {}
        return super().setup(problem)

    def generate(self, x0):
        out = super().generate(x0)
        if self.calls_ in RECORD:
            x = getattr(out, "x", out)  # differential evolution adds labels
            self.records_[self.calls_] = {
                "random": self._snapshot(x0),
                "generated": self._snapshot(x),
            }
        self.calls_ += 1
        return out

    def _snapshot(self, z):
        problem = self.problem
        with torch.no_grad():
            # (these labels are teacher queries too, counted as every row is)
            loss = (problem.teacher.label(z) - problem.student(z).reshape(-1)) ** 2
        return problem.space.to_raw(z).cpu().numpy(), loss.cpu().numpy()


class RecordingDirect(Recording, DirectSampler):
    pass


class RecordingGenerator(Recording, GeneratorSampler):
    pass


# %%
# Three distillations
# -------------------
# The same student (20 tanh units), input description (the moments and ranges of
# 50 unlabeled rows) and decreasing ``alpha``; only the sampler differs. Sampler
# instances keep their own settings, here the paper's defaults.
from skdistill import DataFreeDistillRegressor

samplers = {
    "random": "random",
    "direct": RecordingDirect(),
    "generator": RecordingGenerator(),
}
fitted = {}
for name, sampler in samplers.items():
    est = DataFreeDistillRegressor(
        teacher, student=(20,), sampler=sampler, max_epochs=EPOCHS, random_state=0
    )
    fitted[name] = est.fit(X_public[:50])

# %%
# Figure 5: the student loss on generated samples
# -----------------------------------------------
# Both samplers generate inputs the student gets far more wrong than random draws
# at the same moment: that is what they are for. (Loss in standardized target
# units, log scale.)
from skdistill.plot import plot_sample_losses

direct, generator = (fitted[k].sampler_.records_ for k in ("direct", "generator"))
losses = {
    f"epoch {epoch}": {
        "random": direct[epoch]["random"][1],
        "direct": direct[epoch]["generated"][1],
        "generator": generator[epoch]["generated"][1],
    }
    for epoch in RECORD
}
fig, ax = plot_sample_losses(losses)
ax.set_title("Student loss on generated and random samples")

# %%
# Figure 6: where generated samples lie
# -------------------------------------
# The real inputs (grey), random draws of the input description, and the samples
# generated at the last recorded epoch, in the first two principal components of
# the real inputs. The direct sampler's few small gradient steps stay close to the
# random draws they started from, inside the real data's cloud; the generator's
# samples go where its network sends them.
from skdistill.plot import plot_projection

last = RECORD[-1]
fig, ax = plot_projection(
    {
        "random": direct[last]["random"][0],
        "direct": direct[last]["generated"][0],
        "generator": generator[last]["generated"][0],
    },
    reference=X_public,
)
ax.set_title(f"Generated samples at epoch {last}")

# %%
# Figures 7 and 8: learning curves
# --------------------------------
# Validation RMSE to the teacher (Figure 7) and the student loss on generated
# samples (Figure 8) per epoch, smoothed over 15 epochs as in the paper. Random
# sampling has no generated samples: its second curve is empty.
from skdistill.plot import plot_history

fig, axes = plot_history(fitted, keys=("val_rmse", "loss_generated"), smooth=15)

# %%
# Fidelity on the real inputs, for the record:
from skdistill.metrics import fidelity_r2

for name, est in fitted.items():
    print(f"{name:>9}: fidelity R^2 {fidelity_r2(est, X_public[50:]):.4f}")
