#!/usr/bin/env python3
"""Writes Tests/EvaluationTests/Fixtures/extra_expected.json: edge cases for the text metrics,
scored by the reference libraries themselves.

    python3 -m venv /tmp/metricsvenv
    /tmp/metricsvenv/bin/pip install rouge-score==0.1.2 sacrebleu==2.6.0 nltk==3.10.4
    /tmp/metricsvenv/bin/python scripts/make_metric_fixtures.py

public.jsonl / public_expected.json beside it come from the project's shared reference set (see
metrics-reference-README.md); this script adds what that set does not reach: tokenizer corner
cases (entities, <skipped>, hyphenated line breaks, numbers, Unicode punctuation and spaces), a
synthetic vocabulary for the Porter stemmer, random pairs for ROUGE/BLEU/chrF, the other BLEU
smoothing methods, multiple references and chrF++.
"""
import json
import os
import random

import nltk
import rouge_score
import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "EvaluationTests", "Fixtures", "extra_expected.json")

TRICKY = [
    "Tom &amp; Jerry &quot;quoted&quot; &lt;tag&gt; &amp;lt; done",
    "before <skipped> after",
    "hyphen-\nated line\nbreak",
    "Pi is 3.14, e is 2.718 and 1,000,000 > 999.",
    "ranges 1-2 and a-b, x.y and 3.x and x.3 end.",
    "dots... and,, commas, .lead and trail.",
    "“Curly quotes” — em dash – en dash … ellipsis",
    "全角：ＡＢＣ，１２３。",
    "ideographic\u3000space and\u00a0nbsp and\u2009thin",
    "tab\tseparated\x1cfile sep\x85next line",
    "crlf line\r\nsecond line\r\n",
    "combining e\u0301 vs \u00e9 caf\u00e9",
    "emoji 🙂 and symbols ☃ ✓ ★",
    "İstanbul \u212a Kelvin ß straße ǅ",
    "(parens) [brackets] {braces} <angles> @at #hash $dollar %pct ^caret _under `tick` |pipe| ~tilde",
    "apostrophe's don't 'single' \"double\"",
    "URL https://example.com/a?b=c&d=e#f",
    "   leading and trailing spaces   ",
    "",
    "...",
    "我喜欢用Python写代码。English mixed 中文。",
    "𠀀 extension B and ⺀ radical and ㄅ bopomofo",
    "numbers: 12-34-56, -7, 8-, 9.-1",
]

WORDS = [
    "the", "cat", "sat", "on", "mat", "dogs", "running", "ran", "quickly", "happily", "studies",
    "studying", "generalization", "generously", "relational", "conditional", "agreed", "feed",
    "plastered", "motoring", "sing", "hopping", "filing", "failing", "controlling", "rolls",
    "sky", "skies", "dying", "news", "innings", "geology", "fully", "analogously", "electricity",
    "Python", "model", "models", "3.4", "12,5", "2023", "-", ",", ".", "!", "?", "(", ")", "\"",
    "'s", "n't", "&", "<", ">", "今天", "天气", "好", "，", "。", "café", "naïve", "résumé",
]

SUFFIXES = [
    "", "s", "es", "ies", "ied", "ed", "eed", "ing", "ly", "lli", "alli", "ation", "ational",
    "tional", "enci", "anci", "izer", "bli", "abli", "entli", "eli", "ousli", "ization", "ator",
    "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "icate",
    "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able",
    "ible", "ant", "ement", "ment", "ent", "ion", "sion", "tion", "ou", "ism", "ate", "iti", "ous",
    "ive", "ize", "e", "ll", "y", "ey", "ay", "oy", "yy", "at", "bl", "iz", "ss", "sses",
]


def synthetic_vocabulary(rng):
    letters = "abcdefghijklmnopqrstuvwxyz"
    vowels = "aeiouy"
    words = set()
    for _ in range(3000):
        n = rng.randint(1, 6)
        stem = "".join(rng.choice(vowels if rng.random() < 0.4 else letters) for _ in range(n))
        words.add(stem + rng.choice(SUFFIXES))
    for w in ["y", "yy", "yyy", "ayy", "byy", "yay", "syzygy", "toy", "by", "ivy", "trouble", "oaten",
              "orrery", "a", "is", "as", "us", "ies", "ied", "eed", "ing", "sing", "bring", "thing",
              "abc1", "1990s", "x2ing", "hopefully", "sensibiliti", "vietnamization", "predication",
              "operator", "radicalli", "vileli", "rational", "valenci", "triplicate", "revival",
              "replacement", "probate", "rate", "cease", "controll", "roll", "generalli"]:
        words.add(w)
    return sorted(words)


def random_text(rng, max_words=14, newlines=True):
    n = rng.randint(0, max_words)
    parts = []
    for _ in range(n):
        parts.append(rng.choice(WORDS))
        if newlines and rng.random() < 0.08:
            parts.append("\n")
    return " ".join(parts)


def bleu_dict(s, signature):
    return {
        "score": s.score, "counts": list(s.counts), "totals": list(s.totals),
        "precisions": list(s.precisions), "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len,
        "signature": signature,
    }


