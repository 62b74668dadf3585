"""Inputs that look like real data, for the tests of the data sheet: columns
that are zero-inflated, discrete, multimodal, skewed and dependent."""

import numpy as np


def realistic_rows(n=3000, seed=0):
    """``X`` (n, 6) and a smooth target ``y`` of it:

    0. zero-inflated: 60% exact zeros, the rest log-normal (a dose);
    1. a "not detected" code (-100) in 70% of rows, else uniform on [-60, -20];
    2. discrete: counts 0-4;
    3. multimodal: a mixture of two Gaussians far apart;
    4. skewed: exponential;
    5. dependent: column 4 plus noise.
    """
    rng = np.random.default_rng(seed)
    dose = np.where(rng.uniform(size=n) < 0.6, 0.0, rng.lognormal(0.0, 0.7, n))
    signal = np.where(rng.uniform(size=n) < 0.7, -100.0, rng.uniform(-60, -20, n))
    counts = rng.integers(0, 5, n).astype(float)
    modes = np.where(rng.uniform(size=n) < 0.5, rng.normal(-3, 0.5, n),
                     rng.normal(3, 0.5, n))
    skew = rng.exponential(1.0, n)
    dep = skew + rng.normal(0, 0.2, n)
    X = np.column_stack([dose, signal, counts, modes, skew, dep])
    detected = signal > -100
    y = (np.sin(modes) + 0.5 * counts * (dose > 0) + detected * (signal + 40) / 10
         + np.log1p(skew) * dep)
    return X, y
