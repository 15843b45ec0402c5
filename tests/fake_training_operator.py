"""A Kubernetes API server with the Kubeflow training operator, faked for tests (no
Kubernetes runs here).

It speaks the API server's REST protocol for TFJobs to the official Kubernetes client
(create, read, delete under ``/apis/kubeflow.org/v1/namespaces/<ns>/tfjobs``; errors as
``Status`` objects: 404 NotFound, 409 AlreadyExists), reached through a kubeconfig
(``kubeconfig(path)``), and does what the operator does with a created job, with local
processes for pods: every replica runs its ``tensorflow`` container's command (a first
word ``python`` is this interpreter) with the container's env, the test's env, and a
TF_CONFIG that lists every replica on a loopback port (``Chief`` -> chief, ``Worker`` ->
worker, ``PS`` -> ps, ``Evaluator`` -> evaluator) and names the replica's own task. The
job's ``status`` follows the operator's: conditions Created, Running, then Succeeded
when the chief (without a chief: worker 0) exits 0, after which the replicas still
running are stopped (``cleanPodPolicy: Running``), or Failed as soon as a replica exits
with another code (the fake restarts nothing, whatever the restartPolicy says);
``replicaStatuses`` counts each type's active, succeeded and failed replicas.

``fail_reads = n`` makes the next n reads of a job answer 503 (an API server restarting).
``created`` holds every manifest as it was sent; ``requests`` every (method, path).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.loopback import free_ports

TASK_TYPES = {"Chief": "chief", "Master": "chief", "Worker": "worker", "PS": "ps", "Evaluator": "evaluator"}
PATH = re.compile(r"^/apis/kubeflow\.org/v1/namespaces/([^/]+)/tfjobs(?:/([^/]+))?$")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_object(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FakeTrainingOperator:
    def __init__(self, workdir: Path, env: dict[str, str] | None = None):
        self.workdir = Path(workdir)
        self.env = dict(env or {})
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.fail_reads = 0
        self._processes: dict[tuple[str, str], list[tuple[str, int, subprocess.Popen]]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        operator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str):
                path = self.path.split("?", 1)[0]
                operator.requests.append((method, path))
                match = PATH.match(path)
                if not match:
                    return self._send(404, _status_object(404, "NotFound", f"no route {path}"))
                namespace, name = match.groups()
                if method == "POST" and name is None:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    return self._send(*operator._create(namespace, body))
                if method == "GET" and name:
                    return self._send(*operator._read(namespace, name))
                if method == "DELETE" and name:
                    return self._send(*operator._delete(namespace, name))
                return self._send(405, _status_object(405, "MethodNotAllowed", f"{method} {path}"))

            def do_POST(self):
                self._route("POST")

            def do_GET(self):
                self._route("GET")

            def do_DELETE(self):
                self._route("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # --- the API server ------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "default"}}],
        }))
        return path

    def _create(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = (body.get("metadata") or {}).get("name")
        if body.get("apiVersion") != "kubeflow.org/v1" or body.get("kind") != "TFJob" or not name:
            return 422, _status_object(422, "Invalid", "not a TFJob with a name")
        if body["metadata"].get("namespace", namespace) != namespace:
            return 400, _status_object(400, "BadRequest", "the namespace of the body does not match the request")
        with self._lock:
            if (namespace, name) in self.jobs:
                return 409, _status_object(409, "AlreadyExists", f'tfjobs.kubeflow.org "{name}" already exists')
            job = copy.deepcopy(body)
            job["metadata"].update(namespace=namespace, uid=f"uid-{len(self.created)}", creationTimestamp=_now())
            job["status"] = {"conditions": [self._condition("Created", f"TFJob {namespace}/{name} is created.")],
                             "replicaStatuses": {}}
            self.jobs[(namespace, name)] = job
            self.created.append(copy.deepcopy(body))
        threading.Thread(target=self._run, args=(namespace, name), daemon=True).start()
        return 201, copy.deepcopy(job)

    def _read(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.fail_reads > 0:
                self.fail_reads -= 1
                return 503, _status_object(503, "ServiceUnavailable", "the API server is restarting")
            job = self.jobs.get((namespace, name))
            if job is None:
                return 404, _status_object(404, "NotFound", f'tfjobs.kubeflow.org "{name}" not found')
            return 200, copy.deepcopy(job)

    def _delete(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            job = self.jobs.pop((namespace, name), None)
        if job is None:
            return 404, _status_object(404, "NotFound", f'tfjobs.kubeflow.org "{name}" not found')
        self._stop_processes((namespace, name))
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    # --- the operator ----------------------------------------------------------------

    @staticmethod
    def _condition(kind: str, message: str) -> dict[str, str]:
        reason = {"Created": "TFJobCreated", "Running": "TFJobRunning", "Succeeded": "TFJobSucceeded",
                  "Failed": "TFJobFailed"}[kind]
        return {"type": kind, "status": "True", "reason": reason, "message": message, "lastUpdateTime": _now(),
                "lastTransitionTime": _now()}

    def _run(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        job = self.jobs[key]
        specs = job["spec"]["tfReplicaSpecs"]
        tasks = [(kind, i) for kind, spec in specs.items() for i in range(int(spec.get("replicas", 1)))]
        ports = iter(free_ports(len(tasks)))
        cluster: dict[str, list[str]] = {}
        for kind, _ in tasks:
            cluster.setdefault(TASK_TYPES[kind], []).append(f"127.0.0.1:{next(ports)}")
        logs = self.workdir / name
        logs.mkdir(parents=True, exist_ok=True)
        processes = []
        for kind, index in tasks:
            (container,) = [c for c in specs[kind]["template"]["spec"]["containers"] if c["name"] == "tensorflow"]
            command = [*container.get("command", []), *container.get("args", [])]
            if command and command[0] == "python":
                command[0] = sys.executable
            task = TASK_TYPES[kind]
            env = {**os.environ, **self.env, **{e["name"]: e["value"] for e in container.get("env", [])},
                   "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task, "index": index},
                                            "environment": "cloud"})}
            log = open(logs / f"{task}-{index}.log", "w")
            processes.append((kind, index, subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)))
        with self._lock:
            self._processes[key] = processes
            job["status"]["conditions"].append(self._condition("Running", f"TFJob {namespace}/{name} is running."))
        decider = "Chief" if "Chief" in specs else ("Master" if "Master" in specs else "Worker")
        while not self._stopping:
            codes = [(kind, index, p.poll()) for kind, index, p in processes]
            counts: dict[str, dict[str, int]] = {}
            for kind, _, code in codes:
                c = counts.setdefault(kind, {"active": 0, "succeeded": 0, "failed": 0})
                c["active" if code is None else "succeeded" if code == 0 else "failed"] += 1
            failed = [(kind, index) for kind, index, code in codes if code not in (None, 0)]
            done = any(kind == decider and index == 0 and code == 0 for kind, index, code in codes)
            with self._lock:
                if key not in self.jobs or self.jobs[key] is not job:
                    return  # deleted
                job["status"]["replicaStatuses"] = counts
                if failed or done:
                    for condition in job["status"]["conditions"]:
                        if condition["type"] == "Running":
                            condition["status"] = "False"
                    if failed:
                        kind = failed[0][0]
                        n = sum(1 for k, _ in failed if k == kind)
                        message = f"TFJob {namespace}/{name} has failed because {n} {kind} replica(s) failed."
                        job["status"]["conditions"].append(self._condition("Failed", message))
                    else:
                        job["status"]["conditions"].append(
                            self._condition("Succeeded", f"TFJob {namespace}/{name} successfully completed."))
                    job["status"]["completionTime"] = _now()
            if failed or done:
                self._stop_processes(key)
                return
            time.sleep(0.05)

    def _stop_processes(self, key: tuple[str, str]) -> None:
        for _, _, process in self._processes.get(key, []):
            if process.poll() is None:
                process.kill()
                process.wait()

    def stop(self) -> None:
        self._stopping = True
        for key in list(self._processes):
            self._stop_processes(key)
        self._server.shutdown()
        self._server.server_close()
