"""Synthetic-input samplers: a base class, one module per strategy, one registry.

``SAMPLERS`` maps the names users type to classes; :func:`resolve_sampler` turns the
estimator's ``sampler`` parameter (a name, a class or an instance) into a fresh sampler.
"""

from ._base import (
    SAMPLERS,
    DistillProblem,
    Sampler,
    build_objective,
    register_sampler,
    resolve_sampler,
)
from ._de import DifferentialEvolution, Generated
from ._direct import DirectSampler
from ._generator import GeneratorSampler
from ._random import RandomSampler

__all__ = [
    "SAMPLERS",
    "DistillProblem",
    "Sampler",
    "register_sampler",
    "resolve_sampler",
    "build_objective",
    "RandomSampler",
    "DirectSampler",
    "DifferentialEvolution",
    "Generated",
    "GeneratorSampler",
]
