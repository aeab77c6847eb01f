"""English text -> Kokoro (misaki-style) phonemes: misaki lexicons, espeak-ng fallback."""
from __future__ import annotations

import functools
import importlib.resources as res
import json
import re
import subprocess

PUNCT = set(',.!?;:')
STRESS = "ˈˌ"

# espeak-ng IPA -> misaki symbols (from misaki/espeak.py, Kokoro v1.0 = misaki version 2.0)
_E2M = sorted({
    'ʔˌn\u0329': 'ʔn', 'ʔn\u0329': 'ʔn',
    'a^ɪ': 'I', 'a^ʊ': 'W', 'd^ʒ': 'ʤ', 'e^ɪ': 'A', 'e': 'A', 't^ʃ': 'ʧ', 'ɔ^ɪ': 'Y',
    'ə^l': 'ᵊl', 'ʲo': 'jo', 'ʲə': 'jə', 'ʲ': '', 'ɚ': 'əɹ', 'r': 'ɹ', 'x': 'k', 'ç': 'k',
    'ɐ': 'ə', 'ɬ': 'l', '\u0303': '',
}.items(), key=lambda kv: -len(kv[0]))


@functools.lru_cache(maxsize=None)
def lexicon(lang: str) -> dict:
    """Merged gold+silver misaki lexicon for 'us' or 'gb' (gold wins)."""
    d = {}
    for kind in ("silver", "gold"):
        p = res.files("misaki") / "data" / f"{lang}_{kind}.json"
        d.update(json.loads(p.read_text(encoding="utf-8")))
    return d


@functools.lru_cache(maxsize=None)
def gold_words(lang: str) -> frozenset:
    p = res.files("misaki") / "data" / f"{lang}_gold.json"
    return frozenset(json.loads(p.read_text(encoding="utf-8")))


def _entry(v):
    if isinstance(v, dict):
        v = v.get("DEFAULT") or next((x for x in v.values() if x), None)
    return v


_OVERRIDE = {"a": "ɐ", "A": "ɐ"}


def lookup(word: str, lang: str) -> str | None:
    if word in _OVERRIDE:
        return _OVERRIDE[word]
    lex = lexicon(lang)
    for w in (word, word.lower(), word.capitalize(), word.upper()):
        v = _entry(lex.get(w))
        if v:
            return v
    return None


@functools.lru_cache(maxsize=20000)
def espeak_phonemes(text: str, lang: str) -> str:
    out = subprocess.run(["espeak-ng", "-q", "--ipa=1", "--tie=^", "-v", "en-gb" if lang == "gb" else "en-us", text],
                         capture_output=True, text=True, check=True).stdout
    ps = " ".join(out.split())
    for old, new in _E2M:
        ps = ps.replace(old, new)
    ps = re.sub(r'(\S)\u0329', r'ᵊ\1', ps).replace(chr(809), '')
    if lang == "gb":
        ps = ps.replace('e^ə', 'ɛː').replace('iə', 'ɪə').replace('ə^ʊ', 'Q')
    else:
        ps = ps.replace('o^ʊ', 'O').replace('ɜːɹ', 'ɜɹ').replace('ɜː', 'ɜɹ').replace('ɪə', 'iə').replace('ː', '')
    ps = ps.replace('o', 'ɔ').replace('^', '')
    return ps


_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*|[,.!?;:]")


def phonemize(text: str, lang: str = "us", use_espeak_only: bool = False) -> str:
    """Phoneme string for text; words missing from the lexicon go through espeak-ng."""
    parts: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok in PUNCT:
            if parts:
                parts[-1] += tok
            continue
        ps = None if use_espeak_only else lookup(tok, lang)
        if ps is None and "-" in tok:
            sub = [lookup(t, lang) for t in tok.split("-") if t]
            if sub and all(sub):
                ps = " ".join(sub)
        if ps is None:
            ps = espeak_phonemes(tok, lang)
        parts.append(ps)
    return " ".join(parts)


def strip_stress(ps: str) -> str:
    return "".join(c for c in ps if c not in STRESS and c not in PUNCT and c != " ")
