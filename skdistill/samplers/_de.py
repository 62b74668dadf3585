"""Direct optimisation without gradients: differential evolution (paper section 3.6).

One run of :func:`scipy.optimize.differential_evolution` per batch of start points:
the start points are the initial population, each generation's trial vectors go to
the teacher in one call (``vectorized=True``), and the final population is the
generated batch. Every row the teacher labels along the way is kept, so that the
estimator can train the student on it: for black-box teachers the answers are the
costly resource, and none is thrown away.

With ``workers``, each generation's rows are split into chunks of consecutive rows,
labelled in parallel (threads, processes or a dask cluster) and put back in order:
the same answers as one call, so the same run, only sooner when the teacher is slow.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from numbers import Integral

import numpy as np
import torch
from scipy.optimize import differential_evolution

__all__ = ["Generated", "DifferentialEvolution", "DE_STRATEGIES"]

# the mutation strategies of scipy.optimize.differential_evolution
DE_STRATEGIES = tuple(
    f"{base}{kind}"
    for kind in ("bin", "exp")
    for base in ("best1", "best2", "rand1", "rand2", "randtobest1", "currenttobest1")
)

# Box half-width (standardized units) for features the spec leaves unbounded.
_UNBOUNDED_SPAN = 4.0
# Chunks per generation handed to a map-like ``workers`` callable. A constant, not the
# local CPU count: the requests a teacher sees (and a RemoteTeacher's cache keys) are
# then the same on every machine.
MAP_CHUNKS = 16


@dataclass
class Generated:
    """A sampler's output when it already knows the teacher's answers.

    Attributes
    ----------
    x : Tensor (n, d)
        The generated samples (standardized).
    t : Tensor (n,) or None
        Their standardized teacher labels, when the sampler has them.
    extra_x, extra_t : Tensor or None
        Other labelled samples produced along the way (DE trial vectors): the
        estimator trains the student on them too.
    """

    x: torch.Tensor
    t: torch.Tensor | None = None
    extra_x: torch.Tensor | None = None
    extra_t: torch.Tensor | None = None


class DifferentialEvolution:
    """Differential evolution on the start points, minimising an objective.

    Parameters
    ----------
    strategy : str, default="best2bin"
        scipy's mutation strategy (the paper's choice).
    maxiter : int, default=25
        Generations per run (the paper's 25). Every run costs the teacher
        ``(maxiter + 1) * population`` rows: the initial population and one
        population of trial vectors per generation.
    popsize : int or None, default=None
        Members per run. ``None``: all start points form one population (one teacher
        call per generation for the whole batch or epoch). An integer splits the
        start points into runs of that size (at least 5, scipy's minimum).
    radius : float or None, default=None
        ``None``: members roam the spec's whole box (standardized bounds, at most
        4 units from the centre), as in the paper. A float: a trust region: member
        ``i`` stays within ``radius`` standardized units (per feature) of its own
        start point (DE evolves offsets), so that generated samples keep close to
        the input distribution, as the paper's few gradient steps do.
    mutation, recombination : see :func:`scipy.optimize.differential_evolution`.
    workers : int, map-like callable or None, default=None
        Spread each generation's teacher call over workers, for slow black-box
        teachers. The generation's rows are split into chunks of consecutive rows,
        each chunk is labelled by one call of the teacher, and the answers are put
        back in order, so the run is the same as with ``None`` (for a teacher whose
        answer on a row does not depend on the other rows of the call). An int ``n``:
        ``n`` chunks on a :class:`concurrent.futures.ThreadPoolExecutor` of ``n``
        threads: threads suit teachers that wait (a prediction service over HTTP, a
        simulation in another process), not pure-Python computations, which hold
        the GIL. A callable ``workers(func, iterable)`` that returns the results in
        order, as :func:`map` does (``multiprocessing.Pool.map``, a
        ``concurrent.futures`` executor's ``map``, or
        ``lambda f, xs: client.gather(client.map(f, list(xs), pure=False))`` for a
        dask ``Client``; ``pure=False``: every chunk is a fresh query):
        ``MAP_CHUNKS`` (16) chunks; ``func`` and the teacher are then pickled to
        process or cluster workers. Rows are counted exactly either way:
        each chunk is labelled by a copy of the teacher that reports its count
        back. A :class:`~skdistill.RemoteTeacher`'s cache is keyed by request: a
        rerun finds its answers with the same ``workers`` (the same chunks).
        Differentiable teachers ignore ``workers``: they run in this process, on
        the fit's device.
    """

    def __init__(
        self,
        strategy="best2bin",
        maxiter=25,
        popsize=None,
        radius=None,
        mutation=(0.5, 1.0),
        recombination=0.7,
        workers=None,
    ):
        self.strategy = strategy
        self.maxiter = maxiter
        self.popsize = popsize
        self.radius = radius
        self.mutation = mutation
        self.recombination = recombination
        self.workers = workers

    def query_cost(self, n):
        return (self.maxiter + 1) * n

    def min_population(self):
        """The fewest start points :meth:`run` takes: 5 (scipy's minimum) when
        they form one population; 1 with ``popsize``, whose runs borrow members
        to reach it."""
        return 5 if self.popsize is None else 1

    def run(self, x0, problem, objective):
        """Optimise the rows of ``x0``; return a :class:`Generated` with labels."""
        n = x0.shape[0]
        size = n if self.popsize is None else int(self.popsize)
        if size < 5:
            raise ValueError(
                f"Differential evolution needs populations of at least 5 members; got "
                f"{size}. Raise batch_size (or use regenerate='epoch'), or set a de "
                "population size of at least 5."
            )
        workers = self.workers
        if workers is None or problem.teacher.differentiable:
            parts = self._run_all(x0, size, problem, objective, problem.teacher.label)
        elif callable(workers):
            label = partial(problem.teacher.label_chunked, map_fn=workers,
                            n_chunks=MAP_CHUNKS)
            parts = self._run_all(x0, size, problem, objective, label)
        elif isinstance(workers, Integral) and not isinstance(workers, bool):
            if workers < 1:
                raise ValueError(f"workers must be at least 1; got {workers}.")
            with ThreadPoolExecutor(int(workers)) as pool:
                label = partial(problem.teacher.label_chunked, map_fn=pool.map,
                                n_chunks=int(workers))
                parts = self._run_all(x0, size, problem, objective, label)
        else:
            raise TypeError(
                "workers must be None, a number of threads or a map-like callable "
                f"workers(func, iterable); got {type(workers).__name__}."
            )
        if len(parts) == 1:
            return parts[0]
        cat = torch.cat
        return Generated(
            cat([p.x for p in parts]),
            cat([p.t for p in parts]),
            cat([p.extra_x for p in parts]),
            cat([p.extra_t for p in parts]),
        )

    def _run_all(self, x0, size, problem, objective, label):
        return [
            self._run_one(x0[i : i + size], problem, objective, label)
            for i in range(0, x0.shape[0], size)
        ]

    def _box(self, space):
        low = torch.clamp(space.low, min=-_UNBOUNDED_SPAN).double().cpu().numpy()
        high = torch.clamp(space.high, max=_UNBOUNDED_SPAN).double().cpu().numpy()
        # fixed features (low == high) get a sliver of room; projection pins them
        high = np.where(high > low, high, low + 1e-6)
        return low, high

    def _run_one(self, x0, problem, objective, label):
        space = problem.space
        device, dtype = x0.device, x0.dtype
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=problem.generator))
        origin = x0.detach().double().cpu().numpy()
        if self.radius is None:
            low, high = self._box(space)
            start, origin = np.clip(origin, low, high), None
        else:  # trust region: evolve offsets from each member's own start point
            r = float(self.radius)
            low, high = np.full(origin.shape[1], -r), np.full(origin.shape[1], r)
            start = np.random.default_rng(seed).uniform(-r, r, origin.shape)
        if start.shape[0] < 5:  # the tail of a split: borrow members to reach 5
            k = 5 - start.shape[0]
            more = np.random.default_rng(seed).uniform(low, high, (k, start.shape[1]))
            if origin is not None:
                origin = np.vstack([origin, origin[np.arange(k) % len(origin)]])
            start = np.vstack([start, more])
        objective_begin = getattr(objective, "begin", None)
        if objective_begin is not None:
            objective_begin(start.shape[0], problem.generator, problem.n_outputs)
        seen = {}
        zs, ts = [], []

        def points(rows):
            rows = rows if origin is None else origin + rows
            return space.project(torch.as_tensor(rows, dtype=dtype, device=device))

        def energy(trials):  # trials: (d, S), one teacher call per generation
            rows = np.ascontiguousarray(trials.T)
            z = points(rows)
            with torch.no_grad():
                t = label(z)
                s = _student_predict(problem, z)
                e = objective(t, s, z)
            offset = sum(len(a) for a in zs)
            for i, row in enumerate(rows):
                seen[row.tobytes()] = offset + i
            zs.append(z)
            ts.append(t)
            return e.double().cpu().numpy()

        result = differential_evolution(
            energy,
            bounds=list(zip(low, high)),
            strategy=self.strategy,
            maxiter=self.maxiter,
            init=start,
            rng=seed,
            polish=False,
            vectorized=True,
            updating="deferred",
            tol=0.0,
            atol=0.0,
            mutation=self.mutation,
            recombination=self.recombination,
        )
        z_all, t_all = torch.cat(zs), torch.cat(ts)
        final = np.asarray(result.population)[: x0.shape[0]]
        idx = [seen.get(np.ascontiguousarray(row).tobytes()) for row in final]
        keep = torch.ones(len(z_all), dtype=torch.bool)
        if any(i is None for i in idx):  # pragma: no cover - scipy changed its copies
            z_final = points(final)
            with torch.no_grad():
                t_final = label(z_final)
        else:
            idx_t = torch.as_tensor(idx)
            z_final, t_final = z_all[idx_t.to(device)], t_all[idx_t.to(device)]
            keep[idx_t] = False
        keep = keep.to(device)
        return Generated(z_final, t_final, z_all[keep], t_all[keep])


def _student_predict(problem, z):
    if problem.student_mlp is not None:
        return problem.student_mlp.forward(z)[0].clone()
    return problem.student_output(z)
