"""Start a Kubeflow TFJob and wait for it: the Kubernetes side of the TFJob Trainer step
(components/tfjob_sicot_trainer.py).

A TFJob is the Kubeflow training operator's custom resource (``kubeflow.org/v1``,
plural ``tfjobs``); the operator starts one pod per replica, gives each its TF_CONFIG and
reports the job's state in ``status.conditions`` (``Created``, ``Running``,
``Restarting``, ``Succeeded``, ``Failed``; the last one whose status is "True" holds) and
each replica type's pods in ``status.replicaStatuses`` (``active``, ``succeeded``,
``failed``). This module talks to the cluster's API server through the official
Kubernetes client:

- ``custom_objects_api()``: in a pod, the pod's service account (in-cluster config);
  elsewhere the kubeconfig (``KUBECONFIG``, else ~/.kube/config).
- ``own_namespace()``: the namespace of the pod this runs in.
- ``submit(api, manifest)``: creates the job. A job of that name may exist already when
  the step itself was restarted (its name comes from the step's model artifact): one
  that is running or has succeeded is taken over, not started twice; one that failed is
  deleted and started again.
- ``wait(api, namespace, name, poll_seconds)``: reads the job every ``poll_seconds``
  and logs each change of state until it succeeds (returns the job) or fails
  (``TFJobFailed``, with the operator's message and the command that shows the
  replicas' logs). A few failed reads in a row (the API server restarting) are waited
  out; a job deleted while it runs is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import urllib3
from absl import logging
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

GROUP, VERSION, PLURAL = "kubeflow.org", "v1", "tfjobs"
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
# Failed reads of the job in a row that wait() waits out before it gives up.
READ_FAILURES_TOLERATED = 5

Log = Callable[[str], None]


class TFJobFailed(RuntimeError):
    """The TFJob failed, or was deleted before it finished."""


def custom_objects_api() -> client.CustomObjectsApi:
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.CustomObjectsApi(client.ApiClient(configuration))
    # KUBECONFIG as it is now (the client reads it once, when it is imported).
    return client.CustomObjectsApi(config.new_client_from_config(config_file=os.environ.get("KUBECONFIG") or None))


def own_namespace(path: str | None = None) -> str:
    path = path or SERVICE_ACCOUNT_NAMESPACE
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        raise ValueError(
            f"the TFJob has no namespace: pipeline.tfjob_namespace is empty and this step does not run in a "
            f"Kubernetes pod ({path} is missing) whose namespace it could use; set pipeline.tfjob_namespace"
        ) from None


def job_state(job: dict[str, Any]) -> str:
    """The job's state: its last condition whose status is "True" ('Pending' before any)."""
    conditions = (job.get("status") or {}).get("conditions") or []
    holding = [c for c in conditions if c.get("status") == "True"]
    return holding[-1]["type"] if holding else "Pending"


def _message(job: dict[str, Any]) -> str:
    conditions = (job.get("status") or {}).get("conditions") or []
    holding = [c for c in conditions if c.get("status") == "True"]
    return (holding[-1].get("message") or holding[-1].get("reason") or "") if holding else ""


def replica_summary(job: dict[str, Any]) -> str:
    """E.g. 'Chief: 1 active; PS: 2 active; Worker: 1 active, 1 succeeded'."""
    statuses = (job.get("status") or {}).get("replicaStatuses") or {}
    parts = []
    for kind in sorted(statuses):
        counts = statuses[kind] or {}
        found = [f"{counts[k]} {k}" for k in ("active", "succeeded", "failed") if counts.get(k)]
        parts.append(f"{kind}: {', '.join(found) or 'none yet'}")
    return "; ".join(parts) or "no pods yet"


def logs_command(namespace: str, name: str) -> str:
    return f"kubectl logs -n {namespace} -l training.kubeflow.org/job-name={name} --all-containers --prefix"


def _get(api: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def _wait_deleted(api: client.CustomObjectsApi, namespace: str, name: str, poll_seconds: float,
                  sleep: Callable[[float], None]) -> None:
    while True:
        try:
            _get(api, namespace, name)
        except ApiException as e:
            if e.status == 404:
                return
            raise
        sleep(poll_seconds)


def submit(api: client.CustomObjectsApi, manifest: dict[str, Any], log: Log = logging.info,
           poll_seconds: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Creates the TFJob ``manifest`` (or takes over the one of that name; see the module
    docstring) and returns it as the API server has it."""
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    try:
        job = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        log(f"TFJob {namespace}/{name} created")
        return job
    except ApiException as e:
        if e.status != 409:
            raise
    existing = _get(api, namespace, name)
    state = job_state(existing)
    if state != "Failed":
        log(f"TFJob {namespace}/{name} exists already ({state}): this step was restarted and takes it over")
        return existing
    log(f"TFJob {namespace}/{name} exists and failed ({_message(existing)}): it is deleted and started again")
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    _wait_deleted(api, namespace, name, poll_seconds, sleep)
    job = api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    log(f"TFJob {namespace}/{name} created")
    return job


def wait(api: client.CustomObjectsApi, namespace: str, name: str, poll_seconds: float, log: Log = logging.info,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Waits for the TFJob to succeed (returns it) or fail (raises TFJobFailed)."""
    last, failures = None, 0
    while True:
        try:
            job = _get(api, namespace, name)
            failures = 0
        except (ApiException, urllib3.exceptions.HTTPError) as e:
            status = getattr(e, "status", None)
            if status == 404:
                raise TFJobFailed(f"TFJob {namespace}/{name} was deleted before it finished") from None
            if status is not None and status < 500:
                raise
            failures += 1
            if failures > READ_FAILURES_TOLERATED:
                raise TFJobFailed(f"TFJob {namespace}/{name}: {failures} reads of its state failed in a row "
                                  f"(last: {e})") from e
            log(f"TFJob {namespace}/{name}: reading its state failed ({failures} of "
                f"{READ_FAILURES_TOLERATED} tolerated in a row): {str(e).splitlines()[0]}")
            sleep(poll_seconds)
            continue
        state, replicas = job_state(job), replica_summary(job)
        if (state, replicas) != last:
            log(f"TFJob {namespace}/{name}: {state} ({replicas})")
            last = (state, replicas)
        if state == "Succeeded":
            return job
        if state == "Failed":
            raise TFJobFailed(f"TFJob {namespace}/{name} failed: {_message(job) or 'no message'}. The replicas' "
                              f"logs: {logs_command(namespace, name)}")
        sleep(poll_seconds)
