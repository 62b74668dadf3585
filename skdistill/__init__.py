"""skdistill: data-free knowledge distillation of regression models.

Compress a fitted regressor (the *teacher*) into a small neural network (the
*student*) without the data the teacher was trained on, following Zhou & Chiam,
"Synthetic data generation method for data-free knowledge distillation in regression
neural networks" (arXiv 2301.04338).
"""

from .columns import Categorical, Constant, Continuous, Integer

try:
    from ._estimator import DataFreeDistillRegressor
    from ._teacher_inputs import NoInputSpecWarning
    from .callbacks import Callback, CSVLogger, EarlyStopping
    from .inputs import InputSpec
    from .metrics import fidelity_r2_scorer, fidelity_rmse_scorer, make_fidelity_scorer
    from .objectives import eq8_objective
    from .report import FidelityReport, report
    from .samplers import (
        SAMPLERS,
        DirectSampler,
        GeneratorSampler,
        RandomSampler,
        Sampler,
        register_sampler,
    )
    from .students import RBFNet
    from .students_cnn import PaperCNN
    from .teachers import RemoteTeacher, as_teacher
except ModuleNotFoundError as exc:  # pragma: no cover - tested in a subprocess
    # Without torch only skdistill.compact works: compact models of MLP students
    # (DataFreeDistillRegressor.to_compact) load and predict with NumPy and
    # scikit-learn alone.
    if exc.name != "torch":
        raise

__version__ = "0.1.0.dev0"

__all__ = [
    "DataFreeDistillRegressor",
    "InputSpec",
    "NoInputSpecWarning",
    "Continuous",
    "Integer",
    "Categorical",
    "Constant",
    "Callback",
    "EarlyStopping",
    "CSVLogger",
    "Sampler",
    "RandomSampler",
    "DirectSampler",
    "GeneratorSampler",
    "SAMPLERS",
    "register_sampler",
    "as_teacher",
    "RemoteTeacher",
    "RBFNet",
    "PaperCNN",
    "eq8_objective",
    "fidelity_r2_scorer",
    "fidelity_rmse_scorer",
    "make_fidelity_scorer",
    "report",
    "FidelityReport",
    "__version__",
]
