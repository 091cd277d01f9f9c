"""When tune.py stops a trial: only when it is clearly behind the other trials.

A trial reports its training accuracy (the mean of its last few training lines) every
tenth of its run. From AFTER percent of the run on, it is stopped when that figure is
more than MARGIN below the median of the other trials' figures at the same point.

Why not Optuna's percentile or median pruners: they stop every trial that is in the
bottom part of the others at some point, even by a hair. On stage 5.1's search the
figures of the middle of a run said little about its end: the 22 trials of 30 that
the percentile pruner (bottom quarter, from half-way) had stopped ended, when run to
the end, as well as the 8 it kept (benchmarks/README.md, "Stage 5.1, tuned"). A trial
far behind (a learning rate that diverges, a network too small) is still stopped early.

    pruner = BehindPruner(margin=0.02, after=30)    # optuna.create_study(pruner=pruner)
"""
import statistics

import optuna

MARGIN = 0.02  # training accuracy below the others' median that stops a trial
AFTER = 30  # percent of the run before which no trial is stopped
STARTUP = 5  # trials with a figure at that point before any is stopped


class BehindPruner(optuna.pruners.BasePruner):
    """Optuna pruner: stop a trial whose last figure is more than `margin` below the median
    of the other trials' figures at the same step, from step `after` on, once `startup`
    other trials have one. Works on any Optuna storage (it reads only the study's
    trials), so several machines sharing a study share its decisions."""

    def __init__(self, margin=MARGIN, after=AFTER, startup=STARTUP):
        if margin < 0 or startup < 1:
            raise ValueError(f"margin must be >= 0 and startup >= 1, not {margin}, {startup}")
        self.margin, self.after, self.startup = margin, after, startup

    def others_median(self, study, trial, step):
        """The median of the other trials' figures at `step` (None: fewer than `startup`)."""
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                  optuna.trial.TrialState.RUNNING)
        figures = [other.intermediate_values[step]
                   for other in study.get_trials(deepcopy=False, states=states)
                   if other.number != trial.number and step in other.intermediate_values]
        return statistics.median(figures) if len(figures) >= self.startup else None

    def prune(self, study, trial):
        step = trial.last_step
        if step is None or step < self.after:
            return False
        median = self.others_median(study, trial, step)
        return median is not None and trial.intermediate_values[step] < median - self.margin
