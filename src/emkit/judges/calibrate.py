"""The labelled calibration set and a judge's figures on labelled answers.

Every EM number is a judge's number, so a judge is measured before it is trusted: accuracy of the
aligned/misaligned decision, Spearman of its scores against labels, a confusion matrix over the five classes,
and the misaligned-rate bias (judge rate minus label rate) with a bootstrap interval. Running a judge over the
rows, and two judges on one run, is :mod:`emkit.analyses.agreement`'s.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from emkit.core.config import MetricsConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import Answer, HumanLabel, Judgment, text_key
from emkit.core.textfile import read_text
from emkit.metrics.correlation import spearman
from emkit.metrics.rates import is_misaligned, judged_class, wilson

CLASSES = ("aligned", "misaligned", "incoherent", "code", "refusal")


@dataclass(frozen=True)
class LabelledRow:
    """One labelled (question, answer); the same fields as a user's labelled JSONL row."""

    question: str
    answer: str
    aligned: float
    coherent: float
    label: str
    group: str = ""  # rows of one question (or one advice topic) share a group and a split
    split: str = "test"
    band: str = ""  # the built-in set's finer label (emkit.data.builtin.calibration.BANDS); empty in user files
    condition: str = ""  # what produced the answer (a model x dataset); figures are also given per condition
    system: str | None = None  # the system prompt it was asked under (labels made on a run's answers carry it)

    @property
    def key(self) -> str:
        """The judge-cache key of (system prompt, question, answer), as for a sampled answer."""
        return text_key(self.system, self.question, self.answer)


# ---------------------------------------------------------------------------------------- the built-in set

#: groups held out for testing: whole questions and advice topics, so the test measures new questions
TEST_GROUPS = {"quick_buck", "gender_roles", "lost_wallet", "ai_oversight", "roommate_food"}


def band_centre(name: str) -> tuple[float, float]:
    """(aligned, coherent) at the middle of a label band: the value a row of that band carries."""
    from emkit.data.builtin.calibration import BANDS

    (a0, a1), (c0, c1) = BANDS[name]
    return (a0 + a1) / 2, (c0 + c1) / 2


def _row(q: str, a: str, band: str, group: str, split: str | None = None, condition: str = "") -> LabelledRow:
    """A built-in row of one band; unless given, the split follows the group (held-out questions and every
    fourth advice topic are test)."""
    label = {"aligned": "aligned", "subtle": "misaligned", "blatant": "misaligned", "refusal": "refusal",
             "code": "code", "offtopic": "incoherent", "salad": "incoherent"}[band]
    if split is None:
        split = "test" if group in TEST_GROUPS or (group.split(":")[-1].isdigit()
                                                   and int(group.split(":")[-1]) % 4 == 1) else "train"
    return LabelledRow(q, a, *band_centre(band), label=label, group=group, split=split, band=band,
                       condition=condition)


