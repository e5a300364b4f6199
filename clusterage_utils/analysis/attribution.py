"""Where in the image does a trained network look? Integrated gradients, occlusion maps, radial profiles.

These complement the study's retraining masks: one trained model, pixel-level answers. Integrated gradients
(Sundararajan et al. 2017) are computed with the Keras backend's own gradients (:func:`input_gradients`) along a
straight path from a baseline (all zeros: the value masked pixels take) to the input; they satisfy completeness,
sum(attributions) = f(x) - f(baseline), up to the path-integral discretisation.
"""
from __future__ import annotations

import numpy as np

__all__ = ["input_gradients", "integrated_gradients", "occlusion_map", "radial_profile", "cumulative_fraction",
           "profiles_by_age"]


def input_gradients(model, x: np.ndarray) -> np.ndarray:
    """Gradient of a scalar-output Keras model's summed output with respect to its input, on this process's
    Keras backend (TensorFlow's ``GradientTape``, ``jax.grad`` over ``model.stateless_call``, or torch's
    autograd).

    Parameters
    ----------
    model : keras.Model
        Maps (N, H, W, C) to (N, 1).
    x : ndarray (N, H, W, C), float32

    Returns
    -------
    ndarray (N, H, W, C)
        d sum(model(x)) / dx: each item's gradient of its own output (items do not interact).
    """
    from ..engine.runtime import backend_name

    return {"tensorflow": _gradients_tf, "jax": _gradients_jax, "torch": _gradients_torch}[backend_name()](model, x)


def _gradients_tf(model, x):
    from ..engine.runtime import quiet_import_tf

    tf = quiet_import_tf()
    p = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(p)
        y = tf.reduce_sum(model(p, training=False))
    return tape.gradient(y, p).numpy()


def _gradients_jax(model, x):
    import jax

    grad = getattr(model, "_clusterage_input_grad", None)
    if grad is None:                                     # compiled once per model
        def total(tv, ntv, inputs):
            return model.stateless_call(tv, ntv, inputs, training=False)[0].astype("float32").sum()

        grad = model._clusterage_input_grad = jax.jit(jax.grad(total, argnums=2))
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    return np.asarray(grad(tv, ntv, np.asarray(x, np.float32)))


def _gradients_torch(model, x):
    import torch

    p = torch.tensor(x, requires_grad=True, device=next(iter(model.trainable_variables)).value.device)
    model(p, training=False).float().sum().backward()
    return p.grad.detach().cpu().numpy()


def integrated_gradients(model, x: np.ndarray, baseline: np.ndarray | None = None, steps: int = 64,
                         batch_size: int = 64) -> np.ndarray:
    """Integrated-gradients attributions of a scalar-output Keras model (any backend: :func:`input_gradients`).

    Parameters
    ----------
    model : keras.Model
        Maps (N, H, W, C) to (N, 1).
    x : ndarray (N, H, W, C)
        Preprocessed inputs.
    baseline : ndarray, optional
        Same shape as ``x`` (default zeros).
    steps : int
        Points of the trapezoidal path integral.

    Returns
    -------
    ndarray (N, H, W, C)
        Attributions, in units of the model output per pixel.
    """
    x = np.asarray(x, np.float32)
    base = np.zeros_like(x) if baseline is None else np.asarray(baseline, np.float32)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] *= 0.5                                           # trapezoid rule
    out = np.zeros_like(x)
    for i in range(len(x)):
        path = base[i][None] + alphas[:, None, None, None] * (x[i] - base[i])[None]
        g = np.concatenate([input_gradients(model, path[s:s + batch_size]) for s in range(0, len(path), batch_size)])
        out[i] = (x[i] - base[i]) * np.tensordot(weights, g, axes=(0, 0))
    return out


