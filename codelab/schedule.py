"""Where each stretch of training ends: at the next figures or checkpoint, in short stretches while a window is live, at the step the workers agree on."""

import math

from codelab import runstate

MAX_STRETCH_SECONDS = 0.25  # with a window: the longest training without answering it


class Schedule:
    """The stretches of a run from first_step to last_step, cut at the steps with
    figures (cadence: a codelab.cadence.Cadence) and the checkpoints."""

    def __init__(self, cadence, last_step, dashboard, agree_on_stretch=None):
        self.cadence, self.last_step = cadence, last_step
        self.dashboard, self.agree_on_stretch = dashboard, agree_on_stretch

    def stretch_end(self, step, stop_asked, seconds_per_step):
        """Where the next stretch of training ends: the next step with figures (or a
        checkpoint); with a live dashboard, in equal stretches of at most
        MAX_STRETCH_SECONDS, so that the window keeps answering and the pictures keep
        coming. None at the last step, or when a stop was asked for (in a distributed
        run: by any worker; every worker then stops at the same step)."""
        if step >= self.last_step:
            return None
        every = runstate.CHECKPOINT_EVERY
        end = min(self.cadence.next_step, (step // every + 1) * every)
        if self.dashboard.live:
            most = max(1, int(MAX_STRETCH_SECONDS / seconds_per_step))  # steps a call
            end = step + math.ceil((end - step) / math.ceil((end - step) / most))
        if self.agree_on_stretch:
            stop_asked, end = self.agree_on_stretch(stop_asked, end)
        return None if stop_asked else end
