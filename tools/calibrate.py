#!/usr/bin/env python3
"""Chooses the fusion weights and decision thresholds by cross-validation.

Input: the JSON lines `workhealth eval FILE_OR_DIR --signals` prints (every item's BM25 score,
coverage and cosines for every case). For each fold it fits the weights and thresholds on the
other folds (grid search maximising the utility below) and measures the held-out fold, so the
figures it reports are from data the settings were not fitted on. Finally it fits on all the
data and prints the settings to write into src/assistant/decide.rs.

Utility of one case, as a manager feels it: answerable — answered right +1, offered among the
choices +0.6, choices without the right one -0.5, declined -1.5 (a flat "sorry" to a question
the guidance answers is worse than choices that miss), answered wrongly -2; out of
scope — declined +1, choices -0.5, answered -1.

Usage: workhealth eval content/tests --signals > /tmp/signals.jsonl
       python3 tools/calibrate.py /tmp/signals.jsonl [--folds 5] [--exclude crisis.yaml,...]
No third-party packages; runs in a minute or two.
"""
import argparse
import itertools
import json
import random


def load(path, exclude):
    cases = []
    for line in open(path, encoding="utf-8"):
        c = json.loads(line)
        if c["file"] in exclude or c["file"].startswith("crisis.yaml#") or c["crisis"]:
            continue
        cases.append(c)
    return cases


# decide::Thresholds' off-topic rule: the best item covers little of what was asked
# (MIN_COVERAGE, fixed here) and means little like it (min_semantic, fitted).
MIN_COVERAGE = 0.25
MIN_SEMANTICS = [0.45, 0.5, 0.55, 0.6]


# decide::Weights::class_words: the classifier counts only for messages longer than this.
CLASS_WORDS = 20


def fuse(h, w, words):
    """Mirror of decide::Weights::fuse. A hit is [id, kind, bm25, coverage, best cosine, centroid
    cosine, score, classifier output]; files from before the classifier have no last field."""
    lex, best, whole = h[2], h[4], h[5]
    cls = h[7] if len(h) > 7 and words > CLASS_WORDS else 0.0
    lx = lex / (lex + w[3]) if lex > 0 else 0.0
    return w[0] * best + w[1] * whole + w[2] * lx + w[4] * cls


class Top(list):
    """The three best (score, id, coverage, best cosine), with `gap`: how much nearer the
    message is to the out-of-scope examples than to any item (None without them)."""
    gap = None


def tops(case, w):
    # The message core's words as the assistant counts them (greetings and sign-offs off);
    # files from before `words` was printed fall back to the raw question's.
    words = case.get("words", len(case["q"].split()))
    scored = sorted(((fuse(h, w, words), h[0], h[3], h[4]) for h in case["hits"]), reverse=True)
    top = Top(scored[:3])
    if case.get("off_topic") is not None and case["hits"]:
        top.gap = case["off_topic"] - max(h[4] for h in case["hits"])
    return top


def off_topic(top, min_semantic, margin=float("inf")):
    _, _, cov, sem = top[0]
    return (cov < MIN_COVERAGE and sem < min_semantic) or (top.gap is not None and top.gap > margin)


def outcome(top, t):
    """Mirror of decide::decide for fused scores: (kind, ids offered)."""
    min_score, ratio, min_semantic = t[:3]
    margin = t[3] if len(t) > 3 else float("inf")
    if not top or top[0][0] < min_score or off_topic(top, min_semantic, margin):
        return "none", []
    close = [i for s, i, _, _ in top if s >= top[0][0] * ratio]
    if len(close) >= 2:
        return "clarify", close
    return "answer", [top[0][1]]


def utility(case, kind, ids):
    exp = case["expect"]
    if not exp:
        return {"none": 1.0, "clarify": -0.5, "answer": -1.0}[kind]
    if kind == "none":
        return -1.5
    if kind == "answer":
        return 1.0 if ids[0] in exp else -2.0
    return 0.6 if any(i in exp for i in ids) else -0.5


# A small grid: a wider one (0.2-0.4 for best, 0.4-0.6 lexical, 0-0.6 class) let each fold fit
# different weights and did worse on the held-out folds.
WEIGHTS = [
    (b, wh, lx, half, cls)
    for b in (0.3,)
    for wh in (0.1,)
    for lx in (0.5, 0.6)
    for half in (15.0, 25.0, 40.0)
    for cls in (0.0, 0.2, 0.3, 0.4)
]
MIN_SCORES = [round(0.20 + 0.05 * i, 2) for i in range(7)]
RATIOS = [0.88, 0.9, 0.92]
# decide::Thresholds::off_topic_margin: nearer the out-of-scope examples than any item by more
# than this is off topic (inf: the rule off).
MARGINS = [float("inf"), 0.05, 0.02, 0.0, -0.02, -0.05]


