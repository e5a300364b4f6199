"""The context a chapter's notebook works in: its profile, its cutout file, its results store, and what it was
built with.

A notebook opens it once, after its parameters cell, and hands it down::

    ctx = page_context(profile, data, store, diameters=diameters, seeds=seeds, masking=masking)
    ctx.header()                                  # what this page was built with (profile, data, parameters)
    scores = ctx.run(chapter.experiments(ctx.settings))  # trains what the store lacks, one row per experiment
"""
from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import pandas as pd

from ..analysis.chapters.common import CHAPTER_PARAMETERS, PageSettings, page_settings
from ..engine.experiments import Experiment
from ..engine.profiles import Profile, settings_text
from ..paths import default_cutouts_path, default_store_path

__all__ = ["PageContext", "page_context", "SOURCE_DESCRIPTIONS", "glue_numbers", "glue_figure", "glue_table"]

#: How each data source is named on a page.
SOURCE_DESCRIPTIONS = {"mock": "the **mock PHANGS-HST survey** (synthetic data with known truth)",
                       "phangs": "real PHANGS-HST products", "study": "the study's own cutout file"}


@dataclasses.dataclass
class PageContext:
    """What a notebook needs: its settings, the cutout file, the store, and how to run and summarise.

    Create with :func:`page_context`.

    Attributes
    ----------
    settings : PageSettings
        The profile (with the page's seeds), the sweeps' masking method and the diameters shown.
    data_path : Path
        The cutout file.
    store_root : Path
        The results store.
    parameters : dict
        The notebook's parameters that differ from the profile's defaults (shown in :meth:`header`).
    """

    settings: PageSettings
    data_path: Path
    store_root: Path
    parameters: dict

    @property
    def profile(self) -> Profile:
        """The page's profile (:attr:`PageSettings.profile`)."""
        return self.settings.profile

    @property
    def data(self):
        """The cutout file, opened lazily (:class:`~clusterage_utils.survey.cutouts.CutoutFile`)."""
        from ..survey.cutouts import open_cutouts

        if not hasattr(self, "_data"):
            self._data = open_cutouts(self.data_path)
        return self._data

    @property
    def is_mock(self) -> bool:
        """Whether the data is the mock survey (figures then say so)."""
        return self.data.is_mock

    @property
    def store(self):
        """The results store (:class:`~clusterage_utils.engine.store.ResultsStore`)."""
        from ..engine.store import ResultsStore

        return ResultsStore(self.store_root)

    def run(self, experiments: list[Experiment], progress: bool = True) -> pd.DataFrame:
        """Train what the store lacks (on every core) and return the scores, one row per experiment."""
        from ..engine.execution import run_experiments

        return run_experiments(experiments, self.data_path, self.store_root, progress=progress)

    def summary(self, scores: pd.DataFrame, by=None) -> pd.DataFrame:
        """Mean, spread and 68 % interval over seeds per case (:func:`~clusterage_utils.metrics.summarise_seeds`);
        ``by`` adds grouping columns (e.g. ``("split",)``)."""
        from ..metrics import CASE_COLUMNS, summarise_seeds

        return summarise_seeds(scores, by=CASE_COLUMNS + tuple(by or ()))

    def numbers(self) -> dict[str, str]:
        """For prose: the page's ``profile`` name and its network's ``width_fraction`` of the study's filters
        (e.g. ``1/16``)."""
        return {"profile": self.profile.name, "width_fraction": f"1/{round(1 / self.profile.training.width)}"}

    def health_box(self, scores: pd.DataFrame, middle: str = "", after: str = ""):
        """The health of the page's trainings as a Markdown box
        (:func:`~clusterage_utils.analysis.health.health_box`)."""
        from IPython.display import Markdown

        from ..analysis.health import health_box, page_health

        return Markdown(health_box(page_health(scores), middle, after))

    def header(self):
        """A Markdown block: the profile, the data source and the parameters the page was built with (file names,
        never the builder's absolute paths), and a warning box on synthetic data."""
        from IPython.display import Markdown

        from .data_modes import calibration_note

        d = self.data
        src = SOURCE_DESCRIPTIONS.get(d.source, d.source)
        extra = ""
        if d.is_mock:
            params = json.loads(d.attrs.get("parameters", "{}")).get("mock") or {}
            extra = (f" (seed {params.get('seed')}, fraction {params.get('fraction')}, environment coupling "
                     f"{params.get('environment_coupling')})")
        p = ", ".join(f"`{k}={v!r}`" for k, v in self.parameters.items()) or "the profile's defaults"
        warn = ("\n\n```{admonition} Synthetic data\n:class: warning\nEvery figure and number on this page is "
                "built from the mock survey, not from real PHANGS-HST images. Compare *trends* with the study, "
                f"not values. {calibration_note()}\n```" if d.is_mock else "")
        t = self.profile.training
        seeds = f"{len(t.seeds)} seed" + ("s" if len(t.seeds) != 1 else "")
        amortised = self.profile.sweep_masking == "amortised" and t.amortised_passes > 1
        passes = f", {t.amortised_passes} passes per epoch" if amortised else ""
        prof = self.profile
        passes += "".join(f"; {what}: {settings_text(changes)}" for what, changes in
                          (("distance groups", prof.group_training), ("keep-centre sweeps", prof.keep_centre_training))
                          if changes)
        return Markdown(
            f"**Built with** profile `{self.profile.name}` (CNN width {t.width:g}"
            f"{f', dense layers ≥ {t.min_dense_units} units' if t.min_dense_units > 4 and t.width < 1 else ''}, "
            f"≤ {t.epochs} epochs, "
            f"{t.lr_schedule} learning rate {t.learning_rate:g}, {seeds}, "
            f"sweeps by {self.profile.sweep_masking} masking{passes}) on {src}{extra}: {d.n} clusters, "
            f"`{Path(self.data_path).name}`. "
            f"Parameters: {p}.{warn}")


