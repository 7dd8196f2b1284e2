"""What the benchmark scripts share: honest GPU timing, this process's memory, and CIFAR-10-shaped random data."""
import resource, sys

import torch

from distill_nb.core import Preprocess
from distill_nb.data import Task

MIB = 2**20

def sync(dev:torch.device):
    "Wait for queued GPU work, so wall-clock times are honest."
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def rss() -> dict:
    "Resident memory now and its peak so far (VmRSS, VmHWM; MiB)."
    try: d = {l.split(':')[0]: int(l.split()[1])/1024 for l in open('/proc/self/status') if l.startswith(('VmRSS', 'VmHWM'))}
    except OSError:  # no /proc: the peak only
        m = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/(1024 if sys.platform != 'darwin' else MIB)
        return dict(now=m, peak=m)
    return dict(now=d['VmRSS'], peak=d['VmHWM'])

def reset_peak_rss() -> bool:
    "Reset VmHWM to the current RSS (Linux clear_refs 5); False where that is not possible."
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False

def random_task(cfg, dev:torch.device, num_classes:int=10) -> Task:
    "CIFAR-10-shaped random data (N = cfg.real_batch images of 3 x 32 x 32): only shapes matter for cost."
    g = torch.Generator().manual_seed(0)
    n = cfg.real_batch
    x, y = torch.randn(n, 3, 32, 32, generator=g).to(dev), torch.randint(0, num_classes, (n,), generator=g).to(dev)
    e = x[:0]
    return Task('random', num_classes, x, y, e, y[:0], e, y[:0], Preprocess('none'), [str(i) for i in range(num_classes)],
                torch.arange(n), dict(dataset='random'))
