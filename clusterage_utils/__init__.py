"""clusterage_utils: the helper package behind the *clusterage* executable book.

The names a notebook or a user needs are importable from the package itself (loaded on first use, so
``import clusterage_utils`` stays light and never imports TensorFlow)::

    from clusterage_utils import open_cutouts, Experiment, run_experiments, ResultsStore, get_profile

Modules, named after concepts:

shared      :mod:`.constants` (bands, pixel scale, cutout size, photometric aperture), :mod:`.sweeps` (mask kinds
            and the masking sweep)
data        :mod:`.reference` (shipped tables), :mod:`.study` (the study's released runs, real data),
            :mod:`.mock` (the mock PHANGS-HST survey), :mod:`.photometry`, :mod:`.products`, :mod:`.fetch`,
            :mod:`.curation`, :mod:`.cutouts` (the cutout file), :mod:`.paths` (default locations)
engine      :mod:`.profiles`, :mod:`.experiments`, :mod:`.preprocessing`, :mod:`.inputs`, :mod:`.model`,
            :mod:`.recipe`, :mod:`.training`, :mod:`.runtime`, :mod:`.metrics`, :mod:`.store`,
            :mod:`.execution`, :mod:`.health`
analysis    :mod:`.attribution`, :mod:`.chapters` (one module per chapter, and the page settings they share),
            :mod:`.plotting` (figures)
the book    :mod:`.page` (a chapter's context), :mod:`.build`, :mod:`.cost`, :mod:`.compute_page`, :mod:`.browser`,
            :mod:`.cli`

Vocabulary: a **mask kind** (:class:`~.sweeps.MaskKind`: ``none``, ``mask_centre`` = inner masking,
``keep_centre`` = outer masking) says which pixels are hidden; a **sweep** (:class:`~.sweeps.Sweep`) is one kind over
diameters; a **masking method** (``retrain``, ``amortised``) says how a sweep of diameters is trained; a **diameter**
always comes with its ``diameter_unit`` (``px`` or ``pc``). Importing the package sets nothing: the entry points
(the CLI, :func:`page_context`, :func:`build_book`) prepare TensorFlow's environment
(:func:`~.runtime.prepare_environment`).
"""
from __future__ import annotations

import importlib as _importlib

from .constants import BANDS, PIXEL_SCALE_ARCSEC, __version__

#: Public names and the module each lives in (imported on first access).
_API = {
    "open_cutouts": "cutouts", "CutoutFile": "cutouts", "CutoutFileError": "cutouts",
    "curate": "curation", "CurationConfig": "curation", "ensure_default_cutouts": "curation",
    "make_mock_survey": "mock", "MockSurveyConfig": "mock",
    "Experiment": "experiments", "case_experiments": "experiments", "masking_sweep": "experiments",
    "parse_case": "experiments",
    "Profile": "profiles", "TrainingSettings": "profiles", "get_profile": "profiles", "PROFILES": "profiles",
    "run_experiments": "execution", "ResultsStore": "store", "StoreError": "store",
    "train_experiment": "training",
    "scatter_dex": "metrics", "null_scatter_dex": "metrics", "predictive_power_pct": "metrics",
    "summarise_seeds": "metrics", "paired_difference": "metrics",
    "health_report": "health", "health_summary": "health",
    "study_predictions": "study", "study_case_scores": "study", "study_significance": "study",
    "page_context": "page", "PageContext": "page",
    "chapter_experiments": "chapters", "build_book": "build",
    "galaxies": "reference", "study_scatter": "reference",
}

__all__ = ["BANDS", "PIXEL_SCALE_ARCSEC", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(_importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'clusterage_utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