def page_context(profile: str | Profile = "laptop", data: str | os.PathLike | None = None,
                 store: str | os.PathLike | None = None, make_data: bool = False, **parameters) -> PageContext:
    """Open the context of a chapter: bind its parameters once and find its data and store.

    Parameters
    ----------
    profile : str or Profile
        ``smoke``, ``laptop`` or ``paper``.
    data : path-like, optional
        A cutout file; default: the profile's mock survey (:func:`~clusterage_utils.paths.default_cutouts_path`).
    store : path-like, optional
        The results store; default :func:`~clusterage_utils.paths.default_store_path`.
    make_data : bool
        Make and curate the profile's mock survey if it does not exist yet (minutes, with a progress bar).
    **parameters
        The notebook's other parameters; those given (not None) are shown in :meth:`PageContext.header`, and
        :data:`~clusterage_utils.analysis.chapters.common.CHAPTER_PARAMETERS` among them are bound into
        :attr:`PageContext.settings`.

    Raises
    ------
    FileNotFoundError
        If the default mock survey is absent and ``make_data`` is False, saying how to make it.
    """
    from ..engine.runtime import prepare_environment

    prepare_environment()  # before anything imports TensorFlow: quiet log, oneDNN kernels on x86-64
    # Jupyter without ipywidgets: tqdm.auto falls back to text bars (fine) but warns on every page
    warnings.filterwarnings("ignore", message="IProgress not found")
    settings = page_settings(profile, **{k: v for k, v in parameters.items() if k in CHAPTER_PARAMETERS})
    name = settings.profile.name
    if data is not None:
        data_path = Path(data)
    else:
        data_path = default_cutouts_path(name)
        if not data_path.exists():
            if not make_data:
                raise FileNotFoundError(f"{data_path}: the {name} mock survey is not made yet; run "
                                        f"`clusterage book --profile {name}` or pass make_data=True")
            from ..survey.curation import ensure_default_cutouts

            data_path = ensure_default_cutouts(settings.profile)
    store_root = Path(store) if store else default_store_path(name, data)
    return PageContext(settings, data_path, store_root, {k: v for k, v in parameters.items() if v is not None})


def glue_numbers(values: dict, prefix: str = "") -> None:
    """Glue every value of ``values`` for the page's prose (``{glue:text}`prefix_name:.3f```), without displaying
    it. Numpy scalars become Python numbers, so format specs work."""
    from myst_nb import glue

    for k, v in values.items():
        if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            v = v.item()
        glue(f"{prefix}{k}", v, display=False)


def glue_figure(name: str, fig) -> None:
    """Glue a figure for a ``{glue:figure}`` block (numbered, captioned, referenced with ``{numref}``) and close
    it, so it appears once, where the prose puts it."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def glue_table(name: str, frame: pd.DataFrame, digits: int = 3) -> None:
    """Glue a table (rounded) for a ``{glue:figure}`` or ``{glue}`` block."""
    from myst_nb import glue

    glue(name, frame.round(digits), display=False)
