"""Random sampling (paper section 3.2.1): the baseline, no optimisation at all."""

from ._base import Sampler, register_sampler

__all__ = ["RandomSampler"]


@register_sampler("random")
class RandomSampler(Sampler):
    """Plain draws from the input spec; every batch is ``2 * batch_size`` of them.

    Equivalent to ``alpha = 0`` in eq. 7: ``alpha`` is ignored.
    """

    uses_alpha = False

    def generate(self, x0):
        return x0

    def query_cost(self, n):
        return 0  # never asked to generate: the estimator draws random samples itself
