"""Samplers own their parameters and units; every registered sampler keeps the
contract the training loop relies on."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.inputs import StandardizedSpace
from skdistill.metrics import fidelity_r2_scorer
from skdistill.objectives import TargetDiversity, as_objective
from skdistill.samplers import (
    SAMPLERS,
    DirectSampler,
    DistillProblem,
    Generated,
    resolve_sampler,
)
from skdistill.students import MLP
from skdistill.teachers import StandardizedTeacher, as_teacher

from .conftest import make_torch_teacher, sum_of_squares

BOUNDS = [(-1.0, 1.0), (0.0, 10.0), (5.0, 6.0)]
TEACHERS = {"torch": lambda: make_torch_teacher(3), "black box": lambda: sum_of_squares}
SMALL = dict(max_epochs=3, batches_per_epoch=3, batch_size=10, n_validation=50,
             student=(6,), random_state=0)


def _problem(teacher):
    space = StandardizedSpace(InputSpec(bounds=BOUNDS))
    view = StandardizedTeacher(as_teacher(teacher), space, 3.0, 2.0)
    return DistillProblem(space, view, MLP(3, (6,)), torch.Generator().manual_seed(0))


def _contract_cases():
    for name in sorted(SAMPLERS):
        for kind in TEACHERS:
            yield pytest.param(name, kind, id=f"{name}-{kind}")


@pytest.mark.parametrize("name, kind", list(_contract_cases()))
def test_every_registered_sampler_keeps_the_contract(name, kind):
    problem = _problem(TEACHERS[kind]())
    sampler = resolve_sampler(name)
    assert clone(sampler).get_params() == sampler.get_params()
    if name == "generator" and kind == "black box":
        with pytest.raises(ValueError, match="black box"):
            sampler.setup(problem)
        return
    sampler.setup(problem)
    if not sampler.uses_alpha:  # plain draws: the loop never asks it to generate
        assert sampler.query_cost(40) == 0
        return
    x0 = problem.space.draw(40, problem.generator)
    state = sampler.state_dict()
    stream = problem.generator.get_state()
    before = problem.teacher.n_queries
    out = sampler.generate(x0)
    x = out.x if isinstance(out, Generated) else out
    t = out.t if isinstance(out, Generated) else None
    if t is None:  # the loop labels the generated rows itself
        problem.teacher.label(x)
    # the cost the loop plans with is what the sampler spent, labels included
    assert problem.teacher.n_queries - before == sampler.query_cost(40)
    assert x.shape == x0.shape and torch.isfinite(x).all()
    raw = problem.space.to_raw(x)
    low, high = torch.tensor(BOUNDS, dtype=raw.dtype).T
    assert (raw >= low - 1e-4).all() and (raw <= high + 1e-4).all()
    # state round trip: from the same state and stream, the same samples
    sampler.load_state_dict(state)
    problem.generator.set_state(stream)
    again = sampler.generate(x0)
    torch.testing.assert_close(again.x if isinstance(again, Generated) else again, x)


def test_unknown_sampler_and_bad_parameters_are_named():
    with pytest.raises(ValueError, match="Unknown sampler 'gradient'"):
        resolve_sampler("gradient")
    with pytest.raises(ValueError, match="'steps' parameter of DirectSampler"):
        resolve_sampler(DirectSampler(steps=-1))
    with pytest.raises(ValueError, match="'direct_steps' parameter"):
        DataFreeDistillRegressor(make_torch_teacher(3), direct_steps=-1).fit(
            bounds=BOUNDS
        )


def test_an_instance_is_never_silently_overridden():
    est = DataFreeDistillRegressor(
        make_torch_teacher(3), sampler=DirectSampler(beta=0.1), beta=0.3, **SMALL
    )
    with pytest.raises(ValueError, match=r"beta=0\.3.*sampler__<name>"):
        est.fit(bounds=BOUNDS)
    # estimator values left at their defaults: the instance's own values are used
    est = DataFreeDistillRegressor(
        make_torch_teacher(3), sampler=DirectSampler(beta=0.1, steps=1), **SMALL
    ).fit(bounds=BOUNDS)
    assert (est.sampler_.beta, est.sampler_.steps) == (0.1, 1)
    assert est.sampler is not est.sampler_  # the user's object is not bound to a fit
    # by name, the estimator's values are forwarded to the sampler
    est = DataFreeDistillRegressor(
        make_torch_teacher(3), sampler="direct", beta=0.3, direct_steps=1, **SMALL
    ).fit(bounds=BOUNDS)
    assert (est.sampler_.beta, est.sampler_.steps) == (0.3, 1)


def test_nested_sampler_parameters_tune_in_grid_search():
    X = np.random.default_rng(0).uniform(-1, 1, (40, 3))
    est = DataFreeDistillRegressor(
        make_torch_teacher(3), sampler=DirectSampler(), **SMALL
    )
    assert est.get_params()["sampler__beta"] == 1e-5
    search = GridSearchCV(
        est, {"sampler__beta": [1e-5, 0.5], "alpha": [0.3]},
        scoring=fidelity_r2_scorer, cv=KFold(2),
    ).fit(X)
    assert [p["sampler__beta"] for p in search.cv_results_["params"]] == [1e-5, 0.5]
    assert search.best_estimator_.sampler_.beta == search.best_params_["sampler__beta"]


def _fit_predict(**params):
    est = DataFreeDistillRegressor(make_torch_teacher(3), **{**SMALL, **params})
    est.fit(bounds=BOUNDS)
    return est.predict(np.random.default_rng(1).uniform(0, 1, (30, 3)) * 5)


@pytest.mark.parametrize(
    "estimator_params, sampler_params",
    [
        ({"target_range": (-0.5, 0.5)}, {"target_range": (-0.5, 0.5)}),
        (
            {"objective": ["squared", TargetDiversity(0.5, (-0.5, 0.5))]},
            {"objective": ["squared", TargetDiversity(0.5, (-0.5, 0.5))]},
        ),
    ],
    ids=["target_range", "objective"],
)
def test_targets_mean_the_same_on_the_estimator_and_on_the_instance(
    estimator_params, sampler_params
):
    """Target values are in the teacher's units wherever they are given."""
    by_estimator = _fit_predict(sampler="direct", **estimator_params)
    by_instance = _fit_predict(sampler=DirectSampler(**sampler_params))
    np.testing.assert_array_equal(by_estimator, by_instance)
    # and they do matter: another range trains another student
    other = _fit_predict(sampler=DirectSampler(target_range=(5.0, 6.0)))
    assert not np.array_equal(by_instance, other)


def test_an_objective_passed_in_is_not_modified():
    objective = as_objective(["squared", TargetDiversity(0.5, (-0.5, 0.5))])
    _fit_predict(sampler=DirectSampler(objective=objective))
    assert objective.terms[1].target_range == (-0.5, 0.5)