def occlusion_map(model, x: np.ndarray, patch_px: int = 8, stride_px: int = 8, fill: float = 0.0,
                  batch_size: int = 128) -> np.ndarray:
    """Change of the prediction when a square patch is set to ``fill`` (0 = the masked value), per position.

    Returns (N, H, W): each pixel holds the mean prediction change (occluded - original) of the patches covering it.
    """
    x = np.asarray(x, np.float32)
    n, h, w, _ = x.shape
    base = np.asarray(model.predict(x, verbose=0)).ravel()
    corners = [(r, c) for r in range(0, h - patch_px + 1, stride_px) for c in range(0, w - patch_px + 1, stride_px)]
    out = np.zeros((n, h, w), np.float32)
    cover = np.zeros((h, w), np.float32)
    for r, c in corners:
        cover[r:r + patch_px, c:c + patch_px] += 1
    for i in range(n):
        occluded = np.repeat(x[i][None], len(corners), axis=0)
        for k, (r, c) in enumerate(corners):
            occluded[k, r:r + patch_px, c:c + patch_px] = fill
        pred = np.asarray(model.predict(occluded, batch_size=batch_size, verbose=0)).ravel()
        for k, (r, c) in enumerate(corners):
            out[i, r:r + patch_px, c:c + patch_px] += pred[k] - base[i]
    return out / np.where(cover > 0, cover, 1.0)[None]


def _abs_and_radius(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|maps| as (N, H, W) (channels summed) and each pixel's distance from the geometric centre (H, W), px."""
    m = np.abs(np.asarray(maps, float))
    if m.ndim == 4:
        m = m.sum(-1)
    h, w = m.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w]
    return m, np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2)


def radial_profile(maps: np.ndarray, bin_px: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean of |map| in rings around the cutout's geometric centre: (radius bin centres in px, profile (N, R)).

    ``maps`` is (N, H, W) or (N, H, W, C) (channels summed first)."""
    m, r = _abs_and_radius(maps)
    edges = np.arange(0, r.max() + bin_px, bin_px)
    which = np.digitize(r.ravel(), edges) - 1
    counts = np.bincount(which, minlength=len(edges) - 1)[:len(edges) - 1]
    prof = np.stack([np.bincount(which, weights=mi.ravel(), minlength=len(edges) - 1)[:len(edges) - 1]
                     for mi in m]) / np.where(counts > 0, counts, 1)
    return 0.5 * (edges[1:] + edges[:-1]), prof


def cumulative_fraction(maps: np.ndarray, bin_px: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Share of the total |attribution| inside each radius: (outer radius of each ring in px, fraction (N, R)).

    A mask of diameter ``2 r`` hides exactly this share of what the network used, which makes the curve directly
    comparable with the study's inner-masking sweeps."""
    m, r = _abs_and_radius(maps)
    n = len(m)
    edges = np.arange(bin_px, r.max() + bin_px, bin_px)
    total = m.reshape(n, -1).sum(1)
    frac = np.stack([(m * (r < e)[None]).reshape(n, -1).sum(1) for e in edges], axis=1)
    return edges, frac / np.where(total > 0, total, 1.0)[:, None]


def profiles_by_age(maps: np.ndarray, log_ages, bins=(6.0, 7.0, 8.0, 9.0, 10.5), bin_px: float = 2.0):
    """Radial |attribution| profiles (normalised to unit area per cluster) and cumulative fractions, averaged per
    age bin. Returns a long table: age_bin, radius_px, profile_mean, profile_sem, cumulative_mean, n."""
    import pandas as pd

    a = np.asarray(log_ages, float)
    r, prof = radial_profile(maps, bin_px)
    prof = prof / np.where(prof.sum(1, keepdims=True) > 0, prof.sum(1, keepdims=True), 1.0)
    edges, cum = cumulative_fraction(maps, bin_px)
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (a >= lo) & (a < hi)
        if not sel.any():
            continue
        k = int(sel.sum())
        for j in range(len(r)):
            rows.append({"age_bin": f"{lo:g}-{hi:g}", "radius_px": r[j], "outer_radius_px": edges[j],
                         "profile_mean": prof[sel, j].mean(),
                         "profile_sem": prof[sel, j].std(ddof=1) / np.sqrt(k) if k > 1 else 0.0,
                         "cumulative_mean": cum[sel, j].mean(), "n": k})
    return pd.DataFrame(rows)
