"""Our forgetting scores on real CIFAR-10 (the local JPEG copy) rank examples like the published ones."""
import time

import pytest
from scipy.stats import spearmanr

from distill_nb.data import load_dataset, prepare
from distill_nb.scores import forgetting_scores, load_scores


def test_forgetting_scores_correlate_with_published(shared_data):
    if not (shared_data/'scores'/'forgetting_CIFAR10.npy').exists(): pytest.skip(f'no published scores in {shared_data}/scores')
    ds = load_dataset('cifar10', path=shared_data)
    task = prepare(ds, 'standardize', train_per_class=250, test_per_class=10, seed=0, device='cpu')
    published = load_scores('forgetting', task, path=shared_data, dataset=ds)
    t0 = time.time()
    # 2 runs x 6 epochs of a width-32 ConvNet (Adam 1e-3, flip + rotate): far shorter than the published 5 runs of long
    # training, so many rows are never learned (count = epochs); the ranking still follows the published one.
    ours = forgetting_scores(task, 'rat_bptt', runs=2, epochs=6, batch_size=128, net_kwargs={'width': 32})
    rho = spearmanr(ours.cpu(), published.cpu())[0]
    print(f'CIFAR-10, {len(ours)} training rows, 2 runs x 6 epochs ({time.time() - t0:.0f} s): '
          f'Spearman(ours, published forgetting) = {rho:.3f}')
    assert ours.min() >= 0 and ours.max() <= 6
    assert rho > 0.2
