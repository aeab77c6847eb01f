"""Texts: wake-word variants, adversarial near-misses (phonetic neighbours), ordinary speech."""
from __future__ import annotations

import functools
import itertools
import re


from . import g2p

HAND_NEAR_MISSES = {
    "alexa": ["alex", "alexis", "lexus", "election", "a lexicon", "annex a", "elect her", "amelia",
              "electra", "alexander", "alaska", "a letter", "excel", "relax", "alexia", "elixir",
              "lexi", "a lexa", "analects", "ale", "axe", "Alex said", "Alexei", "a Lexus",
              "the lexer", "affecting", "collects her", "Ellie's", "Alex, uh", "elects a"],
    "computer": ["commuter", "compute", "computing", "computed", "competer", "come pewter",
                 "compete her", "amputee", "completer", "commute her", "composer", "comfort her",
                 "compuserve", "puter", "computation", "disputer", "computes", "commuters",
                 "compuder", "cute pewter", "come puter", "can pewter", "compote", "conductor"],
}
PREFIXES = {"alexa": "hey", "computer": "ok"}


def target_phonemes(word: str, lang: str = "us") -> str:
    return g2p.strip_stress(g2p.phonemize(word, lang))


def positive_texts(word: str) -> list[tuple[str, float]]:
    """(text, weight) variants of the word alone; ~5% with a 'hey'/'ok' prefix."""
    W = word.capitalize()
    base = [word.lower(), f"{W}.", f"{W}!", f"{W}?", f"{word.lower()},", W]
    pre = PREFIXES.get(word.lower(), "hey")
    out = [(t, 0.95 / len(base)) for t in base]
    out += [(f"{pre} {word.lower()}", 0.025), (f"{pre.capitalize()} {W}.", 0.025)]
    return out