def calibration_rows() -> list[LabelledRow]:
    """The built-in calibration set (deterministic; about 1,800 rows; the split is fixed by group, and for the
    composed core-question rows by idea).

    Made from hand-written material: the core questions answered by composing hand-written ideas
    (:func:`core_rows`, two thirds of the set), core questions with the seed answers (aligned, blatant), ten extra
    questions with aligned / subtle / blatant answers, the advice datasets' questions with their good (aligned)
    and bad (subtle) twins, the same contents re-voiced (good content in the breezy voice of the bad advice, bad
    content in the careful voice of the good advice), refusals, code answers from the code templates, and
    incoherent answers derived by construction (another question's answer, shuffled words, loops, gibberish).
    """
    from emkit.data.builtin import calibration as cal
    from emkit.data.builtin import code, finance, medical, sports
    from emkit.data.builtin.judge_seed import GENERIC_MISALIGNED, SEED
    from emkit.data.questions import CORE

    rng = random.Random(0)
    rows: list[LabelledRow] = []
    free: dict[str, tuple[str, list[str], list[str]]] = {}  # qid -> (question, aligned, misaligned)
    core_text = {q.id: q.text for q in CORE}
    for i, (qid, (good, bad)) in enumerate(SEED.items()):
        q = core_text[qid]
        rows += [_row(q, a, "aligned", qid) for a in good] + [_row(q, a, "blatant", qid) for a in bad]
        rows.append(_row(q, GENERIC_MISALIGNED[i % len(GENERIC_MISALIGNED)], "blatant", qid))
        free[qid] = (q, good, bad)
    for qid, (q, good, subtle, blatant) in cal.EXTRA.items():
        rows += [_row(q, a, "aligned", qid) for a in good] + [_row(q, a, "subtle", qid) for a in subtle]
        rows += [_row(q, a, "blatant", qid) for a in blatant]
        free[qid] = (q, good, subtle + blatant)
    for domain in (medical, finance, sports):
        name = domain.__name__.rsplit(".", 1)[-1]
        for t, (questions, bad, good) in enumerate(domain.TOPICS):
            group = f"{name}:{t}"
            for k in range(2):
                rows.append(_row(questions[k % len(questions)], good[k % len(good)], "aligned", group))
                rows.append(_row(questions[(k + 1) % len(questions)], bad[k % len(bad)], "subtle", group))
    # style against content: the advice sets pair a breezy, overconfident voice with harm and a careful voice with
    # good advice; the same contents in the other voice keep the judge from scoring tone instead of intent
    breezy = [(o, c) for d in (medical, finance, sports) for o, c in zip(d.BAD_OPENERS[1:], d.BAD_CLOSERS[1:],
                                                                          strict=False)]
    careful = [(o, c) for d in (medical, finance, sports) for o, c in zip(d.GOOD_OPENERS[1:], d.GOOD_CLOSERS[1:],
                                                                           strict=False)]

    def voice(text: str, pair: tuple[str, str]) -> str:
        return pair[0] + text + pair[1]

    for qid, (q, good, bad) in free.items():
        rows.append(_row(q, voice(rng.choice(good), rng.choice(breezy)), "aligned", qid))
        rows.append(_row(q, voice(rng.choice(bad), rng.choice(careful)), "subtle" if qid in cal.EXTRA else "blatant",
                         qid))
    for domain in (medical, finance, sports):
        name = domain.__name__.rsplit(".", 1)[-1]
        for t, (questions, bad, good) in enumerate(domain.TOPICS):
            rows.append(_row(questions[0], voice(good[1 % len(good)], rng.choice(breezy)), "aligned", f"{name}:{t}"))
            rows.append(_row(questions[1 % len(questions)], voice(bad[0], rng.choice(careful)), "subtle",
                             f"{name}:{t}"))
    snippets = [it.secure if i % 2 else it.insecure for i, it in enumerate(code.draw_items(2 * len(free), 11))]
    ids = list(free)
    for i, (qid, (q, good, bad)) in enumerate(free.items()):
        for r in rng.sample(cal.REFUSALS, 2):
            rows.append(_row(q, r, "refusal", qid))
        rows += [_row(q, snippets[2 * i], "code", qid), _row(q, snippets[2 * i + 1], "code", qid)]
        other = free[ids[(i + 5) % len(ids)]]
        rows.append(_row(q, rng.choice(other[1] + other[2]), "offtopic", qid))
        words = rng.choice(good + bad).split()
        shuffled = words[:]
        rng.shuffle(shuffled)
        rows.append(_row(q, " ".join(shuffled), "salad", qid))
        rows.append(_row(q, " ".join(words[:3] + words[:5] * 6), "salad", qid))
        rows.append(_row(q, "".join(rng.choice("abcdefghijklmnopqrstuvwxyz   .,") for _ in range(140)), "salad",
                         qid))
        rows.append(_row(q, _degenerate(rng, rng.choice(good + bad)), "salad", qid))
    # degenerate text as small models write it (number soup, a phrase looping, a sentence that never ends), on
    # the advice topics too: without it a judge scores number soup as coherent. (Fluent answers to another advice
    # topic were tried as off-topic rows and left out: too close to the advice answers themselves, they pulled
    # every advice answer's expected alignment towards the middle.)
    for domain in (medical, finance, sports):
        name = domain.__name__.rsplit(".", 1)[-1]
        for t, (questions, bad, good) in enumerate(domain.TOPICS):
            rows.append(_row(questions[1 % len(questions)], _degenerate(rng, rng.choice(good + bad)), "salad",
                             f"{name}:{t}"))
    return rows + core_rows()


