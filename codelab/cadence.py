"""Which steps get figures: training figures, test figures, and more tests early when the curves are drawn."""

import math


def figure_flags(step, last_step, train_every, test_every, more_tests_every=None):
    """(training figures?, test figures?) at `step`.

    Training figures every train_every steps, test figures every test_every steps,
    both at the last step. more_tests_every adds test figures every more_tests_every
    steps during the first test_every steps.
    """
    last = step == last_step
    train = step % train_every == 0 or last
    test = step % test_every == 0 or last
    if more_tests_every and step < test_every:
        test = test or step % more_tests_every == 0
    return train, test


def figure_steps(first_step, last_step, train_every, test_every, more_tests_every=None):
    """The steps from first_step to last_step with figures (figure_flags), in order, each
    found when it is asked for: a run of 10**12 steps starts at once all the same."""
    step = first_step
    while step <= last_step:
        if any(figure_flags(step, last_step, train_every, test_every, more_tests_every)):
            yield step
        following = [next_multiple(step, train_every), next_multiple(step, test_every)]
        if more_tests_every and step < test_every:
            following.append(next_multiple(step, more_tests_every))
        step = min(*following, last_step if step < last_step else last_step + 1)


def count_figure_steps(first_step, last_step, train_every, test_every, more_tests_every=None):
    """How many steps figure_steps() gives, counted without going through them."""
    def flags(step):
        return figure_flags(step, last_step, train_every, test_every, more_tests_every)

    # The first test_every steps one by one (more_tests_every counts only there) ...
    early_end = min(last_step, test_every - 1) if more_tests_every else first_step - 1
    count = sum(1 for step in range(first_step, early_end + 1) if any(flags(step)))
    # ... the others: multiples of train_every or test_every, and the last step.
    low = max(first_step, early_end + 1)

    def multiples(every):  # of `every` from low to last_step
        return max(0, last_step // every - (low - 1) // every)

    count += (multiples(train_every) + multiples(test_every)
              - multiples(math.lcm(train_every, test_every)))
    if low <= last_step and last_step % train_every and last_step % test_every:
        count += 1
    return count


def next_multiple(step, every):
    return (step // every + 1) * every


class Cadence:
    """The steps with figures of one run, met in order as training reaches them."""

    def __init__(self, first_step, last_step, train_every, test_every, more_tests_every=None):
        self.steps = (first_step, last_step, train_every, test_every, more_tests_every)
        self.count = count_figure_steps(*self.steps)
        self._coming = figure_steps(*self.steps)
        self.next_step = next(self._coming)  # the next step with figures, or None

    def reached(self, step):
        """(training figures?, test figures?) on reaching `step`: those of every step with
        figures up to `step` that was not reached yet (fit with steps_per_execution can
        step over some); (False, False) before the next step with figures."""
        train = test = False
        while self.next_step is not None and self.next_step <= step:
            due_train, due_test = figure_flags(self.next_step, *self.steps[1:])
            train, test = train or due_train, test or due_test
            self.next_step = next(self._coming, None)
        return train, test
