"""A SavedModel as TensorFlow Serving's REST API shows it: its status, its metadata and
its predictions, as the JSON objects TF Serving answers with. serve.py puts it on HTTP
(codelab/restapi.py); nothing here knows about HTTP but the status code of a refusal.

    model = ServedModel.load(locate("models/3.1"), name="mnist")   # raise ModelError
    model.status()      # {"model_version_status": [{"version": "1", "state": "AVAILABLE", ...}]}
    model.metadata()    # {"model_spec": {...}, "metadata": {"signature_def": {...}}}
    model.predict(body) # body: the request's bytes -> {"predictions": ...} or {"outputs": ...}
                        # raises BadRequest naming what is wrong

The request formats (TF Serving's "row" and "columnar" formats):
    {"signature_name": "serving_default", "instances": [image, image, ...]}
        each instance is one input's value, or {"input name": value, ...}
        -> {"predictions": [probabilities, ...]} (one output), or [{"output name": value}, ...]
    {"inputs": batch} or {"inputs": {"input name": batch, ...}}
        -> {"outputs": batch} (one output), or {"outputs": {"output name": batch, ...}}
"""

import json
from pathlib import Path

import numpy as np

from codelab import runfolder

DEFAULT_SIGNATURE = "serving_default"


class ModelError(Exception):
    """The model cannot be served; the message says why and what to do."""


