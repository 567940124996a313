"""Benchmarks of the portal's doors against reference servers on the same machine (``make bench``).

``python -m bench`` builds a throw-away portal (SQLite, the embedded broker, a temporary var dir) and
measures the doors chosen with ``--doors`` (default ``sftp,ftp``), each next to its reference, in
the same run; ``--quick`` makes every file smaller and runs each figure once.

- SFTP (``bench.__main__``): ``manage.py runsftpd`` on a free loopback port, and next to it a
  throw-away OpenSSH ``sshd`` (when installed: Debian's ``openssh-server``) and OpenSSH's
  ``sftp-server`` driven straight over a pipe with ``sftp -D`` (the SFTP layer with no SSH crypto
  at all). The same OpenSSH ``sftp`` client uploads the same files to each.
- FTP and FTPS (``bench.ftp``): ``manage.py runftpd`` next to a throw-away vsftpd (Debian package
  ``vsftpd``; its login needs a throw-away system user, so it runs when the bench runs as root and
  is skipped with the reason otherwise). The same lftp client uploads one 1 GiB file and 500 files
  of 2 MiB (one session each) over plain FTP and explicit FTPS; the table shows MB/s, files/s,
  the server's CPU seconds per GB and the portal's ratio to vsftpd.

The figures are printed as tables. Nothing leaves 127.0.0.1; uploaded bytes are deleted after each
run; a full run takes a few minutes. Not part of CI: timings belong here, not in tests.
"""
