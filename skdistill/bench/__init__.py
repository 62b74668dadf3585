"""Benchmarks: ``python -m skdistill.bench <command> [options]``.

Commands
--------
speed
    Wall time of one paper-protocol distillation (issue: 2000 epochs x 10 batches x 50,
    student 25 tanh units, teacher 500 tanh units, ``direct``, decreasing alpha) on
    ``cpusmall`` from the shared datasets folder.

Datasets are read from ``--data-dir`` or the ``SKDISTILL_DATA_DIR`` environment
variable; they are never copied into the repository.
"""
