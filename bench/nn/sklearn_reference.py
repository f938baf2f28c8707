"""scikit-learn reference for privox-nn's ReLU baseline, same protocol.

Protocol (identical to `privox_nn::protocol` with the default settings):
* binary neutral vs angry, leave-one-speaker-out;
* min-max scaling to [-1, 1] fitted on the fold's training rows; test
  features clamped to [-1, 1];
* early stopping on held-out *training speakers*: the very same speakers the
  Rust run used, read from the splits file that `table4 --export-splits`
  writes (corpus, seed, test speaker -> validation speakers);
* MLP 88 -> 100 -> 50 -> 2, ReLU, plain SGD (lr 0.01, momentum 0, weight
  decay 0), batch 32, at most 300 epochs, patience 20 on the validation
  log-loss, best epoch kept;
* seeds 1..5; pooled accuracy and UAR over all held-out speakers, mean ± std.

Usage:
  venv/bin/python sklearn_reference.py --splits out/splits.csv CSV [CSV...]
  venv/bin/python sklearn_reference.py --time-fold CSV     # one nEMO fold, timed
"""

import argparse
import copy
import csv
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = [r for r in rows[1:] if r[2] in ("neutral", "angry")]
    x = np.array([[float(v) for v in r[3:]] for r in keep])
    y = np.array([1 if r[2] == "angry" else 0 for r in keep])
    g = np.array([r[1] for r in keep])
    return x, y, g


def uar(t, p):
    return float(np.mean([np.mean(p[t == c] == c) for c in np.unique(t)]))


def fit_fold(x, y, g, test_speaker, val_speakers, seed, max_epochs=300, patience=20):
    train = g != test_speaker
    lo, hi = x[train].min(0), x[train].max(0)
    span = np.where(hi > lo, hi - lo, 1.0)

    def scale(a):
        s = 2.0 * (a - lo) / span - 1.0
        return np.where(hi > lo, s, 0.0)

    fit_rows = train & ~np.isin(g, val_speakers)
    val_rows = train & np.isin(g, val_speakers)
    xf, yf = scale(x[fit_rows]), y[fit_rows]
    xv, yv = scale(x[val_rows]), y[val_rows]
    m = MLPClassifier(
        hidden_layer_sizes=(100, 50),
        activation="relu",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=0.01,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=32,
        shuffle=True,
        random_state=seed,
        max_iter=1,
    )
    best, best_loss, best_epoch = None, np.inf, 0
    for epoch in range(1, max_epochs + 1):
        m.partial_fit(xf, yf, classes=np.array([0, 1]))
        loss = log_loss(yv, m.predict_proba(xv), labels=[0, 1])
        if loss < best_loss:
            best, best_loss, best_epoch = copy.deepcopy(m), loss, epoch
        elif epoch - best_epoch >= patience:
            break
    xt = np.clip(scale(x[g == test_speaker]), -1.0, 1.0)
    return best.predict(xt), best_epoch


def read_splits(path):
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out[(r["corpus"], int(r["seed"]), r["test_speaker"])] = r["validation_speakers"].split(";")
    return out


def corpus_name(path):
    # Same rule as the table4 example: oracle files by folder, others by stem.
    parts = path.replace("\\", "/").split("/")
    if parts[-1] == "egemaps_v02_opensmile.csv" and len(parts) >= 2:
        return parts[-2]
    return parts[-1].rsplit(".", 1)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--splits")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--time-fold", action="store_true")
    a = ap.parse_args()

    if a.time_fold:
        x, y, g = load(a.csv[0])
        speakers = sorted(set(g))
        test = speakers[0]
        # Any quarter of the remaining speakers: only the time matters here.
        others = [s for s in speakers if s != test]
        val = others[: max(1, len(others) // 4)]
        t = time.perf_counter()
        pred, epoch = fit_fold(x, y, g, test, val, seed=1)
        secs = time.perf_counter() - t
        print(f"sklearn one fold ({test} held out): {secs:.2f} s, best epoch {epoch}, "
              f"test UAR {100 * uar(y[g == test], pred):.2f} %")
        return

    splits = read_splits(a.splits)
    print("| corpus | reference | accuracy % (mean ± std) | UAR % (mean ± std) | mean kept epoch |")
    print("|---|---|---|---|---|")
    for path in a.csv:
        name = corpus_name(path)
        x, y, g = load(path)
        accs, uars, epochs = [], [], []
        t0 = time.perf_counter()
        for seed in range(1, a.seeds + 1):
            pred = np.zeros_like(y)
            for s in sorted(set(g)):
                p, e = fit_fold(x, y, g, s, splits[(name, seed, s)], seed)
                pred[g == s] = p
                epochs.append(e)
            accs.append(100 * float(np.mean(pred == y)))
            uars.append(100 * uar(y, pred))
        sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        print(f"| {name} | scikit-learn {__import__('sklearn').__version__} MLPClassifier (ReLU, no BN) | "
              f"{np.mean(accs):.2f} ± {sd(accs):.2f} | {np.mean(uars):.2f} ± {sd(uars):.2f} | {np.mean(epochs):.1f} |")
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
