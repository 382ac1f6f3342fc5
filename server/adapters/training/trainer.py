"""The AutoML engine as the Trainer port: training in a worker thread, events to the loop.

Threads, not processes: the engine's heavy loops (LightGBM, forests, histogram boosting)
release the GIL, so the event loop keeps heart-beating and streaming (docs/automl.md); a
thread also dies with its worker, which is what crash detection expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

import automl
from domain.model.experiments import ProblemType
from domain.model.runs import EnsembleMember, RunMetrics
from domain.ports import (
    TrainingCanceled,
    TrainingEvent,
    TrainingFailed,
    TrainingJob,
    TrainingOutcome,
)
from server.adapters.artifacts.private import FILE_MODE, private_dir
from server.adapters.artifacts.store import LocalArtifactStore
from server.adapters.artifacts.tables import CSV_ENCODING
from server.adapters.training.events import training_event

log = logging.getLogger(__name__)
STOP_POLL_SECONDS = 0.1  # how soon a stop request (a cancel) reaches the engine


class AutoMLTrainer:
    """Loads the dataset, runs `automl.run_automl`, saves the fitted model as an artifact."""

    def __init__(
        self, files: LocalArtifactStore, concurrency: int = 1, holidays: str | None = None
    ) -> None:
        self._files = files  # datasets, model files and the tracking server
        self._holidays = holidays
        self._tracking_uri = files.tracking_uri
        self._tracking_artifacts_root = files.tracking_artifacts_root
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="training")
        self._stops: set[threading.Event] = set()  # one per training in flight
        self._abandoned = threading.Event()

    async def train(
        self,
        job: TrainingJob,
        on_event: Callable[[TrainingEvent], Awaitable[None]],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[TrainingEvent] = asyncio.Queue()
        stop = threading.Event()

        def callback(event: automl.EngineEvent) -> None:
            converted = training_event(event)
            try:
                loop.call_soon_threadsafe(events.put_nowait, converted)
            except RuntimeError:  # the loop is closed: nobody is listening, so stop
                stop.set()

        self._stops.add(stop)
        try:
            return await self._follow(job, events, callback, stop, on_event, should_stop)
        except BaseException:
            stop.set()  # cancelled (shutdown): the thread must not train on to the budget's end
            raise
        finally:
            self._stops.discard(stop)

    async def _follow(
        self,
        job: TrainingJob,
        events: asyncio.Queue[TrainingEvent],
        callback: Callable[[automl.EngineEvent], None],
        stop: threading.Event,
        on_event: Callable[[TrainingEvent], Awaitable[None]],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        """Start the training thread and relay its events until it ends."""
        loop = asyncio.get_running_loop()
        training = loop.run_in_executor(
            self._executor, self._train_blocking, job, callback, stop.is_set
        )
        failure: BaseException | None = None
        while True:
            getting = asyncio.ensure_future(events.get())
            waiting: set[asyncio.Future[Any]] = {getting, training}
            await asyncio.wait(waiting, timeout=STOP_POLL_SECONDS, return_when="FIRST_COMPLETED")
            pending = [getting.result()] if getting.done() else []
            if not getting.done():
                getting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getting
            if training.done():
                while not events.empty():
                    pending.append(events.get_nowait())
            for event in pending:
                if failure is None:
                    try:
                        await on_event(event)
                    except Exception as exc:  # e.g. a stale attempt: stop, then re-raise
                        failure = exc
                        stop.set()
            if should_stop():
                stop.set()
            if training.done():
                break
        if failure is not None:
            with contextlib.suppress(Exception):
                training.result()
            raise failure
        return training.result()

    def _train_blocking(
        self,
        job: TrainingJob,
        callback: Callable[[automl.EngineEvent], None],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        frame = self._load(job)
        problem = job.problem_type.value.lower()
        config = job.config
        options: dict[str, Any] = {}
        if job.problem_type is ProblemType.FORECASTING:
            X, y = frame, None
            options["forecast"] = automl.ForecastConfig(
                series_id=config.series_id,
                date=config.date_column or job.date_column or "date",
                horizon=config.horizon,
                target=job.target,
            )
        elif job.problem_type is ProblemType.CLUSTERING:
            X, y = frame, None
        else:
            X, y = frame.drop(columns=[job.target]), frame[job.target]
        tracker = _UnlessAbandoned(
            automl.create_tracker(
                self._files.tracking_experiment(job.account_id, job.experiment_name),
                self._tracking_uri,
                artifact_root=self._tracking_artifacts_root,
            ),
            lambda: self._abandoned.is_set() or should_stop(),
        )
        try:
            result = automl.run_automl(
                X,
                y,
                problem,
                budget=automl.Budget(
                    max_trials=config.max_trials, timeout_seconds=config.timeout_seconds
                ),
                method=config.method.value.lower(),
                algorithms=list(config.algorithms) if config.algorithms else None,
                cv_folds=config.cv_folds,
                seed=config.seed,
                metric=job.metric,
                callback=callback,
                should_stop=should_stop,
                tracker=tracker,
                dataset_info={"name": job.dataset_name, "run_id": job.run_id},
                holidays=self._holidays,
                **options,
            )
        except automl.Cancelled as exc:
            raise TrainingCanceled(str(exc)) from exc
        except (automl.InvalidDataError, automl.TrainingFailed) as exc:
            raise TrainingFailed(str(exc)) from exc
        if self._abandoned.is_set():
            raise TrainingCanceled("the worker is stopping; the attempt is handed back")
        metrics = _run_metrics(result)
        if should_stop():
            # Canceled (or the attempt was lost) while the engine wrapped up: no model is
            # wanted, so no artifact and no tracking; the best score so far stays on the run.
            raise TrainingCanceled("stopped on request", metrics=metrics)
        artifact_key = self._files.model_key(job.account_id, job.run_id, job.attempt)
        model_file = self._files.path(artifact_key)
        private_dir(model_file.parent)
        automl.save_model(result, model_file)
        model_file.chmod(FILE_MODE)
        if result.tracking_error:
            log.warning("MLflow tracking failed: %s", result.tracking_error)
        return TrainingOutcome(
            metrics=metrics,
            feature_importances=dict(result.feature_importances or {}) or None,
            input_schema=dict(result.input_schema),
            artifact_key=artifact_key,
            mlflow_run_id=result.mlflow_run_id,
        )

    def _load(self, job: TrainingJob) -> pd.DataFrame:
        path = self._files.path(job.dataset_key)
        try:
            frame = pd.read_csv(path, encoding=CSV_ENCODING, low_memory=False)
        except FileNotFoundError as exc:
            raise TrainingFailed(f"The dataset file of {job.dataset_name!r} is missing.") from exc
        return typed_table(frame, job.column_types or {})

    def abandon(self) -> None:
        """The worker is stopping: every training stops at its next check and skips its
        wrap-up (MLflow logging takes seconds to minutes, the artifact is not wanted)."""
        self._abandoned.set()
        for stop in list(self._stops):
            stop.set()

    def close(self) -> None:
        self.abandon()
        self._executor.shutdown(wait=False, cancel_futures=True)


_TRUE_WORDS = frozenset({"true", "1", "yes"})


def typed_table(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The table with each column coerced to the dtype its upload profile found (integer,
    float, boolean, datetime, string): dates become ``datetime64`` (so the engine makes
    calendar features of them), strings stay text even when they look like numbers."""
    out = frame.copy()
    for name, kind in types.items():
        if name not in out.columns:
            continue
        values = out[name]
        if kind == "datetime":
            parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
            out[name] = parsed.dt.tz_localize(None)
        elif kind in ("integer", "float") and not pd.api.types.is_numeric_dtype(values.dtype):
            out[name] = pd.to_numeric(values, errors="coerce")
        elif kind == "boolean" and not pd.api.types.is_bool_dtype(values.dtype):
            present = values.notna()
            lowered = values.astype(str).str.strip().str.lower()
            out[name] = lowered.isin(_TRUE_WORDS).astype(object).where(present, None)
        elif kind == "string":
            out[name] = values.astype(object).where(values.isna(), values.astype(str))
    return out


