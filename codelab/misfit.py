"""A stage's function called with arguments its definition does not take: TensorFlow's TypeError rewritten to name it."""

import contextlib
import inspect
import re
from pathlib import Path

from codelab.errors import TrainingError

_MISFIT_CALL = re.compile(r"(?:tf__)?(\w+)\(\) (takes .*? given|got an unexpected keyword "
                          r"argument '\w+'|missing \d+ required .*?argument.*?: [^\n]*)")
_USER_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\w+)[ *]*\n\s*(.*)')


@contextlib.contextmanager
def stage_functions_named(model):
    """A stage's function called with arguments its definition does not take (model(X,
    training) where the stage still says def model(X)) fails while TensorFlow traces it,
    with a TypeError that names autograph's copy of the function. Say instead which
    function of the stage, defined where and how, was called where and how."""
    try:
        yield
    except TypeError as error:
        message = str(error)
        misfit = _MISFIT_CALL.search(message)
        model = getattr(model, "python_function", model)
        function = None
        if misfit:  # the stage's function of that name (the model may be called so)
            function = model.__globals__.get(misfit.group(1))
            function = model if function is None and model.__name__ == misfit.group(1) else function
        function = getattr(function, "python_function", function)
        if not callable(function) or not hasattr(function, "__code__"):
            raise
        name, code = misfit.group(1), function.__code__
        definition = f"def {name}{inspect.signature(function)}"
        callers = _USER_FRAME.findall(message)
        where = ""
        if callers:
            path, line, caller, source = callers[-1]
            where = f" by {caller}() ({Path(path).name}, line {line}: {source.strip()})"
        raise TrainingError(
            f"{name}() was called{where} with arguments its definition does not take: "
            f"{name}() {misfit.group(2)}. It is defined as `{definition}` "
            f"({Path(code.co_filename).name}, line {code.co_firstlineno}). Give the "
            f"definition the arguments its callers pass (a stage with dropout: "
            f"def model(X, training=False), as in stage 2.2), or call it as it is defined."
        ) from None
