"""The project's GitHub Actions workflows, run here by act (nektos/act).

act reads the workflows as GitHub would and runs every job's steps on this
machine (the host runner: ``-P ubuntu-24.04=-self-hosted``), in a copy of the
repository it makes per job. Every ``run:`` step runs as written. Each
``uses:`` action is taken from a declared local equivalent under
tests/pipeline/actions/<owner>/<repo>/ (``--local-repository``): GitHub's
services (cache, artifacts, OIDC), Docker's BuildKit and multi-arch emulation
are not here; docs/pipeline.md lists every substitution and why. act skips
actions/checkout itself and copies the clone instead.

The clone is fresh (``git clone`` of the checkout's HEAD, or of PIPELINE_REF),
with an ``origin`` remote on github.com, so GITHUB_REPOSITORY is what it would
be there. Its virtual environments are links to this checkout's (``make``
would otherwise build them in every job: minutes each); act copies the links
because it runs with ``--use-gitignore=false``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import ROOT, TOOLS_BIN, require_tool

ACT_HINT = "scripts/install-test-deps.sh --pipeline (builds act, the registry and cosign)"
STANDINS = ROOT / "tests/pipeline/actions"
# `docker` on the runner is podman here (tests/pipeline/bin/docker).
SHIMS = ROOT / "tests/pipeline/bin"
OWNER = "example-owner"
# Mixed case on purpose: image references must be lowercase, the workflows lowercase it.
REPOSITORY = f"{OWNER}/Streamlit-Template"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in the tools' output
# act handles actions/checkout itself: it copies the clone into the job's workspace.
ACT_OWN = {"actions/checkout"}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(\S+)", re.MULTILINE)
# One pipeline run on this machine at a time: the image job publishes fixed
# ports (8000, 8501) and names its containers, as GitHub's fresh VMs allow.
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "streamlit-platform"
LOCK = CACHE / "pipeline.lock"


def remote_actions(*workflows: Path) -> dict[str, str]:
    """Every pinned action the workflows use: 'owner/repo@ref' -> 'owner/repo'."""
    found = {}
    for workflow in workflows:
        for action, ref in USES.findall(workflow.read_text()):
            found[f"{action}@{ref}"] = action
    return found


def standin(action: str) -> Path:
    """The declared local equivalent of an action (owner/repo)."""
    return STANDINS / action


def fresh_clone(destination: Path, ref: str = "HEAD") -> Path:
    """A clone of this repository at `ref`, with an origin on github.com."""
    sha = _git(ROOT, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    _git(destination.parent, "clone", "--quiet", "--no-checkout", str(ROOT), destination.name)
    _git(destination, "checkout", "--quiet", "-B", "main", sha)
    _git(destination, "remote", "set-url", "origin", f"https://github.com/{REPOSITORY}.git")
    for venv in (".venv", ".venv-scan"):
        (destination / venv).symlink_to(ROOT / venv)
    return destination


def commit(clone: Path, message: str, *paths: str) -> str:
    """Commit `paths` in the clone as a user would; returns the new commit."""
    _git(clone, "add", *paths)
    _git(
        clone, "-c", "user.name=Pipeline Test", "-c", "user.email=pipeline@example.org",
        "commit", "--quiet", "--message", message,
    )  # fmt: skip
    return _git(clone, "rev-parse", "HEAD").strip()


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@dataclass
class Result:
    """What act did: each job's result ('success', 'failure'), the steps that
    failed, and the whole log (JSON lines) on disk."""

    returncode: int
    jobs: dict[str, str]
    failed_steps: list[tuple[str, str]]
    log: Path
    seconds: float
    output: dict[str, list[str]] = field(repr=False, default_factory=dict)

    def summary(self) -> str:
        """Each job's result, the failed steps and the tail of their output."""
        lines = [f"act exited {self.returncode} after {self.seconds:.0f} s; log: {self.log}"]
        lines += [f"  {job}: {result}" for job, result in self.jobs.items()]
        for job, step in self.failed_steps:
            lines.append(f"--- {job} / {step} failed; its last output:")
            lines += self.output.get(f"{job}\0{step}", [])[-40:]
        return "\n".join(lines)


