"""The project's one benchmark (``make bench``; ``make bench QUICK=1`` takes a few minutes).

``python -m bench [--quick] [--only PARTS]`` builds a throw-away portal (SQLite, the embedded
broker, a temporary folder; ``bench.servers.setup_portal``) and measures each part next to a
reference started on this machine for the run, alternating rounds between the two
(``bench.report.alternate``) and reporting medians. It prints one table (``bench.report``) of
portal figure, reference figure, ratio and the issue's target, and writes the same to
``bench/results/latest.json`` (each row's name, unit, portal, reference, ratio, rounds, target).
Nothing asserts a time: a missed target is printed as MISSED.

Parts (``--only sftp,ftp,images,intake,subjects``):

- ``bench.sftp``: ``manage.py runsftpd`` (one process per core, its login guard in Redis as in
  production) against a throw-away OpenSSH sshd with internal-sftp at OpenSSH's defaults; OpenSSH
  ``sftp`` and asyncssh clients at their defaults; 1 GiB, 500 x 2 MiB, 20 sessions, server CPU per
  GB, password logins and a transfer's slowdown meanwhile.
- ``bench.ftp``: ``manage.py runftpd`` against a throw-away vsftpd, with lftp.
- ``bench.images``: the worker's image step on 24 MP photos against pyvips doing the same job,
  seconds per photo and peak RSS.
- ``bench.intake``: close -> done and photos/s behind the door, the embedded broker and Redis,
  1 and 2 worker processes, against the CPU bound.
- ``bench.subjects``: what QR-card scanning adds to the image step and what it reads.

The references need Debian packages: openssh-server (sshd), vsftpd, libvips42 (pyvips), and the
bench must run as root for sshd's and vsftpd's password logins (a throw-away system user, removed
afterwards); a part whose reference is missing prints why and its rows have no ratio. Nothing
leaves 127.0.0.1; uploaded bytes are deleted after each round.
"""