def fit(cases):
    """The weights and thresholds with the highest total utility on these cases."""
    best = None
    for w in WEIGHTS:
        tp = [tops(c, w) for c in cases]
        declined = [utility(c, "none", []) for c in cases]
        for ratio, min_sem, margin in itertools.product(RATIOS, MIN_SEMANTICS, MARGINS):
            kept = [utility(c, *outcome(top, (-1e9, ratio, min_sem, margin))) for c, top in zip(cases, tp)]
            # A case is declined exactly when its top score is below min_score.
            order = sorted(range(len(cases)), key=lambda i: tp[i][0][0] if tp[i] else -1e9)
            total = sum(kept)
            j = 0
            for m in MIN_SCORES:
                while j < len(order) and (tp[order[j]][0][0] if tp[order[j]] else -1e9) < m:
                    i = order[j]
                    total += declined[i] - kept[i]  # 0 when it was already off topic
                    j += 1
                if best is None or total > best[0] + 1e-9:
                    best = (total, w, (m, ratio, min_sem, margin))
    return best[1], best[2]


def metrics(cases, w, t):
    ans = [c for c in cases if c["expect"]]
    non = [c for c in cases if not c["expect"]]
    m = {"top1": 0, "helped": 0, "wrong_answer": 0, "clarified": 0, "declined_wrongly": 0, "declined_correctly": 0}
    for c in cases:
        top = tops(c, w)
        kind, ids = outcome(top, t)
        if c["expect"]:
            if kind != "none" and top and top[0][1] in c["expect"]:
                m["top1"] += 1
            if kind == "answer" and ids[0] in c["expect"]:
                m["helped"] += 1
            elif kind == "clarify":
                m["clarified"] += 1
                if any(i in c["expect"] for i in ids):
                    m["helped"] += 1
            elif kind == "answer":
                m["wrong_answer"] += 1
            else:
                m["declined_wrongly"] += 1
        elif kind == "none":
            m["declined_correctly"] += 1
    out = {k: v / max(1, len(ans)) for k, v in m.items() if k != "declined_correctly"}
    out["declined_correctly"] = m["declined_correctly"] / max(1, len(non))
    out["answerable"], out["none"] = len(ans), len(non)
    return out


def show(name, m):
    print(f"{name:>10}: top1 {m['top1']:.3f}  helped {m['helped']:.3f}  wrong_answer {m['wrong_answer']:.3f}  "
          f"clarified {m['clarified']:.3f}  declined_wrongly {m['declined_wrongly']:.3f}  "
          f"declined_correctly {m['declined_correctly']:.3f}  (answerable {m['answerable']}, none {m['none']})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("signals")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--exclude", default="")
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    cases = load(a.signals, set(filter(None, a.exclude.split(","))))
    random.Random(a.seed).shuffle(cases)
    folds = [cases[i :: a.folds] for i in range(a.folds)]
    pooled = []
    for k in range(a.folds):
        train = [c for j, f in enumerate(folds) if j != k for c in f]
        w, t = fit(train)
        held = folds[k]
        show(f"fold {k + 1}", metrics(held, w, t))
        print(f"            fitted weights {w} thresholds {t}")
        pooled.extend((c, w, t) for c in held)
    # Pooled held-out figures: each case judged by the settings fitted without it.
    by = {}
    for c, w, t in pooled:
        by.setdefault((w, t), []).append(c)
    tot = {}
    n_ans = sum(1 for c, _, _ in pooled if c["expect"])
    n_non = len(pooled) - n_ans
    for (w, t), cs in by.items():
        m = metrics(cs, w, t)
        for k, v in m.items():
            if k in ("answerable", "none"):
                continue
            weight = m["none"] if k == "declined_correctly" else m["answerable"]
            tot[k] = tot.get(k, 0) + v * weight
    res = {k: v / (n_non if k == "declined_correctly" else n_ans) for k, v in tot.items()}
    res["answerable"], res["none"] = n_ans, n_non
    show("held-out", res)
    per_file = {}
    for c, w, t in pooled:
        per_file.setdefault(c["file"], []).append((c, w, t))
    for name, group in sorted(per_file.items()):
        tot = {}
        for c, w, t in group:
            m = metrics([c], w, t)
            for k, v in m.items():
                if k not in ("answerable", "none"):
                    tot[k] = tot.get(k, 0) + v * (m["none"] if k == "declined_correctly" else m["answerable"])
        n_ans = sum(1 for c, _, _ in group if c["expect"])
        n_non = len(group) - n_ans
        res = {k: v / max(1, n_non if k == "declined_correctly" else n_ans) for k, v in tot.items()}
        res["answerable"], res["none"] = n_ans, n_non
        show(name[:10], res)
    w, t = fit(cases)
    print(f"fitted on all {len(cases)} cases: weights (best, whole, lexical, lexical_half, class) {w}; "
          f"thresholds (min_score, clarify_ratio, min_semantic, off_topic_margin) {t}")
    show("all (fit)", metrics(cases, w, t))


if __name__ == "__main__":
    main()
