"""TF_CONFIG, the environment variable that tells each worker of stage 8.0 its cluster,
checked before TensorFlow loads: what is wrong with it in one line, not a traceback
from deep inside TensorFlow (nor, for `{}`, a run that trains alone without a word).

    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                "task": {"type": "worker", "index": 0}}'
"""

import json
import os

TF_CONFIG_EXAMPLE = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                     '"task": {"type": "worker", "index": 0}}\'')


class ClusterError(Exception):
    """The cluster that TF_CONFIG describes cannot be used; the message says why."""


def cluster_from_environment():
    """(addresses, index) as TF_CONFIG gives them, checked before TensorFlow loads; None
    without TF_CONFIG. Raises ClusterError saying what is wrong with it."""
    if "TF_CONFIG" not in os.environ:
        return None
    text = os.environ["TF_CONFIG"]
    if not text.strip():
        raise ClusterError(f"it is set but empty (as `export TF_CONFIG=` leaves it): to train "
                           f"alone, remove it (unset TF_CONFIG); for a cluster, give every "
                           f"worker's address and this one's index: {TF_CONFIG_EXAMPLE}")
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ClusterError(f"not JSON ({error}): it should read like {TF_CONFIG_EXAMPLE}") \
            from None
    if not isinstance(config, dict):
        raise ClusterError(f"a JSON {type(config).__name__} where an object with \"cluster\" "
                           f"and \"task\" was expected, like {TF_CONFIG_EXAMPLE}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ClusterError(f"no \"cluster\" listing the workers' addresses: it should read "
                           f"like {TF_CONFIG_EXAMPLE}")
    if set(cluster) != {"worker"}:
        raise ClusterError(f"its cluster has {', '.join(sorted(map(str, cluster)))}: this "
                           f"stage's cluster is workers only (\"worker\": [...]; worker 0 "
                           f"is the chief)")
    addresses = cluster["worker"]
    if not isinstance(addresses, list) or not addresses:
        raise ClusterError("\"worker\" must be a list of addresses, \"host:port\" each")
    for number, address in enumerate(addresses):
        problem = _address_problem(address)
        if problem:
            raise ClusterError(f"worker {number}'s address {json.dumps(address)}: {problem}")
    if not isinstance(task, dict) or task.get("type") != "worker":
        raise ClusterError(f"no \"task\" saying which worker this is: add \"task\": "
                           f"{{\"type\": \"worker\", \"index\": I}}, I from 0 to "
                           f"{len(addresses) - 1}")
    index = task.get("index")
    if type(index) is not int or not 0 <= index < len(addresses):
        raise ClusterError(f"the task index is {json.dumps(index)}: it must be a whole "
                           f"number from 0 to {len(addresses) - 1} (one per worker listed)")
    return addresses, index


def _address_problem(address):
    if not isinstance(address, str) or ":" not in address:
        return "it must read \"host:port\", like \"node1:2222\""
    host, port = address.rsplit(":", 1)
    if not host:
        return "no host before the port"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"the port {port!r} is not a number from 1 to 65535"
    return None
