"""Foreign formats and DD-Ranking's scores through the CLI (in process): files written exactly as the authors' code writes
them, one-line errors for bad input before any training, round trips, and scores recomputed from the per-seed accuracies."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

import distill_nb.evaluate as ev
from distill_nb.cli import run
from distill_nb.data import prepare
from distill_nb.evaluate import random_synset

TINY = ['--k', '2', '--steps', '60', '--width', '16', '--quiet']


@pytest.fixture(scope='module')
def digits_set():
    "A random-real digits set in MTT's ZCA space (kornia's ZCA fitted on the whole training split)."
    return random_synset(prepare('digits', 'zca_kornia', seed=0), 10, seed=0)


def _mtt_dir(path, s, labels=None, lr=None):
    "An MTT / DATM output folder, written as the authors' code writes it."
    path.mkdir(parents=True, exist_ok=True)
    image_save, label_syn = s.images.detach(), s.labels if labels is None else labels
    torch.save(image_save.cpu(), path/'images_best.pt')  # MTT distill.py:242 (SelMatch distill.py:185)
    torch.save(label_syn.cpu(), path/'labels_best.pt')  # MTT distill.py:243 (SelMatch distill.py:186)
    if lr is not None:
        syn_lr = torch.tensor(lr)
        torch.save(syn_lr.detach().cpu(), path/'lr_best.pt')  # DATM distill.py: torch.save(syn_lr.detach().cpu(), ...lr_best.pt)
    return path


def _fails(args, capsys):
    with pytest.raises(SystemExit) as e: run(args)
    err = capsys.readouterr().err
    assert e.value.code == 2, (args, err)
    assert 'Traceback' not in err and err.count('\n') == 1, err
    return err


def test_bad_input_gets_one_line_naming_the_file_before_any_training(tmp_path, digits_set, capsys, monkeypatch):
    def no_training(*a, **k): raise AssertionError('trained before the input was checked')
    monkeypatch.setattr(ev, 'train_networks', no_training)
    s, mtt = digits_set, ['--format', 'mtt', '--dataset', 'digits', '--preprocess', 'zca_kornia']
    (tmp_path/'notes').mkdir(); (tmp_path/'notes'/'images_best.pt').write_text('a text file, not tensors')
    nan = s.images.clone(); nan[3, 0, 2, 2] = float('nan')
    cases = [  # (folder, labels, images, lr) -> message
        ('counts', s.labels[:99], None, None, 'labels_best.pt: 99 labels for the 100 images'),
        ('range', s.labels + 1, None, None, 'labels_best.pt: labels outside the class range 0..9 of digits (found 1..10)'),
        ('nan', None, nan, None, 'images_best.pt: 1 non-finite pixel values'),
        ('softrows', torch.softmax(torch.randn(99, 10), 1), None, 0.01, 'labels_best.pt: soft labels have 99 rows'),
        ('lr', None, None, -0.5, 'lr_best.pt: expected one positive learning rate'),
    ]
    for name, labels, images, lr, msg in cases:
        d = _mtt_dir(tmp_path/name, s if images is None else type(s)(images, s.labels, 10), labels, lr)
        err = _fails(['eval', str(d), *mtt], capsys)
        assert msg in err and str(d) in err, (name, err)
    assert 'not a torch tensor file' in _fails(['eval', str(tmp_path/'notes'), *mtt], capsys)
    assert 'does not record the preprocessing' in _fails(['eval', str(tmp_path/'counts'), '--format', 'mtt', '--dataset', 'digits'], capsys)
    assert 'does not record its dataset' in _fails(['eval', str(tmp_path/'counts'), '--format', 'mtt'], capsys)
    assert 'not a RaT-BPTT checkpoint' in _fails(['eval', str(tmp_path/'counts'/'images_best.pt'), '--format', 'rat_bptt',
                                                   '--dataset', 'digits', '--preprocess', 'zca'], capsys)
    png = tmp_path/'png'
    for i, (a, y) in enumerate(zip((s.pixels()*255).round().to(torch.uint8), s.labels.tolist())):
        if y == 4: continue  # a folder with a class missing
        (png/str(y)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[0].numpy()).save(png/str(y)/f'{i}.png')
    assert "no images for 1 of the 10 digits classes: ['4']" in _fails(['eval', str(png), '--format', 'imagefolder', '--dataset', 'digits'], capsys)
    assert 'Unknown format' in _fails(['eval', str(png), '--format', 'npz', '--dataset', 'digits'], capsys)
    assert '--metrics fid: unknown' in _fails(['eval', str(png), '--format', 'imagefolder', '--dataset', 'digits', '--metrics', 'fid'], capsys)
    assert '--to npz: unknown' in _fails(['export', str(png), '--format', 'imagefolder', '--dataset', 'digits', '--to', 'npz', '--out', str(tmp_path/'x')], capsys)


def test_rat_bptt_checkpoint_and_wrong_space_warning(tmp_path, digits_set):
    rat = random_synset(prepare('digits', 'zca', seed=0), 10, seed=1)
    data_w, label_w = rat.images.flatten(1), torch.nn.functional.one_hot(rat.labels, 10).float()*0.9 + 0.01
    checkpoint = {'epoch': 5, 'model_state_dict': {'module.data.weight': data_w.cpu().clone()},
                  'optimizer_state_dict': torch.optim.Adam([torch.nn.Parameter(data_w.clone())]).state_dict(),
                  'label_state_dict': {'module.label.weight': label_w.cpu().clone()}}
    fname = str(tmp_path/'IPC_10_0_curr_unroll_10_20_10_.h5')
    torch.save(checkpoint, fname[:-3]+'.pth')  # RaT-BPTT framework/base.py:285-292
    r = run(['eval', fname[:-3]+'.pth', '--format', 'rat_bptt', '--dataset', 'digits', '--preprocess', 'zca', *TINY])
    rat.labels = label_w
    rat.save(tmp_path/'rat.synset')
    assert r.accs == run(['eval', str(tmp_path/'rat.synset'), '--protocol', 'rat_bptt', *TINY]).accs  # the same set, the same space
    with pytest.warns(UserWarning, match="look like the 'zca_kornia' space, not the declared 'standardize'"):
        run(['eval', str(_mtt_dir(tmp_path/'m', digits_set)), '--format', 'mtt', '--dataset', 'digits', '--preprocess', 'standardize', *TINY])


def test_rat_bptt_h5_as_the_authors_write_it(tmp_path, digits_set):
    h5py = pytest.importorskip('h5py')
    from distill_nb.formats import read_synset
    best_rec = dict(data=digits_set.images.flatten(1).numpy(), epoch=3,
                    label=torch.nn.functional.one_hot(digits_set.labels, 10).float().numpy())
    with h5py.File(tmp_path/'IPC_10.h5', 'w') as f:  # framework/base.py:280-284
        f.create_dataset('data', data=best_rec['data'])
        f.create_dataset('epoch', data=best_rec['epoch'])
        f.create_dataset('label', data=best_rec['label'])
    s = read_synset(tmp_path/'IPC_10.h5', 'rat_bptt', 'digits', 'zca_kornia', check=False)
    assert torch.equal(s.images, digits_set.images) and s.soft


def test_eval_with_metrics_writes_scores_that_recompute_from_the_accuracies(tmp_path, digits_set):
    d = _mtt_dir(tmp_path/'mtt', digits_set)
    out = tmp_path/'results.json'
    r = run(['eval', str(d), '--format', 'mtt', '--dataset', 'digits', '--preprocess', 'zca_kornia', '--metrics', 'lrs,ars',
             '--out', str(out), *TINY])
    res = json.loads(out.read_text())
    assert (res['format'], res['space']) == ('mtt', 'zca_kornia')
    dd, A = res['dd_ranking'], {k: np.array(v)/100 for k, v in res['dd_ranking']['accs'].items()}
    assert dd['accs']['syn_any'] == res['accs'] == r.accs and dd['accs']['syn_hard'] == r.accs  # hard labels: one evaluation
    norm = lambda x: (np.exp(x) - np.exp(-1))/(np.exp(1) - np.exp(-1))
    lrs = norm(0.5*(A['syn_any'] - A['rdm_any']) - 0.5*(A['full'] - A['syn_hard']))
    ars = norm(0.5*(A['syn_any'] - A['rdm_any']) + 0.5*(A['syn_naug'] - A['rdm_naug']))
    assert np.allclose([dd['lrs']['lrs_mean'], dd['lrs']['lrs_std'], dd['ars']['ars_mean'], dd['ars']['ars_std']],
                       [lrs.mean(), lrs.std(), ars.mean(), ars.std()])
    assert np.allclose(dd['lrs']['hlr'], 100*(A['full'] - A['syn_hard'])) and np.allclose(dd['ars']['without_aug'], 100*(A['syn_naug'] - A['rdm_naug']))


def test_export_round_trips_give_the_same_accuracy(tmp_path, digits_set):
    s = digits_set.subset(torch.arange(100))
    s.meta['eval_protocol'] = dict(name='rat_bptt', overrides=dict(steps=60, net_kwargs={'width': 16}))  # travels with the exports
    s.save(tmp_path/'set.synset')
    base = run(['eval', str(tmp_path/'set.synset'), '--k', '2', '--quiet'])
    for fmt in ('mtt', 'ddranking', 'imagefolder'):
        run(['export', str(tmp_path/'set.synset'), '--to', fmt, '--out', str(tmp_path/fmt)])
        r = run(['eval', str(tmp_path/fmt), '--format', fmt, '--k', '2', '--quiet'])
        assert (r.accs, r.protocol) == (base.accs, base.protocol), fmt
    from torchvision.datasets import ImageFolder
    tv = ImageFolder(tmp_path/'imagefolder')
    assert tv.targets == s.labels.tolist() and len(tv) == 100
    side = json.loads((tmp_path/'imagefolder'/'distill_nb.json').read_text())
    assert side['space'] == 'zca_kornia' and side['meta']['provenance']['torch'] and side['labels'] == s.labels.tolist()


def test_huggingface_datasets_reads_the_imagefolder_export(tmp_path, digits_set):
    datasets = pytest.importorskip('datasets')
    s = digits_set.subset(torch.arange(100))
    s.labels = 0.7*torch.nn.functional.one_hot(digits_set.labels, 10).float() + 0.03
    s.export(tmp_path/'if', 'imagefolder')
    hf = datasets.load_dataset('imagefolder', data_dir=str(tmp_path/'if'), split='train')
    rows = sorted(hf, key=lambda r: r['row'])
    assert [r['hard_label'] for r in rows] == digits_set.labels.tolist()
    assert np.allclose([r['soft_label'] for r in rows], s.labels.numpy())
    assert rows[0]['image'].size == (8, 8)


def test_datm_learned_lr_is_kept_and_named_when_the_protocol_ignores_it(tmp_path, digits_set, capsys):
    d = _mtt_dir(tmp_path/'datm', digits_set, torch.nn.functional.one_hot(digits_set.labels, 10).float(), lr=0.02)
    run(['eval', str(d), '--format', 'mtt', '--dataset', 'digits', '--preprocess', 'zca_kornia', '--k', '1', '--steps', '20', '--width', '8', '--quiet'])
    assert 'learned lr (0.02)' in capsys.readouterr().err
    from distill_nb.formats import read_synset
    s = read_synset(d, 'mtt', 'digits', 'zca_kornia')
    assert abs(s.lr - 0.02) < 1e-7 and s.soft