def main():
    rng = random.Random(20261123)
    stemmer = porter.PorterStemmer()
    out = {
        "meta": {
            "versions": {"rouge-score": "0.1.2", "sacrebleu": sacrebleu.__version__, "nltk": nltk.__version__},
            "script": "scripts/make_metric_fixtures.py",
            "conventions": "same calls as public_expected.json; bleu_* use sacrebleu.metrics.BLEU with the "
                           "named options, chrf_plus uses CHRF(word_order=2)",
        },
        "tokenizer_cases": [],
        "porter_stems": {},
        "pairs": [],
        "multi_reference": [],
    }
    tok13a = Tokenizer13a()
    tokzh = TokenizerZh()
    rs_plain = tokenize
    for text in TRICKY:
        out["tokenizer_cases"].append({
            "text": text,
            "13a": tok13a(text.rstrip()),
            "zh": tokzh(text.rstrip()),
            "rouge": rs_plain.tokenize(text, None),
            "rouge_stemmed": rs_plain.tokenize(text, stemmer),
        })
    for w in synthetic_vocabulary(rng):
        out["porter_stems"][w] = stemmer.stem(w)

    types = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
    plain = rouge_scorer.RougeScorer(types, use_stemmer=False)
    stemmed = rouge_scorer.RougeScorer(types, use_stemmer=True)
    texts = [random_text(rng) for _ in range(80)] + TRICKY
    pairs = [(texts[i], texts[-(i + 1)]) for i in range(len(texts) // 2)]
    pairs += [(TRICKY[i], TRICKY[(i + 3) % len(TRICKY)]) for i in range(len(TRICKY))]
    smoothers = {"none": BLEU(smooth_method="none", effective_order=True),
                 "floor": BLEU(smooth_method="floor", effective_order=True),
                 "add-k": BLEU(smooth_method="add-k", effective_order=True)}
    for pred, ref in pairs:
        row = {"prediction": pred, "reference": ref, "rouge": {}, "rouge_stemmed": {}}
        for name, scorer, key in [("plain", plain, "rouge"), ("stem", stemmed, "rouge_stemmed")]:
            s = scorer.score(ref, pred)
            row[key] = {t: {"precision": s[t].precision, "recall": s[t].recall, "fmeasure": s[t].fmeasure} for t in types}
        b = BLEU(effective_order=True)
        row["sentence_bleu"] = bleu_dict(b.sentence_score(pred, [ref]), str(b.get_signature()))
        bz = BLEU(tokenize="zh", effective_order=True)
        row["sentence_bleu_zh"] = bleu_dict(bz.sentence_score(pred, [ref]), str(bz.get_signature()))
        for name, metric in smoothers.items():
            row[f"sentence_bleu_{name}"] = bleu_dict(metric.sentence_score(pred, [ref]), str(metric.get_signature()))
        c = CHRF()
        cs = c.sentence_score(pred, [ref])
        row["sentence_chrf"] = {"score": cs.score}
        cp = CHRF(word_order=2)
        row["sentence_chrf_plus"] = {"score": cp.sentence_score(pred, [ref]).score, "signature": str(cp.get_signature())}
        out["pairs"].append(row)

    preds = [p for p, _ in pairs]
    refs = [r for _, r in pairs]
    b = BLEU()
    out["corpus_bleu"] = bleu_dict(b.corpus_score(preds, [refs]), str(b.get_signature()))
    bz = BLEU(tokenize="zh")
    out["corpus_bleu_zh"] = bleu_dict(bz.corpus_score(preds, [refs]), str(bz.get_signature()))
    c = CHRF()
    cs = c.corpus_score(preds, [refs])
    out["corpus_chrf"] = {"score": cs.score, "signature": str(c.get_signature())}
    cp = CHRF(word_order=2)
    out["corpus_chrf_plus"] = {"score": cp.corpus_score(preds, [refs]).score, "signature": str(cp.get_signature())}

    for _ in range(12):
        pred = random_text(rng, newlines=False)
        refs3 = [random_text(rng, newlines=False) for _ in range(3)]
        b = BLEU(effective_order=True)
        c = CHRF()
        out["multi_reference"].append({
            "prediction": pred, "references": refs3,
            "sentence_bleu": bleu_dict(b.sentence_score(pred, refs3), str(b.get_signature())),
            "sentence_chrf": {"score": c.sentence_score(pred, refs3).score},
            "rouge_multi": {t: {"precision": v.precision, "recall": v.recall, "fmeasure": v.fmeasure}
                            for t, v in plain.score_multi(refs3, pred).items()},
        })

    # Corpus scores where segments have 1, 2 or 3 references (sacreBLEU pads streams with None).
    rows = out["multi_reference"]
    preds = [r["prediction"] for r in rows]
    sets = [r["references"][: 1 + i % 3] for i, r in enumerate(rows)]
    streams = [[s[k] if k < len(s) else None for s in sets] for k in range(3)]
    b = BLEU()
    c = CHRF()
    out["corpus_variable_references"] = {
        "reference_sets": sets,
        "bleu": bleu_dict(b.corpus_score(preds, streams), str(b.get_signature())),
        "chrf": {"score": c.corpus_score(preds, streams).score, "signature": str(c.get_signature())},
    }

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}: {len(out['pairs'])} pairs, {len(out['porter_stems'])} stems, "
          f"{len(out['tokenizer_cases'])} tokenizer cases")


if __name__ == "__main__":
    main()
