"""A run killed with SIGKILL and resumed ends exactly where an uninterrupted run ends."""
import os, signal, subprocess, sys, textwrap

import torch

SCRIPT = textwrap.dedent('''
    import os, signal, sys, torch
    from distill_nb.core import Checkpointer, seed_everything
    from distill_nb.models import init_network

    ckpt, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed_everything(0)
    g = torch.Generator().manual_seed(0)
    net = init_network('convnet', 1, 10, 8, seed=0, width=8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    ck = Checkpointer(ckpt, every=4, generators={'data': g}, config={'steps': 30})
    step, state = ck.load() or (0, None)
    if state is not None:
        net.load_state_dict(state['net']); opt.load_state_dict(state['opt'])
    print('start', step)
    while step < 30:
        x = torch.randn(16, 1, 8, 8, generator=g) + torch.randn(16, 1, 8, 8)  # run and global RNGs both matter
        y = torch.randint(0, 10, (16,), generator=g)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        ck.maybe_save(step, lambda: {'net': net.state_dict(), 'opt': opt.state_dict()})
        if step == kill_at: os.kill(os.getpid(), signal.SIGKILL)
    torch.save(net.state_dict(), out)
''')


def _run(tmp_path, name, kill_at):
    script = tmp_path/'run.py'
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), str(tmp_path/f'{name}.ckpt'), str(tmp_path/f'{name}.pt'), str(kill_at)],
                          capture_output=True, text=True, timeout=300)


def test_sigkilled_run_resumes_to_the_uninterrupted_result(tmp_path):
    full = _run(tmp_path, 'full', kill_at=-1)
    assert full.returncode == 0, full.stderr
    killed = _run(tmp_path, 'resumed', kill_at=10)  # dies between the checkpoints at steps 8 and 12
    assert killed.returncode == -signal.SIGKILL and not (tmp_path/'resumed.pt').exists()
    resumed = _run(tmp_path, 'resumed', kill_at=-1)
    assert resumed.returncode == 0, resumed.stderr
    assert 'start 8' in resumed.stdout  # it continued from the last checkpoint instead of starting over
    a, b = torch.load(tmp_path/'full.pt'), torch.load(tmp_path/'resumed.pt')
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), k
