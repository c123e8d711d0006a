#!/usr/bin/env python3
"""Re-scores the crisis check's meaning layer for other classifier thresholds.

Input: the JSON lines `workhealth eval FILE_OR_DIR --signals` prints. Each case carries whether
it is a crisis (`crisis`), whether the phrase or structure layer fired (`crisis_rule`), and for
the whole message and each sentence the closest crisis example's and calm text's similarity and
the crisis classifier's output (`crisis_sims`). For each pair of classifier thresholds given
(whole message, sentence; `off` for none) it prints, per test file, the crisis recall and the
share of calm cases that fire: the tables in docs/calibration.md were made this way.

The rule mirrors decide::CrisisThresholds::fires with its defaults. It cannot see the small-talk
check, which keeps a message such as "cheers bye" from firing by meaning alone, so a file of
greetings may show an alarm here that the bot does not raise.

Usage: workhealth eval content/tests --signals > /tmp/s.jsonl
       python3 tools/crisis_thresholds.py /tmp/s.jsonl off 0.2,0.3 0.3,0.4
No third-party packages.
"""
import collections
import json
import sys

SURE, MIN, MARGIN, SENTENCE_MARGIN, SHORT_MARGIN, SHORT_WORDS, CLASS_WORDS = (
    0.74, 0.40, -0.02, 0.06, 0.04, 6, 3)
LONG_WORDS, SENTENCE_CLASS_FLOOR = 40, -0.5


def fires(case, whole, sentence):
    if case["crisis_rule"]:
        return True
    words = case.get("words") or len(case["q"].split())
    split = len(case["crisis_sims"]) > 1
    for i, sim in enumerate(case["crisis_sims"]):
        crisis, calm = sim[0], sim[1]
        cls = sim[2] if len(sim) > 2 else float("-inf")
        if i > 0:
            margin, threshold = SENTENCE_MARGIN, sentence
            sure = near = cls >= SENTENCE_CLASS_FLOOR
        else:
            margin = SHORT_MARGIN if words <= SHORT_WORDS else MARGIN
            threshold = whole if words >= CLASS_WORDS else float("inf")
            sure, near = True, not (split and words >= LONG_WORDS)
        if ((sure and crisis >= SURE) or (near and crisis >= MIN and crisis - calm > margin)
                or cls >= threshold):
            return True
    return False


def main():
    path, pairs = sys.argv[1], sys.argv[2:] or ["off"]
    cases = [json.loads(line) for line in open(path, encoding="utf-8")]
    # The examples and contrasts themselves (crisis.yaml#…) are left out: the classifier was
    # fitted on them.
    cases = [c for c in cases if "#" not in c["file"]]
    for pair in pairs:
        whole, sentence = (float("inf"),) * 2 if pair == "off" else map(float, pair.split(","))
        by = collections.defaultdict(lambda: [0, 0, 0, 0])
        for c in cases:
            b = by[c["file"]]
            fired = fires(c, whole, sentence)
            if c["crisis"]:
                b[0] += 1
                b[1] += fired
            else:
                b[2] += 1
                b[3] += fired
        print(f"classifier {pair}:")
        for name, (n, caught, calm, alarms) in sorted(by.items()):
            recall = f"recall {caught / n:.3f}  " if n else ""
            print(f"  {name:30} {recall}false alarms {alarms / max(1, calm):.3f}")


if __name__ == "__main__":
    main()
