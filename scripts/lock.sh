#!/usr/bin/env bash
# Compile the hash-locked requirements from pyproject.toml, for every Python
# from 3.11 (CI, laptops) to 3.13 (the image's base) at once.
#   requirements/app.txt  runtime: the image and `make run` install this
#   requirements/dev.txt  runtime + test and lint tools, constrained to app.txt
#   requirements/scan.txt static scanners, a venv of their own
#   docker/idp/requirements.txt  the development OpenID provider's image
set -euo pipefail
cd "$(dirname "$0")/.."
compile=(uv pip compile --quiet --universal --python-version 3.11 --generate-hashes pyproject.toml)
"${compile[@]}" -o requirements/app.txt
"${compile[@]}" --group dev -c requirements/app.txt -o requirements/dev.txt
uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  requirements/scan.in -o requirements/scan.txt
uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  docker/idp/requirements.in -o docker/idp/requirements.txt
