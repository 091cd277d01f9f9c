"""
Panels 1 and 2: the accuracy and the loss of training and test, against the step
================================================================================

CurvePanels keeps the figures fed to it and hands them to two lines per panel (a thin
training line, a thick test line) when refreshed; the loss panel's top follows the
loss (scales.loss_axis_top), the accuracy panel stays at 0-1 as in the original.
"""

from dashboard.scales import LOSS_TOP_AT_START, loss_axis_top

TRAIN_COLOUR, TEST_COLOUR = "#348ABD", "#E24A33"
TRAIN_LINE_WIDTH, TEST_LINE_WIDTH = 1.0, 2.5    # a thin training line, a thick test line
CURVE_PANELS = {1: ("accuracy", "lower right"), 2: ("loss", "upper right")}  # quantity, legend


class CurvePanels:
    """The curves of panels 1 and 2 and the figures behind them: `train` and `test`,
    each {"step": [...], "accuracy": [...], "loss": [...]}."""

    def __init__(self, axes):
        """axes: panel number -> its Axes, for panels 1 and 2."""
        self.axes = axes
        self.train = {"step": [], "accuracy": [], "loss": []}
        self.test = {"step": [], "accuracy": [], "loss": []}
        self.lines = {}                   # (panel, "train" or "test") -> its Line2D
        for panel, (quantity, legend_place) in CURVE_PANELS.items():
            self._build(panel, quantity, legend_place)
        axes[1].set_ylim(0.0, 1.0)
        axes[2].set_ylim(0.0, LOSS_TOP_AT_START)

    def _build(self, panel, quantity, legend_place):
        ax = self.axes[panel]
        self.lines[panel, "train"], = ax.plot([], [], color=TRAIN_COLOUR,
                                              lw=TRAIN_LINE_WIDTH, label=f"training {quantity}")
        self.lines[panel, "test"], = ax.plot([], [], color=TEST_COLOUR,
                                             lw=TEST_LINE_WIDTH, label=f"test {quantity}")
        ax.legend(loc=legend_place, fontsize="small").set_draggable(True)

    def artists(self, panel):
        """The moving artists of panel 1 or 2: its two lines."""
        return [artist for (place, _), artist in self.lines.items() if place == panel]

    def append(self, which, step, accuracy, loss):
        curves = self.train if which == "train" else self.test
        curves["step"].append(int(step))
        curves["accuracy"].append(float(accuracy))
        curves["loss"].append(float(loss))

    def ends(self):
        """The steps of the last two points (or the only one) of each curve."""
        return [(steps[-2:][0], steps[-1]) for steps in (self.train["step"], self.test["step"])
                if steps]

    def last_step(self):
        """The latest step with a figure, or None."""
        return max(self.train["step"][-1:] + self.test["step"][-1:], default=None)

    def max_test_accuracy(self):
        return max(self.test["accuracy"], default=0.0)

    def refresh(self, panels, ranges):
        """Hand the figures to the lines of `panels` (1, 2); fit the loss panel's top if
        it follows its data. Returns the panels whose y range changed."""
        for which, curves in (("train", self.train), ("test", self.test)):
            marker = "o" if len(curves["step"]) == 1 else "None"  # a lone point: a dot
            if 1 in panels:
                self.lines[1, which].set_data(curves["step"], curves["accuracy"])
                self.lines[1, which].set_marker(marker)
            if 2 in panels:
                self.lines[2, which].set_data(curves["step"], curves["loss"])
                self.lines[2, which].set_marker(marker)
        if 2 in panels and ranges.follows(2):
            top = loss_axis_top(self.train["step"] + self.test["step"],
                                self.train["loss"] + self.test["loss"],
                                self.axes[2].get_ylim()[1])
            if ranges.set_y(2, (0.0, top)):
                return {2}
        return set()