class _UnlessAbandoned:
    """The engine's tracker, skipped once the trainer is abandoned or the training stopped
    (a canceled run registers no model: MLflow logging would only delay the cancel)."""

    def __init__(self, tracker: Any, skip: Callable[[], bool]) -> None:
        self._tracker = tracker
        self._skip = skip

    def track(self, result: automl.AutoMLResult, dataset_info: dict[str, Any]) -> str | None:
        if self._skip():
            return None
        return self._tracker.track(result, dataset_info)


def _run_metrics(result: automl.AutoMLResult) -> RunMetrics:
    """The engine's result in the domain's words: the delivered model is the ensemble's
    members, or the best trial alone."""
    by_number = {t.number: t for t in result.leaderboard}
    if result.ensemble is not None:
        members = tuple(
            EnsembleMember(
                trial_number=number,
                algorithm=by_number[number].algorithm if number in by_number else "",
                weight=float(weight),
                score=by_number[number].cv_score if number in by_number else None,
            )
            for number, weight in zip(result.ensemble.members, result.ensemble.weights, strict=True)
        )
    else:
        best = result.best_trial
        members = (EnsembleMember(best.number, best.algorithm, 1.0, best.cv_score),)
    return RunMetrics(
        metric=result.metric,
        cv_score=result.cv_score,
        best_algorithm=result.best_model_name,
        trials=len(result.leaderboard),
        stopped_reason=result.stopped_reason,
        cv=dict(result.cv_metrics),
        test=dict(result.test_metrics),
        ensemble=result.ensemble is not None,
        members=members,
    )


class AutoMLModelStore:
    """Predictions from stored artifacts; loaded models are kept (LRU) for the next call."""

    def __init__(self, files: LocalArtifactStore, capacity: int = 16) -> None:
        self._files = files
        self._capacity = capacity
        self._loaded: dict[str, automl.Predictor] = {}
        self._lock = asyncio.Lock()

    async def predict(self, artifact_key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        predictor = await self._predictor(artifact_key)
        try:
            return await asyncio.to_thread(predictor.predict, rows or None)
        except (automl.InvalidDataError, ValueError) as exc:
            from domain.errors import InvalidInput

            raise InvalidInput(f"The rows could not be scored: {exc}", "rows") from exc

    async def _predictor(self, artifact_key: str) -> automl.Predictor:
        async with self._lock:
            predictor = self._loaded.pop(artifact_key, None)
            if predictor is None:
                predictor = await asyncio.to_thread(
                    automl.load_model, self._files.path(artifact_key)
                )
            self._loaded[artifact_key] = predictor  # most recent last
            while len(self._loaded) > self._capacity:
                self._loaded.pop(next(iter(self._loaded)))
            return predictor
