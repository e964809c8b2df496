"""gunicorn settings for the API, from GUNICORN_* variables with production defaults.

Started by docker/entrypoint.sh api (the image, make run and the tests alike).
Each worker imports the app after the fork, so each builds its own engine.

Metrics: prometheus_client's multiprocess mode. Each worker writes its samples
to files in PROMETHEUS_MULTIPROC_DIR (a directory of its own under /tmp unless
set), cleared when gunicorn starts; a worker that exits is marked dead so its
live gauges drop out; /metrics of any worker sums every worker's samples.
Logs: JSON lines on stdout (app/core/logs.py), the access log included.
"""

import glob
import os
import tempfile

# Before prometheus_client is imported anywhere: it picks its mode on import.
own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"api-metrics-{os.getpid()}")
)

from prometheus_client import multiprocess  # noqa: E402

from app.core.logs import gunicorn_logconfig  # noqa: E402
from app.core.settings import load_server_settings, load_settings_or_exit  # noqa: E402

# The app's settings and the GUNICORN_* ones are checked now, as gunicorn reads
# this file, before it logs, binds or forks anything: a bad one is one line
# each and exit 2, not a traceback (per worker).
load_settings_or_exit(server=True)
server = load_server_settings()

bind = server.bind
workers = server.workers
threads = server.threads
# A request longer than this is killed and logged: the forecast is seconds at most.
timeout = server.timeout
# On SIGTERM, finish in-flight requests for this long before exiting (rollouts).
graceful_timeout = server.graceful_timeout
keepalive = 5
# The longest request line gunicorn reads (its maximum; default 4094): nginx passes
# lines up to its large_client_header_buffers (8 KB) and answers a longer one 414.
limit_request_line = 8190
# And every header nginx passes on: gunicorn answers more than 100 headers, or one
# longer than 8190 bytes, with an HTML 431. nginx accepts up to 32 KB of headers
# (4 buffers of 8 KB: at most about 6,500 lines) and one line of 8 KB, to which
# it may append (X-Forwarded-For): room for both.
limit_request_fields = 8000
limit_request_field_size = 16384
preload_app = False
# Worker heartbeat files on tmpfs: a read-only root and slow disks cannot stall them.
SHM = "/dev/shm"  # noqa: S108 (tmpfs, not a shared temp file)
worker_tmp_dir = server.worker_tmp_dir or (SHM if os.path.isdir(SHM) else None)
accesslog = "-"
errorlog = "-"
logconfig_dict = gunicorn_logconfig()
# gunicorn's control socket lives under $HOME: unwritable with a read-only root,
# and shared by every gunicorn of one user. Operate through signals instead.
control_socket_disable = True


def _clear_metrics() -> None:
    for path in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(path)


def on_starting(_server) -> None:
    """Samples a previous run left would add to this one's: start empty."""
    os.makedirs(metrics_dir, exist_ok=True)
    _clear_metrics()


def on_exit(_server) -> None:
    _clear_metrics()
    if own_metrics_dir:
        os.rmdir(metrics_dir)


def child_exit(_server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