def parse(log: Path, returncode: int, seconds: float) -> Result:
    jobs: dict[str, str] = {}
    failed: list[tuple[str, str]] = []
    output: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        job = (entry.get("job") or "").strip()  # act pads the names to one width
        if not job:
            continue
        if "jobResult" in entry:
            jobs[job] = entry["jobResult"]
        step = entry.get("step", "")
        if entry.get("raw_output"):
            text = ANSI.sub("", entry["msg"])
            output.setdefault(f"{job}\0{step}", []).extend(text.splitlines())
        elif entry.get("level") == "error":
            # A step's exit status, or act's own error (an action it could not read).
            output.setdefault(f"{job}\0{step}", []).append(f"act: {entry['msg']}")
        failing = entry.get("stepResult") == "failure" or entry.get("level") == "error"
        if failing and (job, step) not in failed:
            failed.append((job, step))
    return Result(returncode, jobs, failed, log, seconds, output)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold the pipeline lock: one run of the workflows at a time on this machine."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass
class Act:
    """act, set up to run this project's workflows in `clone`."""

    clone: Path
    logs: Path
    # Given to every step: the stand-ins' inputs (PIPELINE_*), and .ci/run's.
    env: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        event: str,
        workflow: Path,
        *,
        payload: dict | None = None,
        job: str | None = None,
        inputs: dict[str, str] | None = None,
        name: str,
        timeout: float = 3600,
    ) -> Result:
        """`act EVENT -W WORKFLOW [-j JOB]`, one job at a time; the log goes to logs/NAME.log."""
        binary = require_tool("act", ACT_HINT, (str(TOOLS_BIN),))
        self.logs.mkdir(parents=True, exist_ok=True)
        event_file = self.logs / f"{name}.event.json"
        event_file.write_text(json.dumps(payload or {}))
        argv = [
            binary, event, "--workflows", str(workflow), "--eventpath", str(event_file),
            "--platform", "ubuntu-24.04=-self-hosted", "--json", "--concurrent-jobs", "1",
            "--use-gitignore=false", "--actor", OWNER,
            # act's own cache and artifact servers: on loopback, never on a public address.
            "--cache-server-addr", "127.0.0.1", "--artifact-server-addr", "127.0.0.1",
        ]  # fmt: skip
        if job:
            argv += ["--job", job]
        for action, owner_repo in sorted(remote_actions(workflow, *self._called(workflow)).items()):
            if owner_repo in ACT_OWN:
                continue
            folder = standin(owner_repo)
            if not (folder / "action.yml").is_file():
                raise AssertionError(
                    f"{workflow.name} uses {action}, which has no declared local equivalent: "
                    f"add {folder.relative_to(ROOT)}/action.yml and list it in docs/pipeline.md"
                )
            argv += ["--local-repository", f"{action}={folder}"]
        for flag, values in (("--var", self.variables), ("--secret", self.secrets),
                             ("--env", self.env), ("--input", inputs or {})):  # fmt: skip
            for key, value in values.items():
                argv += [flag, f"{key}={value}"]
        environment = {**os.environ, "PATH": os.pathsep.join([str(SHIMS), os.environ["PATH"]])}
        log = self.logs / f"{name}.log"
        started = time.monotonic()
        with log.open("w") as out:
            completed = subprocess.run(
                argv, cwd=self.clone, env=environment, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout, check=False,
            )  # fmt: skip
        return parse(log, completed.returncode, time.monotonic() - started)

    def _called(self, workflow: Path) -> list[Path]:
        """The workflows `workflow` calls (uses: ./.github/workflows/...), recursively."""
        called = []
        for path in re.findall(r"uses:\s*\./(\.github/workflows/\S+\.ya?ml)", workflow.read_text()):
            target = self.clone / path
            called += [target, *self._called(target)]
        return called