class BadRequest(Exception):
    """A request this model cannot answer: `status` is the HTTP status (400 or 404), the
    message says what is wrong, in words a client's author can act on."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def locate(model_dir):
    """The SavedModel folder that model_dir names (runfolder.find_saved_model), found
    before TensorFlow loads; ModelError if there is none."""
    path = runfolder.find_saved_model(model_dir)
    above = runfolder.saved_model_above(model_dir) if path is None else None
    if above is not None:
        raise ModelError(f"no saved model in {model_dir}, but in the folder above it: "
                         f"--model {above}")
    if path is None:
        raise ModelError(f"no saved model in {model_dir}: train a stage with --save-model "
                         f"first, e.g. python3 mnist_1.0_softmax.py --save-model models/1.0, "
                         f"then: python3 serve.py --model models/1.0")
    return path


class ServedModel:
    """One SavedModel version, loaded, with the JSON views TF Serving gives of it."""

    def __init__(self, name, path, loaded, signature_defs):
        self.name = name
        self.path = Path(path)
        # TF Serving's version is the folder's number; a SavedModel outside one: 1
        self.version = int(self.path.name) if self.path.name.isdigit() else 1
        self.loaded = loaded  # tf.saved_model.load's object: it keeps the variables alive
        self.signatures = dict(loaded.signatures)  # {name: tf ConcreteFunction}
        self.signature_defs = signature_defs  # {name: SignatureDef as JSON}, as in saved_model.pb

    @classmethod
    def load(cls, path, name):
        """Load the SavedModel in `path` (a folder that locate() found)."""
        import tensorflow as tf
        try:
            loaded = tf.saved_model.load(str(path))
            signature_defs = read_signature_defs(path)
        except Exception as error:  # a damaged SavedModel: TensorFlow raises many kinds
            raise ModelError(f"cannot load the model in {path} ({type(error).__name__}: "
                             f"{str(error).strip()[:300]})") from None
        if not loaded.signatures:
            raise ModelError(f"the SavedModel in {path} has no signature to serve: save it "
                             f"with signatures (a stage's --save-model does)")
        return cls(name, path, loaded, signature_defs)

    # -------------------------------------------------------------- GET answers

    def status(self):
        return {"model_version_status": [{
            "version": str(self.version), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self):
        return {"model_spec": {"name": self.name, "signature_name": "",
                               "version": str(self.version)},
                "metadata": {"signature_def": {"signature_def": self.signature_defs}}}

    def check_version(self, version):
        """A version named in the address must be the one served (TF Serving: 404)."""
        if version is not None and int(version) != self.version:
            raise BadRequest(f"model {self.name!r} has no version {version}: this server "
                             f"serves version {self.version}", status=404)

    # -------------------------------------------------------------- predict

    def predict(self, body):
        """The answer to a :predict request whose body is `body` (bytes), as a dict."""
        request = parse_json_object(body)
        signature_name = request.get("signature_name", DEFAULT_SIGNATURE)
        if not isinstance(signature_name, str):
            raise BadRequest('"signature_name" must be a string')
        function = self.signatures.get(signature_name)
        if function is None:
            raise BadRequest(f"no signature {signature_name!r} in model {self.name!r}; it has: "
                             + ", ".join(sorted(self.signatures)))
        input_specs = function.structured_input_signature[1]  # {name: TensorSpec}
        unknown = set(request) - {"signature_name", "instances", "inputs"}
        if unknown:
            raise BadRequest(f"unknown key {sorted(unknown)[0]!r} in the request: it takes "
                             f'"instances" (row format) or "inputs" (columnar format), and '
                             f'optionally "signature_name"')
        if ("instances" in request) == ("inputs" in request):
            raise BadRequest('the request needs exactly one of "instances" (a list, one item '
                             'per example) and "inputs" (the batch of each input)')
        rows = "instances" in request
        batches = (instances_to_batches(request["instances"], input_specs) if rows
                   else inputs_to_batches(request["inputs"], input_specs))
        for name, value in batches.items():
            if value == []:
                raise BadRequest(f"no examples: input {name!r} is an empty list")
        arrays = {name: to_array(value, name, input_specs[name]) for name, value in batches.items()}
        import tensorflow as tf
        try:
            outputs = function(**{name: tf.constant(array) for name, array in arrays.items()})
        except tf.errors.InvalidArgumentError as error:  # e.g. inputs of different batch sizes
            raise BadRequest(f"the model cannot take these inputs ({error.message.strip()[:300]})"
                             ) from None
        outputs = {name: tensor.numpy() for name, tensor in outputs.items()}
        if not rows:
            values = {name: value.tolist() for name, value in outputs.items()}
            return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
        count = next(iter(outputs.values())).shape[0]
        if len(outputs) == 1:
            return {"predictions": next(iter(outputs.values())).tolist()}
        return {"predictions": [{name: value[i].tolist() for name, value in outputs.items()}
                                for i in range(count)]}


# ------------------------------------------------------------------ reading requests

def parse_json_object(body):
    """bytes -> dict; BadRequest if it is not a JSON object (NaN and Infinity are not JSON)."""
    def refuse_constant(name):
        raise BadRequest(f"{name} in the request: JSON has no NaN or Infinity, send numbers")

    try:
        request = json.loads(body, parse_constant=refuse_constant)
    except BadRequest:
        raise
    except RecursionError:
        raise BadRequest("the request body is nested too deeply to be read") from None
    except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
        raise BadRequest(f"the request body is not JSON ({error})") from None
    if not isinstance(request, dict):
        raise BadRequest('the request body must be a JSON object: {"instances": [...]} or '
                         '{"inputs": ...}')
    return request


def instances_to_batches(instances, input_specs):
    """Row format: a list of examples -> {input name: list of that input's values}."""
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be a list, one item per example')
    if not instances:
        raise BadRequest('no instances: "instances" is an empty list')
    named = [isinstance(instance, dict) for instance in instances]
    if any(named) and not all(named):
        raise BadRequest('"instances" mixes objects (named inputs) and plain values')
    if not all(named):
        return {only_input(input_specs, '"instances"'): instances}
    for number, instance in enumerate(instances):
        check_input_names(instance, input_specs, f"instance {number}")
    return {name: [instance[name] for instance in instances] for name in input_specs}


def inputs_to_batches(inputs, input_specs):
    """Columnar format: one input's batch, or {input name: batch}."""
    if isinstance(inputs, dict):
        check_input_names(inputs, input_specs, '"inputs"')
        return inputs
    return {only_input(input_specs, '"inputs"'): inputs}


def only_input(input_specs, where):
    if len(input_specs) != 1:
        raise BadRequest(f"{where}: this signature has {len(input_specs)} inputs "
                         f"({', '.join(sorted(input_specs))}): name each one in an object")
    return next(iter(input_specs))


def check_input_names(given, input_specs, where):
    missing, unknown = set(input_specs) - set(given), set(given) - set(input_specs)
    if missing or unknown:
        problem = (f"there is no input {sorted(unknown)[0]!r}" if unknown
                   else f"input {sorted(missing)[0]!r} is missing")
        raise BadRequest(f"{where}: {problem}; the signature's inputs are "
                         + ", ".join(sorted(input_specs)))


def to_array(value, name, spec):
    """A JSON value -> numpy array of the input's type and shape, or BadRequest."""
    expected = [-1 if size is None else size for size in spec.shape.as_list()]
    try:
        array = np.asarray(value)
    except ValueError:  # lists of different lengths
        raise BadRequest(f"input {name!r}: the nested lists do not all have the same length; "
                         f"it takes a tensor of shape {expected}") from None
    if array.dtype.kind not in "iuf":
        what = {"b": "true/false", "U": "text", "O": "null or mixed values"}.get(array.dtype.kind,
                                                                                "values")
        raise BadRequest(f"input {name!r} holds {what}, where it takes numbers "
                         f"({spec.dtype.name})")
    if not spec.dtype.is_floating and array.dtype.kind == "f":
        raise BadRequest(f"input {name!r} takes whole numbers ({spec.dtype.name})")
    with np.errstate(over="ignore"):
        array = array.astype(spec.dtype.as_numpy_dtype)
    if not spec.shape.is_compatible_with(array.shape):
        raise BadRequest(f"input {name!r} has shape {list(array.shape)}, where the signature "
                         f"takes {expected} (-1: any size)")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BadRequest(f"input {name!r} holds a number too large for {spec.dtype.name}")
    return array


# ------------------------------------------------------------------ metadata

def read_signature_defs(path):
    """The SignatureDefs in path/saved_model.pb as JSON, the way TF Serving writes them
    (its metadata is the same protocol buffers, in protobuf's own JSON form)."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    signature_defs = saved_model.meta_graphs[0].signature_def
    try:  # protobuf 5.26 and newer; before: including_default_value_fields
        json_format.MessageToDict(saved_model.meta_graphs[0].meta_info_def,
                                  always_print_fields_with_no_presence=True)
        defaults = {"always_print_fields_with_no_presence": True}
    except TypeError:
        defaults = {"including_default_value_fields": True}
    return {name: json_format.MessageToDict(definition, preserving_proto_field_name=True,
                                            **defaults)
            for name, definition in signature_defs.items()}
