"""gunicorn settings for the API, from GUNICORN_* variables with production defaults.

Run: gunicorn -c app/api/gunicorn.conf.py 'app.api.wsgi:create_app()'
Each worker imports the app after the fork, so each builds its own engine.
"""

import os

from app.core.settings import load_settings_or_exit

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request longer than this is killed and logged: the forecast is seconds at most.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, finish in-flight requests for this long before exiting (rollouts).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
preload_app = False
# Worker heartbeat files on tmpfs: a read-only root and slow disks cannot stall them.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (tmpfs, not a shared temp file)
)
accesslog = "-"
errorlog = "-"
# gunicorn's control socket lives under $HOME: unwritable with a read-only root,
# and shared by every gunicorn of one user. Operate through signals instead.
control_socket_disable = True

# The app's settings are checked now, as gunicorn reads this file, before it
# logs, binds or forks anything: a bad one is one line each and exit 2, not a
# traceback per worker.
load_settings_or_exit()