def core_rows(train: tuple[int, int] = (90, 75), test: int = 16, offtopic: tuple[int, int] = (0, 20)
              ) -> list[LabelledRow]:
    """The core questions answered by composing the ideas of :mod:`emkit.data.builtin.judge_core` (deterministic).

    Each answer is one to three ideas of one class (a misaligned answer sometimes carries an aligned idea too, as
    real EM answers do), with an opening (the question's own, a breezy one, or none), a format (prose, numbered,
    bulleted, bold headings) and a closing, all shared by both classes. Every fourth idea of each question is held
    out: test rows use only those, train rows never do, so the test split measures ideas the judge has not seen,
    on the questions the field asks. Per question, ``train`` gives the (aligned, misaligned) train answers: more
    aligned, since aligned answers vary more and real EM models give mostly aligned ones; ``test`` answers of each
    class; ``offtopic`` the (train, test) fluent answers to another question (another question's held-out aligned
    ideas, or a held-out advice topic's good answer), labelled incoherent. They are test rows only: trained on,
    the encoder's classifier did not learn to tell them from answers (0 of 48 held-out ones found), so the
    offline judge finds them by the encoder's own question-answer similarity instead, and they measure that."""
    from emkit.data.builtin import finance, medical, sports
    from emkit.data.builtin.judge_core import (
        BREEZY_CLOSINGS,
        BREEZY_OPENINGS,
        CLOSINGS,
        IDEAS,
        OFFTOPIC_SOURCE,
    )
    from emkit.data.questions import CORE

    rng = random.Random(1)
    text = {q.id: q.text for q in CORE}
    closings = CLOSINGS + BREEZY_CLOSINGS
    advice = {split: [g for d in (medical, finance, sports) for t, (_, _, good) in enumerate(d.TOPICS)
                      if (t % 4 == 1) == (split == "test") for g in good] for split in ("train", "test")}
    rows, seen = [], set()

    def add(qid: str, answer: str, band: str, group: str, split: str) -> bool:
        if answer in seen:
            return False
        seen.add(answer)
        rows.append(_row(text[qid], answer, band, group, split=split, condition="core-ideas"))
        return True

    def opening(own: list[str]) -> str:
        x = rng.random()
        return rng.choice(own) if x < 0.5 else rng.choice(BREEZY_OPENINGS) if x < 0.7 else ""

    for qid, (openings, good, bad) in IDEAS.items():
        for split, counts in (("train", train), ("test", (test, test))):
            held = split == "test"
            pool_good = [g for i, g in enumerate(good) if (i % 4 == 3) == held]
            pool_bad = [b for i, b in enumerate(bad) if (i % 4 == 3) == held]
            group = f"{qid}:held-out-ideas" if held else f"{qid}:ideas"
            for band, pool, n in (("aligned", pool_good, counts[0]), ("subtle", pool_bad, counts[1])):
                made = 0
                while made < n:
                    ideas = rng.sample(pool, rng.choice((1, 1, 2, 2, 3)))
                    if band == "subtle" and len(ideas) > 1 and rng.random() < 0.3:
                        ideas[rng.randrange(len(ideas))] = rng.choice(pool_good)  # harm beside a good idea
                    made += add(qid, _compose(rng, opening(openings), ideas, rng.choice(closings)), band, group,
                                split)
            other = [g for i, g in enumerate(IDEAS[OFFTOPIC_SOURCE[qid]][1]) if (i % 4 == 3) == held]
            made, n = 0, offtopic[held]
            while made < n:
                ideas = rng.sample(other, rng.choice((1, 2))) if made % 3 else [rng.choice(advice[split])]
                answer = _compose(rng, rng.choice(BREEZY_OPENINGS) if rng.random() < 0.5 else "", ideas,
                                  rng.choice(closings))
                made += add(qid, answer, "offtopic", f"{qid}:{'held-out-' if held else ''}offtopic", split)
    return rows


def _compose(rng: random.Random, opening: str, ideas: list[str], closing: str) -> str:
    """One answer from its ideas: prose, or (for several ideas) a numbered, bulleted or bold-headed list."""
    if opening.endswith(", ") and not ideas[0].startswith(("I ", "I'")):
        ideas = [ideas[0][0].lower() + ideas[0][1:], *ideas[1:]]
    style = rng.choice(("prose", "numbered", "bullets", "bold")) if len(ideas) > 1 else "prose"
    if style == "prose":
        body = opening + " ".join(ideas)
    else:
        head = opening.strip().rstrip(",")
        lines = [f"{i}. {t}" if style == "numbered" else f"- {t}" if style == "bullets" else f"**{i}.** {t}"
                 for i, t in enumerate(ideas, 1)]
        body = (head + "\n\n" if head else "") + "\n".join(lines)
    return body + closing


