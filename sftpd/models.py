"""The SFTP server keeps no tables of its own; its state is in ``jobs`` and ``albums``."""
