"""A synthetic, FRENK-shaped sample for offline demos and tests.

THIS IS NOT FRENK DATA. FRENK's licence forbids redistribution, so ``source=sample``
generates comments from small word lists instead. The generator is deterministic and
mimics what matters to the pipeline: three languages, two topics, discussion threads
that never cross the train/test boundary, the six FRENK classes with a realistic
imbalance, a comment-length distribution where most comments are short and a long tail
runs past 128 tokens, and a learnable but noisy signal (offensive comments tend to use
certain words, which also occur in acceptable ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.choices import LANGS, TOPICS
from .labels import FRENK_CLASSES

#: probability of each FRENK class, in FRENK order (roughly the published imbalance)
CLASS_PROBS = (0.52, 0.04, 0.22, 0.15, 0.04, 0.03)

_WORDS = {
    "hr": {
        "neutral": (
            "danas vlada grad ljudi zakon vijesti novine godina posao država pitanje mislim "
            "trebalo bi svi samo kada zašto jer ovdje tamo dobro vrijeme život obitelj škola "
            "djeca rad novac cijena televizija članak komentar stvar prava pravo sloboda "
            "većina manjina istina mišljenje ministar sabor europa hrvatska društvo ulica"
        ),
        "lgbt": "gay brak parada istospolni zajednica prava ljubav partneri povorka obitelji",
        "migrants": "migranti izbjeglice granica azil policija kamp ruta europa pomoć dolazak",
        "offensive": "smeće idioti glupani sramota bolesni van protjerati stoka gamad paraziti",
        "supportive": "podrška poštovanje jednakost tolerancija razumijevanje solidarnost mir",
    },
    "sl": {
        "neutral": (
            "danes vlada mesto ljudje zakon novice časopis leto delo država vprašanje mislim "
            "bi moralo vsi samo kdaj zakaj ker tukaj tam dobro čas življenje družina šola "
            "otroci denar cena televizija članek komentar stvar pravice pravo svoboda "
            "večina manjšina resnica mnenje minister parlament evropa slovenija družba ulica"
        ),
        "lgbt": "gej poroka parada istospolni skupnost pravice ljubezen partnerja povorka družine",
        "migrants": "migranti begunci meja azil policija kamp pot evropa pomoč prihod",
        "offensive": "smeti idioti bebci sramota bolni ven izgnati živina golazen paraziti",
        "supportive": "podpora spoštovanje enakost strpnost razumevanje solidarnost mir",
    },
    "en": {
        "neutral": (
            "today government city people law news paper year work country question think "
            "should all just when why because here there good time life family school "
            "children money price television article comment thing rights right freedom "
            "majority minority truth opinion minister parliament europe britain society street"
        ),
        "lgbt": "gay marriage pride samesex community rights love partners parade families",
        "migrants": "migrants refugees border asylum police camp route europe help arrival",
        "offensive": "scum idiots morons disgrace sick out deport vermin animals parasites",
        "supportive": "support respect equality tolerance understanding solidarity peace",
    },
}


def _vocab(lang: str) -> dict[str, list[str]]:
    return {k: v.split() for k, v in _WORDS[lang].items()}


def _comment(rng: np.random.Generator, vocab: dict[str, list[str]], topic: str, label: int) -> str:
    # lognormal lengths: median ~14 words, a few percent longer than 128 words
    # (which tokenise to more than 128 subword tokens)
    n_words = int(np.clip(rng.lognormal(mean=2.6, sigma=1.0), 3, 400))
    offensive = label != 0
    p_off = 0.16 if offensive else 0.02
    p_sup = 0.02 if offensive else 0.08
    words = []
    for _ in range(n_words):
        r = rng.random()
        if r < p_off:
            words.append(rng.choice(vocab["offensive"]))
        elif r < p_off + p_sup:
            words.append(rng.choice(vocab["supportive"]))
        elif r < p_off + p_sup + 0.15:
            words.append(rng.choice(vocab[topic]))
        else:
            words.append(rng.choice(vocab["neutral"]))
    # a sixth of offensive comments carry no marker word at all: the signal is not trivial
    if offensive and rng.random() < 1 / 6:
        words = [w for w in words if w not in vocab["offensive"]] or [rng.choice(vocab["neutral"])]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", "!", "?", "...", ""])


def generate_sample(lang: str = "hr", n_threads: int = 120, seed: int = 0) -> pd.DataFrame:
    """Return a synthetic FRENK-shaped frame for ``lang``.

    Columns: ``text``, ``label`` (FRENK class name), ``topic``, ``target``, ``thread``,
    ``split`` (``train`` or ``test``: whole threads, about 80/20, as in FRENK).
    ``n_threads`` threads per topic, 4 to 16 comments each.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    rng = np.random.default_rng([seed, LANGS.index(lang)])
    vocab = _vocab(lang)
    rows = []
    seen: set[str] = set()
    for topic in TOPICS:
        for t in range(n_threads):
            thread = f"{lang}-{topic}-{t:04d}"
            split = "test" if t % 5 == 4 else "train"
            for _ in range(int(rng.integers(4, 17))):
                label = int(rng.choice(len(FRENK_CLASSES), p=CLASS_PROBS))
                text = _comment(rng, vocab, topic, label)
                if text in seen:  # keep the sample free of duplicates and train/test overlap
                    continue
                seen.add(text)
                target = "No target" if label == 0 else str(rng.choice(["Target", "Commenter", "Related to"]))
                rows.append(
                    {
                        "text": text,
                        "label": FRENK_CLASSES[label],
                        "topic": topic,
                        "target": target,
                        "thread": thread,
                        "split": split,
                    }
                )
    return pd.DataFrame(rows)