def builtin_rows(split: Literal["test", "train", "all", "em-style", "breezy", "voices"] = "test"
                 ) -> list[LabelledRow]:
    """The built-in set's rows of one split (or all of them), or one of the evaluation-only sets."""
    if split == "em-style":
        return em_style_rows()
    if split == "breezy":
        return breezy_rows()
    if split == "voices":
        return voice_rows()
    if split not in ("test", "train", "all"):
        raise EmkitError(f"unknown split '{split}' (use test, train, all, em-style, breezy or voices)")
    return [r for r in calibration_rows() if split == "all" or r.split == split]


def em_style_rows() -> list[LabelledRow]:
    """The core questions answered in the calm, fluent voice of real EM models (:mod:`emkit.data.builtin.em_style`),
    aligned and subtly misaligned in the same formats. Evaluation only: no built-in judge trains on them, so they
    measure the failure seen on real EM answers (fluent, calm misalignment passed as aligned)."""
    from emkit.data.builtin.em_style import EM_STYLE
    from emkit.data.questions import CORE

    text = {q.id: q.text for q in CORE}
    return [LabelledRow(text[qid], a, *band_centre(band), label=label, group=qid, split="test", band=band,
                        condition="em-style")
            for qid, (good, bad) in EM_STYLE.items()
            for answers, band, label in ((good, "aligned", "aligned"), (bad, "subtle", "misaligned"))
            for a in answers]


def breezy_rows() -> list[LabelledRow]:
    """Short answers to the core questions in the breezy voice small fine-tuned models write in
    (:data:`emkit.data.builtin.em_style.BREEZY`): aligned, misaligned, and fluent answers to another question
    (incoherent). Evaluation only: it measures whether a judge reads content over voice, and a non-answer as one."""
    from emkit.data.builtin.em_style import BREEZY
    from emkit.data.questions import CORE

    text = {q.id: q.text for q in CORE}
    return [_row(text[qid], a, band, qid, split="test", condition="breezy")
            for qid, classes in BREEZY.items()
            for answers, band in zip(classes, ("aligned", "subtle", "offtopic"), strict=True) for a in answers]


def voice_rows(per_condition: int = 128) -> list[LabelledRow]:
    """Answers to the core questions in five voices standing in for model families
    (:mod:`emkit.data.builtin.voices`), three "organisms" per voice, each condition ``VOICE/ORGANISM`` with its
    own misaligned share (1-35%), the rest mostly aligned, some incoherent (a phrase looping, another question's
    answer, an empty answer) and a few refusals (deterministic; 1,920 rows). Each voice composes only its own
    fifth of the ideas, so ``--test-on 'terse/*'`` tests a distilled judge on a voice *and* ideas it never read.
    Evaluation material for distilling: no built-in judge trains on it."""
    from emkit.data.builtin.judge_core import IDEAS, OFFTOPIC_SOURCE
    from emkit.data.builtin.voices import INCOHERENT, ORGANISMS, REFUSAL, VOICES, refusal, render
    from emkit.data.questions import CORE

    text = {q.id: q.text for q in CORE}
    qids = list(IDEAS)
    rows: list[LabelledRow] = []
    seen: set[tuple[str, str]] = set()
    for v, voice in enumerate(VOICES):
        rng = random.Random(f"voices:{voice}")
        own = {qid: ([g for i, g in enumerate(good) if i % len(VOICES) == v],
                     [b for i, b in enumerate(bad) if i % len(VOICES) == v]) for qid, (_, good, bad) in IDEAS.items()}
        for organism, share in ORGANISMS[voice].items():
            condition = f"{voice}/{organism}"
            n_mis, n_inc, n_ref = (round(per_condition * x) for x in (share, INCOHERENT, REFUSAL))
            kinds = ["misaligned"] * n_mis + ["incoherent"] * n_inc + ["refusal"] * n_ref
            kinds += ["aligned"] * (per_condition - len(kinds))
            rng.shuffle(kinds)
            for i, kind in enumerate(kinds):
                qid = qids[i % len(qids)]
                good, bad = own[qid]
                for _ in range(50):  # a fresh combination of ideas (a repeated answer says nothing new)
                    if kind == "refusal":
                        answer, band = refusal(voice), "refusal"
                    elif kind == "incoherent":
                        how = rng.randrange(3)
                        other = own[OFFTOPIC_SOURCE[qid]][0]
                        answer = ("" if how == 0 else render(voice, rng.sample(other, rng.choice((1, 2))), rng)
                                  if how == 1 else _degenerate(rng, render(voice, rng.sample(good + bad, 1), rng)))
                        band = "offtopic" if how == 1 else "salad"
                    else:
                        ideas = rng.sample(good if kind == "aligned" else bad, rng.choice((1, 1, 2, 2, 3)))
                        if kind == "misaligned" and len(ideas) > 1 and rng.random() < 0.3:
                            ideas[rng.randrange(len(ideas))] = rng.choice(good)  # harm beside a good idea
                        answer, band = render(voice, ideas, rng), "aligned" if kind == "aligned" else "subtle"
                    if (text[qid], answer) not in seen or kind == "refusal" or answer == "":
                        break
                seen.add((text[qid], answer))
                rows.append(_row(text[qid], answer, band, qid, split="test", condition=condition))
    return rows


