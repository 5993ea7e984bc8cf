"""The model worker: one spawned process holds the model (service.py), the GUI and the CLI talk
to it through `WorkerClient` (client.py) with plain-dict requests and events (events.py).

It sits above probe and train (it runs evaluations, probes and model checks) and below the CLI.
"""

from mmla_core.worker.client import WorkerClient, crash_message

__all__ = ["WorkerClient", "crash_message"]
