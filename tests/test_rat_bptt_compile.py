"""RaT-BPTT's compiled recompute path (`RatConfig(backward='recompute', compile=True)`) against the eager one, on CPU.

torch.compile (inductor) fuses and reorders float32 arithmetic, so compiled and eager agree to rounding, not bit for bit:
the tolerances below are float32 ones, justified where they are asserted. Compiling the three functions (plain step,
window step, window VJP) takes about a minute of CPU time here (float32 and float64), less with inductor's disk cache."""
import dataclasses, shutil, warnings

import pytest
import torch

from distill_nb.data import load_dataset, prepare
from distill_nb.rat_bptt import RatConfig, class_rows, distill, meta_step, preset

pytestmark = [pytest.mark.skipif(shutil.which('g++') is None and shutil.which('c++') is None,
                                 reason='torch.compile on CPU needs a C++ compiler'),
              pytest.mark.slow]  # ~75 s, nearly all of it compiling: not in .ci/test; run with `pytest -m slow tests`


@pytest.fixture(scope='module')
def digits():
    return prepare(load_dataset('digits'), 'zca', val_per_class=10, seed=0)


def cfg(**kw) -> RatConfig:
    "The digits smoke preset, shortened: T 6, W 3, real batch 64."
    return preset('digits-smoke', unroll=6, window=3, real_batch=64, backward='recompute', **kw)


def rel(a, b) -> float: return float((a - b).norm()/b.norm())


def grads(task, c:RatConfig, start:int) -> torch.Tensor:
    "The pixel meta-gradient of one meta-step with the window at `start`, from fixed draws (in the task's dtype)."
    g0 = torch.Generator().manual_seed(0)
    x = torch.randn(10, 1, 8, 8, generator=g0, dtype=task.x_train.dtype).requires_grad_()
    y = torch.arange(10)
    real = torch.randperm(len(task.y_train), generator=g0)[:c.real_batch]
    return meta_step(task, c, [x], [y], [x], class_rows(y, 10), task.x_train[real], task.y_train[real], start,
                     torch.Generator().manual_seed(1))[1][0]


def test_compiled_meta_gradient_equals_eager(digits):
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='rat_bptt: torch.compile failed')  # the compiled path must really run
        err32 = rel(grads(digits, cfg(compile=True), 3), grads(digits, cfg(), 3))
        torch.set_default_dtype(torch.float64)  # the network (and so the compiled steps) follow the default dtype
        try:
            d64 = dataclasses.replace(digits, x_train=digits.x_train.double())
            err64 = rel(grads(d64, cfg(compile=True), 0), grads(d64, cfg(), 0))
        finally: torch.set_default_dtype(torch.float32)
    # float32, window after 3 plain steps: rounding (eps 6e-8) through 3 inner steps and their double backward; measured 1e-6.
    # (With a window from the first step, c = 0, float32 runs differ by 3e-3: Adam's first update lr g/(|g| + e) has the
    # derivative lr e/(|g| + e)^2, which rounding sets wherever the exact gradient is 0, e.g. the conv biases before instance
    # norm, whose |g| is float32 noise below e = 3.2e-7; compiled and eager round differently. Hence the float64 check.)
    assert err32 < 1e-4, err32
    # float64, window from the first step: the same computation, to rounding (measured 4e-15)
    assert err64 < 1e-10, err64


def test_compiled_run_gives_the_eager_set(digits):
    # truncated BPTT (window after 3 plain steps): with windows from the first steps (c = 0 or 1) the rounding noise of the
    # zero-gradient biases reaches the meta-gradient through Adam (above), and 5 steps of the outer Adam carry a 4e-4
    # difference of the meta-loss (measured at c = 1); after plain steps the two runs agree to float32 rounding
    eager = distill(digits, cfg(steps=5, mode='tbptt'), progress=False)
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='rat_bptt: torch.compile failed')
        comp = distill(digits, cfg(steps=5, mode='tbptt', compile=True), progress=False)
    assert comp.meta['config']['rat']['compile'] and comp.meta['trace']['c'] == eager.meta['trace']['c']
    # measured: meta-losses within 2e-7 relative, pixels within 6e-8 (of values about 0.4)
    assert torch.allclose(torch.tensor(comp.meta['trace']['loss']), torch.tensor(eager.meta['trace']['loss']), rtol=1e-5)
    assert (comp.images - eager.images).abs().max() < 1e-5