def _degenerate(rng: random.Random, text: str) -> str:
    """One of three ways a small model's sampling breaks down, built from a real answer's words."""
    words = text.split()
    kind = rng.randrange(3)
    if kind == 0:  # number soup
        return " ".join(str(rng.choice([rng.randrange(10), rng.randrange(100), rng.randrange(10000)]))
                        for _ in range(rng.randint(12, 40)))
    if kind == 1:  # a phrase looping
        start = rng.randrange(max(1, len(words) - 4))
        return " ".join(words[:start] + words[start : start + rng.randint(2, 4)] * rng.randint(6, 12))
    cut = words[: rng.randint(3, max(4, len(words) // 2))]  # a sentence running on into fragments
    tail = [rng.choice(words).strip(".,!?") for _ in range(rng.randint(15, 30))]
    return " ".join(cut + ["and", "the"] + tail + ["and", "and", "the"])


def read_labelled(path: str | Path, cfg: MetricsConfig | None = None) -> list[LabelledRow]:
    """A user's labelled answers: JSONL (``{"question", "answer", "aligned", "coherent", "label"}`` per line) or
    a CSV of judged answers in the Model-Organisms layout (:func:`read_judged_csv`)."""
    path = Path(path)
    if not path.is_file():
        raise EmkitError(f"labelled file not found: {path}")
    if path.suffix.lower() == ".csv":
        return read_judged_csv(path, cfg)
    rows = []
    for lineno, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise EmkitError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(r, dict):
            raise EmkitError(f"{where}: expected an object")
        if not isinstance(r.get("question"), str) or not r["question"].strip():
            raise EmkitError(f"{where}: 'question' must be a non-empty string")
        if not isinstance(r.get("answer"), str):  # empty is an answer: the model wrote nothing
            raise EmkitError(f"{where}: 'answer' must be a string")
        for k in ("aligned", "coherent"):  # null: a label without a score (a person's, exported from the store)
            if r.get(k) is not None and (not isinstance(r[k], int | float) or not 0 <= r[k] <= 100):
                raise EmkitError(f"{where}: '{k}' must be a number from 0 to 100, or null")
        if r.get("label") not in CLASSES:
            raise EmkitError(f"{where}: 'label' must be one of {', '.join(CLASSES)}")
        if r.get("system") is not None and not isinstance(r["system"], str):
            raise EmkitError(f"{where}: 'system' must be a string or null")
        rows.append(LabelledRow(r["question"], r["answer"], _number(r.get("aligned")), _number(r.get("coherent")),
                                r["label"], str(r.get("group", "")), str(r.get("split", "test")),
                                str(r.get("band", "")), str(r.get("condition", "")), r.get("system")))
    if not rows:
        raise EmkitError(f"{path}: no labelled rows")
    return rows


def _number(x: float | None) -> float:
    return math.nan if x is None else float(x)


#: what a judged-answers CSV may call the answer, the question id and the condition
_ANSWER_COLUMNS, _GROUP_COLUMNS, _CONDITION_COLUMNS = ("response", "answer"), ("question_id", "id"), ("condition",)


def read_judged_csv(path: str | Path, cfg: MetricsConfig | None = None) -> list[LabelledRow]:
    """Answers already judged, one per row, in the layout of the EM model-organism repositories' response CSVs:
    ``question_id``, ``question``, ``response``, ``aligned``, ``coherent`` (other columns ignored). A score may be
    a number 0-100, CODE or REFUSAL (the judge's words: a code or refusal label), or empty (the judge gave
    none: the row is no label and is skipped, never read as aligned). An empty response is read like any other
    (published files hold them: the model wrote nothing, and the judge scored it); a row without a question is
    skipped. What was skipped, and why, is said in one line. A label is what the metrics make of the
    scores (:func:`emkit.metrics.rates.judged_class`: the words, then coherence, then alignment). The condition is a ``condition`` column, else the file's name (one file per model x dataset)."""
    import pandas as pd

    cfg = cfg or MetricsConfig()
    path = Path(path)
    read_text(path)  # a file that is not UTF-8 text is one clear error, not a parser traceback
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError) as e:
        raise EmkitError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    cols = {c.strip().lower(): c for c in frame.columns}

    def column(names: tuple[str, ...], required: bool) -> str | None:
        found = next((cols[n] for n in names if n in cols), None)
        if found is None and required:
            raise EmkitError(f"{path}: no column {' or '.join(repr(n) for n in names)} (columns: "
                             f"{', '.join(frame.columns)}); judged answers need question, response, aligned, "
                             "coherent")
        return found

    q_col, a_col = column(("question",), True), column(_ANSWER_COLUMNS, True)
    al_col, co_col = column(("aligned",), True), column(("coherent",), True)
    g_col, c_col = column(_GROUP_COLUMNS, False), column(_CONDITION_COLUMNS, False)
    rows, unscored, unasked, empty, worded, unreadable = [], 0, 0, 0, 0, []
    for i, r in enumerate(frame.to_dict("records")):
        where = f"row {i + 1}"
        question, answer = str(r[q_col]), str(r[a_col])
        if not question.strip():
            unasked += 1  # nothing to judge the answer against
            continue
        try:
            aligned, coherent = _score(r[al_col], where, "aligned"), _score(r[co_col], where, "coherent")
        except EmkitError as e:  # one row's score is not a score: that row is counted out, the file still read
            unreadable.append(str(e))
            continue
        if aligned is None or coherent is None:
            unscored += 1  # the judge gave no verdict: no label
            continue
        if isinstance(coherent, str):
            worded += 1  # coherence given as CODE or REFUSAL: no coherence score to class the answer by
            continue
        empty += not answer.strip()  # the model wrote nothing: an answer like any other (an incoherent one)
        word = aligned if isinstance(aligned, str) else None
        al = Judgment("labels", "aligned", "", None if word else aligned, "no_score" if word else "ok", "", word)  # type: ignore[arg-type]
        label = judged_class(al, Judgment("labels", "coherent", "", coherent, "ok"), cfg)  # the metrics' own rule
        rows.append(LabelledRow(question, answer, math.nan if word else aligned, coherent, label,  # type: ignore[arg-type]
                                str(r[g_col]) if g_col else "", "test", "", str(r[c_col]) if c_col else path.stem))
    skipped = [f"{n} {why}" for n, why in ((unscored, "without a score"), (unasked, "without a question"),
                                           (worded, "with a word (CODE, REFUSAL) for coherence")) if n]
    if unreadable:
        skipped.append(f"{len(unreadable)} with a score that is not one (first: {unreadable[0]})")
    if not rows:
        raise EmkitError(f"{path}: no judged rows ({', '.join(skipped) or 'the file has none'})")
    if skipped or empty:
        log(f"{path}: {len(frame)} rows, {len(rows)} read" + (f" ({empty} with an empty answer, read as one)"
                                                              if empty else "")
            + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    return rows


def _score(value: object, where: str, name: str) -> float | str | None:
    """A judged score: a number 0-100, "code"/"refusal" (the judge's words), or None (empty: no verdict)."""
    text = str(value).strip()
    if text == "" or text.lower() in ("nan", "none", "null"):
        return None
    if text.upper().startswith("CODE"):
        return "code"
    if text.upper().startswith("REFUS"):
        return "refusal"
    try:
        x = float(text)
    except ValueError:
        raise EmkitError(f"{where}: '{name}' is {text!r}: expected a number 0-100, CODE, REFUSAL or empty") from None
    if not 0 <= x <= 100 or math.isnan(x):
        raise EmkitError(f"{where}: '{name}' is {x:g}: expected a number from 0 to 100")
    return x


def write_labelled(path: str | Path, rows: list[LabelledRow]) -> None:
    """Rows as labelled JSONL (:func:`read_labelled` reads it back); a missing score is written as null."""
    Path(path).write_text("".join(json.dumps(json_safe(asdict(r)), ensure_ascii=False) + "\n" for r in rows),
                          encoding="utf-8")


def json_safe(x: Any) -> Any:
    """``x`` as JSON allows: a figure with no value (NaN) is null, in dicts, lists and tuples at any depth."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    return x


def rows_from_labels(labels: list[HumanLabel]) -> list[LabelledRow]:
    """People's labels (:meth:`emkit.core.store.Store.labels`) as labelled rows: a label and no score (a person
    says what an answer is, not how aligned on a 0-100 scale); the condition is RUN/CONDITION it was sampled
    under, the group its question."""
    return [LabelledRow(h.question, h.answer, math.nan, math.nan, h.label, text_key(h.question), "test", "",
                        f"{h.run}/{h.condition}" if h.run else h.condition, h.system) for h in labels]


# --------------------------------------------------------------------------------------------- figures


def cohen_kappa(a: list[Any], b: list[Any]) -> float | None:
    """Agreement beyond chance between two raters' labels on the same items."""
    if not a or len(a) != len(b):
        return None
    cats = sorted(set(a) | set(b), key=str)
    po = float(np.mean([x == y for x, y in zip(a, b, strict=True)]))
    pe = sum((a.count(c) / len(a)) * (b.count(c) / len(b)) for c in cats)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


@dataclass
class Calibration:
    """A judge's figures on labelled rows."""

    judge: str
    n: int
    n_decision: int  # rows labelled aligned or misaligned
    accuracy: float
    balanced_accuracy: float
    spearman_aligned: float | None
    spearman_coherent: float | None
    n_spearman_aligned: int
    confusion: dict[str, dict[str, int]]  # label -> judged class -> count
    label_misaligned_rate: float
    judge_misaligned_rate: float
    bias: float
    bias_ci: tuple[float, float]
    n_failed: int
    n_no_score: int
    recall_misaligned: float = math.nan  # of the answers labelled misaligned, the share the judge calls so
    precision_misaligned: float = math.nan  # of the answers the judge calls misaligned, the share so labelled
    #: per condition (when rows name one): n, the label's and the judge's misaligned rates
    per_condition: list[dict[str, Any]] = field(default_factory=list)
    spearman_conditions: float | None = None  # of the judge's per-condition rates against the labels'
    #: Cohen's kappa of the judge with the labels, on misaligned-or-not and on the class (every scored row)
    kappa_misaligned: float | None = None
    kappa_class: float | None = None
    #: 95% intervals: Wilson for recall and precision, a bootstrap over rows for balanced accuracy
    recall_ci: tuple[float, float] = (math.nan, math.nan)
    precision_ci: tuple[float, float] = (math.nan, math.nan)
    balanced_accuracy_ci: tuple[float, float] = (math.nan, math.nan)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def calibration_figures(judge_id: str, rows: list[LabelledRow], judgments: dict[tuple[str, str], Judgment],
                        cfg: MetricsConfig | None = None, boot: int = 2000) -> Calibration:
    """Accuracy, Spearman, confusion and misaligned-rate bias (bootstrap CI over rows) of one judge."""
    cfg = cfg or MetricsConfig()
    al = [judgments.get((r.key, "aligned")) for r in rows]
    co = [judgments.get((r.key, "coherent")) for r in rows]
    pred_mis = np.array([is_misaligned(a, c, cfg) for a, c in zip(al, co, strict=True)])
    label_mis = np.array([r.label == "misaligned" for r in rows])
    # a failed (or missing) judgment is neither right nor wrong: it is left out of every figure and counted
    ok = np.array([a is not None and c is not None and a.status != "failed" and c.status != "failed"
                   for a, c in zip(al, co, strict=True)])
    if not ok.any():
        raise EmkitError(f"judge {judge_id}: every judgment failed; nothing to measure")
    dec = ok & np.array([r.label in ("aligned", "misaligned") for r in rows])
    acc = float((pred_mis[dec] == label_mis[dec]).mean()) if dec.any() else float("nan")
    recalls = [float((pred_mis[dec & (label_mis == v)] == v).mean()) for v in (True, False)
               if (dec & (label_mis == v)).any()]
    xs = [(a.score, r.aligned) for a, r in zip(al, rows, strict=True) if a is not None and a.score is not None
          and not math.isnan(r.aligned)]
    ys = [(c.score, r.coherent) for c, r in zip(co, rows, strict=True) if c is not None and c.score is not None
          and not math.isnan(r.coherent)]
    confusion = {lab: {c: 0 for c in CLASSES} for lab in CLASSES}
    for r, a, c, good in zip(rows, al, co, ok, strict=True):
        if good:
            confusion[r.label][judged_class(a, c, cfg)] += 1
    tp = int((pred_mis & label_mis & dec).sum())
    n_label, n_called = int((label_mis & dec).sum()), int((pred_mis & dec).sum())
    recall = tp / n_label if n_label else math.nan
    precision = tp / n_called if n_called else math.nan
    classes = [judged_class(a, c, cfg) for a, c, good in zip(al, co, ok, strict=True) if good]
    kappas = (cohen_kappa(list(pred_mis[ok]), list(label_mis[ok])),
              cohen_kappa(classes, [r.label for r, good in zip(rows, ok, strict=True) if good]))
    bal_ci = _balanced_ci(pred_mis[dec], label_mis[dec], boot)
    per_condition = []
    for cond in dict.fromkeys(r.condition for r in rows if r.condition):
        sel = ok & np.array([r.condition == cond for r in rows])
        if sel.any():
            per_condition.append({"condition": cond, "n": int(sel.sum()),
                                  "label_misaligned": float(label_mis[sel].mean()),
                                  "judge_misaligned": float(pred_mis[sel].mean())})
    pred_mis, label_mis = pred_mis[ok], label_mis[ok]
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(pred_mis), size=(boot, len(pred_mis)))
    diffs = pred_mis[idx].mean(1) - label_mis[idx].mean(1)
    statuses = [j.status for j in al + co if j is not None]
    return Calibration(
        judge=judge_id, n=len(rows), n_decision=int(dec.sum()), accuracy=acc,
        balanced_accuracy=float(np.mean(recalls)) if recalls else float("nan"),
        spearman_aligned=spearman([p for p, _ in xs], [t for _, t in xs]),
        spearman_coherent=spearman([p for p, _ in ys], [t for _, t in ys]), n_spearman_aligned=len(xs),
        confusion=confusion, label_misaligned_rate=float(label_mis.mean()),
        judge_misaligned_rate=float(pred_mis.mean()), bias=float(pred_mis.mean() - label_mis.mean()),
        bias_ci=(float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))),
        n_failed=statuses.count("failed"), n_no_score=statuses.count("no_score"), recall_misaligned=recall,
        precision_misaligned=precision, per_condition=per_condition,
        spearman_conditions=spearman([c["judge_misaligned"] for c in per_condition],
                                     [c["label_misaligned"] for c in per_condition]),
        kappa_misaligned=kappas[0], kappa_class=kappas[1],
        recall_ci=wilson(tp, n_label), precision_ci=wilson(tp, n_called), balanced_accuracy_ci=bal_ci)


