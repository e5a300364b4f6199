"""clusterage_utils: the helper package behind the *clusterage* executable book.

The names a notebook or a user needs are importable from the package itself (loaded on first use, so
``import clusterage_utils`` stays light and never imports TensorFlow)::

    from clusterage_utils import open_cutouts, Experiment, run_experiments, ResultsStore, get_profile

Four layers, each a subpackage that imports only from the layers below it (and from the shared modules):

``survey``    the data: :mod:`~clusterage_utils.survey.reference` (shipped tables), :mod:`~clusterage_utils.survey.mock`
              (the mock PHANGS-HST survey), :mod:`~clusterage_utils.survey.photometry`,
              :mod:`~clusterage_utils.survey.products`, :mod:`~clusterage_utils.survey.fetch`,
              :mod:`~clusterage_utils.survey.curation`, :mod:`~clusterage_utils.survey.cutouts` (the cutout file)
``engine``    training: :mod:`~clusterage_utils.engine.profiles`, :mod:`~clusterage_utils.engine.experiments`,
              :mod:`~clusterage_utils.engine.preprocessing`, :mod:`~clusterage_utils.engine.inputs` and its pipelines
              (:mod:`~clusterage_utils.engine.tfdata`, :mod:`~clusterage_utils.engine.resident`,
              :mod:`~clusterage_utils.engine.fitting`), :mod:`~clusterage_utils.engine.model`,
              :mod:`~clusterage_utils.engine.recipe`, :mod:`~clusterage_utils.engine.training`,
              :mod:`~clusterage_utils.engine.runtime` (backend, device), :mod:`~clusterage_utils.engine.store`,
              :mod:`~clusterage_utils.engine.execution`
``analysis``  :mod:`~clusterage_utils.analysis.study` (the study's released runs, real data),
              :mod:`~clusterage_utils.analysis.health`, :mod:`~clusterage_utils.analysis.attribution`,
              :mod:`~clusterage_utils.analysis.chapters` (one module per chapter),
              :mod:`~clusterage_utils.analysis.plotting` (figures), :mod:`~clusterage_utils.analysis.preview`
``book``      :mod:`~clusterage_utils.book.page` (a chapter's context), :mod:`~clusterage_utils.book.build`,
              :mod:`~clusterage_utils.book.cost`, :mod:`~clusterage_utils.book.compute_page`,
              :mod:`~clusterage_utils.book.browser`
shared        :mod:`.constants` (bands, pixel scale, cutout size, photometric aperture), :mod:`.sweeps` (mask kinds
              and the masking sweep), :mod:`.metrics` (scores), :mod:`.paths` (default locations); :mod:`.cli` on top

Vocabulary: a **mask kind** (:class:`~.sweeps.MaskKind`: ``none``, ``mask_centre`` = inner masking,
``keep_centre`` = outer masking) says which pixels are hidden; a **sweep** (:class:`~.sweeps.Sweep`) is one kind over
diameters; a **masking method** (``retrain``, ``amortised``) says how a sweep of diameters is trained; a **diameter**
always comes with its ``diameter_unit`` (``px`` or ``pc``). Importing the package sets nothing: the entry points
(the CLI, :func:`page_context`, :func:`build_book`) prepare TensorFlow's environment
(:func:`~clusterage_utils.engine.runtime.prepare_environment`).
"""
from __future__ import annotations

import importlib as _importlib

from .constants import BANDS, PIXEL_SCALE_ARCSEC, __version__

#: Public names by the module each lives in (imported on first access).
_MODULES = {
    "survey.cutouts": ("open_cutouts", "CutoutFile", "CutoutFileError"),
    "survey.curation": ("curate", "CurationConfig", "ensure_default_cutouts"),
    "survey.mock": ("make_mock_survey", "MockSurveyConfig"),
    "survey.reference": ("galaxies", "study_scatter"),
    "engine.experiments": ("Experiment", "case_experiments", "masking_sweep", "parse_case"),
    "engine.profiles": ("Profile", "TrainingSettings", "get_profile", "PROFILES"),
    "engine.execution": ("run_experiments",),
    "engine.store": ("ResultsStore", "StoreError"),
    "engine.training": ("train_experiment",),
    "metrics": ("scatter_dex", "null_scatter_dex", "predictive_power_pct", "summarise_seeds", "paired_difference"),
    "analysis.health": ("health_report", "health_summary"),
    "analysis.study": ("study_predictions", "study_case_scores", "study_significance"),
    "analysis.chapters": ("chapter_experiments",),
    "book.page": ("page_context", "PageContext"),
    "book.build": ("build_book",),
}
#: Each public name and its module.
_API = {name: module for module, names in _MODULES.items() for name in names}

__all__ = ["BANDS", "PIXEL_SCALE_ARCSEC", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(_importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'clusterage_utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