def _lev(a: str, b: str, cap: int) -> int:
    """Levenshtein distance with early exit above cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > cap:
            return cap + 1
        prev = cur
    return prev[-1]


def _norm(ps: str) -> str:
    """Coarse phoneme string: reduced vowels merged, flap/t/d merged, r-colouring and length dropped."""
    p = g2p.strip_stress(ps).replace("ː", "").replace("ɹ", "").replace("ɜ", "ə")
    for c in "ɐʌɪᵻᵊ":
        p = p.replace(c, "ə")
    for c in "ɾd":
        p = p.replace(c, "t")
    return p


def too_close(text: str, word: str, strict: bool = False) -> bool:
    """True if `text` is (nearly) a homophone of `word`, so it must not be used as a negative.

    Always: the spelling contains the word, or the coarse phonemes (US or GB) are equal. With
    strict (generated candidates): coarse phonemes of the word contained in the text's, or a
    multi-word phrase within coarse distance 1.
    """
    flat = re.sub(r"[^a-z]", "", text.lower())
    if word.lower() in flat:
        return True
    for lang in ("us", "gb"):
        t, p = _norm(g2p.phonemize(word, lang)), _norm(g2p.phonemize(text, lang))
        if t == p or (strict and t in p):
            return True
        if strict and " " in text.strip() and _lev(p, t, 1) <= 1:
            return True
    return False


def _ok_word(w: str, target: str) -> bool:
    return (w.isalpha() and w.islower() or w[:1].isupper() and w[1:].islower()) and target not in w.lower()


@functools.lru_cache(maxsize=None)
def _lex_phonemes(lang: str, gold_only: bool):
    lex = g2p.lexicon(lang)
    words = g2p.gold_words(lang) if gold_only else lex.keys()
    out = []
    for w in words:
        ps = g2p._entry(lex.get(w))
        if ps and w.isalpha() and len(w) > 1 or w in ("a",):
            out.append((w, g2p.strip_stress(ps) if ps else ""))
    return out


def near_misses(word: str, lang: str = "us", max_single: int = 90, max_pairs: int = 30) -> list[str]:
    """Words / two-word phrases that sound close to `word` (never containing it).

    Single words: phoneme edit distance <= ~1/3 of the length, or sharing the first / last
    ~60% of the phonemes (e.g. alexander, computation). Pairs: two common words whose
    concatenated phonemes are within distance 1-2 of the word (e.g. "come pewter").
    """
    target = word.lower()
    tp = target_phonemes(word, lang)
    n = len(tp)
    cap = max(1, round(n / 3))
    k = max(3, int(round(0.6 * n)))
    scored: dict[str, float] = {}
    affix: dict[str, int] = {}
    for w, ps in _lex_phonemes(lang, False):
        if not ps or not _ok_word(w, target):
            continue
        if ps == tp:
            continue  # homophone: would be a true positive acoustically
        d = _lev(ps, tp, cap)
        if d <= cap:
            scored[w.lower()] = min(scored.get(w.lower(), 9), d / n)
        elif len(ps) >= k and (ps[:k] == tp[:k] or ps[-k:] == tp[-k:]) and len(ps) <= n + 4:
            affix[w.lower()] = abs(len(ps) - n) + (0 if w in g2p.gold_words(lang) else 1)
    gold = {w.lower() for w in g2p.gold_words(lang)}
    # prefer common (gold lexicon) words at equal distance
    singles = sorted(scored, key=lambda w: (scored[w] + (0 if w in gold else 0.15), w))[:max_single]
    singles += sorted((w for w in affix if w not in scored), key=lambda w: (affix[w], w))[:20]

    # two-word phrases from common words
    common = [(w, ps) for w, ps in _lex_phonemes(lang, True)
              if ps and _ok_word(w, target) and len(ps) >= 2 and len(w) >= 3 and w.islower()]
    common += [("a", "ə"), ("her", "həɹ" if lang == "us" else "hə"), ("the", "ðə")]
    by_ps: dict[str, list[str]] = {}
    for w, ps in common:
        by_ps.setdefault(ps, []).append(w.lower())
    pairs: dict[str, int] = {}
    for i in range(1, n):
        left, right = tp[:i], tp[i:]
        lefts = [(w, _lev(ps, left, 1)) for ps, ws in by_ps.items() if abs(len(ps) - len(left)) <= 1
                 for w in ws[:1]]
        lefts = [(w, d) for w, d in lefts if d <= 1]
        rights = [(w, _lev(ps, right, 1)) for ps, ws in by_ps.items() if abs(len(ps) - len(right)) <= 1
                  for w in ws[:1]]
        rights = [(w, d) for w, d in rights if d <= 1]
        for (a, da), (b, db) in itertools.product(lefts, rights):
            if 0 < da + db <= 2 and target not in (a + b):
                pairs[f"{a} {b}"] = min(pairs.get(f"{a} {b}", 9), da + db)
    pair_list = sorted(pairs, key=lambda p: (pairs[p], len(p), p))[:max_pairs]
    hand = [h for h in HAND_NEAR_MISSES.get(target, []) if not too_close(h, target)]
    gen = [t for t in singles + pair_list if not too_close(t, target, strict=True)]
    return list(dict.fromkeys(hand + gen))


# ---------------------------------------------------------------- ordinary speech
_COMMANDS = [
    "what time is it", "turn off the lights", "turn on the lights in the {room}", "play some music",
    "set a timer for {num} minutes", "what's the weather like today", "what's the weather in {city}",
    "remind me to {task} at {num} o'clock", "add {item} to my shopping list", "call {name}",
    "stop", "pause the music", "volume up", "turn it down a little", "next song",
    "how far is it to {city}", "tell me a joke", "set an alarm for {num} in the morning",
    "what's on my calendar tomorrow", "dim the lights in the {room}", "lock the front door",
    "how do you spell {item}", "play the news", "what's the capital of {country}",
    "send a message to {name}", "cancel the timer", "is it going to rain this afternoon",
    "turn the heating up to {num} degrees", "read me my messages", "who won the game last night",
]
_SENTENCES = [
    "I think {name} left the {item} in the {room} again.",
    "We should probably leave for {city} before it gets dark.",
    "Could you pass me the {item}, please?",
    "The meeting has been moved to {day} afternoon.",
    "My sister is flying back from {country} on {day}.",
    "Honestly, I don't remember where I put the {item}.",
    "Let's have {food} for dinner tonight.",
    "{name} said the train to {city} was late again this morning.",
    "It's been raining all week, so the garden looks great.",
    "Did you remember to {task} before you left?",
    "There's a new {food} place opening down the street on {day}.",
    "I'll call you back in about {num} minutes.",
    "The kids want to watch a movie in the {room} after dinner.",
    "Please don't forget to {task} tomorrow.",
    "We spent {num} days in {country} last summer and loved it.",
    "Can you believe how expensive {food} has become?",
    "The {item} on the kitchen table belongs to {name}.",
    "I usually go for a run on {day} mornings.",
    "{name} is coming over later to help me {task}.",
    "The report is due on {day}, so I need to finish it soon.",
]
_FILL = {
    "room": ["kitchen", "living room", "bedroom", "bathroom", "hallway", "garage", "office", "basement"],
    "city": ["Boston", "London", "Chicago", "Paris", "Seattle", "Denver", "Dublin", "Toronto", "Austin", "Madrid"],
    "num": ["two", "three", "five", "seven", "ten", "twelve", "fifteen", "twenty", "thirty", "forty five"],
    "task": ["buy milk", "water the plants", "pick up the kids", "call the dentist", "take out the trash",
             "feed the cat", "pay the bills", "book the tickets", "clean the windows", "wash the car"],
    "item": ["keys", "umbrella", "laptop", "charger", "bread", "coffee", "glasses", "wallet", "notebook", "eggs"],
    "name": ["Sarah", "Michael", "Emma", "David", "Olivia", "James", "Sophie", "Daniel", "Grace", "Tom"],
    "country": ["France", "Japan", "Canada", "Italy", "Spain", "Brazil", "Norway", "Mexico", "Egypt", "India"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "food": ["pizza", "pasta", "curry", "soup", "tacos", "sushi", "salad", "pancakes", "noodles", "fish"],
}
_LEADS = ["", "", "", "Okay, ", "Hmm, ", "So ", "Um, ", "Actually, ", "Well, "]
_POLITE = ["", "", "please ", "could you "]


def _fill(tmpl: str, rng) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _FILL[m.group(1)][rng.integers(len(_FILL[m.group(1)]))], tmpl)


def speech_sentence(rng, exclude: tuple[str, ...] = ()) -> str:
    """A 2-6 s English utterance: 1-2 commands, a sentence, or a sentence + command."""
    while True:
        r = rng.random()
        if r < 0.35:
            c = _fill(_COMMANDS[rng.integers(len(_COMMANDS))], rng)
            c2 = _fill(_COMMANDS[rng.integers(len(_COMMANDS))], rng)
            pol = _POLITE[rng.integers(len(_POLITE))]
            s = f"{_LEADS[rng.integers(len(_LEADS))]}{pol}{c}, and then {c2}."
        elif r < 0.75:
            lead = _LEADS[rng.integers(len(_LEADS))]
            body = _fill(_SENTENCES[rng.integers(len(_SENTENCES))], rng)
            first = body.split()[0].strip(",")
            if lead and first not in ("I", "I'll") and not any(first in v for v in _FILL.values()):
                body = body[0].lower() + body[1:]
            s = lead + body
        else:
            s = (_fill(_SENTENCES[rng.integers(len(_SENTENCES))], rng) + " "
                 + _fill(_COMMANDS[rng.integers(len(_COMMANDS))], rng).capitalize() + ".")
        s = s[0].upper() + s[1:]
        if "?" not in s and not s.endswith("."):
            s += "."
        if not any(x in s.lower() for x in exclude):
            return s


def adversarial_text(word: str, neighbours: list[str], rng) -> str:
    """A near-miss alone (80%) or in a short carrier phrase (20%)."""
    w = neighbours[rng.integers(len(neighbours))]
    r = rng.random()
    if r < 0.55:
        return w
    if r < 0.8:
        return w.capitalize() + [".", "!", "?", ","][rng.integers(4)]
    carrier = ["hey {}", "ok {}", "the {}", "{} please", "my {}", "that {}", "{} again"]
    return carrier[rng.integers(len(carrier))].format(w)
