#!/usr/bin/env bash
# Compile the hash-locked requirements from pyproject.toml, for every Python
# from 3.11 (CI, laptops) to 3.13 (the image's base) at once.
#   requirements/app.txt  runtime: the image and `make run` install this
#   requirements/dev.txt  runtime + test and lint tools, constrained to app.txt
#   requirements/scan.txt static scanners, a venv of their own
#   docker/idp/requirements.txt  the development OpenID provider's image
#   docker/certbot/requirements.txt  the production profile's ACME client's image
# uv writes each command into its file's header, where Renovate's pip-compile
# manager reads it to recompile: every option in the --option=value form, the
# output as --output-file= (it accepts no short options and no "--option value").
set -euo pipefail
cd "$(dirname "$0")/.."
compile=(uv pip compile --quiet --universal --python-version=3.11 --generate-hashes)
"${compile[@]}" pyproject.toml --output-file=requirements/app.txt
"${compile[@]}" pyproject.toml --group=dev --constraint=requirements/app.txt \
  --output-file=requirements/dev.txt
"${compile[@]}" requirements/scan.in --output-file=requirements/scan.txt
"${compile[@]}" docker/idp/requirements.in --output-file=docker/idp/requirements.txt
"${compile[@]}" docker/certbot/requirements.in --output-file=docker/certbot/requirements.txt
