"""Benchmarks of the SFTP server against OpenSSH on the same machine (``make bench``).

``python -m bench`` builds a throw-away portal (SQLite, the embedded broker, a temporary var dir),
starts ``manage.py runsftpd`` on a free loopback port, and next to it the references: a throw-away
OpenSSH ``sshd`` (when installed: Debian's ``openssh-server``) and OpenSSH's ``sftp-server`` driven
straight over a pipe with ``sftp -D`` (the SFTP layer with no SSH crypto at all). The same OpenSSH
``sftp`` client uploads the same files to each and the figures are printed as a table. Nothing
leaves 127.0.0.1; a run takes about a minute. Not part of CI: timings belong here, not in tests.
"""
