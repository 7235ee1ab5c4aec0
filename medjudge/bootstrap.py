"""Vectorised bootstrap over items (seeded): whole items are resampled with replacement."""

from __future__ import annotations

import numpy as np

DEFAULT_RESAMPLES = 1000


def resample_indices(n_items: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(resamples, n_items))


CHUNK = 100  # resamples drawn at once: memory stays at CHUNK x n, not resamples x n


def bootstrap_means(values, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, clip=None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.size == 0 or resamples <= 0:
        return np.array([])
    rng = np.random.default_rng(seed)
    means = np.concatenate([values[rng.integers(0, values.size, size=(min(CHUNK, resamples - lo), values.size))]
                            .mean(axis=1) for lo in range(0, resamples, CHUNK)])
    return np.clip(means, *clip) if clip else means


def percentile_ci(samples, level: float = 0.95) -> tuple[float | None, float | None]:
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None, None
    lo, hi = np.percentile(samples, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)