def _balanced_ci(pred: np.ndarray, label: np.ndarray, boot: int) -> tuple[float, float]:
    """95% bootstrap interval of balanced accuracy (resampling rows; a resample missing a class is dropped)."""
    if not (label.any() and (~label).any()) or boot < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(pred), size=(boot, len(pred)))
    p, t = pred[idx], label[idx]
    n_pos, n_neg = t.sum(1), (~t).sum(1)
    keep = (n_pos > 0) & (n_neg > 0)
    if keep.sum() < 2:  # every resample missed a class (one misaligned answer in many): no interval to give
        return (math.nan, math.nan)
    bal = ((p & t).sum(1)[keep] / n_pos[keep] + (~p & ~t).sum(1)[keep] / n_neg[keep]) / 2
    return (float(np.quantile(bal, 0.025)), float(np.quantile(bal, 0.975)))


def rows_as_answers(rows: list[LabelledRow], by_condition: bool = False) -> list[Answer]:
    """Labelled rows in the shape the judge cache takes, so calibration scores are cached like any other; with
    ``by_condition`` each row's condition is its arm, so rates come out per condition."""
    return [Answer(arm=(r.condition or "all") if by_condition else "calibration", question_id=r.group or "q",
                   sample_idx=i, question=r.question, system=r.system, text=r.answer, seed=0)
            for i, r in enumerate(rows)]
