"""``python -m bench [--quick] [--only sftp,ftp,images,intake,subjects]``: the project's one benchmark.

Builds a throw-away portal (``bench.servers.setup_portal``), measures each part next to its
reference on this machine in this run (see ``bench/__init__.py``), prints one table of ratios with
the figures behind them and writes the same to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
import time
from pathlib import Path

from bench import report, servers
from bench.report import Row

PARTS = ("sftp", "ftp", "images", "intake", "subjects")
MAX_FILE_BYTES = 1024**3 + 64 * 1024 * 1024  # the 1 GiB throughput probes are not photos


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads, one round each (a few minutes)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts to run, comma-separated: {', '.join(PARTS)}")
    parser.add_argument("--json", type=Path, default=report.RESULTS / "latest.json", help="where the results go")
    args = parser.parse_args()
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if not parts or unknown:
        parser.error(f"--only takes {', '.join(PARTS)} (comma-separated)")
    missing = [program for program in ("sftp", "ssh-keygen") if shutil.which(program) is None]
    if "sftp" in parts and missing:
        raise SystemExit(f"OpenSSH's {' and '.join(missing)} are needed (Debian package openssh-client)")

    started = time.monotonic()
    var = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    rows: list[Row] = []
    failed: list[str] = []
    try:
        print(f"setting up a throw-away portal in {var}", flush=True)
        servers.setup_portal(var, MAX_FILE_BYTES)
        for part in parts:
            module = importlib.import_module(f"bench.{part}")
            print(f"\n== {part}", flush=True)
            try:
                got = module.rows(var, args.quick)
            except Exception as exc:  # one part failing must not lose the others' figures
                print(f"  {part} failed: {type(exc).__name__}: {exc}", flush=True)
                failed.append(part)
                continue
            for row in got:
                print(f"  {row.name}: {row.portal and round(row.portal, 3)} {row.unit}", flush=True)
            rows += got
    finally:
        servers.drop_database()
        shutil.rmtree(var, ignore_errors=True)
        if rows:
            report.print_table(rows)
            path = report.write_json(
                rows, args.json, quick=args.quick, parts=parts, seconds=round(time.monotonic() - started)
            )
            print(f"results: {path}", flush=True)
    if failed:
        raise SystemExit(f"these parts failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
