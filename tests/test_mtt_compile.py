"""MTT's compiled recompute path (`MTTConfig(recompute=True, compile=True)`) against the eager one, on CPU.

torch.compile (inductor) fuses and reorders float32 arithmetic, so compiled and eager agree to rounding, not bit for bit:
the tolerances below are float32 ones, justified where they are asserted. Compiling the student step and its VJP takes
minutes of CPU per network and dtype on a busy two-core machine (less with inductor's disk cache); the tests themselves
run in seconds."""
import shutil, warnings

import pytest
import torch

from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import random_synset
from distill_nb.models import functional, init_network
from distill_nb.mtt import MTTConfig, distill, matching_grad, recompute_grad, student_plan, student_steps
from distill_nb.trajectories import ExpertConfig, train_buffer

pytestmark = [pytest.mark.skipif(shutil.which('g++') is None and shutil.which('c++') is None,
                                 reason='torch.compile on CPU needs a C++ compiler'),
              pytest.mark.slow]  # minutes, nearly all of it compiling: not in .ci/test; run with `pytest -m slow tests`

NET = dict(width=16, depth=2)  # digits are 8x8: two conv/pool blocks


@pytest.fixture(scope='module')
def digits():
    return prepare(load_dataset('digits'), 'standardize', val_per_class=10, seed=0)


def rel(a, b) -> float: return float((a - b).norm()/b.norm())


def grads(task, net:str, compile:bool, recompute:bool=True) -> tuple:
    "(loss, d loss/d x, d loss/d syn_lr) of one matching iteration: 10 classes x 2 images, N 3, batch 10, DSA, fixed draws."
    cfg = MTTConfig(net=net, net_kwargs=NET, syn_steps=3, batch_syn=10, recompute=recompute, compile=compile)
    params, buffers, fn = functional(init_network(net, 1, 10, 8, seed=0, **NET))
    start = torch.cat([p.flatten() for p in params.values()])
    target = start + 0.01*torch.randn(len(start), generator=torch.Generator().manual_seed(0), dtype=start.dtype)
    x, y = task.x_train[:20].to(start.dtype), task.y_train[:20]
    lr = torch.tensor(0.01, dtype=start.dtype)
    plan = student_plan(20, cfg, torch.Generator().manual_seed(1), 'cpu')
    if compile: return recompute_grad(student_steps(cfg, 1, 10, 8, 'cpu'), buffers, start, target, x, y, lr, plan)
    return matching_grad(fn, buffers, list(params), [p.shape for p in params.values()], start, target, x, y, lr, plan, recompute)


@pytest.mark.parametrize('net', ['convnet', 'convnet_bn'])
def test_compiled_matching_grad_equals_eager(digits, net):
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='mtt: torch.compile failed')  # the compiled path must really run
        comp, eager, graph = grads(digits, net, True), grads(digits, net, False), grads(digits, net, False, recompute=False)
        torch.set_default_dtype(torch.float64)  # the network, the DSA draws and (so) the compiled steps follow the default dtype
        try: comp64, eager64 = grads(digits, net, True), grads(digits, net, False)
        finally: torch.set_default_dtype(torch.float32)
    assert comp[0].dtype == torch.float32 and comp64[0].dtype == torch.float64
    # float32: rounding (eps 6e-8) through 3 student steps, each a forward, a backward and the backward of that backward,
    # whose sums over hundreds of terms inductor fuses and reorders. Measured here: d/dx 5e-7 (ConvNet) and 4e-7 (ConvNetBN)
    # relative to eager recompute, the loss and d/d lr 1e-7 or exactly equal; eager graph and eager recompute differ by 3e-7
    # already (ConvNet), and at 32x32, width 16, depth 3 compiled vs eager was 1.3e-6. 1e-4 leaves about 100x room, while a
    # wrong step (a missed or repeated step, BatchNorm with running instead of batch statistics) changes it by O(1).
    for c, e, g in zip(comp, eager, graph):
        assert rel(c, e) < 1e-4, (net, rel(c, e))
        assert rel(c, g) < 1e-4, (net, rel(c, g))
    # float64: the same computation, to rounding (measured: at most 9e-16 here, 4e-15 at 32x32, width 16, depth 3)
    for c, e in zip(comp64, eager64): assert rel(c, e) < 1e-10, (net, rel(c, e))


def test_compiled_run_gives_the_eager_set(digits, tmp_path):
    ecfg = ExpertConfig(dataset='digits', preprocess='standardize', net='convnet_bn', net_kwargs=NET, num_experts=2, epochs=3,
                        batch_size=128, parallel=1)
    buf = train_buffer(digits, ecfg, tmp_path/'buffer', progress=False)
    init = random_synset(digits, 2, seed=0)
    cfg = lambda **kw: MTTConfig(dataset='digits', ipc=2, preprocess='standardize', net='convnet_bn', net_kwargs=NET, syn_steps=3,
                                 expert_epochs=1, max_start_epoch=2, iterations=5, lr_img=100, lr_lr=1e-5, lr_teacher=0.01,
                                 batch_syn=10, recompute=True, **kw)
    eager = distill(digits, buf, init, cfg(), progress=False)
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message='mtt: torch.compile failed')
        comp = distill(digits, buf, init, cfg(compile=True), progress=False)
    assert comp.meta['config']['mtt']['compile'] and not eager.meta['config']['mtt']['compile']
    assert comp.meta['trace']['expert'] == eager.meta['trace']['expert'] and comp.meta['trace']['start'] == eager.meta['trace']['start']
    # five updates of lr_img 100 carry each iteration's float32 rounding (above, ~5e-7 relative) into the pixels; measured:
    # losses within 1.7e-7 relative, the learned lr equal, the pixels' change from the initial set within 3.4e-7 relative
    # (6e-7 at most, of changes up to 1.9); the bounds leave 30-100x room for other CPUs' kernels
    assert torch.allclose(torch.tensor(comp.meta['trace']['loss']), torch.tensor(eager.meta['trace']['loss']), rtol=1e-5)
    assert abs(comp.lr - eager.lr) <= 1e-5*abs(eager.lr)
    assert rel(comp.images - init.images, eager.images - init.images) < 1e-4
